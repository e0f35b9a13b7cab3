"""cBox document store: projects, folders, files, versions, blobs, folder editors (issue 6 part A)

Revision ID: 0004_cbox
Revises: 0002
Hand-checked: only cbox_* tables (other branches add their own). No PostgreSQL enums: status,
origin and category are strings with named CHECK constraints.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_cbox'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cbox_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('last_written_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_cbox_blobs'))
    )
    with op.batch_alter_table('cbox_blobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_blobs_last_written_at'), ['last_written_at'], unique=False)

    op.create_table('cbox_projects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cbox_projects_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cbox_projects')),
    sa.UniqueConstraint('company_id', 'name', name='uq_cbox_projects_company_name')
    )
    with op.batch_alter_table('cbox_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_projects_company_id'), ['company_id'], unique=False)

    op.create_table('cbox_folders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_key', sa.String(length=800), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("category IN ('documents', 'photos', 'drawings')", name=op.f('ck_cbox_folders_category')),
    sa.CheckConstraint("origin IN ('local', 'procore')", name=op.f('ck_cbox_folders_origin')),
    sa.CheckConstraint("status IN ('synced', 'syncing', 'pending', 'pending_deletion', 'error')", name=op.f('ck_cbox_folders_status')),
    sa.ForeignKeyConstraint(['parent_id'], ['cbox_folders.id'], name=op.f('fk_cbox_folders_parent_id_cbox_folders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['cbox_projects.id'], name=op.f('fk_cbox_folders_project_id_cbox_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cbox_folders')),
    sa.UniqueConstraint('parent_id', 'name_key', name='uq_cbox_folders_parent_name'),
    sa.UniqueConstraint('project_id', 'kind', name='uq_cbox_folders_project_kind')
    )
    with op.batch_alter_table('cbox_folders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_folders_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cbox_folders_project_id'), ['project_id'], unique=False)

    op.create_table('cbox_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('folder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_key', sa.String(length=800), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("category IN ('documents', 'photos', 'drawings')", name=op.f('ck_cbox_files_category')),
    sa.CheckConstraint("origin IN ('local', 'procore')", name=op.f('ck_cbox_files_origin')),
    sa.CheckConstraint("status IN ('synced', 'syncing', 'pending', 'pending_deletion', 'error')", name=op.f('ck_cbox_files_status')),
    sa.ForeignKeyConstraint(['folder_id'], ['cbox_folders.id'], name=op.f('fk_cbox_files_folder_id_cbox_folders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['cbox_projects.id'], name=op.f('fk_cbox_files_project_id_cbox_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cbox_files')),
    sa.UniqueConstraint('folder_id', 'name_key', name='uq_cbox_files_folder_name')
    )
    with op.batch_alter_table('cbox_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_files_folder_id'), ['folder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cbox_files_project_id'), ['project_id'], unique=False)

    op.create_table('cbox_folder_editors',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('folder_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['cbox_folders.id'], name=op.f('fk_cbox_folder_editors_folder_id_cbox_folders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cbox_folder_editors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cbox_folder_editors')),
    sa.UniqueConstraint('folder_id', 'user_id', name='uq_cbox_folder_editors_folder_user')
    )
    with op.batch_alter_table('cbox_folder_editors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_folder_editors_folder_id'), ['folder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cbox_folder_editors_user_id'), ['user_id'], unique=False)

    op.create_table('cbox_file_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['blob_sha256'], ['cbox_blobs.sha256'], name=op.f('fk_cbox_file_versions_blob_sha256_cbox_blobs')),
    sa.ForeignKeyConstraint(['file_id'], ['cbox_files.id'], name=op.f('fk_cbox_file_versions_file_id_cbox_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cbox_file_versions')),
    sa.UniqueConstraint('file_id', 'number', name='uq_cbox_file_versions_file_number')
    )
    with op.batch_alter_table('cbox_file_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cbox_file_versions_blob_sha256'), ['blob_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_cbox_file_versions_file_id'), ['file_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; children before parents.
    for table in ('cbox_folder_editors', 'cbox_file_versions', 'cbox_files', 'cbox_folders', 'cbox_projects',
                  'cbox_blobs'):
        op.drop_table(table)
