"""Booking reminders

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:00:00

Written by hand: each booking's day-before reminder, claimed once across
servers (`reminded_at`) and linked to its notification (`reminder_id`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminder_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('booking_reminder', 'notifications', ['reminder_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.drop_constraint('booking_reminder', type_='foreignkey')
        batch_op.drop_column('reminder_id')
        batch_op.drop_column('reminded_at')
