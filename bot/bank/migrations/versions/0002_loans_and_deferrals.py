"""loans and deferral requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:59:56.313734
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_no', sa.String(length=20), nullable=False),
    sa.Column('product', sa.String(length=16), nullable=False),
    sa.Column('borrower_name', sa.String(length=64), nullable=False),
    sa.Column('borrower_phone', sa.String(length=20), nullable=False),
    sa.Column('debit_day', sa.Integer(), nullable=False),
    sa.Column('next_due', sa.Date(), nullable=False),
    sa.Column('next_amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.CheckConstraint('debit_day BETWEEN 1 AND 31', name='debit_day_range'),
    sa.CheckConstraint('next_amount_fen >= 0', name='amount_not_negative'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_no')
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_borrower_phone'), ['borrower_phone'], unique=False)

    op.create_table('co_borrowers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loan_id', 'phone')
    )
    with op.batch_alter_table('co_borrowers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_co_borrowers_phone'), ['phone'], unique=False)

    op.create_table('deferral_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('requested_day', sa.Integer(), nullable=False),
    sa.Column('current_due', sa.Date(), nullable=False),
    sa.Column('new_due', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('hardship', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('channel_user', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('staff_note', sa.Text(), nullable=False),
    sa.CheckConstraint('requested_day BETWEEN 1 AND 28', name='requested_day_range'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('deferral_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deferral_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deferral_requests_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('one_open_deferral_per_loan', ['loan_id'], unique=True, sqlite_where=sa.text("status IN ('submitted', 'awaiting_confirmation')"), postgresql_where=sa.text("status IN ('submitted', 'awaiting_confirmation')"))

    op.create_table('co_borrower_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('call_reference', sa.String(length=64), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['deferral_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'phone')
    )


def downgrade() -> None:
    op.drop_table('co_borrower_confirmations')
    with op.batch_alter_table('deferral_requests', schema=None) as batch_op:
        batch_op.drop_index('one_open_deferral_per_loan', sqlite_where=sa.text("status IN ('submitted', 'awaiting_confirmation')"), postgresql_where=sa.text("status IN ('submitted', 'awaiting_confirmation')"))
        batch_op.drop_index(batch_op.f('ix_deferral_requests_loan_id'))
        batch_op.drop_index(batch_op.f('ix_deferral_requests_customer_id'))

    op.drop_table('deferral_requests')
    with op.batch_alter_table('co_borrowers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_co_borrowers_phone'))

    op.drop_table('co_borrowers')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_borrower_phone'))

    op.drop_table('loans')
