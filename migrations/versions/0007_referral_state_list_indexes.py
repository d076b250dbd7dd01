"""referral list indexes by state: the lists' order after the box's column and the state

Revision ID: 0007_referral_state_list_indexes
Revises: 0006_sweep_indexes
Create Date: 2026-12-01 18:00:00

A list filtered by state (or to the open states, for "overdue" and "due within") is read
as one index range per organisation and state, each in the lists' order
(``queries.referral_page``). Without the state in the index the database either sorts
every match (the supervisor's "all" list, overdue: 2× slower at 1,000,000 referrals in
bench/referrals.py) or walks past every closed referral. These replace the
``(column, state, reply_due_on)`` indexes of 0003, whose ranges they also serve.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_referral_state_list_indexes'
down_revision = '0006_sweep_indexes'
branch_labels = None
depends_on = None

COLUMNS = ("receiver_org_id", "sender_org_id", "handler_id")


def upgrade():
    for column in COLUMNS:
        op.create_index(
            f"ix_referrals_{column}_state_list_order", "referrals",
            [column, "state", sa.text("is_urgent DESC"), sa.text("(reply_due_on IS NULL)"),
             "reply_due_on", sa.text("id DESC")],
            unique=False)
    for old in ("ix_referrals_receiver_state_due", "ix_referrals_sender_state_due",
                "ix_referrals_handler_state_due"):
        op.drop_index(old, table_name="referrals")


def downgrade():
    op.create_index("ix_referrals_handler_state_due", "referrals", ["handler_id", "state", "reply_due_on"])
    op.create_index("ix_referrals_receiver_state_due", "referrals", ["receiver_org_id", "state", "reply_due_on"])
    op.create_index("ix_referrals_sender_state_due", "referrals", ["sender_org_id", "state", "reply_due_on"])
    for column in reversed(COLUMNS):
        op.drop_index(f"ix_referrals_{column}_state_list_order", table_name="referrals")
