"""drafts discarded with a reason (issue 16)

- ``referrals.discarded_at`` and ``referrals.discard_reason``: a draft its sender
  discarded, when and why. CHECK ``discarded_with_reason``: both or neither; CHECK
  ``discarded_only_drafts``: only a draft is discarded. The state stays ``draft``: a
  discarded draft was never sent, and everywhere ``state <> 'draft'`` means "was sent"
  (the receiver's rights, the inbox, the report's counts), so none of them can count it;
  the lists of drafts leave it out by ``discarded_at IS NULL``.
- ``referral_events.kind`` gains ``discarded``: the timeline entry that shows the reason.

Plain ADD COLUMN on referrals (a batch copy on SQLite would drop its expression indexes);
SQLite takes the CHECK constraints inline with the column. ``referral_events`` has no such
index and is copied by batch mode on SQLite to change its CHECK.

Revision ID: 0022_draft_discard
Revises: 0021_letter_contacts
Create Date: 2026-12-05 03:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_draft_discard'
down_revision = '0021_letter_contacts'
branch_labels = None
depends_on = None

KINDS = ('created', 'amended', 'sent', 'registered', 'handler_assigned', 'note', 'comment',
         'replied', 'closed', 'returned', 'withdrawn', 'extended', 'due_moved', 'attachment_added')
CHECKS = (("ck_referrals_discarded_with_reason", "(discarded_at IS NULL) = (discard_reason IS NULL)"),
          ("ck_referrals_discarded_only_drafts", "discarded_at IS NULL OR state = 'draft'"))


def _kinds_check(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _set_kinds(kinds) -> None:
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_referral_events_kind_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_referral_events_kind_known'), _kinds_check(kinds))


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE referrals ADD COLUMN discarded_at DATETIME")
        op.execute("ALTER TABLE referrals ADD COLUMN discard_reason TEXT "
                   + " ".join(f"CONSTRAINT {name} CHECK ({text})" for name, text in CHECKS))
    else:
        op.add_column('referrals', sa.Column('discarded_at', sa.DateTime(timezone=True), nullable=True))
        op.add_column('referrals', sa.Column('discard_reason', sa.Text(), nullable=True))
        for name, text in CHECKS:
            op.create_check_constraint(op.f(name), 'referrals', text)
    _set_kinds(KINDS + ('discarded',))


def downgrade():
    # The discarded drafts' timeline entries go with the kind (their reason is in the
    # audit log); the drafts themselves become drafts in use again.
    op.execute("DELETE FROM referral_events WHERE kind = 'discarded'")
    _set_kinds(KINDS)
    if op.get_bind().dialect.name != "sqlite":
        for name, _text in CHECKS:
            op.drop_constraint(op.f(name), 'referrals', type_='check')
    op.drop_column('referrals', 'discard_reason')
    op.drop_column('referrals', 'discarded_at')
