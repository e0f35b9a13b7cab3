"""Webhook events remember the sync run that processed them (issue 14, support view)

Revision ID: 0015_event_sync_run
Revises: 0014_alerts
"""
from alembic import op
import sqlalchemy as sa

revision = '0015_event_sync_run'
down_revision = '0014_alerts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_events') as batch:
        batch.add_column(sa.Column('sync_run_id', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_events') as batch:
        batch.drop_column('sync_run_id')
