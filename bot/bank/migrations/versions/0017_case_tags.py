"""Case tags

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 22:10:00

Written by hand: labels on cases (bot/bank/handoff/tags.py), and the
knowledge-base topic a conversation was about when it was handed over,
from which the console suggests one.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=48), nullable=True))
    op.create_table('escalation_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=24), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('escalation_id', 'tag', name='one_tag_per_case')
    )
    op.create_index('ix_escalation_tags_escalation_id', 'escalation_tags', ['escalation_id'])
    op.create_index('ix_escalation_tags_tag', 'escalation_tags', ['tag'])


def downgrade() -> None:
    op.drop_table('escalation_tags')
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.drop_column('topic')
