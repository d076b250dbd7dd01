"""sweep indexes: open referrals by reply due date, sent ones by registration due date

Revision ID: 0006_sweep_indexes
Revises: 0005_notifications
Create Date: 2026-11-28 13:00:00

The reminder sweep (referrals.reminders) reads the open referrals near or past their
dates, and the daily digest the open referrals of an organisation due within three days.
Without these indexes both read the archive: PostgreSQL scans the whole table for the
sweep's selection (its OR cannot use an index), and both backends walk
ix_referrals_reply_due_on over every referral ever due, replied or not, for the digest
(bench/sweep.py: seconds at 1,000,000 referrals). Partial indexes hold only the open
referrals, so their size follows the work that is open, not the archive; with them
PostgreSQL answers the selection by a BitmapOr of the two and the digest by the first.

SQLite uses a partial index only when the query names the same states as literals
(``state IN ('sent', 'registered')``); with the states as bound parameters, as the sweep
writes them today, it keeps scanning.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_sweep_indexes'
down_revision = '0005_notifications'
branch_labels = None
depends_on = None

OPEN = "state IN ('sent', 'registered')"
SENT = "state = 'sent'"


def upgrade():
    op.create_index("ix_referrals_open_reply_due", "referrals", ["reply_due_on"], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_referrals_sent_registration_due", "referrals", ["registration_due_on"],
                    unique=False, postgresql_where=sa.text(SENT), sqlite_where=sa.text(SENT))


def downgrade():
    op.drop_index("ix_referrals_sent_registration_due", table_name="referrals")
    op.drop_index("ix_referrals_open_reply_due", table_name="referrals")
