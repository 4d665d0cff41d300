"""Gentler deferral reasons

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 17:10:00

Written by hand after a native review: 人在外地 reads neutral where
在外地回不来 sounded stranded, 身体原因 is more private than 生病, and
其他原因 is the usual label (bot/bank/debit_day/applications.REASONS).
"""
from bot.bank.migrations.renames import rename_values, restore_values


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

RENAMED = {"在外地回不来": "人在外地", "生病": "身体原因", "其他": "其他原因"}


def upgrade() -> None:
    rename_values("deferral_requests", "reason", RENAMED)


def downgrade() -> None:
    restore_values("deferral_requests", "reason", RENAMED)
