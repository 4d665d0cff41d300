"""Repayment deferral: care first, then the debit-day change as a form.

The rules (who may apply, 1st-28th, at most a month later, one open request
per loan) live in `bot.bank.debit_day`; these actions ask, explain and word.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, entity_day, latest_entity, latest_text
from actions.loops import AskByResponse, ProgressTracking, ask
from actions.identity import IdentityValidation, channel_of, customer_in, without_identity_when_verified
from actions.resilience import database_guarded
from bot.bank.booking import choices
from bot.bank.customers.models import Customer
from bot.bank.db import transaction
from bot.bank.debit_day import applications as deferral
from bot.bank.formatting import month_day
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.nlu.normalise import normalise
from bot.wording import text_of

# Words that say "I cannot pay", not just "a later day suits me better".
HARDSHIP = re.compile(r"还不起|还不上|交不上|付不起|没钱|没有收入|没收入|失业|下岗|裁员|倒闭|破产|停工|停业|欠薪|工资.*没发|病了|住院|走投无路|撑不下去")
# `hardship` is not among them: once said, it stays with the conversation through
# every form until a hand-off reads it (the agent's queue puts it first) or the
# customer gives up the request (actions/forms.py).
FORM_SLOTS = ("loan_ref", "new_debit_day", "deferral_reason", "deferral_confirmed", "deferral_blocked")
REFUSALS = {
    "out_of_range": "utter_deferral_day_out_of_range",
    "same_day": "utter_deferral_day_same",
    "too_far": "utter_deferral_day_too_far",
    "earlier": "utter_deferral_day_earlier",
    "loan_closed": "utter_deferral_loan_closed",
}


def said_hardship(tracker: Tracker) -> bool:
    """The latest message says the customer cannot pay."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return intent == "report_hardship" or bool(HARDSHIP.search(latest_text(tracker)))


def the_customer(session, tracker: Tracker) -> Optional[Customer]:
    return customer_in(session, tracker)


def status_of(view: deferral.RequestView) -> str:
    """Where the request stands; a co-borrower's refusal is said, not hidden behind "awaiting"."""
    if view.waiting_for == deferral.WAIT_REFUSED:
        return text_of("utter_deferral_status_co_borrower_refused")
    return text_of(f"utter_deferral_status_{view.status}")


def describe_request(view: deferral.RequestView) -> str:
    """One request, its status and what it still waits for, in plain words."""
    text = text_of("utter_deferral_request", reference=view.reference, product=view.product,
                   tail=view.contract_no[-4:], day=view.requested_day, current_due=month_day(view.current_due),
                   new_due=month_day(view.new_due), status=status_of(view))
    if view.missing and view.waiting_for != deferral.WAIT_REFUSED:
        people = "、".join(f"{c.name}（{c.phone}）" for c in view.missing)
        text += text_of("utter_deferral_request_missing", people=people)
    return text


class ActionDeferralIntro(Action):
    """Before any question: care for someone who cannot pay, facts for the rest."""

    def name(self) -> Text:
        return "action_deferral_intro"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        """Care for someone who cannot pay (said now or earlier in the conversation), facts for
        the rest; the form follows every time, also when a question started it (actions/knowledge.py)."""
        hardship = said_hardship(tracker) or bool(tracker.get_slot("hardship"))
        dispatcher.utter_message(response="utter_deferral_intro_hardship" if hardship else "utter_deferral_intro")
        return [SlotSet("hardship", hardship), FollowupAction("deferral_form")]


def named_date(tracker: Tracker, day: int) -> Optional[date]:
    """The exact date the customer named with the day ("延到12月15号"), if any."""
    said = entity_day(tracker)
    return said if said and said.day == day and re.search(r"月", tracker.latest_message.get("text") or "") else None


def check_new_day(dispatcher: CollectingDispatcher, tracker: Tracker, loan_ref: str, day: int) -> Dict[Text, Any]:
    """Apply the debit-day rule to this loan; explain a refusal or the gain."""
    with transaction() as session:
        preview = deferral.preview_change(session, the_customer(session, tracker), loan_ref, day,
                                          target=named_date(tracker, day))
    if not preview.ok:
        dispatcher.utter_message(response=REFUSALS.get(preview.reason, "utter_deferral_day_refused"))
        return {"new_debit_day": None}
    dispatcher.utter_message(response="utter_deferral_day_gain", day=day, current_due=month_day(preview.current_due),
                             new_due=month_day(preview.new_due), days_gained=preview.days_gained)
    return {"new_debit_day": str(day)}


