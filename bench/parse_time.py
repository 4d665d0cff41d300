"""How long one parse takes: the blind test set's messages through the trained model, in process.

`python -m bench.parse_time` loads models/helpline.tar.gz with Rasa's Agent,
warms it on 20 messages, then times `parse_message` for up to 400 of
bench/heldout/test.yml's messages one by one (the issue's target: p50 ≤ 20 ms
on 2 cores). No server and no network in between, so the figure is the NLU's
own cost. It is measured as the server runs it (`python -m bot.serving`
installs bot/serving/graph_runner.py) and, with `--stock-runner`, through
Rasa's own dask runner, which `rasa run` would use.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import List

import yaml

from bot.settings import ROOT

MODEL = ROOT / "models" / "helpline.tar.gz"
HELD_OUT = ROOT / "bench" / "heldout" / "test.yml"
MESSAGES, WARM_UP = 400, 20


def held_out_texts(limit: int = MESSAGES) -> List[str]:
    raw = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    texts = [line[2:] for block in raw["nlu"] for line in block["examples"].splitlines() if line.startswith("- ")]
    return [text for text in texts if text.strip()][:limit]


async def timings_ms(texts: List[str]) -> List[float]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    for text in texts[:WARM_UP]:
        await agent.parse_message(text)
    times = []
    for text in texts:
        started = time.perf_counter()
        await agent.parse_message(text)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock-runner", action="store_true", help="Rasa's dask graph runner, as `rasa run` has it")
    runner = "Rasa's dask runner" if parser.parse_args().stock_runner else "as served (bot.serving's graph runner)"
    if runner.startswith("as served"):
        from bot.serving import graph_runner

        graph_runner.install()
    times = asyncio.run(timings_ms(held_out_texts()))
    print(f"{runner}: messages {len(times)}  p50 {statistics.median(times):.1f} ms  "
          f"p95 {times[int(len(times) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
