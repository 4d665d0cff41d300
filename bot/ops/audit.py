"""`make audit`: known advisories in both Python environments and the widget.

    python -m bot.ops.audit        # from .venv-desk, which has pip-audit

pip-audit checks every pin of constraints.txt (Rasa's environment) and
constraints-desk.txt (the console's), and `npm audit` the widget's lock
file. The audit fails on any advisory in a package we are free to raise
(pip-audit reports no severity, so every one counts) and on a high or
critical npm advisory; advisories that only a release Rasa 3.6 does not allow
would fix are printed as accepted (their risk is written up in docs/platform.md).

It never passes without having looked: pip-audit skips a package it cannot
look up and still exits 0, so a skipped package fails the audit too, and an
advisory source that does not answer fails it before anything runs. The
machines of this project cannot reach one (PyPI's per-release JSON, where
pip-audit reads advisories, answers 404 here); docs/platform.md says where
the audit has to run.
"""
from __future__ import annotations

import argparse
import email
import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# A release PyPI certainly has: where pip-audit reads its advisories from.
ADVISORY_PROBE = "https://pypi.org/pypi/pip/24.0/json"
ENVIRONMENTS = (("Rasa (.venv)", "constraints.txt"), ("console (.venv-desk)", "constraints-desk.txt"))
RASA_ENVIRONMENT = ENVIRONMENTS[0][0]
# An advisory in Rasa's environment is accepted when Rasa 3.6.21 allows none of
# its fixed releases: read from Rasa's own requirements, plus these, which
# Rasa holds back through its exact pin of TensorFlow 2.12 and of packaging<21.
HELD_BACK_BY_RASA = frozenset({"keras", "tensorboard", "tensorflow-estimator", "wheel"})
FAILING_NPM_SEVERITIES = ("high", "critical")


class AuditUnavailable(RuntimeError):
    """No advisory source answered, or a tool could not look a package up."""


@dataclass(frozen=True)
class Finding:
    environment: str
    package: str
    version: str
    advisory: str
    severity: str   # npm's; "unrated" for pip-audit, which reports none
    fix: str

    def accepted(self, rasa_caps: Mapping[str, SpecifierSet]) -> bool:
        """True when the fix is out of reach: Rasa's environment, and Rasa allows no fixed release."""
        if self.environment != RASA_ENVIRONMENT:
            return False
        name = canonicalize_name(self.package)
        if name in HELD_BACK_BY_RASA:
            return True
        allowed = rasa_caps.get(name)
        return allowed is not None and not any(allowed.contains(fix, prereleases=True) for fix in self.fixes)

    @property
    def fixes(self) -> List[str]:
        return [fix.strip() for fix in self.fix.split(",") if fix.strip()]

    def failing(self, rasa_caps: Mapping[str, SpecifierSet]) -> bool:
        if self.accepted(rasa_caps):
            return False
        return self.severity in FAILING_NPM_SEVERITIES or self.severity == "unrated"

    def line(self) -> str:
        return f"{self.environment}: {self.package} {self.version} {self.advisory} ({self.severity}; fix: {self.fix or 'none'})"


def check_source(url: str = ADVISORY_PROBE, timeout: float = 15.0) -> None:
    """Raise AuditUnavailable unless `url` answers with advisories (a `vulnerabilities` field)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if "vulnerabilities" in json.load(response):
                return
    except Exception as error:  # any failure means: no advisories from here
        raise AuditUnavailable(f"the advisory source {url} did not answer ({error})") from error
    raise AuditUnavailable(f"the advisory source {url} answered without advisories")


def pip_findings(environment: str, report: dict) -> List[Finding]:
    """Findings from pip-audit's JSON; a package it skipped makes the audit unavailable."""
    skipped = [entry["name"] for entry in report.get("dependencies", []) if entry.get("skip_reason")]
    if skipped:
        raise AuditUnavailable(f"pip-audit could not look up {len(skipped)} packages of {environment} "
                               f"(first: {', '.join(skipped[:3])})")
    return [Finding(environment, entry["name"], entry["version"], vuln["id"], "unrated", ", ".join(vuln.get("fix_versions", [])))
            for entry in report.get("dependencies", []) for vuln in entry.get("vulns", [])]


