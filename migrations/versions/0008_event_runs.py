"""Event runs: a sync run may cover only the items webhook events named (issue 11, SPEC R4)

Revision ID: 0008_event_runs
Revises: 0007_item_state_from_links
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_event_runs'
down_revision = '0007_item_state_from_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('scope')
