"""Service insights: how the helpline did over a chosen period.

`compute(period, branch, channel)` returns one frozen `Insights` with every
figure the manager's dashboard, its CSV exports and `GET /api/insights`
show. Conversations and messages come from Rasa's tracker store
(bot.bank.insights_tracker, which defines *conversation*, *message* and
*fallback message*); everything else from the bank database
(bot.bank.insights_bank). docs/insights.md explains each figure for
managers; the field docstrings below are the precise definitions.

Filters: `channel` (rest, widget, wechat) applies to every figure that has a
channel. `branch` applies to bookings and tickets offered only: nothing
else belongs to a branch, and the online share stays bank-wide because
online business cannot be split by branch.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.bank.db import transaction
from bot.bank.handoff.escalations import FIRST_REPLY_SLA, REASONS
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind, NotificationStatus, Route
from bot.bank.models import BookingStatus, EscalationStatus, RequestStatus
from bot.clock import now
from bot.insights import bank_figures as bank
from bot.insights.figures import (
    CALLBACK_TARGET,
    CSAT_TARGET,
    ONLINE_SHARE_TARGET,
    Durations,
    Period,
    Rate,
    minutes_between,
)
from bot.insights.tracker import Conversation, Message, read_traffic

CHANNELS = ("rest", "widget", "wechat")
PRIORITIES = tuple(FIRST_REPLY_SLA)                 # most urgent first
DEFERRAL_STATUSES = tuple(RequestStatus)


@dataclass(frozen=True)
class ReasonFigures:
    """Hand-offs (live chats and callback requests) created in the period for one reason."""

    reason: str
    label: str
    priority: str
    count: int
    rate: Rate          # count / conversations of the period


@dataclass(frozen=True)
class TagFigures:
    """Hand-offs created in the period that staff gave one tag."""

    tag: str
    count: int


@dataclass(frozen=True)
class PriorityFigures:
    """Live hand-offs (not callback requests) of one priority created in the period.

    `first_reply`: minutes from the hand-off to the agent's first reply.
    `within_sla`: replied within FIRST_REPLY_SLA minutes, out of those whose
    deadline has passed or that got a reply (a case still inside its
    deadline is not judged yet; one never answered counts as missed).
    `resolution`: minutes from the hand-off to an agent closing it (cases
    nobody took, handed back to the bot, are left out: no agent resolved them).
    """

    priority: str
    sla_minutes: int
    count: int
    first_reply: Durations
    within_sla: Rate
    resolution: Durations


@dataclass(frozen=True)
class BranchFigures:
    """One branch's appointments on the period's days (by appointment day, not booking day).

    `booked` counts every booking, `held` all but the cancelled ones;
    `utilisation` = held / capacity (tickets offered, see
    insights_bank._tickets_offered); `no_show_rate` = no-shows / (checked
    in + no-shows), i.e. of the visits already settled at the counter.
    """

    branch_id: str
    name: str
    capacity: int
    booked: int
    cancelled: int
    no_show: int
    checked_in: int
    held: int
    utilisation: Rate
    no_show_rate: Rate


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int


@dataclass(frozen=True)
class NotificationFigures:
    """Notifications of one kind created in the period: how they ended, and how they got there.

    delivered: reached the customer by any route; by_template / by_sms: of
    those, after the conversation's channel could not (WeChat's 48-hour
    window closed, the page closed). failed: every route tried. opted_out:
    reminders held back because the customer unsubscribed.
    """

    kind: str
    label: str
    total: int
    delivered: int
    by_template: int
    by_sms: int
    pending: int
    failed: int
    opted_out: int
    delivery: Rate        # delivered / (total − opted_out)


@dataclass(frozen=True)
class DayFigures:
    """One day of the period, for the trend lines (same definitions as the totals)."""

    day: date
    conversations: int
    handoffs: int
    containment: Rate
    fallback: Rate
    csat: Rate


@dataclass(frozen=True)
class Insights:
    """Every figure of one period and filter.

    conversations: conversations begun in the period (insights_tracker).
    containment: conversations with no hand-off, live or callback, between
        their start and the customer's next conversation / conversations.
    handoff_rate: the rest (1 − containment).
    handoffs: escalations created in the period; by_tag: how many of them
        carry each tag staff gave cases, most used first; by_reason and by_priority
        break them down (see ReasonFigures, PriorityFigures).
    first_reply_sla: PriorityFigures.within_sla over all priorities.
    resolution: PriorityFigures.resolution over all priorities.
    callbacks: callback requests created in the period that an agent has
        reached (callback_reached_at set) / all of them; target 80%.
        callbacks_pending: of those, still waiting for a successful call.
    csat: answers scoring 4 or 5 / answers, for questions asked in the
        period; target 85%. csat_asked counts the questions, csat_scores the
        answers per score 1..5, csat_average their mean.
    fallback: fallback messages / messages sent in the period.
    online: online business / (online business + counter visits); target 70%.
        Online business = knowledge answers (the bot answered an
        informational question from the knowledge base, counted once per
        conversation and topic) +
        deferral requests submitted through the bot (a debit day moved with
        no branch visit). Counter visits = bookings held (not cancelled) for
        appointments on the period's days, bank-wide.
    deferrals: requests submitted in the period by current status;
        deferral_decision_hours: hours from submission to approval/rejection.
    branches: BranchFigures per branch (only the chosen one when filtered).
    notifications: NotificationFigures per kind of message the bank started.
    no_show_reminded / no_show_unreminded: no-shows / visits settled at the
        counter on the period's days, for bookings whose day-before reminder
        reached the customer, and for the rest (none sent, opted out, failed).
    """

    period: Period
    branch: Optional[str]
    channel: Optional[str]
    computed_at: datetime
    conversations: int
    containment: Rate
    handoff_rate: Rate
    handoffs: int
    by_reason: Tuple[ReasonFigures, ...]
    by_tag: Tuple[TagFigures, ...]
    by_priority: Tuple[PriorityFigures, ...]
    first_reply_sla: Rate
    resolution: Durations
    callbacks: Rate
    callbacks_pending: int
    csat: Rate
    csat_asked: int
    csat_scores: Tuple[int, ...]
    csat_average: Optional[float]
    messages: int
    fallback: Rate
    online: Rate
    knowledge_answers: int
    self_service: int
    counter_visits: int
    deferrals: Tuple[StatusCount, ...]
    deferral_decision_hours: Durations
    branches: Tuple[BranchFigures, ...]
    notifications: Tuple[NotificationFigures, ...]
    no_show_reminded: Rate
    no_show_unreminded: Rate
    days: Tuple[DayFigures, ...]


# --- conversations ---------------------------------------------------------------------------

def _containment(conversations: Sequence[Conversation],
                 handoffs: Sequence[bank.Handoff]) -> List[Tuple[Conversation, bool]]:
    """Each conversation with True when no hand-off was created between its
    start and the customer's next conversation (escalations carry the sender id)."""
    created: Dict[str, List[float]] = {}
    for handoff in handoffs:
        created.setdefault(handoff.conversation_id, []).append(handoff.created_at.timestamp())
    result = []
    for conversation in conversations:
        until = conversation.until if conversation.until is not None else float("inf")
        handed = any(conversation.start <= at < until for at in created.get(conversation.sender_id, ()))
        result.append((conversation, not handed))
    return result


