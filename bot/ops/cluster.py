"""Start the helpline as a cluster on one machine, the way it scales out.

Rasa's architecture for more than one server: every Rasa server reads and
writes conversations in one shared SQL tracker store (PostgreSQL), takes
the per-conversation lock in Redis (so two servers never handle two
messages of one customer at once), and calls the action servers through
one URL. In front, HAProxy (bot/ops/haproxy.py, config/haproxy.cfg.j2)
spreads clients over the Rasa servers, the Rasa servers' action calls over
the action servers, and serves the staff console; it checks every server's
health and terminates TLS when given a certificate.

This module only starts local processes: `scripts/run-cluster` runs it;
`tests/test_cluster.py` and `bench/load.py` use `Cluster` to start scratch
clusters on free ports. Process logs go to `<workdir>/<name>.log`, HAProxy's
configuration to `<workdir>/haproxy.cfg`.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import urlsplit

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.ops.haproxy import ProxyLayout, check, numbered, render
from bot.settings import export_defaults

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The console runs on its own supported stack, not Rasa's (docs/platform.md).
CONSOLE_PYTHON = ROOT / ".venv-desk" / "bin" / "python"
ENDPOINTS = ROOT / "config" / "endpoints-cluster.yml"
STOCK_ENDPOINTS = ROOT / "config" / "endpoints-stock.yml"
# For tests and benchmarks, whose scripted customers type faster than any
# person and all come from this machine's address: limits they never reach.
FAST_CLIENTS = {"HELPLINE_RATE_PER_MINUTE": "6000", "HELPLINE_RATE_BURST": "1000",
                "HELPLINE_ADDRESS_RATE_PER_MINUTE": "60000", "HELPLINE_ADDRESS_RATE_BURST": "10000"}


# Test workers (pytest-xdist's gw0, gw1, ...) each take ports from a band of their own, below
# Linux's ephemeral range (32768 and up), so a port one worker frees while it restarts a server
# is never handed to another worker's new server, nor taken by an outgoing connection.
PORT_BANDS_FROM, PORT_BAND = 20000, 1000


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    first = PORT_BANDS_FROM + int(worker[2:]) % 12 * PORT_BAND
    for port in random.sample(range(first, first + PORT_BAND), PORT_BAND):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORT_BAND - 1}")


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database `url` names if it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": target.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    """Poll `url` until it answers 200; fail early if the process died.

    The deadline is generous because a Rasa server loading TensorFlow and the
    model on a shared 2-core machine has taken over three minutes; a server
    that crashes still fails at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode} (see its log)")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


