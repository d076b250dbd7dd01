"""protected copies sealed: visit addresses

Revision ID: 0017_sealed_copies
Revises: 0016_password_resets
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_sealed_copies'
down_revision = '0016_password_resets'
branch_labels = None
depends_on = None


def upgrade():
    pass  # issue 13: sealing (owner: privacy helper): filled in by its owner, or this file is removed with its chain fixed


def downgrade():
    pass