def _knowledge_answers(messages: Iterable[Message]) -> int:
    """Questions the knowledge base answered, once per conversation and topic (asking twice is
    one piece of business); a question the bot did not know is not counted."""
    return len({(m.sender_id, m.session_start, m.label) for m in messages if m.response_key})


# --- hand-offs ------------------------------------------------------------------------------

def _by_reason(handoffs: Sequence[bank.Handoff], conversations: int) -> Tuple[ReasonFigures, ...]:
    return tuple(ReasonFigures(key, reason.label, reason.priority, count,
                               Rate.of(count, conversations))
                 for key, reason in REASONS.items()
                 for count in [sum(1 for h in handoffs if h.reason == key)])


def _by_tag(handoffs: Sequence[bank.Handoff]) -> Tuple[TagFigures, ...]:
    """Tags by how many of the period's hand-offs carry them, most first."""
    counts = Counter(tag for handoff in handoffs for tag in handoff.tags)
    return tuple(TagFigures(tag, count) for tag, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _first_reply_minutes(handoff: bank.Handoff) -> Optional[float]:
    return minutes_between(handoff.created_at, handoff.first_reply_at) if handoff.first_reply_at else None


def _sla(live: Sequence[bank.Handoff], moment: datetime) -> Rate:
    due = [h for h in live if h.first_reply_at or minutes_between(h.created_at, moment) >= FIRST_REPLY_SLA[h.priority]]
    within = [h for h in due if h.first_reply_at and _first_reply_minutes(h) <= FIRST_REPLY_SLA[h.priority]]
    return Rate.of(len(within), len(due))


def _resolution(live: Sequence[bank.Handoff]) -> Durations:
    return Durations.of([minutes_between(h.created_at, h.resolved_at) for h in live
                         if h.status == EscalationStatus.RESOLVED and h.by_agent and h.resolved_at])


def _by_priority(live: Sequence[bank.Handoff], moment: datetime) -> Tuple[PriorityFigures, ...]:
    figures = []
    for priority in PRIORITIES:
        mine = [h for h in live if h.priority == priority]
        replies = [minutes for minutes in map(_first_reply_minutes, mine) if minutes is not None]
        figures.append(PriorityFigures(priority, FIRST_REPLY_SLA[priority], len(mine), Durations.of(replies),
                                       _sla(mine, moment), _resolution(mine)))
    return tuple(figures)


# --- bookings -------------------------------------------------------------------------------

def _branch(row: bank.BranchBookings) -> BranchFigures:
    counts = row.by_status
    held = bank.held(counts)
    settled = counts.get(BookingStatus.CHECKED_IN, 0) + counts.get(BookingStatus.NO_SHOW, 0)
    return BranchFigures(row.branch_id, row.name, row.capacity, sum(counts.values()), counts.get(BookingStatus.CANCELLED, 0),
                         counts.get(BookingStatus.NO_SHOW, 0), counts.get(BookingStatus.CHECKED_IN, 0), held,
                         Rate.of(held, row.capacity), Rate.of(counts.get(BookingStatus.NO_SHOW, 0), settled))


# --- per day --------------------------------------------------------------------------------

def _no_show(by_status: Dict[str, int]) -> Rate:
    no_show = by_status.get(BookingStatus.NO_SHOW.value, 0)
    return Rate.of(no_show, no_show + by_status.get(BookingStatus.CHECKED_IN.value, 0))


def _notifications(rows: Sequence[Tuple[str, str, str, int]]) -> Tuple[NotificationFigures, ...]:
    figures = []
    for kind in NotificationKind:
        mine = [(status, route, number) for k, status, route, number in rows if k == kind.value]

        def count(status: str, route: Optional[str] = None) -> int:
            return sum(n for s, r, n in mine if s == status and (route is None or r == route))

        total, opted_out = sum(n for _s, _r, n in mine), count(NotificationStatus.OPTED_OUT)
        delivered = count(NotificationStatus.DELIVERED)
        figures.append(NotificationFigures(
            kind.value, notifications.KIND_LABELS[kind], total, delivered,
            count(NotificationStatus.DELIVERED, Route.WECHAT_TEMPLATE), count(NotificationStatus.DELIVERED, Route.SMS),
            count(NotificationStatus.PENDING), count(NotificationStatus.FAILED), opted_out,
            Rate.of(delivered, total - opted_out)))
    return tuple(figures)


def _by_day(items: Iterable, day_of) -> Dict[date, list]:
    grouped: Dict[date, list] = {}
    for item in items:
        grouped.setdefault(day_of(item), []).append(item)
    return grouped


def _days(period: Period, conversations: Sequence[Tuple[Conversation, bool]], messages: Sequence[Message],
          handoffs: Sequence[bank.Handoff], surveys: Sequence[bank.Survey]) -> Tuple[DayFigures, ...]:
    started = _by_day(conversations, lambda pair: pair[0].started_at.date())
    said = _by_day(messages, lambda m: m.at.date())
    handed = _by_day(handoffs, lambda h: h.created_at.date())
    answered = _by_day([s for s in surveys if s.score is not None], lambda s: s.asked_at.date())
    return tuple(DayFigures(
        day, len(started.get(day, [])), len(handed.get(day, [])),
        Rate.of(sum(1 for _c, kept in started.get(day, []) if kept), len(started.get(day, []))),
        Rate.of(sum(1 for m in said.get(day, []) if m.fallback), len(said.get(day, []))),
        Rate.of(sum(1 for s in answered.get(day, []) if s.satisfied), len(answered.get(day, [])), CSAT_TARGET))
        for day in period.days())


# --- everything -----------------------------------------------------------------------------

def compute(period: Period, branch: Optional[str] = None, channel: Optional[str] = None,
            tracker_url: Optional[str] = None) -> Insights:
    """All figures for `period`, optionally for one branch and/or channel.

    The tracker store is read first and the bank database in one short
    transaction after it, so SQLite's write lock is held only for the bank's part.
    """
    traffic = read_traffic(period.start, period.end, channel, tracker_url)
    with transaction() as session:
        since = bank.handoffs(session, period.start)
        surveys = bank.surveys(session, period, channel)
        deferrals = bank.deferrals(session, period, channel)
        branches = bank.branch_bookings(session, period, branch, channel)
        counter = bank.counter_bookings(session, period, channel)
        notices = notifications.counts(session, period.start, period.end, channel)
        settled = bank.settled_by_reminder(session, period, branch, channel)
    moment = now()
    conversations = traffic.conversations
    contained = _containment(conversations, since)
    kept = sum(1 for _c, kept in contained if kept)
    handoffs = [h for h in since if h.created_at < period.end and (not channel or h.channel == channel)]
    live = [h for h in handoffs if not h.callback]
    callbacks = [h for h in handoffs if h.callback]
    answered = [s for s in surveys if s.score is not None]
    knowledge = _knowledge_answers(traffic.messages)
    online = knowledge + len(deferrals)
    decided = [(d.decided_at - d.created_at).total_seconds() / 3600 for d in deferrals if d.decided_at]
    return Insights(
        period=period, branch=branch, channel=channel, computed_at=moment,
        conversations=len(conversations),
        containment=Rate.of(kept, len(conversations)),
        handoff_rate=Rate.of(len(conversations) - kept, len(conversations)),
        handoffs=len(handoffs),
        by_reason=_by_reason(handoffs, len(conversations)),
        by_tag=_by_tag(handoffs),
        by_priority=_by_priority(live, moment),
        first_reply_sla=_sla(live, moment),
        resolution=_resolution(live),
        callbacks=Rate.of(sum(1 for h in callbacks if h.reached_at), len(callbacks), CALLBACK_TARGET),
        callbacks_pending=sum(1 for h in callbacks if h.status == EscalationStatus.CALLBACK_REQUESTED),
        csat=Rate.of(sum(1 for s in answered if s.satisfied), len(answered), CSAT_TARGET),
        csat_asked=len(surveys),
        csat_scores=tuple(sum(1 for s in answered if s.score == score) for score in range(1, 6)),
        csat_average=round(sum(s.score for s in answered) / len(answered), 2) if answered else None,
        messages=len(traffic.messages),
        fallback=Rate.of(sum(1 for m in traffic.messages if m.fallback), len(traffic.messages)),
        online=Rate.of(online, online + counter, ONLINE_SHARE_TARGET),
        knowledge_answers=knowledge, self_service=len(deferrals), counter_visits=counter,
        deferrals=tuple(StatusCount(status, sum(1 for d in deferrals if d.status == status))
                        for status in DEFERRAL_STATUSES),
        deferral_decision_hours=Durations.of(decided),
        branches=tuple(_branch(row) for row in branches),
        notifications=_notifications(notices),
        no_show_reminded=_no_show(settled[True]), no_show_unreminded=_no_show(settled[False]),
        days=_days(period, contained, traffic.messages, handoffs, surveys),
    )


def fallback_messages(period: Period, channel: Optional[str] = None,
                      tracker_url: Optional[str] = None) -> List[Message]:
    """The period's fallback messages, oldest first: what the learning loop reviews."""
    return [m for m in read_traffic(period.start, period.end, channel, tracker_url).messages if m.fallback]
