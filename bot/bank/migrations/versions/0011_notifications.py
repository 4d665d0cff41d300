"""Notifications with their routes and attempts, reminder opt-outs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:30:00

Written by hand: messages the bank starts (bot/bank/messaging/notifications.py)
fall back from the conversation's channel to a WeChat template message to
SMS, with backoff between SMS attempts; each outbox row may belong to one.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

KINDS = ('deferral_decision', 'agent_reply', 'callback_failed', 'booking_reminder', 'branch_cancellation')
STATUSES = ('pending', 'delivered', 'failed', 'opted_out')
ROUTES = ('channel', 'wechat_template', 'sms')


def _vocabulary(words, name, length):
    return sa.Enum(*words, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', _vocabulary(KINDS, 'notification_kind', 32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('channel_user', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('status', _vocabulary(STATUSES, 'notification_status', 16), nullable=False),
    sa.Column('route', _vocabulary(ROUTES, 'notification_route', 16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('notifications_due', 'notifications', ['route', 'status', 'next_attempt_at'])
    op.create_table('notification_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('route', _vocabulary(ROUTES, 'notification_attempt_route', 16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_attempts_notification_id', 'notification_attempts', ['notification_id'])
    op.create_table('reminder_opt_outs',
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id')
    )
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('notification_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_notification_id', ['notification_id'])
        batch_op.create_foreign_key('outbox_notification', 'notifications', ['notification_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_constraint('outbox_notification', type_='foreignkey')
        batch_op.drop_index('ix_outbox_notification_id')
        batch_op.drop_column('notification_id')
    op.drop_table('reminder_opt_outs')
    op.drop_index('ix_notification_attempts_notification_id', 'notification_attempts')
    op.drop_table('notification_attempts')
    op.drop_index('notifications_due', 'notifications')
    op.drop_table('notifications')
