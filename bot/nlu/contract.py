"""The intent and entity contract.

Tests, analytics and the staff console refer to these names; the domain and
the training data must carry every one of them. Never rename one.
Informational questions are one intent, `ask_question`: which
knowledge-base topic answers one is decided at run time (bot/knowledge),
so topics are not intents.
"""
from __future__ import annotations

INTENTS = (
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope",
    "ask_opening_hours", "find_branch",
    "book_appointment", "cancel_appointment", "check_appointment", "reschedule_appointment", "manage_reminders",
    "request_deferral", "report_hardship", "check_deferral_status",
    "request_human", "report_lost_card", "report_fraud", "request_home_service", "complain",
    "express_distress", "inform", "rate_service", "ask_question",
)

ENTITIES = ("branch", "service", "time", "debit_day", "phone", "loan_ref")
