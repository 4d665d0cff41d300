"""Case search

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:00:00

Written by hand: the masked text staff search cases by (escalations.search_text:
the transcript copied at hand-off, agents' replies, notes and closing notes),
filled in for the cases already there, with a trigram index on PostgreSQL
(pg_trgm, which matches Chinese without word boundaries).
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

escalations = sa.table('escalations', sa.column('id', sa.Integer), sa.column('transcript', sa.JSON),
                       sa.column('close_note', sa.Text), sa.column('search_text', sa.Text))
notes = sa.table('escalation_notes', sa.column('escalation_id', sa.Integer), sa.column('text', sa.Text))


def _backfill(connection) -> None:
    """Rows written before this revision were masked when written; they are joined as they are."""
    noted = {}
    for escalation_id, text in connection.execute(sa.select(notes.c.escalation_id, notes.c.text)):
        noted.setdefault(escalation_id, []).append(text)
    for escalation_id, transcript, close_note in connection.execute(
            sa.select(escalations.c.id, escalations.c.transcript, escalations.c.close_note)):
        said = [line.get('text') or '' for line in transcript or []] + noted.get(escalation_id, []) + [close_note or '']
        connection.execute(escalations.update().where(escalations.c.id == escalation_id)
                           .values(search_text='\n'.join(text for text in said if text)))


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    _backfill(connection)
    if connection.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index('escalation_search_text', 'escalations', ['search_text'], postgresql_using='gin',
                    postgresql_ops={'search_text': 'gin_trgm_ops'})


def downgrade() -> None:
    op.drop_index('escalation_search_text', table_name='escalations')
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.drop_column('search_text')
