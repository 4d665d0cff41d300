"""The knowledge base's questions as Rasa training data: `ask_question`, and what it does not answer.

Rasa's NLU only has to tell an informational question from one that drives
an action; which topic it asks is the matcher's call, at run time, over
what is published then (bot/knowledge). The intent learns from up to
`PER_TOPIC` examples of each topic (all of the demo's): with 30 a topic,
DIET took too many questions for action intents (docs/benchmarks.md). The questions no topic answers
(bot/knowledge/not_answered.yml, the matcher's "none" class) are written as
`out_of_scope` examples too, so the NLU and its out-of-scope guard learn
the same boundary. `make train` writes the file from the bank database's
published topics when there is a database, else from the demo knowledge
base: `python -m bot.knowledge.training_data`.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, List, Sequence

import yaml

from bot.bank.knowledge.topics import DEMO_KNOWLEDGE, Article
from bot.knowledge.matcher import not_answered_examples
from bot.settings import ROOT

OUTPUT = ROOT / "data" / "nlu" / "knowledge.yml"
INTENT = "ask_question"
NOT_ANSWERED = "out_of_scope"
PER_TOPIC = 80


def spread(examples: Sequence[str], count: int = PER_TOPIC) -> List[str]:
    """`count` examples taken evenly through the list (writers vary style as they go)."""
    if len(examples) <= count:
        return list(examples)
    step = len(examples) / count
    return [examples[int(index * step)] for index in range(count)]


def demo_articles(path: Path = DEMO_KNOWLEDGE) -> List[Article]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Article(entry["id"], entry["title"], entry["answer"], tuple(entry["examples"])) for entry in raw["topics"]]


# Rasa reads [text](entity) in examples as an annotation: a customer's brackets stay text.
_BRACKETS = str.maketrans({"[": "［", "]": "］"})


def _block(intent: str, examples: Iterable[str]) -> str:
    return f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {text.translate(_BRACKETS)}\n" for text in examples)


def training_data(articles: Iterable[Article], not_answered: Iterable[str]) -> str:
    return ("# Written by `python -m bot.knowledge.training_data` from the knowledge base: do not edit.\n"
            'version: "3.1"\nnlu:\n'
            + _block(INTENT, (example for article in articles for example in spread(article.examples)))
            + _block(NOT_ANSWERED, not_answered))


def published_or_demo() -> List[Article]:
    """The bank database's published topics; the demo ones when there are none (a fresh clone)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from bot.bank.db import transaction
    from bot.bank.knowledge.topics import published_articles

    try:
        with transaction() as session:
            articles = published_articles(session)
    except (OperationalError, ProgrammingError):   # no database, or not migrated yet
        articles = []
    return articles or demo_articles()


def write(path: Path = OUTPUT) -> Path:
    path.write_text(training_data(published_or_demo(), not_answered_examples()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)}")
