"""Plain deferral reasons

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 09:40:00

Written by hand: the reasons a customer picks for a debit-day change no
longer name the 2020 epidemic (bot/bank/debit_day/applications.REASONS).
Requests already stored get the new names, so the console's counts and
filters see one value per reason.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

RENAMED = {"疫情影响收入": "收入减少", "被困外地": "在外地回不来"}


def _rename(pairs) -> None:
    requests = sa.table("deferral_requests", sa.column("reason", sa.String))
    for old, new in pairs:
        op.execute(requests.update().where(requests.c.reason == old).values(reason=new))


def upgrade() -> None:
    _rename(RENAMED.items())


def downgrade() -> None:
    _rename((new, old) for old, new in RENAMED.items())
