"""Phone + one-time code steps shared by every form that needs the customer."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.loops import AskByResponse
from bot.bank.db import transaction
from bot.bank.customers.identity import linked_customer, send_code, verify_code
from bot.bank.masking import mask_phone
from bot.clock import now
from bot.identifiers import MOBILE

IDENTITY_SLOTS = ("phone", "otp_code")
VERIFIED = "verified"
RESEND = re.compile(r"重新发|重发|再发|没收到|收不到")


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def customer_in(session, tracker: Tracker):
    """The verified customer behind this channel user, in an open session."""
    return linked_customer(session, channel_of(tracker), tracker.sender_id)


def customer_id_in(session, tracker: Tracker) -> Optional[int]:
    customer = customer_in(session, tracker)
    return customer.id if customer else None


def customer_id_for(tracker: Tracker) -> Optional[int]:
    """The verified customer's id, in a transaction of its own (never nest
    this inside another transaction: SQLite allows one writer at a time)."""
    with transaction() as session:
        return customer_id_in(session, tracker)


def without_identity_when_verified(slots: List[Text], tracker: Tracker) -> List[Text]:
    """Skip the phone and code steps for a channel user verified before."""
    if tracker.get_slot("otp_code") == VERIFIED or customer_id_for(tracker) is not None:
        return [slot for slot in slots if slot not in IDENTITY_SLOTS]
    return slots


class IdentityValidation:
    """`validate_phone` and `validate_otp_code` for FormValidationActions."""

    def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: Dict[Text, Any]) -> Dict[Text, Any]:
        phone = str(value or "")
        if not re.fullmatch(MOBILE, phone):
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"phone": None}
        with transaction() as session:
            sent = send_code(session, phone, now())
        if sent:
            dispatcher.utter_message(response="utter_code_sent", phone=mask_phone(phone))
        else:
            dispatcher.utter_message(response="utter_code_already_sent", phone=mask_phone(phone))
        return {"phone": phone}

    def validate_otp_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text, phone = str(value or ""), tracker.get_slot("phone")
        if value == VERIFIED:
            return {"otp_code": VERIFIED}
        digits = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", text)
        with transaction() as session:
            if digits is None:
                if RESEND.search(text) and phone:
                    resent = send_code(session, phone, now())
                    dispatcher.utter_message(response="utter_code_resent" if resent else "utter_code_resend_refused")
                else:
                    dispatcher.utter_message(response="utter_code_format")
                return {"otp_code": None}
            result = verify_code(session, phone, digits.group(1), channel_of(tracker), tracker.sender_id, now())
            if result.ok:
                return {"otp_code": VERIFIED}
            if result.reason == "expired":
                send_code(session, phone, now())
                dispatcher.utter_message(response="utter_code_expired")
            elif result.reason == "too_many":
                dispatcher.utter_message(response="utter_code_too_many")
                return {"otp_code": None, "phone": None}
            else:
                dispatcher.utter_message(response="utter_code_wrong")
        return {"otp_code": None}


class ActionAskPhone(AskByResponse):
    RESPONSE, STEP = "utter_ask_phone", "phone"


class ActionAskOtpCode(AskByResponse):
    RESPONSE, STEP = "utter_ask_otp_code", "otp_code"
