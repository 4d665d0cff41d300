"""Live signals on escalations

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 18:45:00

Written by hand: agents are told at once when a customer writes, each side
sees the other typing, and an urgent case past its first-reply target
alerts the duty supervisor once (bot/bank/handoff/live.py).
"""
import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = ('customer_wrote_at', 'customer_typing_at', 'agent_typing_at', 'typing_shown_at', 'supervisor_alerted_at')


def upgrade() -> None:
    with op.batch_alter_table('escalations') as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('escalations') as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
