"""Every table of the bank database, for Alembic and for code that needs them all.

Each business process keeps its tables (and their vocabularies) beside its
rules, in `bot/bank/<process>/models.py`. Importing this module registers
all of them on `Base.metadata`, which is what the migrations are compared
against (tests/test_migrations.py).
"""
from __future__ import annotations

from bot.bank.base import Base
from bot.bank.booking.models import Booking, BookingStatus
from bot.bank.capacity.models import CapacityRule, Slot
from bot.bank.csat.models import CsatSurvey
from bot.bank.customers.models import ChannelLink, Customer, OneTimeCode
from bot.bank.debit_day.models import (
    CoBorrower,
    CoBorrowerConfirmation,
    ConfirmationStatus,
    DeferralRequest,
    Loan,
    LoanStatus,
    RequestStatus,
)
from bot.bank.handoff.models import (
    Attachment,
    CannedReply,
    Escalation,
    EscalationNote,
    EscalationStatus,
    EscalationTag,
    Priority,
)
from bot.bank.hours.models import Branch, HoursException, Notice, OfficialDay, OfficialDayKind, ScheduleYear, WeeklyHours
from bot.bank.knowledge.models import KnowledgeRevision, KnowledgeTopic, RevisionState, SuggestionUse
from bot.bank.messaging.models import (
    Notification,
    NotificationAttempt,
    NotificationKind,
    NotificationStatus,
    Outbox,
    ReminderOptOut,
    Route,
    WeChatDedup,
)
from bot.bank.staff.models import Staff, StaffRole

__all__ = [
    "Attachment", "Base", "Booking", "CannedReply", "BookingStatus", "Branch", "CapacityRule", "ChannelLink", "CoBorrower",
    "CoBorrowerConfirmation", "ConfirmationStatus", "CsatSurvey", "Customer", "DeferralRequest",
    "Escalation", "EscalationNote", "EscalationStatus", "EscalationTag", "HoursException", "KnowledgeRevision",
    "KnowledgeTopic",
    "Loan", "LoanStatus",
    "Notice", "Notification", "NotificationAttempt", "NotificationKind", "NotificationStatus", "OfficialDay",
    "OfficialDayKind", "OneTimeCode", "Outbox", "Priority", "RequestStatus", "ReminderOptOut", "RevisionState", "Route",
    "ScheduleYear", "Slot", "Staff", "StaffRole", "SuggestionUse",
    "WeChatDedup", "WeeklyHours",
]
