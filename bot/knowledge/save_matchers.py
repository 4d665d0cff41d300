"""Save the knowledge-base matchers of this checkout's corpora, and their questions' embeddings.

    python -m bot.knowledge.save_matchers [FOLDER]     # make setup runs it in both environments

The published topics as the servers read them (the demo's when there is no
bank database); the demo's as a freshly seeded bank publishes them (ordered
by key) and in file order (the benchmarks and the tests). A module of its
own, so the matchers are pickled as `bot.knowledge.matcher.Matcher`, which
every process can load, not as `__main__.Matcher`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from bot.knowledge.features import matching_form
from bot.knowledge.matcher import STORE, not_answered_examples, save_matcher
from bot.knowledge.sentences import STORE as EMBEDDINGS
from bot.knowledge.sentences import store
from bot.knowledge.training_data import demo_articles, published_or_demo


def main(folder: Path) -> None:
    corpora = [published_or_demo(), sorted(demo_articles(), key=lambda article: article.key), demo_articles()]
    questions = [example for corpus in corpora for article in corpus for example in article.examples]
    count = store((matching_form(text) for text in [*questions, *not_answered_examples()]), EMBEDDINGS)
    print(f"wrote {count} sentence embeddings to {EMBEDDINGS}")
    for corpus in corpora:
        print(f"the matcher of {len(corpus)} topics: {save_matcher(corpus, folder)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else STORE)
