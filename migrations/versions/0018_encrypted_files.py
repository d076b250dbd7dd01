"""attachments encrypted at rest

Revision ID: 0018_encrypted_files
Revises: 0017_sealed_copies
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_encrypted_files'
down_revision = '0017_sealed_copies'
branch_labels = None
depends_on = None


def upgrade():
    pass  # issue 13: files (owner: files helper): filled in by its owner, or this file is removed with its chain fixed


def downgrade():
    pass
