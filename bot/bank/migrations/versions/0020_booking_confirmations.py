"""Booking confirmations

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 17:20:00

Written by hand: a booking made or moved is confirmed by SMS, a
notification kind of its own (bot/bank/booking/confirmations.py), so the
database's check on notification kinds takes the new word.
"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BEFORE = ('deferral_decision', 'agent_reply', 'callback_failed', 'booking_reminder', 'branch_cancellation')
AFTER = BEFORE + ('booking_confirmation',)


def _kinds(words) -> None:
    listed = ", ".join(f"'{word}'" for word in words)
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_constraint('notification_kind', type_='check')
        batch_op.create_check_constraint('notification_kind', f"kind IN ({listed})")


def upgrade() -> None:
    _kinds(AFTER)


def downgrade() -> None:
    # The old check cannot hold them: the confirmations (already sent or not) go.
    op.execute("DELETE FROM notifications WHERE kind = 'booking_confirmation'")
    _kinds(BEFORE)
