"""one-time password resets

Revision ID: 0016_password_resets
Revises: 0015_sessions_and_throttle
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_password_resets'
down_revision = '0015_sessions_and_throttle'
branch_labels = None
depends_on = None


def upgrade():
    pass  # issue 13: resets and role grants (owner: accounts helper): filled in by its owner, or this file is removed with its chain fixed


def downgrade():
    pass
