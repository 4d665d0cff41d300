"""`make test` checks the machine first (scripts/ensure-machine).

As root it installs and starts what is missing; as anyone else it stops
with one line that names what is missing and the command to install it.
These tests run the script as a non-root user on a PATH without Chromium.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("bash", "dpkg", "dpkg-query", "pg_ctlcluster", "pg_isready", "redis-server", "redis-cli", "node", "npm", "haproxy",
         "openssl", "seq", "sleep", "ls", "sort", "tail")


def machine_without(tmp_path: Path, *absent: str) -> dict:
    """An environment whose PATH has the usual tools, less `absent`, and an `id` that says uid 1000."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if tool not in absent and found:
            (bin_dir / tool).symlink_to(found)
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    return {**os.environ, "PATH": str(bin_dir)}


def ensure(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("bash"), str(ROOT / "scripts/ensure-machine")], env=env,
                          capture_output=True, text=True, timeout=60)


def test_without_root_a_missing_browser_is_named_with_its_install_command(tmp_path: Path) -> None:
    result = ensure(machine_without(tmp_path, "chromium"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ensure-machine: missing Debian packages: chromium; install them with: "
        "sudo sh -c 'apt-get update && apt-get install -y chromium'"]


def test_a_machine_with_everything_running_passes_quietly(tmp_path: Path) -> None:
    env = machine_without(tmp_path)
    (Path(env["PATH"]) / "chromium").symlink_to(shutil.which("true"))
    result = ensure(env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
