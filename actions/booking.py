"""Branch appointments: the booking form and managing existing bookings.

The rules (quotas, one active booking per service, atomic tickets) live in
`bot.bank.booking`; these actions only ask, validate and word the answers.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, entity_day, entity_moment, latest_entity
from actions.hours import describe_hours, next_opening, say_schedule_not_published
from actions.identity import (
    IdentityValidation,
    channel_of,
    customer_id_for,
    customer_id_in,
    customer_in,
    without_identity_when_verified,
)
from actions.resilience import database_guarded
from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.capacity.models import Slot
from bot.bank.db import transaction
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.schedule import day_kind
from bot.bank.hours.timetable import all_branches, find_branch, hours_on
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.wording import text_of

FORM_SLOTS = ("booking_day", "booking_slot", "booking_confirmed", "booking_ref", "party")
CO_BORROWER = "共同借款人"
MAX_SLOT_BUTTONS = 8
UNREADABLE_DAY = "unreadable"


def service_names() -> List[str]:
    return [service["name"] for service in load_profile().services]


def horizon_days() -> int:
    return load_profile().booking_horizon_days


def describe_booking(view: bookings.BookingView, today: date) -> str:
    who = "" if view.party == bookings.SELF else text_of("utter_booking_party", party=view.party)
    return text_of("utter_booking_line", branch=view.branch_name, service=view.service, party=who,
                   date=chinese_date(view.day, today), starts=hm(view.starts_at), ends=hm(view.ends_at),
                   reference=view.reference)


def slot_buttons(slots: List[tickets.SlotView], today: date, intent: str = "inform") -> List[dict]:
    return buttons(
        (text_of("utter_slot_button", date=chinese_date(s.day, today), starts=hm(s.starts_at), left=s.left),
         f'/{intent}{{"slot_id":"{s.id}"}}')
        for s in slots[:MAX_SLOT_BUTTONS]
    )


def own_slot_ids(session, tracker: Tracker) -> set:
    """Slots this customer already holds, when booking for a co-applicant."""
    if not tracker.get_slot("party"):
        return set()
    customer = customer_in(session, tracker)
    return bookings.held_slot_ids(session, customer.id if customer else None)


def reset_form_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class BookingSlotChecks:
    """Day and time-slot validation shared by booking and rescheduling."""

    def _branch_and_service(self, tracker: Tracker, session):
        return find_branch(session, tracker.get_slot("branch") or ""), tracker.get_slot("service")

    def extract_booking_day(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: Dict[Text, Any]) -> Dict[Text, Any]:
        day = entity_day(tracker)
        if day:
            return {"booking_day": day.isoformat()}
        asked = tracker.get_slot("requested_slot") == "booking_day"
        if asked and tracker.latest_message.get("intent", {}).get("name") == "inform":
            return {"booking_day": UNREADABLE_DAY}  # e.g. 2月30号: re-ask, never guess
        return {}

    def extract_booking_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        chosen = latest_entity(tracker, "slot_id")
        if chosen:
            return {"booking_slot": str(chosen)}
        wanted = entity_moment(tracker)
        if wanted and tracker.get_slot("requested_slot") == "booking_slot":
            return {"booking_slot": f"at:{wanted.strftime('%H:%M')}"}
        return {}

    def validate_booking_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        today = now().date()
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(response="utter_booking_day_unreadable")
            return {"booking_day": None}
        if day < today:
            dispatcher.utter_message(response="utter_booking_day_past", date=chinese_date(day, today))
            return {"booking_day": None}
        with transaction() as session:
            if day > tickets.bookable_until(session, today):
                if not day_kind(session, day).published:
                    say_schedule_not_published(dispatcher, day)
                else:
                    dispatcher.utter_message(response="utter_booking_day_too_far", horizon_days=horizon_days())
                return {"booking_day": None}
            branch, service = self._branch_and_service(tracker, session)
            if branch is None:
                return {"booking_day": day.isoformat()}
            hours = hours_on(session, branch, day)
            if not hours.is_open:
                upcoming = next_opening(session, hours)
                dispatcher.utter_message(
                    response="utter_booking_day_closed", hours=describe_hours(hours, today),
                    next_open=text_of("utter_booking_next_open", date=chinese_date(upcoming.day, today))
                    if upcoming else "")
                return {"booking_day": None}
            if service and not tickets.free_slots(session, branch, service, day, now()):
                alternatives = tickets.next_free_slots(session, branch, service, day, now())
                dispatcher.utter_message(
                    response="utter_booking_day_full" if alternatives else "utter_booking_all_full",
                    date=chinese_date(day, today), branch=branch.name, service=service,
                    horizon_days=horizon_days(), buttons=slot_buttons(alternatives, today),
                )
                return {"booking_day": None}
        return {"booking_day": day.isoformat()}

    def validate_booking_slot(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "")
        with transaction() as session:
            if text.startswith("at:"):
                return self._slot_at_time(text[3:], dispatcher, tracker, session)
            slot = session.get(Slot, int(text)) if text.isdigit() else None
            if slot is None or slot.booked >= slot.capacity:
                dispatcher.utter_message(response="utter_booking_slot_taken")
                return {"booking_slot": None}
            if slot.id in own_slot_ids(session, tracker):
                dispatcher.utter_message(response="utter_booking_slot_own")
                return {"booking_slot": None}
            return {"booking_slot": str(slot.id), "booking_day": slot.day.isoformat(),
                    "branch": find_branch(session, slot.branch_id).name, "service": slot.service}

    def _slot_at_time(self, clock: str, dispatcher, tracker: Tracker, session) -> Dict[Text, Any]:
        branch, service = self._branch_and_service(tracker, session)
        day = date.fromisoformat(tracker.get_slot("booking_day"))
        free = tickets.free_slots(session, branch, service, day, now())
        match = next((s for s in free if hm(s.starts_at) <= clock < hm(s.ends_at)), None)
        if match:
            return {"booking_slot": str(match.id)}
        dispatcher.utter_message(response="utter_booking_slot_at_time_full", clock=clock)
        return {"booking_slot": None}


@database_guarded
class ValidateBookingForm(BookingSlotChecks, IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return without_identity_when_verified(domain_slots, tracker)

    def validate_branch(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Dict[Text, Any]:
        with transaction() as session:
            branch = find_branch(session, str(value))
            if branch is None:
                dispatcher.utter_message(response="utter_booking_branch_unknown", branch=value)
                return {"branch": None}
            service = tracker.get_slot("service")
            if service and service not in branch.services:
                dispatcher.utter_message(response="utter_booking_branch_lacks_service", branch=branch.name,
                                         service=service)
                return {"branch": None}
        return {"branch": branch.name}

    def validate_service(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if value not in service_names():
            dispatcher.utter_message(response="utter_booking_service_unknown")
            return {"service": None}
        with transaction() as session:
            branch = find_branch(session, tracker.get_slot("branch") or "")
            if branch is not None and value not in branch.services:
                dispatcher.utter_message(response="utter_booking_branch_lacks_service", branch=branch.name,
                                         service=value)
                return {"service": value, "branch": None}
        return {"service": value}

    def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: Dict[Text, Any]) -> Dict[Text, Any]:
        return {"booking_confirmed": bool(value)}


@database_guarded
class ActionAskBranch(Action):
    def name(self) -> Text:
        return "action_ask_booking_form_branch"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        service = tracker.get_slot("service")
        with transaction() as session:
            offering = [b for b in all_branches(session) if not service or service in b.services]
        dispatcher.utter_message(
            response="utter_which_branch",
            buttons=buttons((b.name, f'/inform{{"branch":"{b.name}"}}') for b in offering),
        )
        return []


@database_guarded
class ActionAskService(Action):
    def name(self) -> Text:
        return "action_ask_booking_form_service"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            branch = find_branch(session, tracker.get_slot("branch") or "")
            offered = branch.services if branch else service_names()
        dispatcher.utter_message(
            response="utter_which_service",
            buttons=buttons((name, f'/inform{{"service":"{name}"}}') for name in offered),
        )
        return []


@database_guarded
class ActionAskBookingSlot(Action):
    """Offer only slots with tickets left; the next free ones if the day is full."""

    def name(self) -> Text:
        return "action_ask_booking_slot"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        moment = now()
        today = moment.date()
        with transaction() as session:
            branch = find_branch(session, tracker.get_slot("branch") or "")
            service = tracker.get_slot("service")
            day = date.fromisoformat(tracker.get_slot("booking_day"))
            taken = own_slot_ids(session, tracker)
            free = [s for s in tickets.free_slots(session, branch, service, day, moment) if s.id not in taken]
            if free:
                response = "utter_ask_booking_slot"
            else:
                free = tickets.next_free_slots(session, branch, service, day, moment)
                response = "utter_ask_booking_slot_next" if free else "utter_ask_booking_slot_none"
            branch_name = branch.name
        dispatcher.utter_message(response=response, date=chinese_date(day, today), branch=branch_name,
                                 horizon_days=horizon_days(), buttons=slot_buttons(free, today))
        return []


@database_guarded
class ActionAskBookingConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        today = now().date()
        with transaction() as session:
            slot = session.get(Slot, int(tracker.get_slot("booking_slot")))
            branch = find_branch(session, slot.branch_id)
            where = {"branch": branch.name, "address": branch.address, "service": slot.service,
                     "date": chinese_date(slot.day, today), "starts": hm(slot.starts_at), "ends": hm(slot.ends_at)}
        party = tracker.get_slot("party") or text_of("utter_booking_you")
        goal = (text_of("utter_booking_goal_reschedule") if tracker.get_slot("booking_goal") == "reschedule"
                else text_of("utter_booking_goal_new", party=party))
        dispatcher.utter_message(response="utter_ask_booking_confirmed", goal=goal, **where)
        return []


@database_guarded
class ActionSubmitBooking(Action):
    """Write the booking in one transaction and tell the customer what to bring."""

    def name(self) -> Text:
        return "action_submit_booking"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if not tracker.get_slot("booking_confirmed"):
            dispatcher.utter_message(response="utter_booking_not_confirmed")
            return reset_form_slots()
        moment, customer_id = now(), customer_id_for(tracker)
        try:
            with transaction() as session:
                view = bookings.book(session, customer_id, int(tracker.get_slot("booking_slot")),
                                     channel_of(tracker), moment,
                                     party=tracker.get_slot("party") or bookings.SELF)
        except Refusal as error:
            self._explain(dispatcher, tracker, error.code)
            return reset_form_slots()
        if view.created:
            dispatcher.utter_message(
                response="utter_booking_done", booking=describe_booking(view, moment.date()), address=view.address,
                bring=text_of(f"utter_bring_{bookings.BRING_KEYS.get(view.service, 'other')}"), buttons=co_applicant_button(view),
            )
        else:
            dispatcher.utter_message(response="utter_booking_exists", service=view.service,
                                     booking=describe_booking(view, moment.date()))
        return reset_form_slots()

    @staticmethod
    def _explain(dispatcher, tracker: Tracker, reason: str) -> None:
        moment = now()
        if reason == "full":
            with transaction() as session:
                branch = find_branch(session, tracker.get_slot("branch") or "")
                alternatives = tickets.next_free_slots(
                    session, branch, tracker.get_slot("service"), moment.date(), moment)
            dispatcher.utter_message(
                response="utter_booking_full_now",
                buttons=slot_buttons(alternatives, moment.date(), intent="book_appointment"),
            )
        else:
            dispatcher.utter_message(response="utter_booking_slot_passed")


def co_applicant_button(view: bookings.BookingView) -> List[dict]:
    """After the borrower's signing, offer a staggered slot for the co-borrower."""
    if view.service != "面签" or view.party != bookings.SELF:
        return []
    payload = {"party": CO_BORROWER, "branch": view.branch_name, "service": view.service}
    return buttons([(text_of("utter_booking_co_applicant_button"), "/book_appointment" + json.dumps(payload, ensure_ascii=False))])


