"""Plain deferral reasons

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 09:40:00

Written by hand: the reasons a customer picks for a debit-day change no
longer name the 2020 epidemic (bot/bank/debit_day/applications.REASONS).
Requests already stored get the new names, so the console's counts and
filters see one value per reason.
"""
from bot.bank.migrations.renames import rename_values, restore_values


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

RENAMED = {"疫情影响收入": "收入减少", "被困外地": "在外地回不来"}


def upgrade() -> None:
    rename_values("deferral_requests", "reason", RENAMED)


def downgrade() -> None:
    restore_values("deferral_requests", "reason", RENAMED)
