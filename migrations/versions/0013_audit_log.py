"""The audit log: who connected, repaired, started, stopped, removed, confirmed, changed (issue 14)

Revision ID: 0013_audit_log
Revises: 0012_reconcile_runs
"""
from alembic import op
import sqlalchemy as sa

revision = '0013_audit_log'
down_revision = '0012_reconcile_runs'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'audit_log',
        sa.Column('id', ID, primary_key=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('company_id', ID, sa.ForeignKey('companies.id', ondelete='SET NULL'), nullable=True),
        sa.Column('user_id', ID, sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=500), nullable=False),
        sa.Column('target_id', sa.BigInteger(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
    )
    op.create_index('ix_audit_log_created_at', 'audit_log', ['created_at'])
    op.create_index('ix_audit_log_company_id', 'audit_log', ['company_id'])
    op.create_index('ix_audit_log_action', 'audit_log', ['action'])


def downgrade():
    op.drop_index('ix_audit_log_action', table_name='audit_log')
    op.drop_index('ix_audit_log_company_id', table_name='audit_log')
    op.drop_index('ix_audit_log_created_at', table_name='audit_log')
    op.drop_table('audit_log')
