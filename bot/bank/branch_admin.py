"""What branch staff change by hand: check-ins, dated hours, notices, tickets.

The staff console calls these functions and nothing else, so every rule a
counter clerk can run into is here, in plain Python, tested without a web
server:

- a booking is checked in on its own day only; a no-show is marked once its
  slot has started; both can be undone the same day (a mistaken tap);
- a dated exception (closed, or shortened/extra hours) changes what
  `bot.bank.hours.hours_on` answers at once, and slots already created for
  that day are fitted to the new hours: empty ones go, ones holding
  bookings stop taking tickets and their bookings are reported, so staff
  can call those customers;
- ticket counts never drop below what is already booked. The check is a
  conditional UPDATE, the same pattern bookings use, so a customer booking
  at the same moment cannot slip between the check and the change.

Errors are `AdminError`s with a code for programs and a Chinese message a
clerk can act on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank.booking import DEFAULT_CAPACITY, capacity_for, ensure_slots, windows
from bot.bank.hours import all_branches, hours_on
from bot.bank.masking import mask_phone
from bot.bank.models import Booking, Branch, CapacityRule, Customer, HoursException, Notice, Slot, WeeklyHours
from bot.clock import local

ACTIVE, CHECKED_IN, NO_SHOW, CANCELLED = "active", "checked_in", "no_show", "cancelled"
STATUS_LABELS = {ACTIVE: "待到店", CHECKED_IN: "已签到", NO_SHOW: "未到店", CANCELLED: "已取消"}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
MAX_CAPACITY = 50          # tickets per half hour; more than any counter can serve
MAX_REASON = 200           # HoursException.reason column
MAX_NOTICE = 300           # the bot reads notices out to customers: keep them short


class AdminError(Exception):
    """A change was refused. `code` is for programs, `message` for the clerk.

    Codes: invalid (bad input), not_found, other_branch (outside the
    caller's branch), and conflicts: not_active, not_today, not_started,
    below_booked, rebooked, closed_day.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- views: plain data the console can use after the session has closed ----

@dataclass(frozen=True)
class DeskBooking:
    """A booking as the counter sees it: who, when, what, and where it stands."""

    id: int
    reference: str
    branch_id: str
    branch_name: str
    service: str
    party: str
    day: date
    starts_at: time
    ends_at: time
    status: str
    channel: str
    customer_name: str
    customer_phone: str      # masked: the counter asks for the last four digits
    checked_in_at: Optional[datetime]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class BranchInfo:
    id: str
    name: str
    district: str
    address: str
    phone: str
    services: Tuple[str, ...]
    lunch_start: Optional[time]
    lunch_end: Optional[time]


@dataclass(frozen=True)
class WeekdayHours:
    weekday: int
    opens: Optional[time]
    closes: Optional[time]

    @property
    def label(self) -> str:
        return WEEKDAY_LABELS[self.weekday]


@dataclass(frozen=True)
class DayLine:
    """One day of a branch's schedule, as customers will be told it."""

    day: date
    opens: Optional[time]
    closes: Optional[time]
    reason: str
    exception: bool           # a dated exception (branch or bank-wide) decides this day

    @property
    def is_open(self) -> bool:
        return self.opens is not None

    @property
    def weekday_label(self) -> str:
        return WEEKDAY_LABELS[self.day.weekday()]


@dataclass(frozen=True)
class ExceptionView:
    id: int
    branch_id: Optional[str]
    day: date
    closed: bool
    opens: Optional[time]
    closes: Optional[time]
    reason: str

    @property
    def bank_wide(self) -> bool:
        return self.branch_id is None


@dataclass(frozen=True)
class HoursChange:
    """The exception as stored, and the bookings now outside opening hours."""

    exception: ExceptionView
    replaced: bool
    affected: Tuple[DeskBooking, ...]


@dataclass(frozen=True)
class NoticeView:
    id: int
    branch_id: Optional[str]
    body: str
    starts_on: date
    ends_on: Optional[date]

    @property
    def bank_wide(self) -> bool:
        return self.branch_id is None


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


# --- helpers -----------------------------------------------------------------

def hm(moment: Optional[time]) -> str:
    return moment.strftime("%H:%M") if moment else ""


def cn_day(day: date) -> str:
    """2026-09-30 -> 9月30日（周三）, the way a clerk says a date."""
    return f"{day.month}月{day.day}日（{WEEKDAY_LABELS[day.weekday()]}）"


def _branch(session: Session, branch_id: str) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise AdminError("not_found", "没有这个网点。")
    return branch


def _info(branch: Branch) -> BranchInfo:
    return BranchInfo(branch.id, branch.name, branch.district, branch.address, branch.phone,
                      tuple(branch.services or ()), branch.lunch_start, branch.lunch_end)


def branch_info(session: Session, branch_id: str) -> BranchInfo:
    return _info(_branch(session, branch_id))


def branch_choices(session: Session) -> List[BranchInfo]:
    """Every branch, by district then name, for pickers."""
    return [_info(branch) for branch in all_branches(session)]


def first_branch_id(session: Session) -> str:
    """The branch a page opens on when none was asked for."""
    return branch_choices(session)[0].id


def _desk_view(booking: Booking, customer: Customer) -> DeskBooking:
    slot = booking.slot
    return DeskBooking(
        id=booking.id, reference=booking.reference, branch_id=booking.branch_id,
        branch_name=booking.branch.name, service=booking.service, party=booking.party,
        day=slot.day, starts_at=slot.starts_at, ends_at=slot.ends_at, status=booking.status,
        channel=booking.channel, customer_name=customer.name or "",
        customer_phone=mask_phone(customer.phone), checked_in_at=local(booking.checked_in_at),
    )


def _local(when: datetime) -> datetime:
    """Slots are stored as local wall-clock times; compare like with like."""
    return when.replace(tzinfo=None)


def _check_capacity(capacity: int) -> int:
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= MAX_CAPACITY:
        raise AdminError("invalid", f"名额请填 0 到 {MAX_CAPACITY} 之间的整数（0 表示暂停放号）。")
    return capacity


def _not_in_past(day: date, today: date) -> None:
    if day < today:
        raise AdminError("invalid", f"{cn_day(day)}已经过去，不能再修改。")


# --- bookings at the counter ---------------------------------------------------

def bookings_on(session: Session, day: date, branch_id: Optional[str] = None) -> List[DeskBooking]:
    """Every booking of the day (cancelled ones too, for the counts), by time."""
    query = (
        select(Booking, Customer)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Customer, Booking.customer_id == Customer.id)
        .where(Slot.day == day)
        .order_by(Slot.starts_at, Booking.service, Booking.reference)
    )
    if branch_id is not None:
        query = query.where(Booking.branch_id == branch_id)
    return [_desk_view(booking, customer) for booking, customer in session.execute(query)]


