"""Held-out NLU benchmark: our pipeline against Rasa's stock one.

Trains an NLU model from `data/nlu` with each config, serves it with
`rasa run --enable-api`, sends every held-out example of `bench/heldout`
to `POST /model/parse`, and scores the label each one gets (the intent, or
`intent/key` for retrieval intents). Prints a Markdown report and writes the
raw figures to build/bench/nlu.json.

Run with `make bench-nlu`.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

import requests
from sklearn.metrics import f1_score, precision_recall_fscore_support

from bot.nlu.contract import RETRIEVAL_KEYS
from tests.stack import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench"
PIPELINES = {"ours (config.yml)": ROOT / "config.yml", "stock (Rasa default + Jieba)": ROOT / "bench" / "stock_config.yml"}


@dataclass
class Report:
    """The figures for one pipeline."""

    name: str
    training_seconds: float
    accuracy: float
    macro_f1: float
    median_parse_ms: float
    worst: List[Tuple[str, float]] = field(default_factory=list)
    confusions: List[Tuple[str, str, int]] = field(default_factory=list)
    errors: List[Tuple[str, str, str]] = field(default_factory=list)


def heldout_examples() -> List[Tuple[str, str]]:
    """(text, gold label) pairs from the held-out files."""
    from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "bench" / "heldout"))
    return [
        (ex.get(TEXT), ex.get(INTENT_RESPONSE_KEY) or ex.get(INTENT))
        for ex in data.training_examples
    ]


def train(config: Path, out_dir: Path) -> Tuple[Path, float]:
    """Train an NLU-only model; return its path and the wall-clock seconds."""
    with tempfile.TemporaryDirectory() as cache:  # a cold cache: time the whole training
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config),
             "--nlu", "data/nlu", "--domain", "domain", "--out", str(out_dir),
             "--fixed-model-name", "bench"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
            env={**os.environ, "RASA_CACHE_DIRECTORY": cache},
        )
        return out_dir / "bench.tar.gz", time.perf_counter() - started


def predicted_label(parse: dict) -> str:
    """The intent, refined to `intent/key` by the response selector."""
    intent = (parse.get("intent") or {}).get("name") or "none"
    if intent in RETRIEVAL_KEYS:
        selector = parse.get("response_selector", {})
        chosen = selector.get(intent) or selector.get("default") or {}
        key = chosen.get("response", {}).get("intent_response_key")
        return key or intent
    return intent


def parse_all(model: Path, texts: List[str]) -> Tuple[List[str], List[float]]:
    """Serve the model and parse every text over HTTP, timing each call."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        log = open(Path(scratch) / "rasa.log", "wb")
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "rasa"), "run", "--enable-api",
             "--port", str(port), "--model", str(model)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/status", server)
            session = requests.Session()
            session.post(f"{url}/model/parse", json={"text": "预热"}).raise_for_status()
            labels, millis = [], []
            for text in texts:
                started = time.perf_counter()
                response = session.post(f"{url}/model/parse", json={"text": text}, timeout=30)
                millis.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                labels.append(predicted_label(response.json()))
            return labels, millis
        finally:
            server.terminate()
            server.wait(timeout=30)


def score(
    name: str, texts: List[str], gold: List[str], predicted: List[str], seconds: float, millis: List[float]
) -> Report:
    labels = sorted(set(gold))
    _, _, per_label_f1, _ = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    worst = sorted(zip(labels, per_label_f1), key=lambda pair: pair[1])[:5]
    confusions = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    return Report(
        name=name,
        training_seconds=round(seconds, 1),
        accuracy=round(sum(g == p for g, p in zip(gold, predicted)) / len(gold), 4),
        macro_f1=round(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0), 4),
        median_parse_ms=round(statistics.median(millis), 1),
        worst=[(label, round(f1, 3)) for label, f1 in worst],
        confusions=[(g, p, n) for (g, p), n in confusions.most_common(8)],
        errors=[(t, g, p) for t, g, p in zip(texts, gold, predicted) if g != p],
    )


def markdown(reports: List[Report], examples: int) -> str:
    lines = [
        f"Held-out examples: {examples}; machine: {os.cpu_count()} cores.",
        "",
        "| pipeline | accuracy | macro-F1 | NLU training (s) | median /model/parse (ms) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.name} | {r.accuracy:.4f} | {r.macro_f1:.4f} | {r.training_seconds} | {r.median_parse_ms} |"
        for r in reports
    ]
    for r in reports:
        lines += ["", f"**{r.name}** worst labels: " + ", ".join(f"{l} {f:.3f}" for l, f in r.worst)]
        lines += ["", "confusions (gold → predicted × n): " + "; ".join(f"{g} → {p} × {n}" for g, p, n in r.confusions)]
    return "\n".join(lines)


def extraction_report(texts: List[str]) -> str:
    """Time-expression accuracy and what our entity extractors cost per message."""
    from bench.time_cases import check_case, load_cases
    from bot.bank.profile import load_profile
    from bot.clock import now
    from bot.nlu.chinese_time import extract_times, find_debit_day
    from bot.nlu.gazetteer import build_pipeline, find_names
    from bot.nlu.identifiers import find_loan_refs, find_phones

    cases = load_cases()
    passed = sum(check_case(case)[0] for case in cases)
    nlp, moment = build_pipeline(load_profile()), now()
    samples = texts + [case["text"] for case in cases]
    millis = []
    for text in samples:
        started = time.perf_counter()
        extract_times(text, moment)
        find_phones(text), find_loan_refs(text), find_debit_day(text)
        find_names(nlp, text)
        millis.append((time.perf_counter() - started) * 1000)
    return (
        f"Time expressions: {passed}/{len(cases)} = {passed / len(cases):.4f} "
        f"(tests/data/time_expressions.yml).\n\n"
        f"Entity extraction (time + numbers + gazetteer), {len(samples)} messages: "
        f"median {statistics.median(millis):.3f} ms, p95 {sorted(millis)[int(len(millis) * 0.95)]:.3f} ms per message."
    )


def run(pipelines: Dict[str, Path]) -> Dict[str, object]:
    examples = heldout_examples()
    texts = [text for text, _ in examples]
    gold = [label for _, label in examples]
    reports = []
    for name, config in pipelines.items():
        model, seconds = train(config, OUT / "models" / config.stem)
        predicted, millis = parse_all(model, texts)
        reports.append(score(name, texts, gold, predicted, seconds, millis))
    text = markdown(reports, len(examples)) + "\n\n" + extraction_report(texts)
    print(text)
    (OUT / "nlu.json").write_text(json.dumps([r.__dict__ for r in reports], ensure_ascii=False, indent=2), "utf-8")
    return {"reports": reports}


def main(argv: List[str]) -> None:
    """`--config PATH` (repeatable) scores only the given configs, for tuning."""
    chosen = {Path(p).name: Path(p) for flag, p in zip(argv, argv[1:]) if flag == "--config"}
    run(chosen or PIPELINES)


if __name__ == "__main__":
    main(sys.argv[1:])
