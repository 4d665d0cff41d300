"""Tickets staff change by hand: per-service rules and one day's counts.

Ticket counts never drop below what is already booked. The check is a
conditional UPDATE, the same pattern bookings use, so a customer booking at
the same moment cannot slip between the check and the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from bot.bank.capacity.models import CapacityRule, Slot
from bot.bank.capacity.slots import DEFAULT_CAPACITY, capacity_for, ensure_slots
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.admin import branch_row, not_in_past
from bot.bank.hours.models import Branch
from bot.bank.refusals import Refusal


MAX_CAPACITY = 50          # tickets per half hour; more than any counter can serve


@dataclass(frozen=True)
class RuleView:
    service: Optional[str]    # None: every service without a rule of its own
    capacity: int


@dataclass(frozen=True)
class RuleChange:
    rule: Optional[RuleView]  # None after a rule was removed
    slots_changed: int        # slots already created from today on, set to the new count
    kept_at_booked: int       # of those, slots that hold more bookings than the new count


@dataclass(frozen=True)
class ServiceCapacity:
    """Tickets per half hour a service gets now, and which rule says so."""

    service: str
    capacity: int
    source: str               # "service", "branch" or "bank" (the built-in default)


@dataclass(frozen=True)
class SlotRow:
    id: int
    service: str
    day: date
    starts_at: time
    ends_at: time
    capacity: int
    booked: int

    @property
    def left(self) -> int:
        return max(self.capacity - self.booked, 0)


def _check_capacity(capacity: int) -> int:
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= MAX_CAPACITY:
        raise Refusal("invalid", f"名额请填 0 到 {MAX_CAPACITY} 之间的整数（0 表示暂停预约）。")
    return capacity


def _check_service(branch: Branch, service: Optional[str]) -> Optional[str]:
    if service is not None and service not in (branch.services or []):
        raise Refusal("invalid", f"{branch.name}不办理“{service}”业务。")
    return service


def capacity_rules(session: Session, branch_id: str) -> List[RuleView]:
    """The branch default first, then per-service rules."""
    branch_row(session, branch_id)
    rows = session.execute(select(CapacityRule).where(CapacityRule.branch_id == branch_id)).scalars()
    return sorted((RuleView(row.service, row.capacity) for row in rows),
                  key=lambda rule: (rule.service is not None, rule.service or ""))


def effective_capacities(session: Session, branch_id: str) -> List[ServiceCapacity]:
    """For each service of the branch: tickets per slot and where that comes from."""
    branch = branch_row(session, branch_id)
    rules = {rule.service: rule.capacity for rule in capacity_rules(session, branch_id)}
    result = []
    for service in branch.services or []:
        if service in rules:
            result.append(ServiceCapacity(service, rules[service], "service"))
        elif None in rules:
            result.append(ServiceCapacity(service, rules[None], "branch"))
        else:
            result.append(ServiceCapacity(service, DEFAULT_CAPACITY, "bank"))
    return result


def _rule_row(session: Session, branch_id: str, service: Optional[str]) -> Optional[CapacityRule]:
    """NULL never equals NULL in SQL, so the branch default needs IS NULL."""
    service_filter = CapacityRule.service.is_(None) if service is None else CapacityRule.service == service
    return session.execute(
        select(CapacityRule).where(CapacityRule.branch_id == branch_id, service_filter)
    ).scalar_one_or_none()


def _services_following(session: Session, branch: Branch, service: Optional[str]) -> Set[str]:
    """Services whose ticket count comes from this rule."""
    if service is not None:
        return {service}
    own_rules = set(session.execute(
        select(CapacityRule.service).where(CapacityRule.branch_id == branch.id, CapacityRule.service.isnot(None))
    ).scalars())
    return set(branch.services or []) - own_rules


def _reapply(session: Session, branch: Branch, services: Iterable[str], today: date) -> Tuple[int, int]:
    """Give slots already created from today on the count their rule now says.

    Customers' searches create slots days ahead, so without this a new rule
    would seem to be ignored. A slot never drops below its bookings.
    """
    changed = kept = 0
    for service in services:
        target = capacity_for(session, branch.id, service)
        new_capacity = case((Slot.booked > target, Slot.booked), else_=target)
        scope = (Slot.branch_id == branch.id, Slot.service == service, Slot.day >= today)
        kept += session.execute(select(func.count(Slot.id)).where(*scope, Slot.booked > target)).scalar_one()
        result = session.execute(
            update(Slot).where(*scope, Slot.capacity != new_capacity)
            .values(capacity=new_capacity).execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    session.expire_all()
    return changed, kept


def set_capacity_rule(session: Session, branch_id: str, service: Optional[str], capacity: int,
                      today: date) -> RuleChange:
    """Tickets per half hour for one service, or (service None) the branch's
    default for services without a rule of their own."""
    branch = branch_row(session, branch_id)
    _check_service(branch, service)
    _check_capacity(capacity)
    row = _rule_row(session, branch_id, service) or CapacityRule(branch_id=branch_id, service=service)
    row.capacity = capacity
    session.add(row)
    session.flush()
    changed, kept = _reapply(session, branch, _services_following(session, branch, service), today)
    return RuleChange(RuleView(service, capacity), changed, kept)


def remove_capacity_rule(session: Session, branch_id: str, service: Optional[str], today: date) -> RuleChange:
    """Drop a rule; its services fall back to the branch default (or the
    bank's default when the branch default itself is removed)."""
    branch = branch_row(session, branch_id)
    row = _rule_row(session, branch_id, service)
    if row is None:
        raise Refusal("not_found", "没有这条名额规则。")
    session.delete(row)
    session.flush()
    changed, kept = _reapply(session, branch, _services_following(session, branch, service), today)
    return RuleChange(None, changed, kept)


def _slot_row(slot: Slot) -> SlotRow:
    return SlotRow(slot.id, slot.service, slot.day, slot.starts_at, slot.ends_at, slot.capacity, slot.booked)


def day_slots(session: Session, branch_id: str, day: date, service: Optional[str] = None) -> List[SlotRow]:
    """The day's slots (created now if customers have not looked yet), by
    time; all of the branch's services when `service` is None."""
    branch = branch_row(session, branch_id)
    _check_service(branch, service)
    services: Sequence[str] = [service] if service else list(branch.services or [])
    rows = [_slot_row(slot) for name in services for slot in ensure_slots(session, branch, name, day)]
    return sorted(rows, key=lambda row: (row.starts_at, row.service))


def chosen_slots(session: Session, branch_id: str, day: date, service: Optional[str] = None,
                 starts_at: Optional[time] = None) -> List[SlotRow]:
    """The slots a change of one day's tickets applies to: one service or all, one slot or the day."""
    rows = day_slots(session, branch_id, day, service)
    if starts_at is not None:
        rows = [row for row in rows if row.starts_at == starts_at]
    if not rows:
        raise Refusal("closed_day", f"{chinese_date(day)}这个网点不营业或没有这个时段，没有预约名额可调。")
    return rows


def set_day_capacity(session: Session, branch_id: str, day: date, capacity: int, *, today: date,
                     service: Optional[str] = None, starts_at: Optional[time] = None,
                     keep_booked: bool = False) -> List[SlotRow]:
    """Set the tickets of one day's slots (one service or all; one slot or
    the whole day), e.g. fewer counters open that day.

    Refused outright, changing nothing, when any of those slots already
    holds more bookings than the new count: staff see who would lose their
    place first (bot/bank/booking/branch_changes.py). The count is set by
    `UPDATE … WHERE booked <= capacity`, so a booking made meanwhile makes
    the change fail instead of overbooking. With `keep_booked` (the cut
    staff confirmed, after cancelling what they could) a slot that still
    holds more, e.g. customers already served, keeps its bookings' count.
    """
    _check_capacity(capacity)
    not_in_past(day, today)
    rows = chosen_slots(session, branch_id, day, service, starts_at)
    ids = [row.id for row in rows]
    if keep_booked:
        session.execute(update(Slot).where(Slot.id.in_(ids))
                        .values(capacity=case((Slot.booked > capacity, Slot.booked), else_=capacity))
                        .execution_options(synchronize_session=False))
        session.expire_all()
        return _rows_of(session, ids)
    _refuse_below_booked(rows, capacity)
    result = session.execute(
        update(Slot).where(Slot.id.in_(ids), Slot.booked <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):  # a customer booked between our read and the update
        raise Refusal("below_booked", "刚好有客户预约了这些时段，请刷新页面后再调整。")
    session.expire_all()
    return _rows_of(session, ids)


def _rows_of(session: Session, ids: List[int]) -> List[SlotRow]:
    return [_slot_row(slot) for slot in session.execute(
        select(Slot).where(Slot.id.in_(ids)).order_by(Slot.starts_at, Slot.service)).scalars()]


def _refuse_below_booked(rows: Sequence[SlotRow], capacity: int) -> None:
    full = [row for row in rows if row.booked > capacity]
    if not full:
        return
    listed = "、".join(f"{hm(row.starts_at)} {row.service}已有 {row.booked} 人预约" for row in full[:5])
    more = f"等 {len(full)} 个时段" if len(full) > 5 else ""
    raise Refusal(
        "below_booked",
        f"{listed}{more}，超过调整后的名额（{capacity} 个）。确认减少后，超出的预约将被取消，"
        "系统会通知被取消的客户改约。",
    )