@database_guarded
class ValidateManageBookingForm(BookingSlotChecks, IdentityValidation, FormValidationAction):
    """Check, cancel or reschedule: which steps depend on the goal."""

    STEPS = {
        "check": [],
        "cancel": ["booking_ref"],
        "reschedule": ["booking_ref", "booking_day", "booking_slot", "booking_confirmed"],
    }

    def name(self) -> Text:
        return "validate_manage_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        steps = ["phone", "otp_code"] + self.STEPS.get(tracker.get_slot("booking_goal") or "check", [])
        return without_identity_when_verified(steps, tracker)

    def validate_booking_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        with transaction() as session:
            mine = bookings.bookings_of(session, customer_id_in(session, tracker), now().date())
        chosen = next((b for b in mine if b.reference == str(value).upper()), None)
        if chosen is None:
            dispatcher.utter_message(response="utter_booking_ref_unknown")
            return {"booking_ref": None}
        return {"booking_ref": chosen.reference, "branch": chosen.branch_name, "service": chosen.service}


@database_guarded
class ActionAskBookingRef(Action):
    """List the customer's bookings as buttons; end the form if there are none."""

    def name(self) -> Text:
        return "action_ask_booking_ref"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        today = now().date()
        with transaction() as session:
            mine = bookings.bookings_of(session, customer_id_in(session, tracker), today)
        if not mine:
            dispatcher.utter_message(response="utter_no_bookings")
            return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_form_slots()]
        cancelling = tracker.get_slot("booking_goal") == "cancel"
        dispatcher.utter_message(
            response="utter_ask_booking_ref_cancel" if cancelling else "utter_ask_booking_ref_reschedule",
            buttons=buttons((describe_booking(b, today), f'/inform{{"booking_ref":"{b.reference}"}}') for b in mine),
        )
        return []


