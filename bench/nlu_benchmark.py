"""Held-out understanding benchmark: what the bot does with real customers' messages.

`make bench-nlu` trains two NLU models on the same training data and scores
them on the blind held-out sets (bench/heldout/test.yml, and dev.yml for
calibration) against bench/labels.yml: an action intent, a knowledge-base
topic `kb/<key>`, or `out_of_scope` for an honest "I don't know".

- ours: config.yml, and the knowledge-base routing of bot/knowledge (the
  NLU's `ask_question`, `nlu_fallback` or `out_of_scope` go to the matcher
  over the demo knowledge base, which answers or declines);
- stock: Rasa's suggested default pipeline with Jieba (bench/stock_config.yml),
  with the knowledge-base topics as one retrieval intent answered by Rasa's
  ResponseSelector and the out-of-scope training examples as an intent, as
  a Rasa project without our parts would be built.

Each model is served with `rasa run --enable-api` and every message is sent
to `POST /model/parse`. `--calibrate` chooses the routing thresholds on
dev.yml (the most accurate pair with at most 5 % of out-of-scope questions
given an in-scope answer) and prints them for bot/knowledge/routing.py.
Figures go to stdout (Markdown) and build/bench/nlu.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import requests
import yaml
from sklearn.metrics import f1_score, precision_recall_fscore_support

from bot.knowledge.training_data import demo_articles
from bot.knowledge.training_data import write as write_knowledge
from bot.bank.vocabulary import write as write_vocabulary
from bot.knowledge import routing
from bot.knowledge.matcher import Matcher, answers, not_answered_examples, trained_matcher
from bot.ops.cluster import free_port, wait_until_up
from bot.settings import export_defaults

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench"
HELDOUT = ROOT / "bench" / "heldout"
WRONG_ANSWER_CAP = 0.05
OUT_OF_SCOPE = routing.NOT_ANSWERED_LABEL
_GUARD = next(c for c in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
              if c["name"].endswith("OutOfScopeGuard"))
GUARD_THRESHOLD, GUARD_KEEPS = float(_GUARD["threshold"]), frozenset(_GUARD["keep"])

Parse = Tuple[str, float, str]          # (intent, confidence, text)


@dataclass
class Report:
    """The figures of one pipeline on one held-out set."""

    pipeline: str
    heldout: str
    examples: int
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float
    out_of_scope_wrongly_answered: float
    training_seconds: float
    median_parse_ms: float
    per_label: Dict[str, Tuple[float, float, int]] = field(default_factory=dict)  # label -> (accuracy, F1, n)
    confusions: List[Tuple[str, str, int]] = field(default_factory=list)


def heldout(name: str) -> List[Tuple[str, str]]:
    """(text, gold label) of a held-out file."""
    raw = yaml.safe_load((HELDOUT / f"{name}.yml").read_text(encoding="utf-8"))
    return [(line.strip()[2:], block["intent"]) for block in raw["nlu"]
            for line in block["examples"].splitlines() if line.strip().startswith("- ")]


# --- training ---------------------------------------------------------------------------------------

def _train(config: Path, data: Path, domain: Path, out_dir: Path) -> Tuple[Path, float]:
    """An NLU-only model; its path and the wall-clock seconds, from a cold cache."""
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config),
                        "--nlu", str(data), "--domain", str(domain), "--out", str(out_dir),
                        "--fixed-model-name", "bench"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "RASA_CACHE_DIRECTORY": cache})
        return out_dir / "bench.tar.gz", time.perf_counter() - started


def train_ours(reuse: bool = False) -> Tuple[Path, float]:
    model = OUT / "models" / "ours" / "bench.tar.gz"
    if reuse and model.exists():
        return model, float("nan")
    write_vocabulary()
    write_knowledge()
    return _train(ROOT / "config.yml", ROOT / "data" / "nlu", ROOT / "domain", OUT / "models" / "ours")


def stock_training_data(scratch: Path) -> Tuple[Path, Path]:
    """The same examples as a plain Rasa project: topics as `kb/<key>` retrieval intents
    (with their answers as responses) and out-of-scope questions as an intent."""
    data, domain = scratch / "nlu", scratch / "domain.yml"
    data.mkdir()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        if path.name != "knowledge.yml":
            shutil.copy(path, data / path.name)
    articles = demo_articles()
    blocks = [{"intent": f"kb/{a.key}", "examples": "".join(f"- {e}\n" for e in a.examples)} for a in articles]
    blocks.append({"intent": "out_of_scope", "examples": "".join(f"- {e}\n" for e in not_answered_examples())})
    (data / "knowledge.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True),
                                        encoding="utf-8")
    intents = sorted({block["intent"] for path in data.glob("*.yml")
                      for block in (yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or [])
                      if "intent" in block and "/" not in block["intent"]} | {"kb"})
    domain.write_text(yaml.safe_dump({"version": "3.1", "intents": intents, "responses": {
        f"utter_kb/{a.key}": [{"text": a.title}] for a in articles}}, allow_unicode=True), encoding="utf-8")
    return data, domain


def train_stock(reuse: bool = False) -> Tuple[Path, float]:
    model = OUT / "models" / "stock" / "bench.tar.gz"
    if reuse and model.exists():
        return model, float("nan")
    with tempfile.TemporaryDirectory() as scratch:
        data, domain = stock_training_data(Path(scratch))
        return _train(ROOT / "bench" / "stock_config.yml", data, domain, OUT / "models" / "stock")


# --- parsing ----------------------------------------------------------------------------------------

def parse_all(model: Path, texts: Sequence[str]) -> Tuple[List[dict], List[float]]:
    """Serve the model and parse every text over HTTP, timing each call."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        log = open(Path(scratch) / "rasa.log", "wb")
        env = dict(os.environ)
        export_defaults(env)   # endpoints.yml's ${VAR}s
        server = subprocess.Popen([str(Path(sys.executable).parent / "rasa"), "run", "--enable-api",
                                   "--port", str(port), "--model", str(model)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/status", server)
            session = requests.Session()
            session.post(f"{url}/model/parse", json={"text": "预热"}).raise_for_status()
            parses, millis = [], []
            for text in texts:
                started = time.perf_counter()
                response = session.post(f"{url}/model/parse", json={"text": text}, timeout=30)
                millis.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                parses.append(response.json())
            return parses, millis
        finally:
            server.terminate()
            server.wait(timeout=30)


def stock_label(parse: dict) -> str:
    """The intent, refined to `kb/<key>` by the response selector; fallback is "I don't know"."""
    intent = (parse.get("intent") or {}).get("name") or OUT_OF_SCOPE
    if intent == "kb":
        # One selector trained on every retrieval intent answers under "default" (Rasa's default).
        selectors = parse.get("response_selector") or {}
        chosen = selectors.get("kb") or selectors.get("default") or {}
        return chosen.get("response", {}).get("intent_response_key") or OUT_OF_SCOPE
    return OUT_OF_SCOPE if intent in routing.MISSED_INTENTS else intent


@dataclass(frozen=True)
class Routed:
    """What the NLU and the matcher said of one message, so thresholds can be tried cheaply."""

    intent: str          # after the out-of-scope guard, as configured
    before_guard: str    # the intent before the guard
    guard: float         # the guard's "out of scope" probability
    topic: str           # the matcher's best topic ("" when it has none)
    score: float         # its probability
    declined: float      # the probability of "no topic answers this"

    def label(self, when_asked: float, after_a_miss: float, guard: Optional[float] = None) -> str:
        """As bot.knowledge.routing.label decides, for these thresholds (and, when given,
        this guard threshold instead of the configured one)."""
        intent = self.intent
        if guard is not None:
            kept = self.before_guard in GUARD_KEEPS or self.before_guard == OUT_OF_SCOPE
            intent = OUT_OF_SCOPE if self.guard >= guard and not kept else self.before_guard
        threshold = routing.accept_threshold(intent, when_asked, after_a_miss)
        if threshold is None:
            return intent or OUT_OF_SCOPE
        answered = bool(self.topic) and answers(self.score, self.declined, threshold)
        return f"kb/{self.topic}" if answered else OUT_OF_SCOPE


def routed(parses: List[dict], matcher: Matcher) -> List[Routed]:
    found = []
    for parse in parses:
        text = parse.get("text") or ""
        ranked = matcher.rank(text, limit=1)
        intent = (parse.get("intent") or {}).get("name") or ""
        scope = parse.get("scope") or {}
        found.append(Routed(intent, scope.get("intent") or intent, float(scope.get("out_of_scope", 0.0)),
                            ranked[0].key if ranked else "", ranked[0].score if ranked else 0.0,
                            matcher.not_answered_score(text)))
    return found


# --- scoring ----------------------------------------------------------------------------------------

def wrongly_answered(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Out-of-scope questions that got an in-scope answer, as a share of them."""
    out = [p for g, p in zip(gold, predicted) if g == OUT_OF_SCOPE]
    return sum(p != OUT_OF_SCOPE for p in out) / max(len(out), 1)


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def score(pipeline: str, name: str, gold: List[str], predicted: List[str], seconds: float,
          millis: List[float]) -> Report:
    labels = sorted(set(gold))
    _, recalls, f1s, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    inside = [(g, p) for g, p in zip(gold, predicted) if g != OUT_OF_SCOPE]
    confusions = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    return Report(pipeline, name, len(gold), round(accuracy(gold, predicted), 4),
                  round(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0), 4),
                  round(accuracy(*zip(*inside)), 4), round(wrongly_answered(gold, predicted), 4), round(seconds, 1),
                  round(statistics.median(millis), 1),
                  {label: (round(float(r), 3), round(float(f1), 3), int(n))
                   for label, r, f1, n in zip(labels, recalls, f1s, support)},
                  [(g, p, n) for (g, p), n in confusions.most_common(12)])


def calibrate(messages: List[Routed], gold: List[str]) -> Tuple[float, float, float, float, float]:
    """The thresholds with the best dev accuracy while at most 5 % of out-of-scope questions
    get an in-scope answer: (guard, when_asked, after_a_miss, accuracy, wrongly answered)."""
    best = (GUARD_THRESHOLD, routing.WHEN_ASKED, routing.AFTER_A_MISS, -1.0, 1.0)
    grid = [round(0.05 * step, 2) for step in range(0, 19)]
    for guard in [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1.01]:
        for when_asked in grid:
            for after_a_miss in grid:
                if after_a_miss < when_asked:
                    continue
                predicted = [message.label(when_asked, after_a_miss, guard) for message in messages]
                wrong, right = wrongly_answered(gold, predicted), accuracy(gold, predicted)
                if wrong <= WRONG_ANSWER_CAP and right > best[3]:
                    best = (guard, when_asked, after_a_miss, right, wrong)
    return best


def markdown(reports: List[Report]) -> str:
    lines = ["| pipeline | held-out | examples | accuracy | macro-F1 | in-scope accuracy | out-of-scope answered wrongly"
             " | NLU training (s) | median parse (ms) |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.pipeline} | {r.heldout} | {r.examples} | {r.accuracy:.4f} | {r.macro_f1:.4f} | "
              f"{r.in_scope_accuracy:.4f} | {r.out_of_scope_wrongly_answered:.1%} | {r.training_seconds} | "
              f"{r.median_parse_ms} |" for r in reports]
    for r in reports:
        worst = sorted(r.per_label.items(), key=lambda item: item[1][1])[:8]
        lines += ["", f"**{r.pipeline}, {r.heldout}**: lowest F1 " + ", ".join(f"{l} {f:.2f}" for l, (_, f, _) in worst),
                  "", "confusions (gold → predicted × n): " + "; ".join(f"{g} → {p} × {n}" for g, p, n in r.confusions)]
    return "\n".join(lines)


def per_label_table(reports: List[Report], heldout_name: str = "test") -> str:
    """Accuracy (recall) and F1 of every label, each pipeline side by side, for docs/benchmarks.md."""
    chosen = [r for r in reports if r.heldout == heldout_name]
    labels = sorted({label for r in chosen for label in r.per_label})
    head = "| label | n | " + " | ".join(f"{r.pipeline} accuracy | {r.pipeline} F1" for r in chosen) + " |"
    rows = [f"| {label} | {chosen[0].per_label.get(label, (0, 0, 0))[2]} | " + " | ".join(
        f"{r.per_label.get(label, (0, 0, 0))[0]:.2f} | {r.per_label.get(label, (0, 0, 0))[1]:.2f}" for r in chosen)
        + " |" for label in labels]
    return "\n".join([head, "|" + "---|" * (2 + 2 * len(chosen))] + rows)


def extraction_report(texts: List[str]) -> str:
    """Time-expression accuracy and what our entity extractors cost per message, in process."""
    from bench.time_cases import check_case, load_cases
    from bot.bank.profile import load_profile
    from bot.bank.vocabulary import vocabulary
    from bot.clock import now
    from bot.nlu.chinese_time import extract_times, find_debit_day
    from bot.nlu.gazetteer import build_pipeline, find_names
    from bot.nlu.identifiers import find_loan_refs, find_phones

    cases = load_cases()
    passed = sum(check_case(case)[0] for case in cases)
    nlp, moment = build_pipeline(vocabulary(load_profile())), now()
    samples = texts + [case["text"] for case in cases]
    millis = []
    for text in samples:
        started = time.perf_counter()
        extract_times(text, moment)
        find_phones(text), find_loan_refs(text), find_debit_day(text)
        find_names(nlp, text)
        millis.append((time.perf_counter() - started) * 1000)
    return (f"Time expressions: {passed}/{len(cases)} = {passed / len(cases):.4f} (tests/data/time_expressions.yml).\n\n"
            f"Entity extraction (time + numbers + gazetteer), {len(samples)} messages: median "
            f"{statistics.median(millis):.3f} ms, p95 {sorted(millis)[int(len(millis) * 0.95)]:.3f} ms per message.")


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("ours", "stock"), help="score one pipeline")
    parser.add_argument("--calibrate", action="store_true", help="choose the routing thresholds on dev.yml")
    parser.add_argument("--reuse", action="store_true",
                        help="score the models trained (and our parses made) last time, e.g. after a scoring fix")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    sets = {name: heldout(name) for name in ("test", "dev")}
    texts = [text for name in sets for text, _ in sets[name]]
    reports = []
    if args.only in (None, "ours"):
        model, seconds = train_ours(args.reuse)
        saved = OUT / "parses-ours.json"
        kept = json.loads(saved.read_text(encoding="utf-8")) if args.reuse and saved.exists() else {}
        if isinstance(kept, dict) and len(kept.get("parses", [])) == len(texts):
            parses, millis = kept["parses"], kept["millis"]
        else:
            parses, millis = parse_all(model, texts)
            saved.write_text(json.dumps({"parses": parses, "millis": millis}, ensure_ascii=False), encoding="utf-8")
        messages = routed(parses, trained_matcher(demo_articles()))
        by_set = {"test": messages[:len(sets["test"])], "dev": messages[len(sets["test"]):]}
        if args.calibrate:
            guard, when_asked, after_a_miss, right, wrong = calibrate(by_set["dev"], [g for _, g in sets["dev"]])
            print(f"calibrated on dev: guard threshold = {guard} (config.yml), WHEN_ASKED = {when_asked}, "
                  f"AFTER_A_MISS = {after_a_miss} (dev accuracy {right:.4f}, out-of-scope answered wrongly "
                  f"{wrong:.1%})\n")
        else:
            guard, when_asked, after_a_miss = None, routing.WHEN_ASKED, routing.AFTER_A_MISS
        for name in sets:
            reports.append(score("ours", name, [g for _, g in sets[name]],
                                 [m.label(when_asked, after_a_miss, guard) for m in by_set[name]], seconds, millis))
    if args.only in (None, "stock"):
        model, seconds = train_stock(args.reuse)
        parses, millis = parse_all(model, texts)
        offset = 0
        for name in sets:
            chunk = parses[offset:offset + len(sets[name])]
            offset += len(sets[name])
            reports.append(score("stock", name, [g for _, g in sets[name]], [stock_label(p) for p in chunk],
                                 seconds, millis))
    print(markdown(reports))
    print("\n" + per_label_table(reports))
    print("\n" + extraction_report(texts))
    (OUT / "nlu.json").write_text(json.dumps([asdict(r) for r in reports], ensure_ascii=False, indent=2), "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
