"""Knowledge base

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00

Written by hand: the topics staff edit in the console and every revision
of their wording (bot/bank/knowledge), and the knowledge-base editor role.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

DRAFT = sa.text("state IN ('draft')")
PUBLISHED = sa.text("state IN ('published')")
ROLES_BEFORE = "role IN ('agent', 'branch_staff', 'admin')"
ROLES_AFTER = "role IN ('agent', 'branch_staff', 'kb_editor', 'admin')"


def upgrade() -> None:
    op.create_table('kb_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('kb_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', 'superseded', 'withdrawn', name='kb_revision_state',
                               native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['kb_topics.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('topic_id', 'number')
    )
    op.create_index('ix_kb_revisions_topic_id', 'kb_revisions', ['topic_id'])
    op.create_index('one_draft_per_topic', 'kb_revisions', ['topic_id'], unique=True,
                    sqlite_where=DRAFT, postgresql_where=DRAFT)
    op.create_index('one_published_per_topic', 'kb_revisions', ['topic_id'], unique=True,
                    sqlite_where=PUBLISHED, postgresql_where=PUBLISHED)
    with op.batch_alter_table('staff') as batch_op:
        batch_op.drop_constraint('staff_role', type_='check')
        batch_op.create_check_constraint('staff_role', ROLES_AFTER)


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch_op:
        batch_op.drop_constraint('staff_role', type_='check')
        batch_op.create_check_constraint('staff_role', ROLES_BEFORE)
    op.drop_index('one_published_per_topic', table_name='kb_revisions')
    op.drop_index('one_draft_per_topic', table_name='kb_revisions')
    op.drop_index('ix_kb_revisions_topic_id', table_name='kb_revisions')
    op.drop_table('kb_revisions')
    op.drop_table('kb_topics')