@database_guarded
class ActionSubmitManageBooking(Action):
    def name(self) -> Text:
        return "action_submit_manage_booking"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        goal, moment = tracker.get_slot("booking_goal") or "check", now()
        customer_id = customer_id_for(tracker)
        values: Dict[Text, Any] = {}
        try:
            with transaction() as session:
                if goal == "cancel":
                    view = bookings.cancel(session, customer_id, tracker.get_slot("booking_ref"), moment)
                    response, values = "utter_booking_cancelled", {"booking": describe_booking(view, moment.date())}
                elif goal == "reschedule" and tracker.get_slot("booking_confirmed"):
                    view = bookings.reschedule(session, customer_id, tracker.get_slot("booking_ref"),
                                               int(tracker.get_slot("booking_slot")), moment)
                    response, values = "utter_booking_rescheduled", {"booking": describe_booking(view, moment.date())}
                elif goal == "reschedule":
                    response = "utter_booking_kept"
                else:
                    response, values = self._list(session, customer_id, moment.date())
        except Refusal as error:
            response = {"full": "utter_booking_reschedule_full",
                        "not_found": "utter_booking_not_found"}.get(error.code, "utter_booking_reschedule_passed")
        dispatcher.utter_message(response=response, **values)
        return [*reset_form_slots(), SlotSet("booking_goal", None)]

    @staticmethod
    def _list(session, customer_id: Optional[int], today: date):
        mine = bookings.bookings_of(session, customer_id, today)
        if not mine:
            return "utter_no_bookings", {}
        return "utter_booking_list", {"bookings": "\n".join(describe_booking(b, today) for b in mine)}
