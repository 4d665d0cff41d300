"""The intent and entity contract.

Tests, analytics and the staff console refer to these names; the domain and
the training data must carry every one of them. Never rename one.
"""
from __future__ import annotations

INTENTS = (
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope",
    "ask_opening_hours", "find_branch",
    "book_appointment", "cancel_appointment", "check_appointment", "reschedule_appointment",
    "request_deferral", "check_deferral_status",
    "request_human", "report_lost_card", "report_fraud", "request_home_service", "complain",
    "express_distress", "inform",
)

RETRIEVAL_KEYS = {
    "howto": (
        "register_mobile_banking", "transfer", "reset_password", "transfer_limit",
        "check_loan", "repay_credit_card", "prepay_loan", "update_phone",
    ),
    "faq": (
        "health_check", "deposit_maturity", "transfer_fee", "in_person_required",
        "overdue_consequences",
    ),
}

ENTITIES = ("branch", "service", "time", "debit_day", "phone", "loan_ref")


def retrieval_labels() -> list[str]:
    """Every retrieval label as `intent/key`, e.g. `howto/transfer`."""
    return [f"{intent}/{key}" for intent, keys in RETRIEVAL_KEYS.items() for key in keys]


def all_labels() -> list[str]:
    """The labels the NLU benchmark scores: plain intents and retrieval keys."""
    return list(INTENTS) + retrieval_labels()
