"""sync: integrations, sync runs, sync items (issue 6 part B)

Revision ID: 0005_sync
Revises: 0004_cbox
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_sync'
down_revision = '0004_cbox'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'integrations',
        sa.Column('id', ID, nullable=False),
        sa.Column('company_id', ID, nullable=False),
        sa.Column('cbox_folder_id', ID, nullable=False),
        sa.Column('procore_folder_id', ID, nullable=True),
        sa.Column('procore_company_id', sa.BigInteger(), nullable=False),
        sa.Column('procore_project_id', sa.BigInteger(), nullable=False),
        sa.Column('procore_project_name', sa.String(length=300), nullable=False),
        sa.Column('tool', sa.String(length=20), nullable=False),
        sa.Column('selections', sa.JSON(), nullable=False),
        sa.Column('account_id', ID, nullable=True),
        sa.Column('created_by_id', ID, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_integrations_company_id_companies')),
        sa.ForeignKeyConstraint(['account_id'], ['procore_accounts.id'],
                                name=op.f('fk_integrations_account_id_procore_accounts')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_integrations_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    )
    op.create_index(op.f('ix_integrations_company_id'), 'integrations', ['company_id'])
    op.create_index(op.f('ix_integrations_procore_project_id'), 'integrations', ['procore_project_id'])
    op.create_table(
        'sync_runs',
        sa.Column('id', ID, nullable=False),
        sa.Column('integration_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=30), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in
          ('files_total', 'files_done', 'imported', 'updated', 'skipped', 'failed', 'deleted')],
        sa.Column('bytes_total', sa.BigInteger(), nullable=False),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False),
        sa.Column('listing_complete', sa.Boolean(), nullable=False),
        sa.Column('confirmed_deletes', sa.Boolean(), nullable=False),
        sa.Column('preview', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'],
                                name=op.f('fk_sync_runs_integration_id_integrations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs')),
    )
    op.create_index(op.f('ix_sync_runs_integration_id'), 'sync_runs', ['integration_id'])
    op.create_index('ix_sync_runs_status_heartbeat', 'sync_runs', ['status', 'heartbeat_at'])
    op.create_table(
        'sync_items',
        sa.Column('id', ID, nullable=False),
        sa.Column('integration_id', ID, nullable=False),
        sa.Column('procore_kind', sa.String(length=10), nullable=False),
        sa.Column('procore_id', sa.BigInteger(), nullable=False),
        sa.Column('procore_parent_id', sa.BigInteger(), nullable=True),
        sa.Column('name', sa.String(length=1000), nullable=False),
        sa.Column('procore_version_id', sa.BigInteger(), nullable=True),
        sa.Column('procore_size', sa.BigInteger(), nullable=True),
        sa.Column('procore_updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cbox_folder_id', ID, nullable=True),
        sa.Column('cbox_file_id', ID, nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_run_id', ID, nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'],
                                name=op.f('fk_sync_items_integration_id_integrations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_items')),
        sa.UniqueConstraint('integration_id', 'procore_kind', 'procore_id',
                            name='uq_sync_items_integration_kind_procore'),
    )
    op.create_index(op.f('ix_sync_items_integration_id'), 'sync_items', ['integration_id'])


def downgrade():
    op.drop_index(op.f('ix_sync_items_integration_id'), table_name='sync_items')
    op.drop_table('sync_items')
    op.drop_index('ix_sync_runs_status_heartbeat', table_name='sync_runs')
    op.drop_index(op.f('ix_sync_runs_integration_id'), table_name='sync_runs')
    op.drop_table('sync_runs')
    op.drop_index(op.f('ix_integrations_procore_project_id'), table_name='integrations')
    op.drop_index(op.f('ix_integrations_company_id'), table_name='integrations')
    op.drop_table('integrations')
