"""cBox trash: deleted items stay restorable for CBOX_TRASH_DAYS (issue 14)

Revision ID: 0016_cbox_trash
Revises: 0015_event_sync_run
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_cbox_trash'
down_revision = '0015_event_sync_run'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'cbox_trash',
        sa.Column('id', ID, primary_key=True),
        sa.Column('project_id', ID, sa.ForeignKey('cbox_projects.id', ondelete='CASCADE'), nullable=False),
        sa.Column('holder_id', ID, sa.ForeignKey('cbox_folders.id', ondelete='CASCADE'), nullable=False),
        sa.Column('category', sa.String(16), nullable=False),
        sa.Column('is_folder', sa.Boolean(), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('original_parent_id', ID, nullable=True),
        sa.Column('original_path', sa.Text(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deleted_by_id', ID, sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.UniqueConstraint('holder_id', name='uq_cbox_trash_holder_id'),
    )
    op.create_index('ix_cbox_trash_project_id', 'cbox_trash', ['project_id'])
    op.create_index('ix_cbox_trash_deleted_at', 'cbox_trash', ['deleted_at'])


def downgrade():
    op.drop_table('cbox_trash')
