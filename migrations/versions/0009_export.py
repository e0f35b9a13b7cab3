"""Export integrations: cBox → Procore (issue 12, SPEC R5, R24-R31)

An integration now has a direction (import | export) and, for an export, the id of the Procore
folder or album everything lands in (CalidadCloud, R24). An export link names its cBox item first;
its Procore id is known only once the item exists in Procore, so sync_items.procore_id may be null;
exported_path keeps where (Documents) or under which description (Photos, R30) the item was written.

Revision ID: 0009_export
Revises: 0008_event_runs
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_export'
down_revision = '0008_event_runs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('direction', sa.String(length=10), nullable=False, server_default='import'))
        batch_op.add_column(sa.Column('procore_root_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('sync_items', schema=None) as batch_op:
        batch_op.alter_column('procore_id', existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column('exported_path', sa.Text(), nullable=True))


def downgrade():
    op.execute("DELETE FROM sync_items WHERE procore_id IS NULL")
    with op.batch_alter_table('sync_items', schema=None) as batch_op:
        batch_op.drop_column('exported_path')
        batch_op.alter_column('procore_id', existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_column('procore_root_id')
        batch_op.drop_column('direction')
