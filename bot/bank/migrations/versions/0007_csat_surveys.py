"""satisfaction surveys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00

Written by hand: `csat_surveys` for bot.bank.csat.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('csat_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('escalation_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 1 AND 5', name='csat_score_range'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('csat_by_conversation', 'csat_surveys', ['conversation_id', 'asked_at'])


def downgrade() -> None:
    op.drop_index('csat_by_conversation', table_name='csat_surveys')
    op.drop_table('csat_surveys')
