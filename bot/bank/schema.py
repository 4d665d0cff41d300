"""Bring the bank database to the newest schema with Alembic."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "bot" / "bank" / "migrations"))
    return config


def upgrade() -> None:
    """Apply every migration not yet applied (safe to call on every start)."""
    command.upgrade(alembic_config(), "head")