@database_guarded
class ValidateDeferralForm(ProgressTracking, IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_deferral_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        if tracker.get_slot("deferral_blocked"):
            return []
        return without_identity_when_verified(domain_slots, tracker)

    def extract_loan_ref(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """第二个, 最后那个 or the product (房贷那笔) among the customer's loans, in the order the
        buttons list them; a contract number or 尾号 is Rasa's entity, read by `validate_loan_ref`."""
        if tracker.get_slot("requested_slot") != "loan_ref" or latest_entity(tracker, "loan_ref"):
            return {}
        said = latest_text(tracker)
        with transaction() as session:
            customer = the_customer(session, tracker)
            loans = deferral.loans_of(session, customer) if customer else []
        chosen = choices.choose(said, loans, lambda loan: loan.product in said)
        return {"loan_ref": chosen.contract_no} if chosen else {}

    def validate_loan_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: Dict[Text, Any]) -> Dict[Text, Any]:
        with transaction() as session:
            customer = the_customer(session, tracker)
            lookup = deferral.find_loan(session, customer, str(value)) if customer else None
            if lookup is not None and lookup.reason == "ambiguous":
                dispatcher.utter_message(response="utter_loan_ambiguous", count=len(lookup.candidates),
                                         tail=str(value)[-4:], buttons=loan_buttons(lookup.candidates))
                return {"loan_ref": None}
            if lookup is None or not lookup.found:
                dispatcher.utter_message(response="utter_loan_not_found")
                return {"loan_ref": None}
            if lookup.role == deferral.CO_BORROWER:
                return {"loan_ref": lookup.loan.contract_no, "deferral_blocked": "co_borrower"}
            if any(r.is_open and r.contract_no == lookup.loan.contract_no for r in deferral.requests_of(session, customer)):
                return {"loan_ref": lookup.loan.contract_no, "deferral_blocked": "already_open"}
        said_day = tracker.get_slot("new_debit_day")
        if said_day:
            return {"loan_ref": lookup.loan.contract_no,
                    **check_new_day(dispatcher, tracker, lookup.loan.contract_no, int(said_day))}
        return {"loan_ref": lookup.loan.contract_no}

    def validate_new_debit_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: Dict[Text, Any]) -> Dict[Text, Any]:
        try:
            day = int(value)
        except (TypeError, ValueError):
            dispatcher.utter_message(response=REFUSALS["out_of_range"])
            return {"new_debit_day": None}
        if not tracker.get_slot("loan_ref"):
            return {"new_debit_day": str(day)}  # said up front: checked once the loan is known
        return check_new_day(dispatcher, tracker, tracker.get_slot("loan_ref"), day)

    def validate_deferral_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """A reason in words, or 第二个 among the reasons offered. Hardship said as the reason
        (我失业了) is cared for here and flagged, as if said up front."""
        if value is None:
            return {"deferral_reason": None}
        said = normalise(str(value))
        chosen = choices.choose(said, deferral.REASONS, lambda reason: deferral.reason_said(said, reason))
        reason = {"deferral_reason": chosen or deferral.normalise_reason(str(value))}
        if tracker.get_slot("hardship") or not said_hardship(tracker):
            return reason
        dispatcher.utter_message(response="utter_deferral_reason_hardship")
        return {**reason, "hardship": True}


@database_guarded
class ActionAskLoanRef(Action):
    def name(self) -> Text:
        return "action_ask_loan_ref"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            customer = the_customer(session, tracker)
            loans = deferral.loans_of(session, customer) if customer else []
        ask(dispatcher, tracker, "utter_ask_loan_ref", loan_buttons(loans))
        return []


def loan_buttons(loans) -> List[dict]:
    """One button per loan, the full contract number in its payload: a shared tail is never guessed."""
    return buttons((text_of("utter_loan_button", product=loan.product, tail=loan.tail),
                    f'/inform{{"loan_ref":"{loan.contract_no}"}}') for loan in loans)


class ActionAskDeferralReason(Action):
    def name(self) -> Text:
        return "action_ask_deferral_reason"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        ask(dispatcher, tracker, "utter_ask_deferral_reason", buttons((reason, reason) for reason in deferral.REASONS))
        return []


