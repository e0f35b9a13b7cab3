"""Alerts: what a company's admins should know, and each user's mail choices (issue 14)

Revision ID: 0014_alerts
Revises: 0013_audit_log
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_alerts'
down_revision = '0013_audit_log'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'alerts',
        sa.Column('id', ID, primary_key=True),
        sa.Column('company_id', ID, sa.ForeignKey('companies.id', ondelete='CASCADE'), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('params', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_alerts_company_id', 'alerts', ['company_id'])
    op.create_index('ix_alerts_created_at', 'alerts', ['created_at'])
    op.create_index('ix_alerts_mailed_at', 'alerts', ['mailed_at'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('alert_settings', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('last_digest_at')
        batch.drop_column('alert_settings')
    op.drop_index('ix_alerts_mailed_at', table_name='alerts')
    op.drop_index('ix_alerts_created_at', table_name='alerts')
    op.drop_index('ix_alerts_company_id', table_name='alerts')
    op.drop_table('alerts')
