"""WeChat retry store

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00

Written by hand: one table, `wechat_dedup`, for bot.channels.dedup. WeChat
re-sends a message it got no answer to; this short-lived store lets every
Rasa worker see that a message is already being answered, and remembers the
numbered buttons last shown to each customer.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_dedup',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index('ix_wechat_dedup_expires_at', 'wechat_dedup', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_wechat_dedup_expires_at', table_name='wechat_dedup')
    op.drop_table('wechat_dedup')
