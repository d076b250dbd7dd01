"""report indexes: each side of the referrals by organisation and received date, covering

Revision ID: 0011_report_indexes
Revises: 0010_assistance
Create Date: 2026-12-01 21:00:00

The four-mechanisms report (``reports.definitions``) reads the referrals of a period that
an organisation subtree sent, and those it received, and aggregates eleven of their
columns. These two indexes begin with the side's organisation and the received date, so
that a subtree's period is one index range per organisation, and hold every column the
report reads, so that neither database visits the table: without them SQLite looks up the
row of every referral of the period through the list indexes, and PostgreSQL scans the
whole table (bench/reports.py, 100,000 and 1,000,000 referrals). PostgreSQL answers from
the index alone once the table has been vacuumed (autovacuum). Plain columns, not
PostgreSQL's INCLUDE, so that the same index serves SQLite.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_report_indexes'
down_revision = '0010_assistance'
branch_labels = None
depends_on = None

COVERED = ["state", "direction", "source", "reply_on", "reply_due_on", "registered_at",
           "registration_due_on", "extended_due_on"]


def upgrade():
    op.create_index("ix_referrals_sender_org_id_report", "referrals",
                    ["sender_org_id", "received_on", "receiver_org_id", *COVERED], unique=False)
    op.create_index("ix_referrals_receiver_org_id_report", "referrals",
                    ["receiver_org_id", "received_on", "sender_org_id", *COVERED], unique=False)


def downgrade():
    op.drop_index("ix_referrals_receiver_org_id_report", table_name="referrals")
    op.drop_index("ix_referrals_sender_org_id_report", table_name="referrals")
