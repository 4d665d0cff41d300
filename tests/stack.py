"""Start and stop the Rasa server and the action server for HTTP tests.

The tests talk to real processes over loopback, exactly as a channel would,
with their own ports and their own tracker database, so they never disturb a
`make run` on the same machine.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests

from bot.ops.cluster import FAST_CLIENTS, free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """A running Rasa server plus action server in a scratch directory."""

    workdir: Path
    env_extra: Dict[str, str] = field(default_factory=dict)
    # Channel credentials (YAML text); None means the project's credentials.yml.
    credentials_yaml: Optional[str] = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Run both servers with --debug (Rasa then logs every message).
    debug: bool = False
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    processes: List[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            HELPLINE_DATA_DIR=str(self.workdir),
            RASA_URL=self.rasa_url,
            RASA_TOKEN=self.token,
            HELPLINE_ACTIONS_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
        )
        env.update(FAST_CLIENTS)  # tests type faster than any customer; test_ratelimit.py sets its own limits
        env.update(self.env_extra)
        return env

    def _credentials_file(self) -> Path:
        if self.credentials_yaml is None:
            return ROOT / "credentials.yml"
        path = self.workdir / "credentials.yml"
        path.write_text(self.credentials_yaml, encoding="utf-8")
        return path

    def _spawn(self, args: List[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "wb")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def _logging_args(self) -> List[str]:
        return ["--logging-config-file", str(ROOT / "config" / "logging.yml")] + (["--debug"] if self.debug else [])

    def start_actions(self) -> None:
        process = self._spawn(
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
             "--port", str(self.actions_port), *self._logging_args()],
            "actions.log",
        )
        wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", process)

    def start_rasa(self) -> None:
        process = self._spawn(
            [sys.executable, "-m", "bot.serving", "run", "--enable-api", f"--auth-token={self.token}", "--port", str(self.rasa_port),
             "--model", str(ROOT / "models"), "--credentials", str(self._credentials_file()),
             "--endpoints", str(ROOT / "endpoints.yml"), *self._logging_args()],
            "rasa.log",
        )
        wait_until_up(f"{self.rasa_url}/status?token={self.token}", process)

    def seed(self) -> None:
        """Migrate the scratch bank database and load the demo bank."""
        subprocess.run([sys.executable, "-m", "bot.bank.seed"], cwd=ROOT, env=self._env(),
                       check=True, capture_output=True)

    def start(self) -> "Stack":
        self.seed()
        self.start_actions()
        self.start_rasa()
        return self

    def stop(self) -> None:
        self._stop(list(self.processes))

    def stop_actions(self) -> None:
        """Stop only the action server, as if it had crashed; start_actions() brings it back."""
        self._stop([process for process in self.processes if process.args[2] == "actions"])

    def stop_rasa(self) -> None:
        """Stop only the Rasa server; start_rasa() brings it back on the same tracker database."""
        self._stop([process for process in self.processes if process.args[2] != "actions"])

    def _stop(self, processes: List[subprocess.Popen]) -> None:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            self.processes.remove(process)

    def say(self, sender: str, message: str, timeout: float = 30) -> List[dict]:
        """Send one message on the REST channel and return the bot's replies."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def parse(self, text: str) -> dict:
        response = requests.post(f"{self.rasa_url}/model/parse", params={"token": self.token},
                                 json={"text": text}, timeout=30)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        """The conversation as Rasa stores it (all events)."""
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": self.token, "include_events": "ALL"}, timeout=30)
        response.raise_for_status()
        return response.json()

    def log(self, name: str) -> Optional[str]:
        path = self.workdir / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