def _counter_booking(session: Session, reference: str, scope: Optional[str]) -> Tuple[Booking, Customer]:
    """The booking by reference, refused when it belongs to another branch."""
    row = session.execute(
        select(Booking, Customer).join(Customer, Booking.customer_id == Customer.id)
        .where(Booking.reference == reference.strip().upper())
    ).first()
    if row is None:
        raise AdminError("not_found", f"没有找到预约号 {reference.strip().upper()}。")
    if scope is not None and row[0].branch_id != scope:
        raise AdminError("other_branch", "这个预约不在本网点，不能操作。")
    return row[0], row[1]


def check_in(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Mark the customer as arrived.

    Only on the booking's own day, so a mistyped reference cannot close a
    booking weeks ahead. A customer marked as no-show who turns up late can
    still be checked in. A second tap changes nothing (tablets double-fire).
    """
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status == CHECKED_IN:
        return _desk_view(booking, customer)
    if booking.status not in (ACTIVE, NO_SHOW):
        raise AdminError("not_active", f"预约 {booking.reference} {STATUS_LABELS[booking.status]}，不能签到。")
    if booking.slot.day != when.date():
        raise AdminError("not_today", f"预约 {booking.reference} 是{cn_day(booking.slot.day)}的，只能当天签到。")
    booking.status, booking.checked_in_at = CHECKED_IN, when
    session.flush()
    return _desk_view(booking, customer)


def mark_no_show(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Record that the customer did not come.

    Only once the slot has started. The ticket is not given back (the time
    has passed), but the booking stops being active, so the customer can
    book the same service again.
    """
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status == NO_SHOW:
        return _desk_view(booking, customer)
    if booking.status != ACTIVE:
        raise AdminError("not_active", f"预约 {booking.reference} {STATUS_LABELS[booking.status]}，不能标记未到。")
    slot = booking.slot
    if datetime.combine(slot.day, slot.starts_at) > _local(when):
        raise AdminError(
            "not_started",
            f"预约时段 {cn_day(slot.day)} {hm(slot.starts_at)} 还没到，过了时间客户仍未到店再标记。",
        )
    booking.status = NO_SHOW
    session.flush()
    return _desk_view(booking, customer)


def undo_mark(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Take back a check-in or no-show made by mistake, on the same day."""
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status not in (CHECKED_IN, NO_SHOW):
        raise AdminError("not_active", f"预约 {booking.reference} 没有签到或未到记录，无需撤销。")
    if booking.slot.day != when.date():
        raise AdminError("not_today", "只能撤销当天的签到或未到记录。")
    try:
        with session.begin_nested():
            booking.status, booking.checked_in_at = ACTIVE, None
            session.flush()
    except IntegrityError:  # the customer has booked the same service again meanwhile
        raise AdminError("rebooked", f"客户已经重新预约了{booking.service}，不能撤销这条记录。") from None
    return _desk_view(booking, customer)


# --- opening hours: the weekly timetable and dated exceptions -----------------

def weekly_timetable(session: Session, branch_id: str) -> List[WeekdayHours]:
    """Monday to Sunday; closed days have no times. Edited in the bank profile."""
    _branch(session, branch_id)
    rows = {row.weekday: row for row in session.execute(
        select(WeeklyHours).where(WeeklyHours.branch_id == branch_id)).scalars()}
    return [
        WeekdayHours(day, rows[day].opens, rows[day].closes) if day in rows else WeekdayHours(day, None, None)
        for day in range(7)
    ]


def upcoming_days(session: Session, branch_id: str, start: date, days: int = 14) -> List[DayLine]:
    """The next days exactly as `hours_on` answers customers, for checking."""
    branch = _branch(session, branch_id)
    dated = {row.day for row in _exception_rows(session, branch_id, start, start + timedelta(days=days))}
    lines = []
    for offset in range(days):
        hours = hours_on(session, branch, start + timedelta(days=offset))
        lines.append(DayLine(hours.day, hours.opens, hours.closes, hours.reason, hours.day in dated))
    return lines


def _exception_rows(session: Session, branch_id: str, start: date, end: Optional[date] = None):
    query = select(HoursException).where(
        (HoursException.branch_id == branch_id) | HoursException.branch_id.is_(None),
        HoursException.day >= start,
    ).order_by(HoursException.day, HoursException.branch_id)
    if end is not None:
        query = query.where(HoursException.day < end)
    return list(session.execute(query).scalars())


def _exception_view(row: HoursException) -> ExceptionView:
    return ExceptionView(row.id, row.branch_id, row.day, row.closed, row.opens, row.closes, row.reason)


def upcoming_exceptions(session: Session, branch_id: str, today: date) -> List[ExceptionView]:
    """The branch's own and the bank-wide exceptions from today on."""
    _branch(session, branch_id)
    return [_exception_view(row) for row in _exception_rows(session, branch_id, today)]


def _validated_hours(closed: bool, opens: Optional[time], closes: Optional[time]) -> Tuple:
    if closed:
        return None, None
    if opens is None or closes is None:
        raise AdminError("invalid", "调整营业时间请填写开门和关门时间；全天停业请选“全天停业”。")
    if opens >= closes:
        raise AdminError("invalid", "关门时间要晚于开门时间。")
    return opens, closes


def add_exception(session: Session, branch_id: str, day: date, *, closed: bool,
                  opens: Optional[time] = None, closes: Optional[time] = None,
                  reason: str, today: date) -> HoursChange:
    """Close the branch on `day`, or open it at other times (shortened hours,
    a holiday rota). A second exception for the same day replaces the first,
    because customers can only be told one answer per day.

    The reason is required: the assistant tells it to customers who ask.
    """
    branch = _branch(session, branch_id)
    _not_in_past(day, today)
    reason = (reason or "").strip()
    if not reason:
        raise AdminError("invalid", "请填写原因，客户问起时助手会转告。")
    if len(reason) > MAX_REASON:
        raise AdminError("invalid", f"原因请控制在 {MAX_REASON} 字以内。")
    opens, closes = _validated_hours(closed, opens, closes)
    row = session.execute(
        select(HoursException).where(HoursException.branch_id == branch_id, HoursException.day == day)
    ).scalar_one_or_none()
    replaced = row is not None
    row = row or HoursException(branch_id=branch_id, day=day)
    row.closed, row.opens, row.closes, row.reason = closed, opens, closes, reason
    session.add(row)
    session.flush()
    affected = _fit_slots_to_hours(session, branch, day)
    return HoursChange(_exception_view(row), replaced, tuple(affected))


def remove_exception(session: Session, branch_id: str, exception_id: int, today: date) -> HoursChange:
    """Go back to the usual hours for that day. Bank-wide exceptions are
    decided centrally and cannot be removed from a branch."""
    row = session.get(HoursException, exception_id)
    if row is None or row.branch_id != branch_id:
        raise AdminError("not_found", "没有找到这条临时调整，可能已经删除。")
    _not_in_past(row.day, today)
    view = _exception_view(row)
    session.delete(row)
    session.flush()
    affected = _fit_slots_to_hours(session, _branch(session, branch_id), view.day)
    return HoursChange(view, False, tuple(affected))


def _fit_slots_to_hours(session: Session, branch: Branch, day: date) -> List[DeskBooking]:
    """Make the day's existing slots agree with its hours; return the active
    bookings now outside them.

    Slots are created lazily, so a day customers already looked at has rows
    from the old hours. Empty ones are deleted (recreated on demand if the
    hours come back); ones that any booking points at are kept, so history
    stays intact, but take no more tickets. Rows are locked first so that a
    booking in flight cannot land in a slot being deleted.
    """
    open_windows = set(windows(hours_on(session, branch, day)))
    slots = session.execute(
        select(Slot).where(Slot.branch_id == branch.id, Slot.day == day).with_for_update()
    ).scalars().all()
    outside = [slot for slot in slots if (slot.starts_at, slot.ends_at) not in open_windows]
    if not outside:
        return []
    referenced = set(session.execute(
        select(Booking.slot_id).where(Booking.slot_id.in_([slot.id for slot in outside]))
    ).scalars())
    for slot in outside:
        if slot.id in referenced:
            slot.capacity = slot.booked
        else:
            session.delete(slot)
    session.flush()
    stranded = session.execute(
        select(Booking, Customer).join(Customer, Booking.customer_id == Customer.id)
        .where(Booking.slot_id.in_(referenced), Booking.status == ACTIVE)
    ).all()
    return sorted((_desk_view(b, c) for b, c in stranded), key=lambda v: (v.starts_at, v.reference))


# --- notices -------------------------------------------------------------------

def _notice_view(row: Notice) -> NoticeView:
    return NoticeView(row.id, row.branch_id, row.body, row.starts_on, row.ends_on)


def notices_in_force(session: Session, branch_id: str, today: date) -> List[NoticeView]:
    """The branch's and the bank-wide notices that have not ended yet."""
    _branch(session, branch_id)
    rows = session.execute(
        select(Notice).where(
            (Notice.branch_id == branch_id) | Notice.branch_id.is_(None),
            (Notice.ends_on.is_(None)) | (Notice.ends_on >= today),
        ).order_by(Notice.starts_on, Notice.id)
    ).scalars()
    return [_notice_view(row) for row in rows]


def add_notice(session: Session, branch_id: Optional[str], body: str, *, starts_on: date,
               ends_on: Optional[date], today: date) -> NoticeView:
    """A notice customers are told with the opening hours; `branch_id` None
    means every branch (the caller decides who may do that)."""
    if branch_id is not None:
        _branch(session, branch_id)
    body = " ".join((body or "").split())
    if not body:
        raise AdminError("invalid", "公告内容不能为空。")
    if len(body) > MAX_NOTICE:
        raise AdminError("invalid", f"公告请控制在 {MAX_NOTICE} 字以内，助手会原样念给客户听。")
    if starts_on < today:
        raise AdminError("invalid", "开始日期不能早于今天。")
    if ends_on is not None and ends_on < starts_on:
        raise AdminError("invalid", "结束日期不能早于开始日期。")
    row = Notice(branch_id=branch_id, body=body, starts_on=starts_on, ends_on=ends_on)
    session.add(row)
    session.flush()
    return _notice_view(row)


def end_notice(session: Session, notice_id: int, *, branch_id: str, today: date,
               bank_wide_ok: bool = False) -> NoticeView:
    """Stop showing a notice from today on. One that has not started yet is
    simply deleted. Bank-wide notices only when `bank_wide_ok`."""
    row = session.get(Notice, notice_id)
    allowed = row is not None and (row.branch_id == branch_id or (row.branch_id is None and bank_wide_ok))
    if not allowed:
        raise AdminError("not_found", "没有找到这条公告，或者它不归本网点管理。")
    view = _notice_view(row)
    if row.starts_on >= today:
        session.delete(row)
    else:
        row.ends_on = min(row.ends_on or today, today - timedelta(days=1))
    session.flush()
    return view


# --- tickets (号源) ---------------------------------------------------------------

def _check_service(branch: Branch, service: Optional[str]) -> Optional[str]:
    if service is not None and service not in (branch.services or []):
        raise AdminError("invalid", f"{branch.name}不办理“{service}”业务。")
    return service


def capacity_rules(session: Session, branch_id: str) -> List[RuleView]:
    """The branch default first, then per-service rules."""
    _branch(session, branch_id)
    rows = session.execute(select(CapacityRule).where(CapacityRule.branch_id == branch_id)).scalars()
    return sorted((RuleView(row.service, row.capacity) for row in rows),
                  key=lambda rule: (rule.service is not None, rule.service or ""))


def effective_capacities(session: Session, branch_id: str) -> List[ServiceCapacity]:
    """For each service of the branch: tickets per slot and where that comes from."""
    branch = _branch(session, branch_id)
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
    branch = _branch(session, branch_id)
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
    branch = _branch(session, branch_id)
    row = _rule_row(session, branch_id, service)
    if row is None:
        raise AdminError("not_found", "没有这条名额规则。")
    session.delete(row)
    session.flush()
    changed, kept = _reapply(session, branch, _services_following(session, branch, service), today)
    return RuleChange(None, changed, kept)


def _slot_row(slot: Slot) -> SlotRow:
    return SlotRow(slot.id, slot.service, slot.day, slot.starts_at, slot.ends_at, slot.capacity, slot.booked)


def day_slots(session: Session, branch_id: str, day: date, service: Optional[str] = None) -> List[SlotRow]:
    """The day's slots (created now if customers have not looked yet), by
    time; all of the branch's services when `service` is None."""
    branch = _branch(session, branch_id)
    _check_service(branch, service)
    services: Sequence[str] = [service] if service else list(branch.services or [])
    rows = [_slot_row(slot) for name in services for slot in ensure_slots(session, branch, name, day)]
    return sorted(rows, key=lambda row: (row.starts_at, row.service))


def set_day_capacity(session: Session, branch_id: str, day: date, capacity: int, *, today: date,
                     service: Optional[str] = None, starts_at: Optional[time] = None) -> List[SlotRow]:
    """Set the tickets of one day's slots (one service or all; one slot or
    the whole day), e.g. fewer counters open that day.

    Refused outright, changing nothing, when any of those slots already
    holds more bookings than the new count: staff must move those customers
    first. The count is set by `UPDATE … WHERE booked <= capacity`, so a
    booking made meanwhile makes the change fail instead of overbooking.
    """
    _check_capacity(capacity)
    _not_in_past(day, today)
    rows = day_slots(session, branch_id, day, service)
    if starts_at is not None:
        rows = [row for row in rows if row.starts_at == starts_at]
    if not rows:
        raise AdminError("closed_day", f"{cn_day(day)}这个网点不营业或没有这个时段，没有号源可调。")
    _refuse_below_booked(rows, capacity)
    ids = [row.id for row in rows]
    result = session.execute(
        update(Slot).where(Slot.id.in_(ids), Slot.booked <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):  # a customer booked between our read and the update
        raise AdminError("below_booked", "刚好有客户预约了这些时段，请刷新页面后再调整。")
    session.expire_all()
    return [_slot_row(slot) for slot in session.execute(
        select(Slot).where(Slot.id.in_(ids)).order_by(Slot.starts_at, Slot.service)).scalars()]


def _refuse_below_booked(rows: Sequence[SlotRow], capacity: int) -> None:
    full = [row for row in rows if row.booked > capacity]
    if not full:
        return
    listed = "、".join(f"{hm(row.starts_at)} {row.service}已约 {row.booked} 人" for row in full[:5])
    more = f"等 {len(full)} 个时段" if len(full) > 5 else ""
    raise AdminError(
        "below_booked",
        f"不能把名额调到 {capacity} 个：{listed}{more}。名额不能少于已预约人数，"
        "如需减少，请先联系这些客户改约或取消。",
    )

