"""Load benchmark: simulated customers on the REST channel, stock Rasa and ours on 1, 2, 4 servers.

Each simulated customer talks like a real one, with think time between
turns, over and over until the time is up: an opening-hours question, a
how-to, a full booking with the one-time code (read from the data
directory's dev_sms.log, as in the tests) and its cancellation, and a
deferral request on their own loan with its cancellation. Every
conversation uses a fresh phone with a loan of its own, inserted by the
benchmark beforehand, so no conversation depends on another and a failed
one does not spoil the next.

Each set-up gets a scratch PostgreSQL database (dropped afterwards), Redis
for locks, rate limits and widget rooms, and the clock pinned to the tests'
Monday (tomorrow is a working Tuesday, so bookings always find slots):

* `stock`: stock `rasa run` (Rasa's own SQL tracker store, none of
  bot/serving) and one action server, talked to directly: the baseline;
* 1 server: one Rasa server and one action server, talked to directly;
* 2 or 4 servers: as many of each behind HAProxy (bot/ops/cluster.py);
  2 is what `make run` starts on this 2-core machine.

With `--long` each customer keeps one conversation going for the whole run
(the booking and the deferral again and again, in one session), and the
turns are also reported by their place in the conversation: how a turn's
latency grows with the length of the session. With `--think 0` the
customers type without pausing: the set-up's throughput at saturation.

Reported per set-up: per-turn latency (p50/p95/p99/max), throughput, errors
(HTTP failures, timeouts, the channel guard's apology, or a reply that is
not the expected step of the conversation), slot retakes (the bank's
"someone just took this slot" answer, after which the customer picks
another slot: correct behaviour, not an error), the Rasa servers' CPU time
per turn, and each process's peak RSS
(VmHWM from /proc: the kernel's own high-water mark, so no sampling can miss
a peak; psutil cannot read it on Linux) and CPU seconds, plus how much CPU
other work on the machine used meanwhile.

    python -m bench.load --customers 50 --minutes 2 --think 2 --servers stock,1,2,4
    python -m bench.load --customers 8 --minutes 1 --think 0 --servers stock,2
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bot.bank.references import ReferenceKind, pattern
from bot.bank.debit_day.demo_loans import first_due_after
from bot.bank.models import Loan
from bot.ops.cluster import FAST_CLIENTS, ROOT, Cluster

PINNED_NOW = "2026-09-28T09:30:00+08:00"
TODAY = date(2026, 9, 28)
APOLOGY = "系统刚才有点忙"
SLOT_TAKEN = "约满了"  # another customer took the slot's last ticket a moment earlier
HOURS = [("福田支行10月1号开门吗", "国庆节"), ("罗湖支行10月10号营业吗", "调休上班"),
         ("宝安支行10月1号开不开", "10:00-15:00"), ("福田支行现在开门了吗", "现在正在营业")]
HOWTO = ["手机银行怎么转账", "忘记登录密码了怎么办", "手机银行转账限额是多少", "手机银行怎么开通"]
BRANCHES = ["福田支行", "南山支行"]
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
BOOKING_REF, REQUEST_REF = pattern(ReferenceKind.BOOKING), pattern(ReferenceKind.DEBIT_DAY_REQUEST)


class Abandon(Exception):
    """The turn failed; the customer gives up this conversation."""


class TimeUp(Exception):
    """The measurement is over; no new turns."""


@dataclass
class Turn:
    kind: str
    seconds: float
    error: Optional[str] = None
    upstream: str = ""
    position: int = 0  # the customer's how-manieth message in this conversation


@dataclass
class SimulatedCustomer:
    index: int
    url: str
    http: ClientSession
    workdir: Path
    engine: object
    think: float
    deadline: float
    turns: List[Turn]
    problems: List[str]  # failures between turns (a button that should be there is not)
    retakes: List[str]   # a slot taken by someone else just before: the customer picked another
    rng: random.Random = field(default_factory=random.Random)
    long: bool = False  # one conversation for the whole run, not a new one each time
    sender: str = ""
    said: int = 0  # messages sent in the current conversation

    async def pause(self) -> None:
        if self.think:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)

    async def say(self, kind: str, message: str, *expect: str) -> list:
        """One timed turn; raises Abandon if it failed or the reply holds none of `expect`."""
        if time.monotonic() >= self.deadline:
            raise TimeUp
        self.said += 1
        started = time.monotonic()
        error, replies, upstream = None, [], ""
        try:
            async with self.http.post(f"{self.url}/webhooks/rest/webhook",
                                      json={"sender": self.sender, "message": message}) as response:
                upstream = response.headers.get("X-Upstream", "")
                if response.status != 200:
                    error = f"HTTP {response.status}"
                else:
                    replies = await response.json()
        except asyncio.TimeoutError:
            error = "timeout"
        except Exception as exception:  # connection reset, bad JSON: all count as errors
            error = type(exception).__name__
        seconds = time.monotonic() - started
        said = json.dumps(replies, ensure_ascii=False)
        if error is None and APOLOGY in said:
            error = "apology"
        elif error is None and (not replies or not any(marker in said for marker in expect or ("",))):
            error = f"unexpected reply to {message!r}: {said[:120]}"
        self.turns.append(Turn(kind, seconds, error, upstream, self.said))
        if error:
            raise Abandon(error)
        await self.pause()
        return replies

    def button(self, replies: list, containing: str = "", at_random: bool = False) -> str:
        """The payload of the first button whose title contains `containing`, or of a random one
        (customers pick different slots, though not "another day")."""
        payloads = [button["payload"] for reply in replies for button in reply.get("buttons", [])
                    if containing in button["title"] and not (at_random and "other_day" in button["payload"])]
        if not payloads:
            self.problems.append(f"no button {containing!r}")
            raise Abandon("no button")
        return self.rng.choice(payloads) if at_random else payloads[0]

    def code_for(self, phone: str) -> str:
        lines = (self.workdir / "dev_sms.log").read_text(encoding="utf-8").splitlines()
        return [line.split()[1] for line in lines if line.startswith(phone + " ")][-1]

    def new_loan(self, phone: str, loop: int) -> str:
        """A consumer loan of this conversation's phone; returns the contract's last four digits."""
        contract = f"PC2025XF{self.index:02d}{loop:04d}"
        with Session(self.engine) as session, session.begin():
            session.add(Loan(contract_no=contract, product="消费贷", borrower_name="压测客户", borrower_phone=phone,
                             debit_day=10, next_due=first_due_after(TODAY, 10), next_amount_fen=100000,
                             status="active"))
        return contract[-4:]

    async def book(self, offered: list, phone: str) -> list:
        """Take one of the offered slots and see the booking through, as a customer would.

        When other customers took the last ticket of that slot first, the
        bank says so and offers other slots: the customer picks again
        (counted in `retakes`, not as an error).
        """
        picked = ("手机", "请确认", "请选一个", SLOT_TAKEN)  # a slot: phone or confirmation; a period: its slots
        replies = await self.say("booking", self.button(offered, at_random=True), *picked)
        for _ in range(10):
            said = json.dumps(replies, ensure_ascii=False)
            if "预约成功" in said:
                return replies
            if SLOT_TAKEN in said:
                self.retakes.append(self.sender)
                replies = await self.say("booking", self.button(replies, at_random=True), *picked)
            elif "请确认" in said:
                replies = await self.say("booking", "/affirm", "预约成功", SLOT_TAKEN)
            elif "验证码" in said:  # sent now, or sent a moment ago in this conversation
                replies = await self.say("booking", self.code_for(phone), "请确认")
            elif "请选一个" in said:
                replies = await self.say("booking", self.button(replies, at_random=True), *picked)
            else:
                replies = await self.say("booking", phone, "验证码")
        self.problems.append("booking did not finish after 10 steps")
        raise Abandon("booking did not finish")

    async def conversation(self, loop: int) -> None:
        phone = f"15{self.index:03d}{0 if self.long else loop:06d}"
        tail = await asyncio.to_thread(self.new_loan, phone, loop)
        if not (self.long and self.sender):
            self.sender, self.said = f"load-{self.index}-{loop}-{uuid.uuid4().hex[:6]}", 0
        await self.say("hours", *self.rng.choice(HOURS))
        await self.say("howto", self.rng.choice(HOWTO))

        # Asks the service; or, when the service is known from earlier in the conversation, the day.
        opened = await self.say("booking", f"我想预约去{self.rng.choice(BRANCHES)}办业务", "面签", "约哪")
        if "面签" in json.dumps(opened, ensure_ascii=False):
            await self.say("booking", '/inform{"service":"面签"}', "哪一天")
        slots = await self.say("booking", "明天", "还有这些时段")
        booked = await self.book(slots, phone)
        reference = BOOKING_REF.search(json.dumps(booked, ensure_ascii=False)).group(0)
        listed = await self.say("booking", "帮我把预约取消掉", reference)
        await self.say("booking", self.button(listed, reference), "已为您取消")

        await self.say("deferral", "这个月的消费贷能晚点扣吗", "哪一笔贷款")
        await self.say("deferral", f"尾号{tail}", "几日")
        await self.say("deferral", "改到28号", "推到")
        await self.say("deferral", "在外地回不来", "请您确认")
        submitted = await self.say("deferral", "/affirm", "申请已提交")
        request = REQUEST_REF.search(json.dumps(submitted, ensure_ascii=False)).group(0)
        status = await self.say("deferral", "我的申请批了没", request)
        await self.say("deferral", self.button(status, request), "已为您撤回")

    async def run(self, first_loop: int = 0, loops: Optional[int] = None) -> None:
        """Conversations until the time is up (or `loops` of them)."""
        await asyncio.sleep(self.rng.uniform(0, 2 * self.think))  # customers arrive spread out
        loop = first_loop
        while loops is None or loop < first_loop + loops:
            try:
                await self.conversation(loop)
            except Abandon:
                self.sender = ""  # a conversation that went wrong is not continued
                await self.pause()
            except TimeUp:
                return
            loop += 1


def cpu_jiffies(pid: Optional[int] = None) -> int:
    """CPU time used so far, in clock ticks: by one process, or by the whole machine (non-idle)."""
    if pid is None:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return sum(int(value) for value in fields) - int(fields[3]) - int(fields[4])  # minus idle, iowait
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


@dataclass
class Result:
    setup: str
    customers: int
    seconds: float
    turns: List[Turn]
    problems: List[str]
    retakes: List[str]
    rss: Dict[str, float]
    cpu: Dict[str, float]
    others_cpu: float  # CPU seconds used meanwhile by processes not in the cluster

    def latency_by_position_ms(self, share: float, first: int, last: int) -> float:
        values = [t.seconds for t in self.turns if first <= t.position <= last]
        return percentile(values, share) * 1000 if values else float("nan")

    def latency_ms(self, share: float, kind: Optional[str] = None) -> float:
        values = [t.seconds for t in self.turns if kind in (None, t.kind)]
        return percentile(values, share) * 1000 if values else float("nan")

    @property
    def errors(self) -> List[str]:
        return [t.error for t in self.turns if t.error] + self.problems

    @property
    def rasa_cpu_ms_per_turn(self) -> float:
        """CPU time of all Rasa servers together, per customer turn."""
        return 1000 * sum(s for proc, s in self.cpu.items() if proc.startswith("rasa")) / max(len(self.turns), 1)


@dataclass
class Options:
    customers: int
    minutes: float
    think: float
    postgres: str
    redis_url: str
    long: bool = False


async def measure(setup: str, options: Options) -> Result:
    """Start a scratch set-up (`stock`, or a number of our servers), warm it up, run
    the customers, read the processes."""
    stock = setup == "stock"
    servers = 1 if stock else int(setup)
    name = f"helpline_bench_{uuid.uuid4().hex[:8]}"
    database_url = f"{options.postgres.rsplit('/', 1)[0]}/{name}"
    admin = create_engine(options.postgres, isolation_level="AUTOCOMMIT")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        env = {"HELPLINE_NOW": PINNED_NOW, "HELPLINE_DATA_DIR": workdir, **FAST_CLIENTS}
        cluster = Cluster(workdir=Path(workdir), database_url=database_url, servers=servers, proxy=servers > 1,
                          stock=stock, env_extra=env, redis_url=options.redis_url, lock_store_prefix=f"bench{name[-8:]}")
        engine = create_engine(database_url)
        try:
            await asyncio.to_thread(cluster.start)
            timeout = ClientTimeout(total=30)
            async with ClientSession(timeout=timeout, connector=TCPConnector(limit=0)) as http:
                problems: List[str] = []
                retakes: List[str] = []

                def customer(index: int, turns: List[Turn], deadline: float, think: float) -> SimulatedCustomer:
                    return SimulatedCustomer(index, cluster.url, http, Path(workdir), engine, think, deadline, turns,
                                             problems, retakes, random.Random(index), long=options.long)
                warm_up: List[Turn] = []  # first turns load lazily-built parts of the model: not measured
                await customer(99, warm_up, float("inf"), 0).run(loops=2)
                failed = [t.error for t in warm_up if t.error] + problems
                print(f"{setup} up; warm-up: {len(warm_up)} turns, failures: {failed[:3]}", flush=True)
                problems.clear()
                retakes.clear()
                pids = cluster.pids()
                cpu_before = {proc: cpu_jiffies(pid) for proc, pid in pids.items()}
                machine_before = cpu_jiffies()
                turns: List[Turn] = []
                started = time.monotonic()
                deadline = started + options.minutes * 60
                await asyncio.gather(*(customer(index, turns, deadline, options.think).run()
                                       for index in range(options.customers)))
                seconds = time.monotonic() - started
            tick = os.sysconf("SC_CLK_TCK")
            cpu = {proc: (cpu_jiffies(pid) - cpu_before[proc]) / tick for proc, pid in pids.items()}
            others = (cpu_jiffies() - machine_before) / tick - sum(cpu.values())
            rss = {proc: peak_rss_mib(pid) for proc, pid in pids.items()}
        finally:
            cluster.stop()
            engine.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    label = ("stock `rasa run` + 1 action server, direct" if stock
             else "1 Rasa + 1 action server, direct" if servers == 1
             else f"{servers} Rasa + {servers} action servers behind HAProxy")
    return Result(label, options.customers, seconds, turns, problems, retakes, rss, cpu, max(others, 0.0))


def markdown(results: List[Result]) -> str:
    """The summary table, a per-step latency table and the errors."""
    lines = ["| set-up | customers | turns | turns/s | p50 ms | p95 ms | p99 ms | max ms | errors | slot retakes "
             "| Rasa CPU ms/turn | peak RSS MiB | CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rss = ", ".join(f"{proc} {mib:.0f}" for proc, mib in r.rss.items())
        cpu = ", ".join(f"{proc} {seconds:.0f}" for proc, seconds in r.cpu.items())
        lines.append(f"| {r.setup} | {r.customers} | {len(r.turns)} | {len(r.turns) / r.seconds:.1f} "
                     f"| {r.latency_ms(0.5):.0f} | {r.latency_ms(0.95):.0f} | {r.latency_ms(0.99):.0f} "
                     f"| {r.latency_ms(1.0):.0f} | {len(r.errors)} | {len(r.retakes)} "
                     f"| {r.rasa_cpu_ms_per_turn:.1f} | {rss} | {cpu} |")
    lines += ["", "| set-up | step | turns | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|"]
    for r in results:
        for kind in ("hours", "howto", "booking", "deferral"):
            count = sum(1 for t in r.turns if t.kind == kind)
            lines.append(f"| {r.setup} | {kind} | {count} | {r.latency_ms(0.5, kind):.0f} "
                         f"| {r.latency_ms(0.95, kind):.0f} | {r.latency_ms(0.99, kind):.0f} |")
    if any(t.position > POSITIONS[0][1] for r in results for t in r.turns):
        lines += ["", "| set-up | " + " | ".join(f"p50 / p99 ms, messages {first}–{last}"
                                                   for first, last in POSITIONS) + " |",
                  "|---|" + "---|" * len(POSITIONS)]
        for r in results:
            lines.append(f"| {r.setup} | " + " | ".join(
                f"{r.latency_by_position_ms(0.5, first, last):.0f} / {r.latency_by_position_ms(0.99, first, last):.0f}"
                for first, last in POSITIONS) + " |")
    lines.append("")
    for r in results:
        upstreams = Counter(t.upstream for t in r.turns if t.upstream)
        spread = f"; answered by {dict(upstreams)}" if len(upstreams) > 1 else ""
        lines.append(f"- {r.setup}: {r.seconds:.0f} s measured; other work on the machine used "
                     f"{r.others_cpu:.0f} CPU s meanwhile{spread}.")
        examples = {e.split(":")[0]: e for e in r.errors}
        for error, count in Counter(e.split(":")[0] for e in r.errors).most_common(5):
            lines.append(f"  - error × {count}: {examples[error][:200]}")
    return "\n".join(lines)


# Places in a conversation, for latency against its length (one round of the scripted conversation is 16-17 messages).
POSITIONS = [(1, 17), (18, 34), (35, 68), (69, 136), (137, 100000)]


def append_to_benchmarks(table: str, command: str) -> None:
    """Add the run under the "Load" section of docs/benchmarks.md (created at the end if missing)."""
    content = BENCHMARKS_MD.read_text(encoding="utf-8")
    if "\n## Load\n" not in content:
        content = content.rstrip("\n") + "\n\n## Load\n\nRuns of `make bench-load` (bench/load.py), newest last.\n"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    entry = (f"\n### {when}\n\nCommand: `{command}`. Machine: `nproc` = {os.cpu_count()}, "
             f"load average at the end {load}.\n\n{table}\n")
    BENCHMARKS_MD.write_text(content.rstrip("\n") + "\n" + entry, encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Simulated customers on the REST channel, stock Rasa and ours.")
    parser.add_argument("--customers", type=int, default=50, help="concurrent customers (at most 98)")
    parser.add_argument("--minutes", type=float, default=2.0, help="measured minutes per set-up")
    parser.add_argument("--think", type=float, default=3.0, help="mean think time between turns, seconds")
    parser.add_argument("--servers", default="stock,1,2,4",
                        help="set-ups to measure: `stock` (plain rasa run) and counts of our Rasa servers")
    parser.add_argument("--long", action="store_true",
                        help="each customer keeps one conversation for the whole run")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not 1 <= args.customers <= 98:
        parser.error("--customers must be between 1 and 98 (phone numbers and contracts are numbered)")
    setups = args.servers.split(",")
    if any(setup != "stock" and not setup.isdigit() for setup in setups):
        parser.error("--servers takes `stock` and numbers of servers, e.g. stock,1,2,4")
    options = Options(args.customers, args.minutes, args.think, args.postgres, args.redis_url, args.long)
    results = [asyncio.run(measure(setup, options)) for setup in setups]
    table = markdown(results)
    print(table)
    if not args.no_write:
        command = ("python -m bench.load " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
        append_to_benchmarks(table, command)


if __name__ == "__main__":
    main()
