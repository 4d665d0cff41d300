"""Official holiday calendar

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:15:00

Written by hand: the State Council's holiday schedule as staff enter it
(bot/bank/hours/calendar.py), day by day, and the years entered in full.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('official_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'working_day', name='official_day_kind',
                              native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('entered_by', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('schedule_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )


def downgrade() -> None:
    op.drop_table('schedule_years')
    op.drop_table('official_days')
