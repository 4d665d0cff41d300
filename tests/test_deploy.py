"""The deployment artefacts in deploy/ hang together and HAProxy accepts its configurations.

Containers cannot run on the CI machines (no Docker daemon), so the images
and the compose stack are not started here. What is checked instead
(docs/cluster.md, "How the artefacts are checked"): HAProxy's own parser
(`haproxy -c`) on every configuration the template gives; the committed
deploy/haproxy.cfg is the template's current output; the compose file and
the Kubernetes manifests parse, name only services, images, Secrets and
settings that exist, give every server health probes and resource
requests, and keep secrets out of the repository.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.ops.cluster import Cluster
from bot.ops.haproxy import COMPOSE_CONFIG, ROOT, ProxyLayout, check, compose_layout, numbered, render
from bot.settings import documentation
from tests.tls import self_signed_certificate

DEPLOY = ROOT / "deploy"
OUR_IMAGES = {"helpline-rasa": "rasa", "helpline-actions": "actions", "helpline-console": "console"}
# Variables read by Rasa's endpoint file rather than bot/settings.py.
ENDPOINT_VARIABLES = {"LOCK_STORE_HOST", "LOCK_STORE_PORT", "LOCK_STORE_DB", "LOCK_STORE_PREFIX"}
SECRETS = {"HELPLINE_SECRET", "RASA_TOKEN", "POSTGRES_PASSWORD"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def haproxy_accepts(layout: ProxyLayout, directory: Path) -> str:
    path = directory / "haproxy.cfg"
    path.write_text(render(layout), encoding="utf-8")
    check(path)
    return path.read_text(encoding="utf-8")


# --- HAProxy ---------------------------------------------------------------------------------------

def test_the_committed_compose_configuration_is_the_templates_output():
    assert COMPOSE_CONFIG.read_text(encoding="utf-8") == render(compose_layout()), \
        "run: python -m bot.ops.haproxy --compose > deploy/haproxy.cfg"


def test_haproxy_accepts_the_compose_configuration(tmp_path, certificate):
    haproxy_accepts(dataclasses.replace(compose_layout(), certificate=str(certificate)), tmp_path)


@pytest.mark.parametrize("servers", [1, 2, 4])
def test_haproxy_accepts_every_local_cluster_layout(tmp_path, certificate, servers):
    cluster = Cluster(workdir=tmp_path, database_url="postgresql://unused", servers=servers, console=servers == 2,
                      certificate=certificate if servers == 4 else None)
    text = haproxy_accepts(cluster.proxy_layout(), tmp_path)
    assert text.count(" check\n") == 2 * servers + (servers == 2)  # Rasa and action servers (and the console)
    assert (" ssl crt " in text) is (servers == 4)


def test_a_layout_without_servers_or_with_half_a_tls_set_up_is_refused():
    one = numbered("rasa", ["127.0.0.1:1"])
    with pytest.raises(ValueError):
        ProxyLayout(port=1, actions_port=2, stats_port=3, rasa=[], actions=one)
    with pytest.raises(ValueError):
        ProxyLayout(port=1, actions_port=2, stats_port=3, rasa=one, actions=one, tls_port=443)


# --- compose ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_the_proxy_two_of_each_server_the_console_and_both_stores(compose):
    services = compose["services"]
    assert {"haproxy", "rasa-1", "rasa-2", "actions-1", "actions-2", "console", "postgres", "redis"} <= set(services)
    # HAProxy's server lines name exactly these containers.
    layout = compose_layout()
    named = {address.split(":")[0] for _, address in [*layout.rasa, *layout.actions]} | {layout.console.split(":")[0]}
    assert named <= set(services)
    assert [name for name, service in services.items() if service.get("ports")] == ["haproxy"]


def test_compose_believes_forwarded_addresses_only_from_haproxy(compose):
    services = compose["services"]
    proxy_address = services["haproxy"]["networks"]["helpline"]["ipv4_address"]
    for name in ("rasa-1", "rasa-2", "actions-1", "actions-2", "console"):
        assert services[name]["environment"]["HELPLINE_TRUSTED_PROXIES"] == proxy_address


def test_compose_servers_have_health_checks_and_known_settings(compose):
    known = set(documentation()) | ENDPOINT_VARIABLES
    for name, service in compose["services"].items():
        if service.get("image") in OUR_IMAGES and name != "migrate":
            assert service["healthcheck"]["test"], name
        if service.get("image") in OUR_IMAGES:
            assert set(service["environment"]) <= known, name


def test_compose_takes_its_secrets_from_the_environment_and_refuses_to_start_without_them():
    text = (DEPLOY / "compose.yml").read_text(encoding="utf-8")
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:\?[^}]*)?\}", text)
        assert uses and all(uses), f"{secret} must be ${{{secret}:?...}}"


# --- images ----------------------------------------------------------------------------------------

def dockerfile_stages() -> Dict[str, List[str]]:
    stages: Dict[str, List[str]] = {}
    current = ""
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"FROM \S+ AS (\S+)", line)
        if match:
            current = match.group(1)
            stages[current] = []
        elif current and line and not line.startswith("#"):
            stages[current].append(line)
    return stages


def test_one_image_per_server_each_with_its_command():
    stages = dockerfile_stages()
    assert set(OUR_IMAGES.values()) <= set(stages)
    for target in OUR_IMAGES.values():
        assert any(line.startswith("CMD ") for line in stages[target]), target
    assert "config/endpoints-cluster.yml" in " ".join(stages["rasa"])
    assert any("models/" in line for line in stages["rasa"] if line.startswith("COPY")), "the model is baked in"


def test_the_images_copy_only_what_the_repository_has_and_download_nothing_when_running():
    for stage, lines in dockerfile_stages().items():
        for line in lines:
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    if not source.startswith("--") and source != "models/":  # models/: `make train`
                        assert (ROOT / source).exists() or (ROOT / "widget" / source).exists(), (stage, source)
            if line.startswith(("CMD", "ENTRYPOINT")):
                assert not re.search(r"\b(curl|wget|pip|npm)\b", line), (stage, line)


# --- Kubernetes ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def manifests() -> List[dict]:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text(encoding="utf-8"))
    files = sorted(path.name for path in (DEPLOY / "k8s").glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == files, "every manifest is applied, and only those"
    return [doc for name in files
            for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text(encoding="utf-8")) if doc]


def of_kind(manifests: List[dict], kind: str) -> Dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests if doc["kind"] == kind}


def test_every_server_has_probes_resource_requests_and_its_secrets_from_a_secret(manifests):
    deployments = of_kind(manifests, "Deployment")
    assert set(deployments) == {"helpline-rasa", "helpline-actions", "helpline-console"}
    config_keys = set(of_kind(manifests, "ConfigMap")["helpline-config"]["data"])
    assert config_keys <= set(documentation()) | ENDPOINT_VARIABLES
    assert not SECRETS & config_keys, "secrets belong in the Secret, not the ConfigMap"
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == name
        assert container["readinessProbe"]["httpGet"] and container["livenessProbe"]["httpGet"], name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"secretRef": {"name": "helpline-secrets"}} in container["envFrom"], name
    assert deployments["helpline-rasa"]["spec"]["replicas"] >= 2


def test_services_and_the_ingress_reach_the_pods(manifests):
    deployments, services = of_kind(manifests, "Deployment"), of_kind(manifests, "Service")
    for name, service in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
    (ingress,) = of_kind(manifests, "Ingress").values()
    backends = {path["path"]: path["backend"]["service"]["name"]
                for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert set(backends.values()) <= set(services)
    assert backends["/socket.io/"] == "helpline-rasa" and backends["/"] == "helpline-console"
    assert "/metrics" not in backends
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert ingress["spec"]["tls"][0]["secretName"]
    assert not of_kind(manifests, "Secret"), "no Secret is committed"
