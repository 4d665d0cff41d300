"""escalations, notes, outbox delivery bookkeeping, staff presence

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:30:00

Written by hand: the hand-off tables for bot.bank.handoff, the claim/retry
columns bot.bank.outbox needs to deliver rows exactly once, and the
`last_seen_at` the console updates so the bot knows whether an agent is online.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'with_agent')")


def upgrade() -> None:
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('transcript', sa.JSON(), nullable=False),
    sa.Column('callback_phone', sa.String(length=20), nullable=True),
    sa.Column('callback_window', sa.String(length=64), nullable=True),
    sa.Column('callback_reached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("priority IN ('urgent', 'high', 'normal')", name='escalation_priority'),
    sa.CheckConstraint("status IN ('waiting', 'with_agent', 'resolved', 'callback_requested')",
                       name='escalation_status'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_index('ix_escalations_conversation_id', 'escalations', ['conversation_id'])
    op.create_index('escalation_queue', 'escalations', ['status', 'priority', 'created_at'])
    op.create_index('one_open_escalation_per_conversation', 'escalations', ['conversation_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table('escalation_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_escalation_notes_escalation_id', 'escalation_notes', ['escalation_id'])
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('last_seen_at')
    with op.batch_alter_table('outbox') as batch:
        for column in ('failed_at', 'last_error', 'attempts', 'recorded_at', 'claimed_by', 'claimed_at'):
            batch.drop_column(column)
    op.drop_index('ix_escalation_notes_escalation_id', table_name='escalation_notes')
    op.drop_table('escalation_notes')
    op.drop_index('one_open_escalation_per_conversation', table_name='escalations')
    op.drop_index('escalation_queue', table_name='escalations')
    op.drop_index('ix_escalations_conversation_id', table_name='escalations')
    op.drop_table('escalations')
