"""Item states come from the sync links only (issue 10, SPEC R7, R13, R34)

cBox folders and files no longer carry a status of their own: a default "synced" on every row
made local uploads, items awaiting a deletion confirmation and folders of a failed import all
read "Synced". The state shown is read from the item's sync link (sync_items), which gains a
reason code + arguments (so the page can say it in the user's language) and indexes on the
linked cBox ids (the folder page looks links up by them).

Revision ID: 0007_item_state_from_links
Revises: 0006_merge_features
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_item_state_from_links'
down_revision = '0006_merge_features'
branch_labels = None
depends_on = None

STATUSES = "status IN ('synced', 'syncing', 'pending', 'pending_deletion', 'error')"


def upgrade():
    for table in ('cbox_folders', 'cbox_files'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_status'), type_='check')
            batch_op.drop_column('status_reason')
            batch_op.drop_column('status')
    with op.batch_alter_table('sync_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('reason_args', sa.JSON(), nullable=True))
        batch_op.create_index('ix_sync_items_cbox_file_id', ['cbox_file_id'], unique=False)
        batch_op.create_index('ix_sync_items_cbox_folder_id', ['cbox_folder_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sync_items', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_items_cbox_folder_id')
        batch_op.drop_index('ix_sync_items_cbox_file_id')
        batch_op.drop_column('reason_args')
        batch_op.drop_column('reason_code')
    for table in ('cbox_folders', 'cbox_files'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='synced'))
            batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
            batch_op.create_check_constraint('status', STATUSES)
