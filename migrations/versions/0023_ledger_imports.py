"""ledger imports (issue 17)

- ``import_batches``: one row per confirmed import of a ledger file (XLSX or CSV): its kind,
  SHA-256, name, the importing organisation and user, when, and its counts (rows, added,
  already in caseflow, people matched by resident ID number, people recorded).
- ``referrals.imported_sha256`` and ``referrals.imported_row``: a referral brought in from a
  ledger keeps its original number and dates and names the file and row it came from.
  CHECK ``imported_with_row``: both or neither; the unique index
  ``uq_referrals_imported_row``: a row of a file is imported once.

Plain ADD COLUMN on referrals (a batch copy on SQLite would drop its expression indexes);
SQLite takes the CHECK constraint inline with the column.

Revision ID: 0023_ledger_imports
Revises: 0022_draft_discard
Create Date: 2026-12-05 23:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_ledger_imports'
down_revision = '0022_draft_discard'
branch_labels = None
depends_on = None

CHECK = ("ck_referrals_imported_with_row", "(imported_sha256 IS NULL) = (imported_row IS NULL)")


def upgrade():
    op.create_table(
        'import_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=False),
        sa.Column('rows_added', sa.Integer(), nullable=False),
        sa.Column('rows_already', sa.Integer(), nullable=False),
        sa.Column('people_matched', sa.Integer(), nullable=False),
        sa.Column('people_added', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('referrals', 'cases', 'assistance')",
                           name=op.f('ck_import_batches_kind_known')),
        sa.CheckConstraint("rows_added >= 0 AND rows_already >= 0 AND people_matched >= 0 "
                           "AND people_added >= 0", name=op.f('ck_import_batches_counts_not_negative')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_import_batches_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'],
                                name=op.f('fk_import_batches_imported_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches')),
    )
    op.create_index(op.f('ix_import_batches_sha256'), 'import_batches', ['sha256'], unique=False)
    op.create_index(op.f('ix_import_batches_organisation_id'), 'import_batches', ['organisation_id'],
                    unique=False)
    name, text = CHECK
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE referrals ADD COLUMN imported_sha256 VARCHAR(64)")
        op.execute(f"ALTER TABLE referrals ADD COLUMN imported_row INTEGER CONSTRAINT {name} CHECK ({text})")
    else:
        op.add_column('referrals', sa.Column('imported_sha256', sa.String(length=64), nullable=True))
        op.add_column('referrals', sa.Column('imported_row', sa.Integer(), nullable=True))
        op.create_check_constraint(op.f(name), 'referrals', text)
    op.create_index('uq_referrals_imported_row', 'referrals', ['imported_sha256', 'imported_row'],
                    unique=True)


def downgrade():
    op.drop_index('uq_referrals_imported_row', table_name='referrals')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(CHECK[0]), 'referrals', type_='check')
    op.drop_column('referrals', 'imported_row')
    op.drop_column('referrals', 'imported_sha256')
    op.drop_index(op.f('ix_import_batches_organisation_id'), table_name='import_batches')
    op.drop_index(op.f('ix_import_batches_sha256'), table_name='import_batches')
    op.drop_table('import_batches')
