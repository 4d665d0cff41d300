"""The declarative base every bank table uses, and the vocabularies' column type.

A vocabulary (a status, a role, a priority) is declared once as a
`Vocabulary` enum beside its model. `vocabulary_column` stores it as a short
string with a CHECK constraint built from the enum's values, and
`status_in` builds the conditions of partial indexes from the same members,
so the database, the ORM and the code can never disagree about the allowed
words.
"""
from __future__ import annotations

import enum
from typing import Iterable, Type

from sqlalchemy import Column, Enum, text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Vocabulary(str, enum.Enum):
    """A closed set of words stored as text; members compare equal to their value."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


def vocabulary_column(vocabulary: Type[Vocabulary], name: str, length: int, **column_args) -> Column:
    """A VARCHAR column limited to the vocabulary by a CHECK constraint named `name`."""
    column_type = Enum(vocabulary, native_enum=False, create_constraint=True, length=length, name=name,
                       values_callable=lambda members: [member.value for member in members],
                       validate_strings=True)
    return Column(column_type, **column_args)


def status_in(column: str, members: Iterable[Vocabulary]):
    """`status IN ('a', 'b')` for a partial index, from enum members."""
    words = ", ".join(f"'{member.value}'" for member in members)
    return text(f"{column} IN ({words})")
