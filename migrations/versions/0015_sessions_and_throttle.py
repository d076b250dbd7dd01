"""server-side sessions, sign-in throttle

Revision ID: 0015_sessions_and_throttle
Revises: 0014_receiving_departments
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_sessions_and_throttle'
down_revision = '0014_receiving_departments'
branch_labels = None
depends_on = None


def upgrade():
    pass  # issue 13: sessions and lockout (owner: sessions helper): filled in by its owner, or this file is removed with its chain fixed


def downgrade():
    pass
