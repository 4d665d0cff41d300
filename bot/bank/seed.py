"""Load the demo bank (bot/bank/demo_bank.yml) into the bank database.

`python -m bot.bank.seed` migrates the schema and upserts the branches, their
weekly hours and services, the current notice and a few dated exceptions,
so the demo shows rotation closures and holiday openings, the demo loans,
and the demo knowledge base (topics the database does not have yet).
Running it again updates the same rows; bookings and staff's edits of the
knowledge base are never touched.
"""
from __future__ import annotations

import logging
from datetime import date, time, timedelta
from typing import Any, Dict, Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.bank.db import transaction
from bot.bank.hours.holidays import is_makeup_working_day, is_working_day
from bot.bank.debit_day.demo_loans import seed_loans
from bot.bank.knowledge.topics import load_demo
from bot.bank.models import Branch, HoursException, Notice, WeeklyHours
from bot.bank.profile import BankProfile, load_profile
from bot.bank.schema import upgrade
from bot.clock import now

logger = logging.getLogger(__name__)

WEEKDAYS, SATURDAY, SUNDAY = range(5), 5, 6
BRANCH_NOTICE = (
    "近期网点办理业务的客户较多，建议先预约再去网点，可以少排队；"
    "能在手机银行办的业务，也可以直接在线上办理。"
)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _span(text: Optional[str]) -> Optional[tuple]:
    """"09:00-17:00" -> (09:00, 17:00); "closed" or empty -> None."""
    if not text or text == "closed":
        return None
    opens, closes = text.split("-")
    return _clock(opens), _clock(closes)


def _weekly_rows(branch_id: str, hours: Dict[str, Any]) -> list:
    days = [(d, hours.get("weekdays")) for d in WEEKDAYS]
    days += [(SATURDAY, hours.get("saturday")), (SUNDAY, hours.get("sunday"))]
    return [
        WeeklyHours(branch_id=branch_id, weekday=day, opens=span[0], closes=span[1])
        for day, text in days
        if (span := _span(text))
    ]


def _upsert_branch(session: Session, data: Dict[str, Any]) -> None:
    branch = session.get(Branch, data["id"]) or Branch(id=data["id"])
    lunch = _span(data.get("lunch_break"))
    branch.name = data["name"]
    branch.aliases = list(data.get("aliases", []))
    branch.district = data["district"]
    branch.address = data["address"]
    branch.phone = data["phone"]
    branch.services = list(data.get("services", []))
    branch.lunch_start, branch.lunch_end = lunch if lunch else (None, None)
    session.add(branch)
    session.flush()
    session.execute(delete(WeeklyHours).where(WeeklyHours.branch_id == branch.id))
    session.add_all(_weekly_rows(branch.id, data["hours"]))


def _working_day_from(day: date) -> date:
    """The first ordinary working day on or after `day` (no holiday, no 调休)."""
    while not is_working_day(day) or is_makeup_working_day(day):
        day += timedelta(days=1)
    return day


def _demo_notices_and_exceptions(session: Session, today: date) -> None:
    """An epidemic notice and dated exceptions near today, replaced on each run."""
    session.execute(delete(Notice).where(Notice.body == BRANCH_NOTICE))
    session.add(Notice(branch_id=None, body=BRANCH_NOTICE, starts_on=today - timedelta(days=30)))
    demo = [
        ("yantian", _working_day_from(today + timedelta(days=7)), True, None, None,
         "网点轮休，当天暂停营业，可前往罗湖支行办理"),
        ("baoan", date(2026, 10, 1), False, time(10), time(15), "国庆假期轮值营业"),
        ("futian", _working_day_from(today + timedelta(days=3)), False, time(10), time(15),
         "设备检修，缩短营业时间"),
    ]
    for branch_id, day, closed, opens, closes, reason in demo:
        session.execute(
            delete(HoursException).where(HoursException.branch_id == branch_id, HoursException.day == day)
        )
        session.add(HoursException(branch_id=branch_id, day=day, closed=closed, opens=opens, closes=closes, reason=reason))


def seed(profile: Optional[BankProfile] = None, today: Optional[date] = None) -> int:
    """Migrate and load the demo bank; returns the number of branches."""
    upgrade()
    profile = profile or load_profile()
    with transaction() as session:
        for data in profile.branches:
            _upsert_branch(session, data)
        _demo_notices_and_exceptions(session, today or now().date())
        seed_loans(session, today or now().date())
        load_demo(session, at=now())
        count = len(session.execute(select(Branch.id)).all())
    logger.info("Seeded %d branches", count)
    return count


def seed_if_empty() -> None:
    """First start: migrate, and load the demo bank when there are no branches."""
    upgrade()
    with transaction() as session:
        empty = session.execute(select(Branch.id).limit(1)).first() is None
    if empty:
        seed()


def main(argv: list) -> None:
    """`--if-empty` loads the demo bank only into an empty database."""
    logging.basicConfig(level=logging.INFO)
    if "--if-empty" in argv:
        seed_if_empty()
    else:
        print(f"Demo bank loaded: {seed()} branches")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