@dataclass
class Cluster:
    """N action servers and N Rasa servers on one database, behind HAProxy.

    With `proxy=False` (one server only) clients and the Rasa server talk to
    the servers directly: the plain single-server set-up, for comparison.
    With `stock=True` (one server, no proxy) the Rasa server is plain
    `rasa run` on Rasa's own SQL tracker store (config/endpoints-stock.yml),
    the baseline of the load benchmark.
    With `console=True` the staff console runs too, behind the proxy; with a
    `certificate` (PEM: chain and key) the proxy also speaks HTTPS on
    `tls_port`.
    """

    workdir: Path
    database_url: str
    servers: int = 2
    proxy: bool = True
    stock: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    redis_url: str = "redis://localhost:6379/0"
    lock_store_db: int = 1
    lock_store_prefix: str = "helpline"
    # Extra environment for every process (clock pin, rate limit, data dir, ...).
    env_extra: Dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    rasa_ports: List[int] = field(default_factory=list)
    action_ports: List[int] = field(default_factory=list)
    stats_port: int = field(default_factory=free_port)
    console: bool = False
    console_port: int = field(default_factory=free_port)
    certificate: Optional[Path] = None
    tls_port: int = field(default_factory=free_port)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    start_timeout: float = 300
    greeting: List[str] = field(default_factory=list)  # what the console's first start printed

    def __post_init__(self) -> None:
        if self.servers > 1 and not self.proxy:
            raise ValueError("more than one server needs the proxy")
        if self.stock and (self.servers > 1 or self.proxy):
            raise ValueError("stock Rasa runs as one server, without the proxy")
        self.rasa_ports = self.rasa_ports or [free_port() for _ in range(self.servers)]
        self.action_ports = self.action_ports or [free_port() for _ in range(self.servers)]
        if not self.proxy:  # the one server's own ports are the public ones
            self.port, self.actions_port = self.rasa_ports[0], self.action_ports[0]
            return
        listeners = [self.port, self.actions_port, self.stats_port, *self.rasa_ports, *self.action_ports,
                     *([self.console_port] if self.console else []), *([self.tls_port] if self.certificate else [])]
        if len(set(listeners)) != len(listeners):
            raise ValueError(f"two of the cluster's listeners would share a port: {sorted(listeners)}")

    @property
    def url(self) -> str:
        """Where clients send messages: the proxy, or the only Rasa server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def stats_url(self) -> str:
        """HAProxy's private status page (`;csv` for a machine)."""
        return f"http://127.0.0.1:{self.stats_port}/stats"

    @property
    def rasa_upstreams(self) -> List[str]:
        """The Rasa servers as the proxy names them in `X-Upstream`."""
        return [name for name, _ in numbered("rasa", self._addresses(self.rasa_ports))]

    @staticmethod
    def _addresses(ports: Sequence[int]) -> List[str]:
        return [f"127.0.0.1:{port}" for port in ports]

    def proxy_layout(self) -> ProxyLayout:
        return ProxyLayout(
            port=self.port, actions_port=self.actions_port, stats_port=self.stats_port,
            rasa=numbered("rasa", self._addresses(self.rasa_ports)),
            actions=numbered("actions", self._addresses(self.action_ports)),
            console=f"127.0.0.1:{self.console_port}" if self.console else None,
            tls_port=self.tls_port if self.certificate else None,
            certificate=str(self.certificate) if self.certificate else None)

    def env(self) -> Dict[str, str]:
        redis = urlsplit(self.redis_url)
        env = dict(os.environ)
        env.update(
            TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1", PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
            RASA_URL=self.url, RASA_TOKEN=self.token,
            HELPLINE_ACTIONS_URL=f"http://127.0.0.1:{self.actions_port}/webhook",
            LOCK_STORE_HOST=redis.hostname or "localhost", LOCK_STORE_PORT=str(redis.port or 6379),
            LOCK_STORE_DB=str(self.lock_store_db), LOCK_STORE_PREFIX=self.lock_store_prefix,
            # HAProxy connects from here; its X-Forwarded-For names the client.
            HELPLINE_TRUSTED_PROXIES="127.0.0.1" if self.proxy else "",
            DESK_PORT=str(self.console_port), WIDGET_SERVER_URL=self.url,
        )
        env.update(self.env_extra)
        export_defaults(env)  # credentials.yml's ${VAR}s expand in stock `rasa run` too
        return env

    def _spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(list(args), cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        self.commands[name] = list(args)
        return process

    def kill(self, name: str) -> None:
        """Kill one server at once, as a crash would (SIGKILL)."""
        process = self.processes[name]
        process.kill()
        process.wait(timeout=20)

    def restart(self, name: str) -> subprocess.Popen:
        """Start a killed server again with the same command line (its log goes on)."""
        return self._spawn(name, self.commands[name])

    def _start_proxy(self) -> subprocess.Popen:
        config = self.workdir / "haproxy.cfg"
        config.write_text(render(self.proxy_layout()), encoding="utf-8")
        check(config)
        return self._spawn("haproxy", ["haproxy", "-db", "-f", str(config)])

    def _logging(self) -> List[str]:
        return ["--logging-config-file", str(ROOT / "config" / "logging.yml")]

    def prepare(self) -> None:
        """Create the database if needed, migrate it, load the demo bank into an empty one.

        Also creates Rasa's tracker tables once: servers starting together
        would race to create them (Rasa survives that, with a warning and a
        5-second retry). With the console, creates its first admin here,
        where the password it prints once can be shown (`greeting`), not in
        the console's log.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        ensure_database(self.database_url)
        for step in (["-m", "bot.bank.seed", "--if-empty"],
                     ["-c", "from bot.tracker_store import UrlSQLTrackerStore; UrlSQLTrackerStore()"]):
            subprocess.run([sys.executable, *step], cwd=ROOT, env=self.env(), check=True, capture_output=True)
        if self.console:
            created = subprocess.run([str(CONSOLE_PYTHON), "-m", "bot.desk", "first-admin"], cwd=ROOT,
                                     env=self.env(), check=True, capture_output=True, text=True)
            self.greeting = created.stdout.splitlines()

    def start(self) -> "Cluster":
        """Prepare, then start every server (in parallel) and wait until all answer."""
        self.prepare()
        waits = []
        for index, port in enumerate(self.action_ports, 1):
            process = self._spawn(f"actions-{index}", [
                str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port), *self._logging()])
            waits.append((f"http://127.0.0.1:{port}/health", process))
        server, endpoints = (([str(BIN / "rasa")], STOCK_ENDPOINTS) if self.stock
                             else ([sys.executable, "-m", "bot.serving"], ENDPOINTS))
        for index, port in enumerate(self.rasa_ports, 1):
            process = self._spawn(f"rasa-{index}", [
                *server, "run", "--enable-api", f"--auth-token={self.token}", "--cors", "*",
                "--interface", "127.0.0.1", "--port", str(port), "--model", str(ROOT / "models"),
                "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints), *self._logging()])
            # `=`: a generated token may start with "-", which argparse would take for an option.
            waits.append((f"http://127.0.0.1:{port}/status?token={self.token}", process))
        if self.console:
            waits.append((f"http://127.0.0.1:{self.console_port}/login",
                          self._spawn("console", [str(CONSOLE_PYTHON), "-m", "bot.desk"])))
        if self.proxy:
            waits.append((f"{self.url}/status?token={self.token}", self._start_proxy()))
        try:
            for url, process in waits:
                wait_until_up(url, process, self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> Dict[str, int]:
        """Process ids by name (actions-1, rasa-1, haproxy, ...)."""
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


# What one Rasa server may need: 1.43 GiB peak RSS under load on 3 December 2026 (docs/benchmarks.md,
# "Load"; 2.2 GiB on 1 December), with room for a larger model.
SERVER_MEMORY = 2.5 * 2**30


def default_servers() -> int:
    """One Rasa server per core, as many as the memory available holds.

    A Rasa server handles messages on one event loop, so one process uses
    one core; PostgreSQL, Redis, HAProxy and the action servers take little
    next to it (docs/benchmarks.md).
    """
    available = SERVER_MEMORY
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
    cores = len(os.sched_getaffinity(0))  # the cores this process may use, not all the machine's
    return max(1, min(cores, int(available // SERVER_MEMORY)))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """`scripts/run-cluster` (`make run`): start a cluster and keep it up until Ctrl-C."""
    env = os.environ
    parser = argparse.ArgumentParser(description="Run N Rasa + N action servers and the console behind HAProxy.")
    parser.add_argument("--servers", type=int, default=int(env.get("CLUSTER_SERVERS") or default_servers()),
                        help="Rasa servers (and action servers); default: one per core, as memory allows")
    parser.add_argument("--port", type=int, default=int(env.get("PROXY_PORT", 5005)))
    parser.add_argument("--actions-port", type=int, default=int(env.get("ACTIONS_PROXY_PORT", 5055)))
    parser.add_argument("--rasa-ports", default=env.get("RASA_PORTS", ""),
                        help="comma-separated; default: the proxy port + 1, + 2, ...")
    parser.add_argument("--action-ports", default=env.get("ACTION_PORTS", ""),
                        help="comma-separated; default: the actions port + 1, + 2, ...")
    parser.add_argument("--database-url", default=env.get("DATABASE_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/helpline"))
    parser.add_argument("--redis-url", default=env.get("REDIS_URL", "redis://localhost:6379/0"))
    parser.add_argument("--lock-store-db", type=int, default=int(env.get("LOCK_STORE_DB", 1)))
    parser.add_argument("--console-port", type=int, default=int(env.get("DESK_PORT", 8080)),
                        help="the staff console's own (private) port; public through the proxy")
    parser.add_argument("--stats-port", type=int, default=int(env.get("PROXY_STATS_PORT", 8404)))
    parser.add_argument("--certificate", type=Path, default=env.get("TLS_CERTIFICATE") or None,
                        help="PEM with the certificate chain and key: HTTPS on --tls-port")
    parser.add_argument("--tls-port", type=int, default=int(env.get("TLS_PORT", 5443)))
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "cluster", help="process logs")
    args = parser.parse_args(argv)

    def ports(given: str, base: int) -> List[int]:
        return [int(port) for port in given.split(",")] if given else [base + i for i in range(1, args.servers + 1)]

    cluster = Cluster(workdir=args.workdir, database_url=args.database_url, servers=args.servers,
                      token=env.get("RASA_TOKEN") or secrets.token_urlsafe(24), redis_url=args.redis_url,
                      lock_store_db=args.lock_store_db, port=args.port, actions_port=args.actions_port,
                      rasa_ports=ports(args.rasa_ports, args.port),
                      action_ports=ports(args.action_ports, args.actions_port),
                      console=True, console_port=args.console_port, stats_port=args.stats_port,
                      certificate=args.certificate, tls_port=args.tls_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the servers on `kill` too
    try:
        try:
            cluster.start()
        finally:  # the first admin's password is shown once, even when a server then fails to start
            print("\n".join(cluster.greeting), flush=True)
        print(f"HAProxy: {cluster.url}/webhooks/rest/webhook -> Rasa on {cluster.rasa_ports}")
        if cluster.certificate:
            print(f"HTTPS:   {cluster.tls_url}/")
        print(f"Console: {cluster.url}/desk (widget demo: {cluster.url}/)")
        print(f"Actions: http://127.0.0.1:{cluster.actions_port}/webhook -> {cluster.action_ports}")
        print(f"Health:  {cluster.stats_url}")
        print(f"Logs:    {args.workdir}/*.log   RASA_TOKEN={cluster.token}", flush=True)
        while all(process.poll() is None for process in cluster.processes.values()):
            time.sleep(1)
        print("a server exited; stopping the cluster (see its log)", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
