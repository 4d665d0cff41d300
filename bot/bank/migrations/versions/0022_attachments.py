"""Attachments

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:50:00

Written by hand: photos and PDFs sent during a hand-off, by customers and
agents, kept in the database until they expire (bot/bank/handoff/attachments.py).
"""
import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('escalation_id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=8), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=120), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token'),
    )
    op.create_index(op.f('ix_attachments_escalation_id'), 'attachments', ['escalation_id'], unique=False)
    op.create_index(op.f('ix_attachments_expires_at'), 'attachments', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attachments_expires_at'), table_name='attachments')
    op.drop_index(op.f('ix_attachments_escalation_id'), table_name='attachments')
    op.drop_table('attachments')
