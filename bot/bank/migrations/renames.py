"""Renaming stored vocabulary values, for hand-written data migrations.

The reasons a customer picks are stored as the words offered; when the
offered words change, stored rows take the new ones so staff's counts and
filters see one value per reason.
"""
from typing import Iterable, Mapping, Tuple

import sqlalchemy as sa
from alembic import op


def rename_values(table: str, column: str, renamed: Mapping[str, str]) -> None:
    """Upgrade: each stored old value becomes its new one."""
    _update(table, column, renamed.items())


def restore_values(table: str, column: str, renamed: Mapping[str, str]) -> None:
    """Downgrade: each new value goes back to the old one."""
    _update(table, column, ((new, old) for old, new in renamed.items()))


def _update(table: str, column: str, pairs: Iterable[Tuple[str, str]]) -> None:
    rows = sa.table(table, sa.column(column, sa.String))
    for old, new in pairs:
        op.execute(rows.update().where(rows.c[column] == old).values({column: new}))
