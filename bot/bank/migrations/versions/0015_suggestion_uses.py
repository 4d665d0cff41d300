"""Suggested answers agents used

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 21:30:00

Written by hand: each time an agent inserts a knowledge-base answer the
console suggested on a case (bot/bank/knowledge/suggestions.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_suggestion_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_key', sa.String(length=48), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_kb_suggestion_uses_topic_key', 'kb_suggestion_uses', ['topic_key'])
    op.create_index('ix_kb_suggestion_uses_escalation_id', 'kb_suggestion_uses', ['escalation_id'])


def downgrade() -> None:
    op.drop_table('kb_suggestion_uses')
