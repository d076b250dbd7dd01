"""ledger imports of judicial aid cases and assistance items (issue 17, step 3)

- ``aid_cases.imported_sha256`` and ``aid_cases.imported_row``,
  ``assistance_items.imported_sha256`` and ``assistance_items.imported_row``: a case or a
  service item brought in from an office's ledger keeps its original number and dates and
  names the file and row it came from (as ``referrals`` since 0023). CHECK
  ``imported_with_row``: both or neither; the unique indexes ``uq_aid_cases_imported_row``
  and ``uq_assistance_items_imported_row``: a row of a file is imported once.

Plain ADD COLUMN (a batch copy on SQLite would drop the partial indexes of
``assistance_items``); SQLite takes the CHECK constraint inline with the column.

Revision ID: 0024_case_and_item_imports
Revises: 0023_ledger_imports
Create Date: 2026-12-06 00:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_case_and_item_imports'
down_revision = '0023_ledger_imports'
branch_labels = None
depends_on = None

TABLES = ("aid_cases", "assistance_items")
CHECK = "(imported_sha256 IS NULL) = (imported_row IS NULL)"


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        name = f"ck_{table}_imported_with_row"
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN imported_sha256 VARCHAR(64)")
            op.execute(f"ALTER TABLE {table} ADD COLUMN imported_row INTEGER "
                       f"CONSTRAINT {name} CHECK ({CHECK})")
        else:
            op.add_column(table, sa.Column('imported_sha256', sa.String(length=64), nullable=True))
            op.add_column(table, sa.Column('imported_row', sa.Integer(), nullable=True))
            op.create_check_constraint(op.f(name), table, CHECK)
        op.create_index(f"uq_{table}_imported_row", table, ['imported_sha256', 'imported_row'],
                        unique=True)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in reversed(TABLES):
        op.drop_index(f"uq_{table}_imported_row", table_name=table)
        if not sqlite:
            op.drop_constraint(op.f(f"ck_{table}_imported_with_row"), table, type_='check')
        op.drop_column(table, 'imported_row')
        op.drop_column(table, 'imported_sha256')
