"""The knowledge base: what the bot answers to informational questions, as staff wrote it.

Staff with the knowledge-base editor role (and admins) write a topic as a
draft: a title, the answer in the bank's voice and example questions in
customers' own words. Publishing the draft makes it what the bot answers
(the action server rebuilds its matcher within a minute, no training or
restart); the revision it replaces stays in the topic's history with who
wrote and published it and when. Withdrawing takes a topic out of the
bot's answers without losing its history.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.bank.knowledge.models import KnowledgeRevision, KnowledgeTopic, RevisionState
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.clock import local

DEMO_KNOWLEDGE = Path(__file__).with_name("demo_knowledge.yml")
PLACEHOLDERS = ("bank_name", "app_name", "bank_hotline")
KEY = re.compile(r"^[a-z][a-z0-9_]{2,47}$")
MAX_TITLE, MAX_ANSWER, MAX_EXAMPLE = 80, 1000, 200
MIN_EXAMPLES = 3


@dataclass(frozen=True)
class Article:
    """A published topic as the bot's matcher uses it."""

    key: str
    title: str
    answer: str
    examples: Tuple[str, ...]


@dataclass(frozen=True)
class RevisionView:
    number: int
    title: str
    answer: str
    examples: Tuple[str, ...]
    state: RevisionState
    author: str
    created_at: datetime
    published_by: Optional[str]
    published_at: Optional[datetime]
    note: str

    def article(self, key: str) -> Article:
        return Article(key, self.title, self.answer, self.examples)


@dataclass(frozen=True)
class TopicView:
    key: str
    published: Optional[RevisionView]
    draft: Optional[RevisionView]
    history: Tuple[RevisionView, ...]      # every revision, newest first

    @property
    def title(self) -> str:
        return (self.draft or self.published or self.history[0]).title

    @property
    def live(self) -> bool:
        return self.published is not None


def _view(revision: KnowledgeRevision) -> RevisionView:
    return RevisionView(revision.number, revision.title, revision.answer, tuple(revision.examples or ()),
                        RevisionState(revision.state), revision.author, local(revision.created_at),
                        revision.published_by, local(revision.published_at), revision.note or "")


def _topic_view(topic: KnowledgeTopic) -> TopicView:
    revisions = [_view(revision) for revision in topic.revisions]
    by_state = {revision.state: revision for revision in revisions}
    return TopicView(topic.key, by_state.get(RevisionState.PUBLISHED), by_state.get(RevisionState.DRAFT),
                     tuple(reversed(revisions)))


def _topic(session: Session, key: str) -> KnowledgeTopic:
    topic = session.execute(select(KnowledgeTopic).where(KnowledgeTopic.key == key)).scalar_one_or_none()
    if topic is None:
        raise Refusal("not_found", f"没有找到知识库条目 {key}。")
    return topic


def _revision(topic: KnowledgeTopic, state: RevisionState) -> Optional[KnowledgeRevision]:
    return next((revision for revision in topic.revisions if revision.state == state), None)


def topics(session: Session) -> List[TopicView]:
    """Every topic, live ones first, then by title."""
    rows = session.execute(select(KnowledgeTopic)).scalars().all()
    return sorted((_topic_view(row) for row in rows), key=lambda view: (not view.live, view.title))


def topic(session: Session, key: str) -> TopicView:
    return _topic_view(_topic(session, key))


# --- checking what staff wrote ------------------------------------------------------------------

def clean_examples(lines: Sequence[str]) -> Tuple[str, ...]:
    """One question per line, spaces tidied, duplicates and blank lines dropped."""
    seen = dict.fromkeys(" ".join(str(line).split()) for line in lines)
    return tuple(line for line in seen if line)


def checked(title: str, answer: str, examples: Sequence[str]) -> Tuple[str, str, Tuple[str, ...]]:
    title, answer = " ".join((title or "").split()), (answer or "").strip()
    examples = clean_examples(examples)
    if not 2 <= len(title) <= MAX_TITLE:
        raise Refusal("invalid", f"标题请写 2 到 {MAX_TITLE} 个字。")
    if not 10 <= len(answer) <= MAX_ANSWER:
        raise Refusal("invalid", f"答案请写 10 到 {MAX_ANSWER} 个字，客户在手机上读，宁短勿长。")
    unknown = sorted(set(re.findall(r"\{([^{}]*)\}", answer)) - set(PLACEHOLDERS))
    if unknown:
        allowed = "、".join("{" + name + "}" for name in PLACEHOLDERS)
        raise Refusal("invalid", f"答案里只能用这些占位符：{allowed}；{{{unknown[0]}}} 不认识。")
    if len(examples) < MIN_EXAMPLES:
        raise Refusal("invalid", f"请至少写 {MIN_EXAMPLES} 个客户会怎么问的例句，每行一个，越像客户原话越好。")
    if any(len(example) > MAX_EXAMPLE for example in examples):
        raise Refusal("invalid", f"每个例句请控制在 {MAX_EXAMPLE} 字以内。")
    return title, answer, examples


