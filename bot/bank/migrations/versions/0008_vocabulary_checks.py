"""Vocabulary checks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:00:00

Written by hand: the statuses of bookings, loans, debit-day requests and
co-borrower confirmations are now enums beside their models
(bot/bank/*/models.py), and the database refuses any other word, as it
already did for staff roles and escalation statuses.
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CHECKS = (
    ("bookings", "booking_status", "status IN ('active', 'checked_in', 'no_show', 'cancelled')"),
    ("loans", "loan_status", "status IN ('active', 'settled')"),
    ("deferral_requests", "deferral_status",
     "status IN ('submitted', 'awaiting_confirmation', 'approved', 'rejected', 'cancelled')"),
    ("co_borrower_confirmations", "confirmation_status", "status IN ('pending', 'confirmed', 'refused')"),
)


def upgrade() -> None:
    for table, name, condition in CHECKS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_check_constraint(name, condition)


def downgrade() -> None:
    for table, name, _condition in reversed(CHECKS):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="check")
