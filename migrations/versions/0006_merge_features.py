"""Merge the webhooks branch with the cBox + sync branch.

Revision ID: 0006_merge_features
Revises: 0003_webhooks, 0005_sync
"""

revision = '0006_merge_features'
down_revision = ('0003_webhooks', '0005_sync')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
