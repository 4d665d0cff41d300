"""Branch appointments: the booking form and managing existing bookings.

The rules (quotas, one active booking per service, atomic tickets) live in
`bot.bank.booking`; these actions only ask, validate and word the answers.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    buttons, entity_day, entity_moment, entity_names_day, latest_entity, latest_text,
)
from actions.hours import describe_hours, next_opening, say_schedule_not_published
from actions.loops import STALLS, ProgressTracking, ask, earlier_value, stall_level
from actions.identity import (
    IdentityValidation,
    channel_of,
    customer_id_for,
    customer_id_in,
    customer_in,
    without_identity_when_verified,
)
from actions.resilience import database_guarded
from bot.bank.booking import choices, confirmations, lifecycle as bookings
from bot.bank.booking.service_words import service_in_words
from bot.bank.capacity import slots as tickets
from bot.bank.capacity.models import Slot
from bot.bank.db import transaction
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.schedule import day_kind
from bot.bank.hours.timetable import all_branches, find_branch, hours_on
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.nlu.normalise import normalise
from bot.wording import text_of

FORM_SLOTS = ("booking_day", "booking_slot", "booking_confirmed", "booking_ref", "party", "booking_part",
              "booking_page", STALLS)
CO_BORROWER = "共同借款人"
UNREADABLE_DAY = "unreadable"


def service_names() -> List[str]:
    return [service["name"] for service in load_profile().services]


def branches_offering(session, service: Optional[str]) -> list:
    """The branches a customer may pick, in the order the buttons show them."""
    return [b for b in all_branches(session) if not service or service in b.services]


def services_offered(session, branch_name: Optional[str]) -> List[str]:
    """The services a customer may pick at the branch chosen (any, before one is), as the buttons show them."""
    branch = find_branch(session, branch_name or "")
    return list(branch.services) if branch else service_names()


def horizon_days() -> int:
    return load_profile().booking_horizon_days


def describe_booking(view: bookings.BookingView, today: date) -> str:
    who = "" if view.party == bookings.SELF else text_of("utter_booking_party", party=view.party)
    return text_of("utter_booking_line", branch=view.branch_name, service=view.service, party=who,
                   date=chinese_date(view.day, today), starts=hm(view.starts_at), ends=hm(view.ends_at),
                   reference=view.reference)


def slot_buttons(slots: Sequence[tickets.SlotView], today: date, intent: str = "inform") -> List[dict]:
    return buttons(
        (text_of("utter_slot_button", date=chinese_date(s.day, today), starts=hm(s.starts_at), left=s.left),
         f'/{intent}{{"slot_id":"{s.id}"}}')
        for s in slots[:choices.PAGE_SIZE]
    )


def own_slot_ids(session, tracker: Tracker) -> set:
    """Slots this customer already holds, when booking for a co-applicant."""
    if not tracker.get_slot("party"):
        return set()
    customer = customer_in(session, tracker)
    return bookings.held_slot_ids(session, customer.id if customer else None)


def reset_form_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


PART_WORDS = {choices.DayPart.MORNING: "utter_day_part_morning", choices.DayPart.AFTERNOON: "utter_day_part_afternoon"}
PART_VALUES = {part.value for part in choices.DayPart}
STEERING = {"more": choices.Kind.MORE, "other_day": choices.Kind.OTHER_DAY,
            **{part.value: choices.Kind.PART for part in choices.DayPart}}


def accepts_change(tracker: Tracker, slot: str) -> bool:
    """An answer may replace an earlier one only when the form starts or asks for it, or when the
    customer says so (a branch kept from an earlier booking is not an answer of this one)."""
    return (tracker.get_slot("requested_slot") in (None, slot) or earlier_value(tracker, slot) is None
            or choices.changes_answer(latest_text(tracker)))


def offer_for(session, tracker: Tracker, moment) -> tuple:
    """The day's free slots for this customer, and the page of them on offer."""
    branch, service = find_branch(session, tracker.get_slot("branch") or ""), tracker.get_slot("service")
    day = date.fromisoformat(tracker.get_slot("booking_day"))
    taken = own_slot_ids(session, tracker)
    free = [s for s in tickets.free_slots(session, branch, service, day, moment) if s.id not in taken]
    part = tracker.get_slot("booking_part")
    page = int(tracker.get_slot("booking_page") or 0)
    return free, choices.offer(free, choices.DayPart(part) if part else None, page)


