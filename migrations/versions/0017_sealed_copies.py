"""protected copies sealed: visit addresses

The address of a visit is the woman's home as often as not. It moves from ``visits.address``
(clear) to ``visits.address_sealed`` (SM4-GCM under the data key, ``visits.address`` bound
in as associated data, as ``core.people`` seals her own fields), and leaves the two places
it had been copied to: the text of the "visit recorded" timeline events, and the before
and after of the visits' audit rows (a correction's row now says the address changed,
not what it was). Those audit rows are the only rows of the append-only log ever changed:
here, with the database's guard lifted for the statement and put back, and an audit row
saying how many were redacted.

The data key is the application's (``CASEFLOW_DATA_KEY``), read only when there is
something to seal: an empty database needs none.

Revision ID: 0017_sealed_copies
Revises: 0016_password_resets
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa

from caseflow.core.db import UTCDateTime, utcnow


# revision identifiers, used by Alembic.
revision = '0017_sealed_copies'
down_revision = '0016_password_resets'
branch_labels = None
depends_on = None

CONTEXT = "visits.address"
VISIT_ACTIONS = ("aid_case.visit_recorded", "aid_case.visit_corrected")

visits = sa.table("visits", sa.column("id", sa.Integer), sa.column("address", sa.String),
                  sa.column("address_sealed", sa.Text))
events = sa.table("aid_case_events", sa.column("kind", sa.String), sa.column("text", sa.Text))
audit = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("action", sa.String),
                 sa.column("before", sa.JSON), sa.column("after", sa.JSON),
                 sa.column("occurred_at", UTCDateTime()), sa.column("actor_name", sa.String),
                 sa.column("reason", sa.Text))


def _cipher():
    from flask import current_app

    from caseflow.core.crypto import FieldCipher

    return FieldCipher.from_config(current_app.config["CASEFLOW_DATA_KEY"],
                                   current_app.config.get("CASEFLOW_DATA_KEY_PREVIOUS", ""))


def _without_address(value):
    if not isinstance(value, dict) or "address" not in value:
        return value, False
    return {k: v for k, v in value.items() if k != "address"}, True


def _redact_audit_rows(bind) -> int:
    """The visits' audit rows without the address; how many were changed."""
    rows = bind.execute(sa.select(audit.c.id, audit.c.action, audit.c.before, audit.c.after)
                        .where(audit.c.action.in_(VISIT_ACTIONS))).all()
    redacted = []
    for row in rows:
        before, in_before = _without_address(row.before)
        after, in_after = _without_address(row.after)
        if not (in_before or in_after):
            continue
        if row.action == "aid_case.visit_corrected":
            after = {**(after or {}), "protected_fields_changed": ["address"]}
        redacted.append((row.id, before, after))
    if not redacted:
        return 0
    dialect = bind.dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    for row_id, before, after in redacted:
        bind.execute(audit.update().where(audit.c.id == row_id).values(before=before, after=after))
    if dialect == "postgresql":
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    elif dialect == "sqlite":
        op.execute("""
            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'the audit_events table is append-only'); END
        """)
    return len(redacted)


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_sealed', sa.Text(), nullable=True))

    rows = bind.execute(sa.select(visits.c.id, visits.c.address)).all()
    if rows:
        cipher = _cipher()
        for row in rows:
            bind.execute(visits.update().where(visits.c.id == row.id).values(
                address_sealed=cipher.encrypt(row.address or "-", context=CONTEXT)))

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.alter_column('address_sealed', existing_type=sa.Text(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_visits_address_is_sealed'),
                                         "address_sealed LIKE 'sm4gcm$%'")
        batch_op.drop_column('address')

    # The timeline's "visit recorded" held the address as its text.
    bind.execute(events.update().where(events.c.kind == "visit_recorded").values(text=None))

    redacted = _redact_audit_rows(bind)
    if redacted:
        bind.execute(audit.insert().values(
            occurred_at=utcnow(), actor_name="caseflow db upgrade", action="audit.redacted",
            reason=f"migration 0017: visit addresses sealed; the address removed from {redacted} "
                   "audit rows of visits"))


def downgrade():
    bind = op.get_bind()
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
    rows = bind.execute(sa.select(visits.c.id, visits.c.address_sealed)).all()
    if rows:
        cipher = _cipher()
        for row in rows:
            bind.execute(visits.update().where(visits.c.id == row.id).values(
                address=cipher.decrypt(row.address_sealed, context=CONTEXT)))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_constraint(op.f('ck_visits_address_is_sealed'), type_='check')
        batch_op.drop_column('address_sealed')
