"""Reconciliation runs: which refreshes the periodic reconciliation started (issue 15)

Revision ID: 0012_reconcile_runs
Revises: 0011_periodic_jobs
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_reconcile_runs'
down_revision = '0011_periodic_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('origin')
