"""official documents: the issuing organisation and letter series

Revision ID: 0019_documents
Revises: 0018_encrypted_files
Create Date: 2026-12-05 00:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_documents'
down_revision = '0018_encrypted_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('documents_issued_as_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('letter_prefix', sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_organisations_documents_issued_as_id_organisations'),
            'organisations', ['documents_issued_as_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_organisations_not_own_issuer'),
            'documents_issued_as_id IS NULL OR documents_issued_as_id <> id')
    # A plain ADD COLUMN: a batch copy of referrals would drop its expression indexes on SQLite.
    op.add_column('referrals', sa.Column('reply_number', sa.String(length=60), nullable=True))
    op.create_table(
        'letter_counters',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('reply')", name=op.f('ck_letter_counters_kind_known')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_letter_counters_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('organisation_id', 'kind', 'year', name=op.f('pk_letter_counters')),
    )


def downgrade():
    op.drop_table('letter_counters')
    op.drop_column('referrals', 'reply_number')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organisations_not_own_issuer'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_organisations_documents_issued_as_id_organisations'), type_='foreignkey')
        batch_op.drop_column('letter_prefix')
        batch_op.drop_column('documents_issued_as_id')