def _new_key(session: Session) -> str:
    count = session.execute(select(func.count(KnowledgeTopic.id))).scalar_one()
    return f"topic_{count + 1}"


# --- changing topics -----------------------------------------------------------------------------

def save_draft(session: Session, key: Optional[str], title: str, answer: str, examples: Sequence[str], *,
               author: str, at: datetime, note: str = "") -> TopicView:
    """Write the topic's draft (a new topic when `key` is None or new); the live
    answer does not change until the draft is published."""
    title, answer, examples = checked(title, answer, examples)
    topic = session.execute(select(KnowledgeTopic).where(KnowledgeTopic.key == key)).scalar_one_or_none() \
        if key else None
    if topic is None:
        key = key or _new_key(session)
        if not KEY.match(key):
            raise Refusal("invalid", "条目编号请用小写英文字母、数字和下划线，以字母开头，3 到 48 个字符。")
        topic = KnowledgeTopic(key=key, created_at=at, created_by=author)
        session.add(topic)
        session.flush()
    draft = _revision(topic, RevisionState.DRAFT)
    if draft is None:
        draft = KnowledgeRevision(topic=topic, number=len(topic.revisions) + 1, state=RevisionState.DRAFT)
        session.add(draft)
    draft.title, draft.answer, draft.examples = title, answer, list(examples)
    draft.author, draft.created_at, draft.note = author, at, (note or "").strip()[:200]
    session.flush()
    session.refresh(topic)
    return _topic_view(topic)


def publish(session: Session, key: str, *, author: str, at: datetime) -> TopicView:
    """The draft becomes what the bot answers; the revision it replaces is kept as history."""
    topic = _topic(session, key)
    draft = _revision(topic, RevisionState.DRAFT)
    if draft is None:
        raise Refusal("no_draft", "这个条目没有待发布的草稿。")
    live = _revision(topic, RevisionState.PUBLISHED)
    if live is not None:
        live.state = RevisionState.SUPERSEDED
        session.flush()
    draft.state, draft.published_at, draft.published_by = RevisionState.PUBLISHED, at, author
    session.flush()
    session.refresh(topic)
    return _topic_view(topic)


def withdraw(session: Session, key: str, *, author: str, at: datetime) -> TopicView:
    """Stop answering with this topic; its revisions stay as history."""
    topic = _topic(session, key)
    live = _revision(topic, RevisionState.PUBLISHED)
    if live is None:
        raise Refusal("not_live", "这个条目目前没有上线，无需下线。")
    live.state = RevisionState.WITHDRAWN
    live.note = (f"{author} 于 {local(at):%Y-%m-%d %H:%M} 下线；" + (live.note or ""))[:200]
    session.flush()
    session.refresh(topic)
    return _topic_view(topic)


# --- what the bot reads ------------------------------------------------------------------------

def published_articles(session: Session) -> List[Article]:
    """Every live topic, for the matcher."""
    rows = session.execute(
        select(KnowledgeTopic.key, KnowledgeRevision).join(KnowledgeRevision)
        .where(KnowledgeRevision.state == RevisionState.PUBLISHED).order_by(KnowledgeTopic.key)).all()
    return [_view(revision).article(key) for key, revision in rows]


def fill(answer: str) -> str:
    """The answer as customers read it: the bank's name, app and hotline put in
    (the bot's answers and the console's suggestions alike)."""
    profile = load_profile()
    return answer.format(bank_name=profile.name, app_name=profile.app_name, bank_hotline=profile.hotline)


def corpus_version(session: Session) -> str:
    """Changes whenever a revision is published or withdrawn: the matcher's cache key."""
    ids = session.execute(select(KnowledgeRevision.id).where(KnowledgeRevision.state == RevisionState.PUBLISHED)
                          .order_by(KnowledgeRevision.id)).scalars().all()
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def load_demo(session: Session, *, at: datetime, path: Path = DEMO_KNOWLEDGE) -> int:
    """Publish the demo topics that the database does not have yet (staff edits are kept)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    known = set(session.execute(select(KnowledgeTopic.key)).scalars())
    added = 0
    for entry in raw["topics"]:
        if entry["id"] in known:
            continue
        save_draft(session, entry["id"], entry["title"], entry["answer"], entry["examples"], author="demo", at=at)
        publish(session, entry["id"], author="demo", at=at)
        added += 1
    return added
