"""discarding drafts (issue 16; filled in by the paper-cuts helper)

Placeholder in the chain so that two pieces of work can each own one revision; it changes
nothing until its owner fills it in.

Revision ID: 0022_draft_discard
Revises: 0021_letter_contacts
Create Date: 2026-12-05 03:30:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0022_draft_discard'
down_revision = '0021_letter_contacts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