@database_guarded
class ActionAskDeferralConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_deferral_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            preview = deferral.preview_change(session, the_customer(session, tracker), tracker.get_slot("loan_ref"),
                                              int(tracker.get_slot("new_debit_day")))
        loan = preview.loan
        ask(dispatcher, tracker, "utter_ask_deferral_confirmed", product=loan.product, tail=loan.tail,
            day=preview.new_day, current_due=month_day(preview.current_due),
            new_due=month_day(preview.new_due), reason=tracker.get_slot("deferral_reason"))
        return []


class ActionAskNewDebitDay(AskByResponse):
    """The day is itself a number, so a stuck customer gets other words, never a numbered list."""

    RESPONSE, STEP = "utter_ask_new_debit_day", "new_debit_day"


def next_steps(view: deferral.RequestView) -> str:
    """What happens after submitting: the co-borrower call, the decision, interest."""
    steps = []
    if view.missing:
        people = "、".join(c.name for c in view.missing)
        steps.append(text_of("utter_deferral_step_co_borrowers", people=people))
    steps.append(text_of("utter_deferral_step_decision"))
    steps.append(text_of("utter_deferral_step_until_approved", current_due=month_day(view.current_due)))
    steps.append(text_of("utter_deferral_step_interest"))
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))


@database_guarded
class ActionSubmitDeferral(Action):
    """Create the request (or explain why not) and say what happens next."""

    def name(self) -> Text:
        return "action_submit_deferral"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        blocked = tracker.get_slot("deferral_blocked")
        if blocked == "co_borrower":
            dispatcher.utter_message(response="utter_deferral_co_borrower")
            return reset()
        if blocked == "already_open" or tracker.get_slot("deferral_confirmed"):
            self._submit(dispatcher, tracker)
        else:
            dispatcher.utter_message(response="utter_deferral_quit")
        return reset()

    @staticmethod
    def _submit(dispatcher, tracker: Tracker) -> None:
        with transaction() as session:
            customer = the_customer(session, tracker)
            existing = [r for r in deferral.requests_of(session, customer)
                        if r.is_open and r.contract_no == tracker.get_slot("loan_ref")]
            if existing:
                dispatcher.utter_message(response="utter_deferral_already_open", request=describe_request(existing[0]))
                return
            result = deferral.submit_request(
                session, customer, tracker.get_slot("loan_ref"), int(tracker.get_slot("new_debit_day")),
                tracker.get_slot("deferral_reason") or deferral.OTHER_REASON, bool(tracker.get_slot("hardship")),
                channel_of(tracker), tracker.sender_id, now())
        if not result.ok:
            dispatcher.utter_message(response=REFUSALS.get(result.reason, "utter_deferral_submit_failed"))
            return
        dispatcher.utter_message(response="utter_deferral_submitted",
                                 request=describe_request(result.request), next_steps=next_steps(result.request))


def reset() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


@database_guarded
class ValidateDeferralStatusForm(ProgressTracking, IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_deferral_status_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return without_identity_when_verified(domain_slots, tracker)


@database_guarded
class ActionDeferralStatus(Action):
    """Every request of the customer, with cancel buttons for undecided ones."""

    def name(self) -> Text:
        return "action_deferral_status"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        reference = latest_entity(tracker, "deferral_ref")
        with transaction() as session:
            customer = the_customer(session, tracker)
            if customer and reference and latest_entity(tracker, "deferral_action") == "cancel":
                try:
                    view = deferral.cancel_request(session, customer, reference, now())
                    dispatcher.utter_message(response="utter_deferral_cancelled", request=describe_request(view))
                except Refusal:
                    dispatcher.utter_message(response="utter_deferral_cannot_cancel")
                return []
            mine = deferral.requests_of(session, customer) if customer else []
        if not mine:
            dispatcher.utter_message(response="utter_deferral_none")
            return []
        dispatcher.utter_message(
            response="utter_deferral_list", requests="\n".join(describe_request(view) for view in mine),
            buttons=buttons(
                (text_of("utter_deferral_cancel_button", reference=view.reference),
                 f'/check_deferral_status{{"deferral_ref":"{view.reference}","deferral_action":"cancel"}}')
                for view in mine if view.is_open),
        )
        return []
