"""webhooks: hook secrets, the event inbox, hook diagnoses

Revision ID: 0003_webhooks
Revises: 0002
Create Date: 2026-11-28 08:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_webhooks'
down_revision = '0002'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'webhook_secrets',
        sa.Column('id', ID, nullable=False),
        sa.Column('company_id', ID, nullable=False),
        sa.Column('procore_project_id', sa.BigInteger(), nullable=False),
        sa.Column('procore_hook_id', sa.BigInteger(), nullable=True),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('secret_enc', sa.Text(), nullable=False),
        sa.Column('created_at', TS, server_default=sa.func.now(), nullable=False),
        sa.Column('retired_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_webhook_secrets_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_secrets')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_webhook_secrets_secret_hash')),
    )
    op.create_index(op.f('ix_webhook_secrets_company_id'), 'webhook_secrets', ['company_id'])
    op.create_index(op.f('ix_webhook_secrets_procore_project_id'), 'webhook_secrets', ['procore_project_id'])

    op.create_table(
        'webhook_events',
        sa.Column('id', ID, nullable=False),
        sa.Column('event_key', sa.String(length=100), nullable=False),
        sa.Column('company_id', ID, nullable=True),
        sa.Column('secret_id', ID, nullable=True),
        sa.Column('procore_company_id', sa.BigInteger(), nullable=True),
        sa.Column('procore_project_id', sa.BigInteger(), nullable=True),
        sa.Column('payload_version', sa.String(length=16), nullable=True),
        sa.Column('event_type', sa.String(length=40), nullable=True),
        sa.Column('resource_name', sa.String(length=100), nullable=True),
        sa.Column('resource_id', sa.BigInteger(), nullable=True),
        sa.Column('event_timestamp', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.Column('outcome', sa.String(length=60), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('raw_body', sa.Text(), nullable=True),
        sa.Column('received_at', TS, server_default=sa.func.now(), nullable=False),
        sa.Column('claimed_at', TS, nullable=True),
        sa.Column('next_attempt_at', TS, nullable=True),
        sa.Column('processed_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_webhook_events_company_id_companies')),
        sa.ForeignKeyConstraint(['secret_id'], ['webhook_secrets.id'],
                                name=op.f('fk_webhook_events_secret_id_webhook_secrets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
        sa.UniqueConstraint('event_key', name=op.f('uq_webhook_events_event_key')),
    )
    op.create_index(op.f('ix_webhook_events_company_id'), 'webhook_events', ['company_id'])
    op.create_index(op.f('ix_webhook_events_procore_project_id'), 'webhook_events', ['procore_project_id'])
    op.create_index(op.f('ix_webhook_events_status'), 'webhook_events', ['status'])

    op.create_table(
        'webhook_hook_checks',
        sa.Column('id', ID, nullable=False),
        sa.Column('company_id', ID, nullable=False),
        sa.Column('procore_project_id', sa.BigInteger(), nullable=False),
        sa.Column('procore_project_name', sa.String(length=300), nullable=True),
        sa.Column('state', sa.String(length=32), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('procore_hook_id', sa.BigInteger(), nullable=True),
        sa.Column('checked_at', TS, server_default=sa.func.now(), nullable=False),
        sa.Column('checked_by', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_webhook_hook_checks_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_hook_checks')),
    )
    op.create_index(op.f('ix_webhook_hook_checks_company_id'), 'webhook_hook_checks', ['company_id'])
    op.create_index(op.f('ix_webhook_hook_checks_procore_project_id'), 'webhook_hook_checks',
                    ['procore_project_id'])


def downgrade():
    op.drop_index(op.f('ix_webhook_hook_checks_procore_project_id'), table_name='webhook_hook_checks')
    op.drop_index(op.f('ix_webhook_hook_checks_company_id'), table_name='webhook_hook_checks')
    op.drop_table('webhook_hook_checks')
    op.drop_index(op.f('ix_webhook_events_status'), table_name='webhook_events')
    op.drop_index(op.f('ix_webhook_events_procore_project_id'), table_name='webhook_events')
    op.drop_index(op.f('ix_webhook_events_company_id'), table_name='webhook_events')
    op.drop_table('webhook_events')
    op.drop_index(op.f('ix_webhook_secrets_procore_project_id'), table_name='webhook_secrets')
    op.drop_index(op.f('ix_webhook_secrets_company_id'), table_name='webhook_secrets')
    op.drop_table('webhook_secrets')
