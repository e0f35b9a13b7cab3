"""Periodic jobs: when each last ran, for support (issue 15)

Revision ID: 0011_periodic_jobs
Revises: 0010_sync_batches
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_periodic_jobs'
down_revision = '0010_sync_batches'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'periodic_jobs',
        sa.Column('name', sa.String(length=60), primary_key=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('last_due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_result', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_worker', sa.String(length=120), nullable=True),
    )


def downgrade():
    op.drop_table('periodic_jobs')
