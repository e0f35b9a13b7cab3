"""Sync batches: a run's downloads that other workers may take (issue 13, scale-out)

Revision ID: 0010_sync_batches
Revises: 0009_export
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_sync_batches'
down_revision = '0009_export'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'sync_batches',
        sa.Column('id', ID, primary_key=True),
        sa.Column('run_id', ID, sa.ForeignKey('sync_runs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('account_id', sa.BigInteger(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('results', sa.JSON(), nullable=True),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index('ix_sync_batches_run_id', 'sync_batches', ['run_id'])


def downgrade():
    op.drop_index('ix_sync_batches_run_id', table_name='sync_batches')
    op.drop_table('sync_batches')
