"""Opening hours and branch finding: read the bank database, answer exactly."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, entity_day, latest_entity
from actions.resilience import database_guarded
from bot.bank.db import transaction
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.schedule import day_kind
from bot.bank.hours.timetable import DayHours, all_branches, branches_in, districts, find_branch, hours_on, notices_for, open_branches
from bot.clock import now
from bot.wording import text_of

# "哪些网点今天营业" asks about every branch, not one we should ask about.
ASKS_ABOUT_ALL = re.compile(r"哪些|哪几|哪家|有没有.*(开|营业)|都有|所有|全部")
LOOKAHEAD_DAYS = 14


def describe_hours(hours: DayHours, today: date) -> str:
    """One branch's opening on one day, in a sentence."""
    name, day = hours.branch.name, chinese_date(hours.day, today)
    why = text_of("utter_hours_why", reason=hours.reason) if hours.reason else ""
    if not hours.is_open:
        return text_of("utter_hours_closed", branch=name, date=day, why=why)
    lunch = text_of("utter_hours_lunch", starts=hm(hours.lunch[0]), ends=hm(hours.lunch[1])) if hours.lunch else ""
    return text_of("utter_hours_open", branch=name, date=day, opens=hm(hours.opens), closes=hm(hours.closes),
                   lunch=lunch, why=why)


def describe_now(hours: DayHours, moment: datetime) -> str:
    """Whether the branch is serving right now, and when that changes."""
    clock = moment.time().replace(tzinfo=None)
    if hours.open_at(clock):
        return text_of("utter_hours_now_open", closes=hm(hours.closes))
    if hours.is_open and clock < hours.opens:
        return text_of("utter_hours_now_before", opens=hm(hours.opens))
    if hours.is_open and hours.lunch and hours.lunch[0] <= clock < hours.lunch[1]:
        return text_of("utter_hours_now_lunch", ends=hm(hours.lunch[1]))
    return text_of("utter_hours_now_after") if hours.is_open else ""


def next_opening(session, hours: DayHours) -> Optional[DayHours]:
    """The branch's next open day after a closed one."""
    for offset in range(1, LOOKAHEAD_DAYS):
        candidate = hours_on(session, hours.branch, hours.day + timedelta(days=offset))
        if not candidate.schedule_published:
            return None          # past the known holiday schedule: promise nothing
        if candidate.is_open:
            return candidate
    return None


def book_button(branch: str) -> dict:
    """"预约福田支行": start a booking at the branch just talked about."""
    return {"title": text_of("utter_book_branch_button", branch=branch),
            "payload": f'/book_appointment{{"branch":"{branch}"}}'}


def say_schedule_not_published(dispatcher: CollectingDispatcher, day: date) -> None:
    """A day in a year whose holiday schedule nobody knows yet: say so, never "a normal working day"."""
    dispatcher.utter_message(response="utter_holiday_schedule_not_published", year=day.year,
                             day=chinese_date(day))


@database_guarded
class ActionAnswerOpeningHours(Action):
    """"福田支行周六开吗" / "今天哪些网点营业" / "南山区的网点几点开"."""

    def name(self) -> Text:
        return "action_answer_opening_hours"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        moment = now()
        day = entity_day(tracker) or moment.date()
        branch_name = latest_entity(tracker, "branch") or tracker.get_slot("branch")
        district = latest_entity(tracker, "district")
        text = tracker.latest_message.get("text") or ""
        with transaction() as session:
            if not day_kind(session, day).published:
                say_schedule_not_published(dispatcher, day)
                return []
            if district and not latest_entity(tracker, "branch"):
                self._district(dispatcher, session, district, day, moment)
                return []
            branch = find_branch(session, branch_name) if branch_name else None
            if branch is None:
                if ASKS_ABOUT_ALL.search(text):
                    self._all_open(dispatcher, session, day, moment)
                else:
                    ask_which_branch(dispatcher, session)
                return []
            self._one(dispatcher, session, branch, day, moment)
        return [SlotSet("branch", branch.name)]

    @staticmethod
    def _one(dispatcher, session, branch, day: date, moment: datetime) -> None:
        hours = hours_on(session, branch, day)
        lines = [describe_hours(hours, moment.date())]
        if day == moment.date():
            lines.append(describe_now(hours, moment))
        if not hours.is_open:
            upcoming = next_opening(session, hours)
            if upcoming:
                lines.append(text_of("utter_hours_next_open", hours=describe_hours(upcoming, moment.date())))
        lines += notices_for(session, branch, day)
        dispatcher.utter_message(
            response="utter_hours_answer", lines="\n".join(line for line in lines if line),
            buttons=[book_button(branch.name),
                     *buttons([(text_of("utter_branch_contact_button"), f'/find_branch{{"branch":"{branch.name}"}}')])],
        )

    @staticmethod
    def _all_open(dispatcher, session, day: date, moment: datetime) -> None:
        open_ones = open_branches(session, day, all_branches(session))
        when = chinese_date(day, moment.date())
        if not open_ones:
            dispatcher.utter_message(response="utter_hours_none_open", date=when)
            return
        lines = [text_of("utter_hours_open_line", branch=h.branch.name, opens=hm(h.opens), closes=hm(h.closes))
                 for h in open_ones]
        lines += notices_for(session, None, day)
        dispatcher.utter_message(response="utter_hours_open_list", date=when, lines="\n".join(lines))

    @staticmethod
    def _district(dispatcher, session, district: str, day: date, moment: datetime) -> None:
        branches = branches_in(session, district)
        if not branches:
            dispatcher.utter_message(response="utter_no_branch_in_district", district=district)
            ask_which_branch(dispatcher, session)
            return
        lines = [describe_hours(hours_on(session, b, day), moment.date()) for b in branches]
        dispatcher.utter_message(response="utter_district_hours", district=district, count=len(branches),
                                 lines="\n".join(lines))


def ask_which_branch(dispatcher: CollectingDispatcher, session) -> None:
    """No branch named: offer the districts, each a button that lists its branches."""
    dispatcher.utter_message(
        response="utter_which_branch_or_district",
        buttons=buttons((name, f'/find_branch{{"district":"{name}"}}') for name in districts(session)),
    )


@database_guarded
class ActionFindBranch(Action):
    """"南山区有网点吗" / "福田支行在哪" / "附近有你们银行吗"."""

    def name(self) -> Text:
        return "action_find_branch"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        moment = now()
        branch_name = latest_entity(tracker, "branch")
        district = latest_entity(tracker, "district")
        with transaction() as session:
            if branch_name and (branch := find_branch(session, branch_name)):
                hours = hours_on(session, branch, moment.date())
                dispatcher.utter_message(
                    response="utter_branch_contact", branch=branch.name, address=branch.address, phone=branch.phone,
                    hours=describe_hours(hours, moment.date()), buttons=[book_button(branch.name)],
                )
                return [SlotSet("branch", branch.name)]
            if district:
                found = branches_in(session, district)
                if found:
                    lines = [text_of("utter_district_branch_line", branch=b.name, address=b.address) for b in found]
                    dispatcher.utter_message(
                        response="utter_district_branches", district=district, lines="\n".join(lines),
                        buttons=buttons((b.name, f'/find_branch{{"branch":"{b.name}"}}') for b in found),
                    )
                    return []
                dispatcher.utter_message(response="utter_no_branch_in_district", district=district)
            ask_which_branch(dispatcher, session)
        return []
