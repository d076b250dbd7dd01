"""replies linked to their aid case

No change to the schema. A reply "judicial aid case opened" names its case through the
link the case already holds: ``aid_cases.referral_id`` (a foreign key, unique: at most one
case per referral). The reply service requires that case and links a case opened
directly for the same woman (``referrals.services.reply``, ``REPLY_CASES``). A CHECK on
``referrals`` cannot see ``aid_cases``, so the rule "the outcome 'case opened' has its
case" is the service's, tested on both databases (tests/referrals/test_reply_case.py).

Revision ID: 0020_consistency
Revises: 0019_documents
Create Date: 2026-12-05 00:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0020_consistency'
down_revision = '0019_documents'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
