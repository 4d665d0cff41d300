"""`make audit` (bot/ops/audit.py): fails on what we can fix, accepts what Rasa holds back, never passes blind."""
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from bot.ops import audit

ROOT = Path(__file__).resolve().parents[1]
RASA, DESK = audit.RASA_ENVIRONMENT, audit.ENVIRONMENTS[1][0]


def pip_report(name: str, version: str, *fixes: str) -> dict:
    return {"dependencies": [{"name": name, "version": version,
                              "vulns": [{"id": f"GHSA-{name}", "fix_versions": list(fixes), "aliases": []}]}]}


def test_without_an_advisory_source_the_audit_fails_loudly() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.ops.audit", "--source", "http://127.0.0.1:9/pypi/pip/24.0/json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "audit: NOT RUN: the advisory source http://127.0.0.1:9/pypi/pip/24.0/json did not answer" in done.stderr
    assert "docs/platform.md" in done.stderr


def test_a_package_pip_audit_could_not_look_up_fails_the_audit() -> None:
    skipped = {"dependencies": [{"name": "aiohttp", "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
    with pytest.raises(audit.AuditUnavailable, match="could not look up 1 packages"):
        audit.pip_findings(RASA, skipped)


def test_a_raisable_package_fails_and_one_rasa_holds_back_is_accepted() -> None:
    caps = audit.rasa_caps()
    findings = (audit.pip_findings(RASA, pip_report("aiohttp", "3.9.5", "3.10.11"))
                + audit.pip_findings(RASA, pip_report("python-socketio", "5.8.0", "5.14.0"))
                + audit.pip_findings(DESK, pip_report("aiohttp", "3.14.5", "3.15.0")))
    lines, status = audit.verdict(findings, caps)
    assert status == 1
    assert lines == [
        "accepted  Rasa (.venv): aiohttp 3.9.5 GHSA-aiohttp (unrated; fix: 3.10.11)",
        "FAILING   Rasa (.venv): python-socketio 5.8.0 GHSA-python-socketio (unrated; fix: 5.14.0)",
        "FAILING   console (.venv-desk): aiohttp 3.14.5 GHSA-aiohttp (unrated; fix: 3.15.0)",
        "audit: 2 to fix, 1 accepted (docs/platform.md)"]


def test_only_accepted_advisories_pass() -> None:
    lines, status = audit.verdict(audit.pip_findings(RASA, pip_report("sanic", "21.12.2", "22.6.1")), audit.rasa_caps())
    assert status == 0 and lines[-1] == "audit: 0 to fix, 1 accepted (docs/platform.md)"


def test_npm_fails_on_high_advisories_only() -> None:
    report = {"vulnerabilities": {
        "esbuild": {"severity": "moderate", "range": "<=0.24.2", "fixAvailable": {"version": "0.25.0"},
                    "via": [{"url": "https://github.com/advisories/GHSA-67mh-4wv8-2f99"}]},
        "typescript": {"severity": "high", "range": "<5.9", "fixAvailable": True, "via": [{"title": "made up"}]}}}
    lines, status = audit.verdict(audit.npm_findings(report), {})
    assert status == 1
    assert lines[0] == "FAILING   widget (npm): typescript <5.9 made up (high; fix: True)"
    assert lines[1].startswith("below     widget (npm): esbuild <=0.24.2 https://github.com/advisories/GHSA-67mh")


def test_an_npm_registry_without_its_audit_endpoint_fails_the_audit() -> None:
    with pytest.raises(audit.AuditUnavailable, match="405 Method Not Allowed"):
        audit.npm_findings({"message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
                            "error": {"summary": ""}})


def test_rasas_caps_are_those_for_rasas_python_and_platform() -> None:
    """numpy: Rasa's requirement for Python 3.8-3.10 only, not its Windows or Python 3.7 ones."""
    caps = audit.rasa_caps()
    assert caps["numpy"] == SpecifierSet(">=1.19.2,<1.25.0")
    assert caps["scikit-learn"] == SpecifierSet(">=0.22,<1.2")
    assert "tensorflow-metal" not in caps   # an extra we do not install
