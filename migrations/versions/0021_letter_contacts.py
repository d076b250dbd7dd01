"""letter contacts and the series a letter was numbered in (issue 15)

- ``organisations.office_phone``: the office's phone (E.164), printed on its letters'
  contact line when the handler has no phone of their own.
- ``referrals.numbering_org_id``: the organisation whose referral series gave the number,
  which heads and signs the 移送函; ``referrals.reply_numbering_org_id``: the same for the
  回告函's letter number. Letterhead and number are fixed together when the number is taken,
  so a street federation numbered under its district's series carries the district's
  letterhead, and a prefix given later changes neither on the letters already numbered.
  Existing numbers are traced back to the organisation whose prefix they begin with.
- A referral's sequence number is unique per **series** and year
  (``uq_referrals_numbering_seq``), no longer per sender: a street federation given its own
  prefix in the middle of a year starts its series at 1 after numbers of its district's.

On SQLite the referrals table is copied (batch) to change its unique constraint; the copy
would lose the expression and partial indexes (SQLAlchemy cannot reflect them), so they are
dropped before and created again after, as migrations 0004, 0006 and 0007 made them.

Revision ID: 0021_letter_contacts
Revises: 0020_consistency
Create Date: 2026-12-05 03:30:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_letter_contacts'
down_revision = '0020_consistency'
branch_labels = None
depends_on = None

#: (referral column, number column, prefix column of organisations)
SERIES = (("numbering_org_id", "number", "referral_prefix"),
          ("reply_numbering_org_id", "reply_number", "letter_prefix"))

LIST_COLUMNS = ("receiver_org_id", "sender_org_id", "handler_id")
OPEN = "state IN ('sent', 'registered')"
SENT = "state = 'sent'"


def _list_indexes():
    """The referral indexes a SQLite table copy loses: (name, columns, options)."""
    order = [sa.text("is_urgent DESC"), sa.text("(reply_due_on IS NULL)"), "reply_due_on",
             sa.text("id DESC")]
    for column in LIST_COLUMNS:
        yield f"ix_referrals_{column}_list_order", [column, *order], {}
        yield f"ix_referrals_{column}_state_list_order", [column, "state", *order], {}
    yield "ix_referrals_open_reply_due", ["reply_due_on"], {
        "postgresql_where": sa.text(OPEN), "sqlite_where": sa.text(OPEN)}
    yield "ix_referrals_sent_registration_due", ["registration_due_on"], {
        "postgresql_where": sa.text(SENT), "sqlite_where": sa.text(SENT)}


def _change_referrals(change) -> None:
    """``change(batch_op)`` on the referrals table: in place on PostgreSQL, by a copy on
    SQLite with the indexes the copy loses made again."""
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table('referrals', schema=None) as batch_op:
            change(batch_op)
        return
    indexes = list(_list_indexes())
    for name, _columns, _options in indexes:
        op.drop_index(name, table_name='referrals')
    with op.batch_alter_table('referrals', schema=None, recreate='always') as batch_op:
        change(batch_op)
    for name, columns, options in indexes:
        op.create_index(name, 'referrals', columns, unique=False, **options)


def upgrade():
    op.add_column('organisations', sa.Column('office_phone', sa.String(length=20), nullable=True))

    def add_series(batch_op):
        for column, _number, _prefix in SERIES:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f"fk_referrals_{column}_organisations", 'organisations',
                                        [column], ['id'])
        batch_op.drop_constraint('uq_referrals_number_seq', type_='unique')
        batch_op.create_unique_constraint('uq_referrals_numbering_seq',
                                          ['numbering_org_id', 'number_year', 'number_seq'])

    _change_referrals(add_series)
    for column, number, prefix in SERIES:
        # The organisation whose prefix the number begins with (江汉妇移〔2026〕3号 → 江汉妇移).
        op.execute(
            f"UPDATE referrals SET {column} = (SELECT min(o.id) FROM organisations o "
            f"WHERE o.{prefix} IS NOT NULL AND substr(referrals.{number}, 1, length(o.{prefix}) + 1)"
            f" = o.{prefix} || '〔') WHERE {number} IS NOT NULL")


def downgrade():
    def drop_series(batch_op):
        batch_op.drop_constraint('uq_referrals_numbering_seq', type_='unique')
        batch_op.create_unique_constraint('uq_referrals_number_seq',
                                          ['sender_org_id', 'number_year', 'number_seq'])
        for column, _number, _prefix in reversed(SERIES):
            batch_op.drop_constraint(f"fk_referrals_{column}_organisations", type_='foreignkey')
            batch_op.drop_column(column)

    _change_referrals(drop_series)
    op.drop_column('organisations', 'office_phone')