def npm_findings(report: dict) -> List[Finding]:
    """Findings from `npm audit --json`; an error from the registry makes the audit unavailable."""
    if "error" in report or "vulnerabilities" not in report:
        raise AuditUnavailable(f"npm audit could not reach its advisories ({report.get('message', 'no report')})")
    findings = []
    for name, entry in sorted(report["vulnerabilities"].items()):
        advisories = [via.get("url", via.get("title", "")) for via in entry.get("via", []) if isinstance(via, dict)]
        fix = entry.get("fixAvailable")
        findings.append(Finding("widget (npm)", name, entry.get("range", ""), " ".join(advisories) or "via a dependency",
                                entry.get("severity", "unrated"), fix.get("version", "") if isinstance(fix, dict) else str(bool(fix))))
    return findings


def _json_of(command: Sequence[str], cwd: Path) -> dict:
    done = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise AuditUnavailable(f"{command[0]} gave no report: {done.stderr.strip()[-300:]}") from error


def run_audits(root: Path = ROOT) -> List[Finding]:
    findings: List[Finding] = []
    for environment, constraints in ENVIRONMENTS:
        report = _json_of([sys.executable, "-m", "pip_audit", "--requirement", constraints, "--no-deps", "--disable-pip",
                           "--format", "json", "--progress-spinner", "off"], root)
        findings += pip_findings(environment, report)
    findings += npm_findings(_json_of(["npm", "audit", "--json"], root / "widget"))
    return findings


def rasa_caps(root: Path = ROOT) -> Dict[str, SpecifierSet]:
    """What Rasa 3.6.21 allows of each package it requires here, from .venv's metadata.

    A requirement counts only where its marker holds for `.venv`: this
    platform and `.venv`'s Python (not the 3.12 the audit runs on), no extras.
    """
    found = sorted((root / ".venv").glob("lib/python3*/site-packages/rasa-*.dist-info/METADATA"))
    if not found:
        raise AuditUnavailable("Rasa's environment (.venv) is not installed: run `make setup`")
    python = found[0].parents[2].name.removeprefix("python")       # lib/python3.10/site-packages
    environment = {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}
    caps: Dict[str, SpecifierSet] = {}
    for requirement in email.message_from_string(found[0].read_text(encoding="utf-8")).get_all("Requires-Dist", []):
        parsed = Requirement(requirement)
        if parsed.marker is not None and not parsed.marker.evaluate(environment):
            continue
        name = canonicalize_name(parsed.name)
        caps[name] = caps.get(name, SpecifierSet()) & parsed.specifier
    return caps


def verdict(findings: Iterable[Finding], caps: Mapping[str, SpecifierSet]) -> Tuple[List[str], int]:
    """The lines to print and the exit status: 1 when an advisory must be fixed."""
    findings = list(findings)
    accepted = [f for f in findings if f.accepted(caps)]
    failing = [f for f in findings if f.failing(caps)]
    lines = [f"accepted  {f.line()}" for f in accepted]
    lines += [f"FAILING   {f.line()}" for f in failing]
    lines += [f"below     {f.line()}" for f in findings if f not in accepted and f not in failing]
    lines.append(f"audit: {len(failing)} to fix, {len(accepted)} accepted (docs/platform.md)")
    return lines, 1 if failing else 0


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=ADVISORY_PROBE, help="where to check that advisories can be read")
    args = parser.parse_args(list(argv))
    try:
        check_source(args.source)
        lines, status = verdict(run_audits(), rasa_caps())
    except AuditUnavailable as error:
        print(f"audit: NOT RUN: {error}. Run `make audit` on a machine that reaches PyPI's JSON API "
              f"and the npm registry's audit endpoint (docs/platform.md).", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
