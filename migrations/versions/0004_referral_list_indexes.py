"""referral list indexes: the lists' sort order after the box's column

Revision ID: 0004_referral_list_indexes
Revises: 0003_referrals
Create Date: 2026-11-28 12:00:00

The referral lists (inbox by receiver, outbox by sender, "mine" by handler) order by
``is_urgent DESC, reply_due_on IS NULL, reply_due_on, id DESC`` and show 25 rows. Without
an index in that order the database sorts every referral of the organisation on each page
view (bench/referrals.py: hundreds of milliseconds at 1,000,000 referrals); with it, it
reads the first 26 entries of one index range.

Both databases. SQLAlchemy cannot reflect SQLite's expression indexes and warns on
reflection; the test suite lets that one warning through (setup.cfg).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_referral_list_indexes'
down_revision = '0003_referrals'
branch_labels = None
depends_on = None

COLUMNS = ("receiver_org_id", "sender_org_id", "handler_id")


def upgrade():
    for column in COLUMNS:
        op.create_index(
            f"ix_referrals_{column}_list_order", "referrals",
            [column, sa.text("is_urgent DESC"), sa.text("(reply_due_on IS NULL)"), "reply_due_on",
             sa.text("id DESC")],
            unique=False)


def downgrade():
    for column in reversed(COLUMNS):
        op.drop_index(f"ix_referrals_{column}_list_order", table_name="referrals")
