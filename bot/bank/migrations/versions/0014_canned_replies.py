"""Canned replies and agents' teams

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-01 21:00:00

Written by hand: the replies agents insert with `/shortcut` on a case page
(bot/bank/handoff/canned.py), global or for one team, and the team an
agent belongs to.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shortcut', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('team', sa.String(length=32), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team', 'shortcut', name='one_shortcut_per_team')
    )
    with op.batch_alter_table('staff') as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch_op:
        batch_op.drop_column('team')
    op.drop_table('canned_replies')