def say_changed(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, value: str, shown: str) -> None:
    """Acknowledge a change of an earlier answer; the new summary follows at the confirmation."""
    earlier = earlier_value(tracker, slot)
    if earlier and earlier != value:
        dispatcher.utter_message(response="utter_booking_answer_changed", value=shown)


class BookingSlotChecks:
    """Day and time-slot validation shared by booking and rescheduling."""

    SIDE_SLOTS = ("booking_part", "booking_page")

    def _branch_and_service(self, tracker: Tracker, session):
        return find_branch(session, tracker.get_slot("branch") or ""), tracker.get_slot("service")

    def _same_time(self, session, tracker: Tracker, branch, service: Optional[str], day: Optional[str]) -> Dict:
        """After a change of branch, service or day, keep the chosen time if it is free there."""
        chosen = str(tracker.get_slot("booking_slot") or "")
        if not chosen.isdigit() or branch is None or not service or not day:
            return {}
        old = session.get(Slot, int(chosen))
        if old is None:
            return {"booking_slot": None}
        free = tickets.free_slots(session, branch, service, date.fromisoformat(day), now())
        match = next((s for s in free if s.starts_at == old.starts_at), None)
        return {"booking_slot": str(match.id) if match else None, "booking_page": "0"}

    def extract_booking_day(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """A day only when the message names one, and replaces a chosen day only when asked or said."""
        found: Dict[Text, Any] = {}
        asked = tracker.get_slot("requested_slot")
        part = choices.part_of_day(latest_text(tracker))
        if part and asked != "booking_slot" and not tracker.get_slot("booking_slot"):
            found["booking_part"] = part.value  # 后天下午: offer the afternoon
        day = entity_day(tracker) if entity_names_day(tracker) else None
        if day and accepts_change(tracker, "booking_day"):
            return {**found, "booking_day": day.isoformat(), "booking_page": "0"}
        if asked == "booking_day" and not found and tracker.latest_message.get("intent", {}).get("name") == "inform":
            return {"booking_day": UNREADABLE_DAY}  # e.g. 2月30号: re-ask, never guess
        return found

    def extract_booking_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        chosen = latest_entity(tracker, "slot_id")
        asked = tracker.get_slot("requested_slot") == "booking_slot"
        if chosen and str(chosen) not in STEERING:
            return {"booking_slot": str(chosen)}
        wanted = entity_moment(tracker)
        if not asked:
            if wanted and tracker.get_slot("booking_slot") and choices.changes_answer(latest_text(tracker)):
                return {"booking_slot": f"at:{wanted.strftime('%H:%M')}"}  # 改成十点半
            return {}
        with transaction() as session:
            free, shown = offer_for(session, tracker, now())
        if chosen:
            pick = choices.Pick(STEERING[str(chosen)], part=choices.DayPart(chosen) if chosen in PART_VALUES else None)
        else:
            pick = choices.read_pick(latest_text(tracker), shown.slots, free, wanted.time() if wanted else None)
        return self._picked(pick, shown, wanted, dispatcher)

    @staticmethod
    def _picked(pick: choices.Pick, shown: choices.Offer, wanted, dispatcher) -> Dict[Text, Any]:
        if pick.kind is choices.Kind.SLOT:
            return {"booking_slot": str(pick.slot.id)}
        if pick.kind is choices.Kind.EARLIEST:
            dispatcher.utter_message(response="utter_booking_took_earliest", time=hm(pick.slot.starts_at))
            return {"booking_slot": str(pick.slot.id)}
        if pick.kind is choices.Kind.PART:
            return {"booking_part": pick.part.value, "booking_page": "0"}
        if pick.kind is choices.Kind.MORE:
            return {"booking_page": str(shown.page + 1)}
        if pick.kind is choices.Kind.OTHER_DAY:
            return {"booking_day": None, "booking_page": "0", "booking_part": None}
        if pick.kind is choices.Kind.NO_MATCH:
            if wanted:
                return {"booking_slot": f"at:{wanted.strftime('%H:%M')}"}
            dispatcher.utter_message(response="utter_booking_choice_not_offered")
            return {"booking_slot": None}
        return {}

    def validate_booking_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if value is None:
            return {"booking_day": None}  # 换一天: ask again
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
            say_changed(dispatcher, tracker, "booking_day", day.isoformat(), chinese_date(day, today))
            return {"booking_day": day.isoformat(),
                    **self._same_time(session, tracker, branch, service, day.isoformat())}

    def validate_booking_slot(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "")
        if not text:
            return {"booking_slot": None}
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
class ValidateBookingForm(ProgressTracking, BookingSlotChecks, IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return without_identity_when_verified(domain_slots, tracker)

    def extract_service(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """The customer's own words for a service (办张卡 → 开户); 改还款日 is done in the chat."""
        if not accepts_change(tracker, "service"):
            return {}
        said = latest_text(tracker)
        words = service_in_words(choices.after_change(said))
        if words.debit_day:
            dispatcher.utter_message(response="utter_booking_debit_day_online")  # its button starts it
        if words.service or tracker.get_slot("requested_slot") != "service":
            return {"service": words.service} if words.service else {}
        with transaction() as session:
            chosen = choices.choose(said, services_offered(session, tracker.get_slot("branch")))  # 第二个
        return {"service": chosen} if chosen else {}

    def validate_branch(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not accepts_change(tracker, "branch"):
            return {"branch": earlier_value(tracker, "branch")}  # 南山支行远吗: a question, not a change
        with transaction() as session:
            service = tracker.get_slot("service")
            branch = find_branch(session, str(value)) or choices.choose(normalise(str(value)),
                                                                        branches_offering(session, service))
            if branch is None:
                dispatcher.utter_message(response="utter_booking_branch_unknown", branch=value)
                return {"branch": None}
            if service and service not in branch.services:
                dispatcher.utter_message(response="utter_booking_branch_lacks_service", branch=branch.name,
                                         service=service)
                return {"branch": None}
            say_changed(dispatcher, tracker, "branch", branch.name, branch.name)
            return {"branch": branch.name,
                    **self._same_time(session, tracker, branch, service, tracker.get_slot("booking_day"))}

    def validate_service(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not accepts_change(tracker, "service"):
            return {"service": earlier_value(tracker, "service")}
        if value not in service_names():
            dispatcher.utter_message(response="utter_booking_service_unknown")
            return {"service": None}
        with transaction() as session:
            branch = find_branch(session, tracker.get_slot("branch") or "")
            if branch is not None and value not in branch.services:
                dispatcher.utter_message(response="utter_booking_branch_lacks_service", branch=branch.name,
                                         service=value)
                return {"service": value, "branch": None}
            say_changed(dispatcher, tracker, "service", value, value)
            return {"service": value, **self._same_time(session, tracker, branch, value, tracker.get_slot("booking_day"))}

    def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: Dict[Text, Any]) -> Dict[Text, Any]:
        return {"booking_confirmed": bool(value)}


@database_guarded
class ActionAskBranch(Action):
    def name(self) -> Text:
        return "action_ask_booking_form_branch"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            offering = branches_offering(session, tracker.get_slot("service"))
        ask(dispatcher, tracker, "utter_which_branch",
            buttons((b.name, f'/inform{{"branch":"{b.name}"}}') for b in offering))
        return []


@database_guarded
class ActionAskService(Action):
    def name(self) -> Text:
        return "action_ask_booking_form_service"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            offered = services_offered(session, tracker.get_slot("branch"))
        ask(dispatcher, tracker, "utter_which_service",
            buttons((name, f'/inform{{"service":"{name}"}}') for name in offered))
        return []


OPEN_DAYS_OFFERED = 5


@database_guarded
class ActionAskBookingDay(Action):
    """Ask the day in words; a customer who is stuck gets the next open days to pick from."""

    def name(self) -> Text:
        return "action_ask_booking_day"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        today = now().date()
        with transaction() as session:
            branch = find_branch(session, tracker.get_slot("branch") or "")
            last = tickets.bookable_until(session, today)
            days = [today + timedelta(days=n) for n in range(1, (last - today).days + 1)]
            open_days = [d for d in days if branch is None or hours_on(session, branch, d).is_open]
        choices_ = buttons((chinese_date(d, today), f'/inform{{"time":"{d.isoformat()}T00:00:00+08:00"}}')
                           for d in open_days[:OPEN_DAYS_OFFERED])
        ask(dispatcher, tracker, "utter_ask_booking_form_booking_day", choices_ if stall_level(tracker) else [])
        return []


class ActionAskBookingFormBookingDay(ActionAskBookingDay):
    """Rasa asks a form's own question before the shared one; booking and rescheduling ask alike."""

    def name(self) -> Text:
        return "action_ask_booking_form_booking_day"


@database_guarded
class ActionAskBookingSlot(Action):
    """Offer a page of free slots in the part of the day asked for; the next free ones if the day is full."""

    def name(self) -> Text:
        return "action_ask_booking_slot"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        moment = now()
        today = moment.date()
        with transaction() as session:
            free, shown = offer_for(session, tracker, moment)
            branch = find_branch(session, tracker.get_slot("branch") or "")
            day = date.fromisoformat(tracker.get_slot("booking_day"))
            if not free:
                others = tickets.next_free_slots(session, branch, tracker.get_slot("service"), day, moment)
            branch_name = branch.name
        if not free:
            dispatcher.utter_message(response="utter_ask_booking_slot_next" if others else "utter_ask_booking_slot_none",
                                     horizon_days=horizon_days(), buttons=slot_buttons(others, today))
            return []
        asked = choices.DayPart(tracker.get_slot("booking_part")) if tracker.get_slot("booking_part") else None
        part = shown.part or asked
        ask(dispatcher, tracker, "utter_booking_part_full" if asked and not shown.part else "utter_ask_booking_slot",
            slot_buttons(shown.slots, today) + steering_buttons(shown), date=chinese_date(day, today),
            branch=branch_name, part=text_of(PART_WORDS[part]) if part else "")
        return []


def steering_buttons(shown: choices.Offer) -> List[dict]:
    """更多时间 when the day has more pages, the part of the day not shown, and 换一天."""
    steering = [(text_of("utter_slots_more_button"), "more")] if shown.has_more else []
    if shown.part or shown.has_more:
        steering += [(text_of("utter_slots_part_button", part=text_of(PART_WORDS[part])), part.value)
                     for part in choices.DayPart if part is not shown.part]
    steering.append((text_of("utter_slots_other_day_button"), "other_day"))
    return buttons((title, f'/inform{{"slot_id":"{choice}"}}') for title, choice in steering)


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
        ask(dispatcher, tracker, "utter_ask_booking_confirmed", goal=goal, **where)
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
                if view.created:
                    confirmations.confirm_by_sms(session, view.reference, at=moment)
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
class ValidateManageBookingForm(ProgressTracking, BookingSlotChecks, IdentityValidation, FormValidationAction):
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

    def extract_booking_ref(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """第二个, 最后那个, or the booking's branch or service in words (福田那个, 开户的)."""
        if tracker.get_slot("requested_slot") != "booking_ref" or latest_entity(tracker, "booking_ref"):
            return {}
        with transaction() as session:
            mine = bookings.bookings_of(session, customer_id_in(session, tracker), now().date())
        chosen = booking_in_words(latest_text(tracker), latest_entity(tracker, "branch"), mine)
        return {"booking_ref": chosen.reference} if chosen else {}

    def validate_booking_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        with transaction() as session:
            mine = bookings.bookings_of(session, customer_id_in(session, tracker), now().date())
        chosen = next((b for b in mine if b.reference == str(value).upper()), None)
        if chosen is None:
            dispatcher.utter_message(response="utter_booking_ref_unknown")
            return {"booking_ref": None}
        return {"booking_ref": chosen.reference, "branch": chosen.branch_name, "service": chosen.service}


def booking_in_words(text: str, branch: Optional[str], mine: Sequence[bookings.BookingView]):
    """The one booking a customer names by position, branch or service; None when unclear."""
    service = service_in_words(text).service
    return choices.choose(text, mine, lambda b: b.branch_name == branch or b.service == service)


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
        ask(dispatcher, tracker, "utter_ask_booking_ref_cancel" if cancelling else "utter_ask_booking_ref_reschedule",
            buttons((describe_booking(b, today), f'/inform{{"booking_ref":"{b.reference}"}}') for b in mine))
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
                    if view.created:     # moved, not kept on the same slot
                        confirmations.confirm_by_sms(session, view.reference, at=moment)
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
