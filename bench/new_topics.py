"""Topics staff publish after training: answered before the next training, and at what cost.

    python -m bench.new_topics [--model models/helpline.tar.gz]

bench/heldout/new_topics.yml holds five topics a blind writer made up
(none of the demo knowledge base's), each with four questions as staff
would type them and eight as customers do. In a scratch bank database
holding the demo knowledge base, the trained model is served as `rasa run`
serves it and every message is routed as the bot routes it (the NLU, then
the knowledge-base matcher over what is published): first with only the
demo topics published, then with the five new ones published too. Reported:
how many of each new topic's questions get its answer, and how many of the
held-out sets' messages (bench/heldout/dev.yml and test.yml, which know
nothing of these topics) change their answer, with each change listed.
Figures go to stdout (Markdown) and build/bench/new_topics.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Dict, FrozenSet, List, Sequence, Tuple

import yaml

from bench.nlu_benchmark import HELDOUT, OUT, heldout, parse_all
from bot.bank.db import transaction
from bot.bank.knowledge import topics
from bot.clock import SHANGHAI
from bot.knowledge import routing
from bot.knowledge.live import Corpus
from bot.knowledge.matcher import Matcher
from bot.knowledge.new_topics import LEARNED_FILE, new_topic_match

NEW_TOPICS = HELDOUT / "new_topics.yml"
AT = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
THRESHOLDS = (0.25, 0.5, 0.6, 0.75)
_ROUTER = next(c for c in yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yml").read_text(encoding="utf-8"))
               ["pipeline"] if c["name"].endswith("NewTopicRouter"))
ROUTER_THRESHOLD, ROUTER_KEEPS = float(_ROUTER.get("threshold", routing.AFTER_A_MISS)), frozenset(_ROUTER["keep"])


def new_topics() -> List[dict]:
    return yaml.safe_load(NEW_TOPICS.read_text(encoding="utf-8"))["topics"]


def with_examples(entries: List[dict], path: Path) -> List[dict]:
    """The topics with the examples `path` gives each title (bench/heldout/new_topics_16.yml: 16 a topic)."""
    examples = {entry["title"]: entry["examples"] for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["topics"]}
    return [{**entry, "examples": examples[entry["title"]]} for entry in entries]


def publish(entries: Sequence[dict]) -> None:
    """Each new topic saved and published as staff do in the console (keys new_1, new_2, ...)."""
    for number, entry in enumerate(entries, start=1):
        with transaction() as session:
            topics.save_draft(session, f"new_{number}", entry["title"], f"（{entry['title']}的答案）",
                              entry["examples"], author="bench", at=AT)
            topics.publish(session, f"new_{number}", author="bench", at=AT)


def served_labels(model: Path, texts: Sequence[str], matcher: Matcher) -> Tuple[List[str], List[str]]:
    """The NLU's intent and the bot's answer (routing.label) for each text, over what is published now."""
    parses, _millis = parse_all(model, texts)
    intents = [(parse.get("intent") or {}).get("name") or "" for parse in parses]
    return intents, [routing.label(intent, text, matcher) for intent, text in zip(intents, texts)]


def with_router(intents: Sequence[str], texts: Sequence[str], corpus: Corpus, learned: FrozenSet[str],
                threshold: float) -> List[str]:
    """The answers were the router (trained before the new topics) at `threshold`:
    as bot/knowledge/new_topics.py relabels, then as the action server answers."""
    labels = []
    for intent, text in zip(intents, texts):
        kept = intent in (routing.QUESTION_INTENT, *ROUTER_KEEPS)
        match = None if kept else new_topic_match(corpus, learned, text, threshold)
        labels.append(f"kb/{match.key}" if match else routing.label(intent, text, corpus.matcher))
    return labels


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/helpline.tar.gz"))
    parser.add_argument("--examples", type=Path, default=NEW_TOPICS,
                        help="publish the topics with this file's examples instead (same titles)")
    args = parser.parse_args(argv)
    entries = with_examples(new_topics(), args.examples)
    asked = [(f"new_{number}", kind, text) for number, entry in enumerate(entries, start=1)
             for kind in ("examples", "customer") for text in entry[kind]]
    held = [(name, text, gold) for name in ("dev", "test") for text, gold in heldout(name)]
    texts = [text for _key, _kind, text in asked] + [text for _name, text, _gold in held]
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.update(HELPLINE_DATA_DIR=scratch, HELPLINE_NOW=AT.isoformat(), HELPLINE_KNOWLEDGE_REFRESH="1")
        os.environ.pop("DATABASE_URL", None)
        from bot.bank.seed import seed

        seed()
        learned = learned_questions(args.model)
        with transaction() as session:
            demo = Matcher(topics.published_articles(session))
        # Served with only the demo topics published, the router does nothing: the trained model's own answers.
        intents, before = served_labels(args.model, texts, demo)
        publish(entries)
        with transaction() as session:
            articles = topics.published_articles(session)
        corpus = Corpus("after", Matcher(articles), {article.key: article for article in articles})
        sweep = {threshold: with_router(intents, texts, corpus, learned, threshold) for threshold in THRESHOLDS}
        _after_intents, served = served_labels(args.model, texts, corpus.matcher)
    report(entries, asked, held, before, sweep, served)


def learned_questions(model: Path) -> FrozenSet[str]:
    """The questions the model learned `ask_question` from, as the router keeps them."""
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(LEARNED_FILE))
        return frozenset(json.loads(archive.extractfile(member).read().decode("utf-8")))


def answered(asked, labels) -> Dict[str, List[int]]:
    counts = {"examples": [0, 0], "customer": [0, 0]}
    for (key, kind, _text), label in zip(asked, labels):
        counts[kind][0] += label == f"kb/{key}"
        counts[kind][1] += 1
    return counts


def changed(held, before, after) -> Dict[str, int]:
    counts = {"dev": 0, "test": 0}
    for (name, _text, _gold), was, now in zip(held, before, after):
        counts[name] += was != now
    return counts


def report(entries, asked, held, before, sweep, served) -> None:
    n = len(asked)
    print("| router threshold | staff's questions answered | customers' answered | dev answers changed | test answers changed |")
    print("|---|---|---|---|---|")
    for threshold, labels in sweep.items():
        mine, others = answered(asked, labels[:n]), changed(held, before[n:], labels[n:])
        print(f"| {threshold:.2f} | {mine['examples'][0]}/{mine['examples'][1]} | {mine['customer'][0]}/{mine['customer'][1]} "
              f"| {others['dev']} | {others['test']} |")
    mine = answered(asked, served[:n])
    print(f"\nServed (config.yml's threshold {ROUTER_THRESHOLD}): staff's {mine['examples'][0]}/{mine['examples'][1]}, "
          f"customers' {mine['customer'][0]}/{mine['customer'][1]}; the same as computed: "
          f"{served == sweep.get(ROUTER_THRESHOLD, served)}")
    print(f"\nBefore publishing, {sum(label.startswith('kb/new_') for label in before[:n])} of {n} got a new topic.")
    print("\nHeld-out messages whose answer changed, served:")
    for (name, text, gold), was, now in zip(held, before[n:], served[n:]):
        if was != now:
            print(f"- {name}: {text} (gold {gold}): {was} → {now}")
    print("\nNew topics' questions not given their topic, served:")
    for (key, _kind, text), label in zip(asked, served[:n]):
        if label != f"kb/{key}":
            print(f"- {text}: {label}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "new_topics.json").write_text(json.dumps({"sweep": sweep, "served": served, "before": before},
                                                   ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
