"""letter contacts and street letter series (issue 15; filled in by the letters helper)

Placeholder in the chain so that two pieces of work can each own one revision; it changes
nothing until its owner fills it in.

Revision ID: 0021_letter_contacts
Revises: 0020_consistency
Create Date: 2026-12-05 03:30:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0021_letter_contacts'
down_revision = '0020_consistency'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
