"""HAProxy's configuration for the helpline, rendered from one template.

HAProxy (Debian's `haproxy` package) sits in front of the Rasa servers, the
action servers and the staff console: round-robin with health checks,
cookie stickiness for the widget's socket.io sessions, X-Forwarded-For,
request size and time limits, TLS termination (config/haproxy.cfg.j2 says
why each line is there). Its server lists depend on how many servers run
and where, so the configuration is rendered rather than written by hand:

* `Cluster` (bot/ops/cluster.py) renders it for local processes on free
  ports and runs `haproxy -db -f` on the result;
* `python -m bot.ops.haproxy --compose` prints the one for
  deploy/compose.yml (committed as deploy/haproxy.cfg; a test checks that
  it is the template's current output and that HAProxy accepts it).
"""
from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import jinja2

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "config" / "haproxy.cfg.j2"
COMPOSE_CONFIG = ROOT / "deploy" / "haproxy.cfg"
MAX_BODY_BYTES = 1024 ** 2
# A 5 MB photo or PDF: an agent's from the console (bot/desk/pages/attachments.py, as a form or
# base64 in JSON), a customer's in socket.io's long-polling fallback (base64 too).
MAX_UPLOAD_BYTES = 7 * 1024 ** 2

Server = Tuple[str, str]  # (name, host:port)


@dataclass(frozen=True)
class ProxyLayout:
    """Where HAProxy listens and which servers it spreads requests over."""

    port: int
    actions_port: int
    stats_port: int
    rasa: Sequence[Server]
    actions: Sequence[Server]
    console: Optional[str] = None       # host:port of the staff console, if it is behind the proxy
    tls_port: Optional[int] = None
    certificate: Optional[str] = None   # PEM file with the certificate chain and its key
    public_host: str = "127.0.0.1"
    private_host: str = "127.0.0.1"
    resolvers: bool = False             # look server names up in Docker's DNS
    maxconn: int = 4096
    max_body: int = MAX_BODY_BYTES
    max_upload: int = MAX_UPLOAD_BYTES

    def __post_init__(self) -> None:
        if not self.rasa or not self.actions:
            raise ValueError("HAProxy needs at least one Rasa and one action server")
        if (self.tls_port is None) != (self.certificate is None):
            raise ValueError("TLS needs both a port and a certificate")


def numbered(prefix: str, addresses: Sequence[str]) -> List[Server]:
    """`rasa1 127.0.0.1:5006`, `rasa2 ...`: the names HAProxy logs and puts in `X-Upstream`."""
    return [(f"{prefix}{index}", address) for index, address in enumerate(addresses, 1)]


def render(layout: ProxyLayout) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    values = {name: getattr(layout, name) for name in layout.__dataclass_fields__}
    return template.render(**values)


def check(path: Path) -> None:
    """Raise with HAProxy's own message if it would refuse the configuration."""
    result = subprocess.run(["haproxy", "-c", "-q", "-f", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"HAProxy refuses {path}: {result.stdout}{result.stderr}")


def compose_layout() -> ProxyLayout:
    """deploy/compose.yml's services: 2 Rasa, 2 action servers and the console, by container name."""
    return ProxyLayout(
        port=80, tls_port=443, certificate="/etc/haproxy/certs/helpline.pem", actions_port=5055, stats_port=8404,
        rasa=numbered("rasa", ["rasa-1:5005", "rasa-2:5005"]),
        actions=numbered("actions", ["actions-1:5055", "actions-2:5055"]),
        console="console:8080", public_host="0.0.0.0", private_host="0.0.0.0", resolvers=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Print HAProxy's configuration for deploy/compose.yml.")
    parser.add_argument("--compose", action="store_true", required=True)
    parser.parse_args(argv)
    print(render(compose_layout()), end="")


if __name__ == "__main__":
    main()
