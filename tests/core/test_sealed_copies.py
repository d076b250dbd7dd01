"""What must not be read in clear: visit addresses (sealed, masked, revealed with a logged
purpose, re-encrypted by a key rotation) and what the outbox's messages are about."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.crypto import FieldCipher, generate_key
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from caseflow.core.people import services as people
from caseflow.investigations import services
from caseflow.investigations.models import VISIT_ADDRESS, Visit
from tests import factories
from tests.conftest import DEFAULT_NOW, page_text, zh
from tests.investigations.helpers import CaseCast, visit_input

HOME = "武汉市江汉区民族街某社区7栋302室"


@pytest.fixture
def cast(world):
    return CaseCast(world)


@pytest.fixture
def visited(cast, db, clock):
    """A case under investigation with a visit to the applicant's home."""
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast, address=HOME))
    db.session.flush()
    return case, visit


def _raw(db, sql: str, **params) -> str:
    """What a dump of the database shows: rows read by plain SQL, as text."""
    return " ".join(str(v) for row in db.session.execute(sa.text(sql), params) for v in row)


def test_a_visit_address_is_sealed_in_the_database_and_copied_nowhere(visited, db, cast):
    case, visit = visited
    services.correct_visit(visit, actor=cast.prosecutor, now=visit.updated_at,
                           data=visit_input(cast, address=HOME + "（东门）"), reason="补充门牌",
                           expected_version=visit.version)
    db.session.flush()
    stored = _raw(db, "SELECT * FROM visits")
    assert "民族街" not in stored and "sm4gcm$" in stored
    assert "民族街" not in _raw(db, "SELECT text, data FROM aid_case_events WHERE case_id = :id", id=case.id)
    assert "民族街" not in _raw(db, "SELECT before, after, reason FROM audit_events")
    # The column's name is bound in: the sealed address does not open as anything else.
    sealed = db.session.scalar(sa.text("SELECT address_sealed FROM visits"))
    with pytest.raises(Exception):
        people.open_copy(VISIT_ADDRESS, sealed, FieldCipher.from_config(generate_key()))
    # The database itself refuses an address in clear.
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE visits SET address_sealed = :a"), {"a": HOME})


def test_the_case_page_and_the_report_mask_the_address_until_a_purpose_is_given(
        visited, db, cast, client, login_as):
    case, visit = visited
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    for url in (page, f"/cases/{case.id}/report"):
        text = page_text(client.get(url))
        assert "民族街" not in text and "******" in text
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0

    refused = client.submit(f"/cases/{case.id}/visits/addresses", {"purpose": "\u200b"}, page=page)
    assert refused.status_code == 400 and "民族街" not in page_text(refused)
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0

    shown = page_text(client.submit(f"/cases/{case.id}/visits/addresses", {"purpose": "安排回访"},
                                    page=page))
    assert HOME in shown and zh("addresses unmasked: this view is logged") in shown
    printed = page_text(client.submit(f"/cases/{case.id}/report", {"purpose": "归档打印"},
                                      page=f"/cases/{case.id}/report"))
    assert HOME in printed
    views = db.session.scalars(sa.select(AccessEvent).order_by(AccessEvent.id)).all()
    assert [(v.actor_id, v.person_id, v.fields, v.purpose) for v in views] == [
        (cast.prosecutor.id, case.applicant_id, "visit_address", "安排回访"),
        (cast.prosecutor.id, case.applicant_id, "visit_address", "归档打印")]


def test_only_those_who_may_see_the_applicants_identity_reveal_the_addresses(visited, db, cast, clock):
    case, _ = visited
    case.applicant.is_minor = True  # a child's: supervisors, the recorder and the case's team
    outsider = factories.make_user(cast.world, roles={"federation_officer"}, org=cast.world.street_b)
    with pytest.raises(NotAllowed):
        services.reveal_visit_addresses(case, case.investigation.visits, actor=outsider,
                                        now=clock.now, purpose="好奇")
    assert services.reveal_visit_addresses(case, case.investigation.visits, actor=cast.officer,
                                           now=clock.now, purpose="回访")  # on the team
    with pytest.raises(ValidationFailed):
        services.reveal_visit_addresses(case, case.investigation.visits, actor=cast.officer,
                                        now=clock.now, purpose=" \u200b\u200c ")
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 1


def test_a_correction_left_empty_keeps_the_address(visited, db, cast):
    case, visit = visited
    services.correct_visit(visit, actor=cast.prosecutor, now=visit.updated_at,
                           data=visit_input(cast, address="", notes="补记：婆婆在家"),
                           reason="补记", expected_version=visit.version)
    db.session.flush()
    assert people.open_copy(VISIT_ADDRESS, db.session.get(Visit, visit.id).address_sealed) == HOME
    [audit] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "aid_case.visit_corrected")).all()
    assert "protected_fields_changed" not in audit.after


def test_key_rotation_re_encrypts_the_visit_addresses(app, visited, db):
    old_key = app.config["CASEFLOW_DATA_KEY"]
    new_key = generate_key()
    before = db.session.scalar(sa.text("SELECT address_sealed FROM visits"))
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", new_key])
    assert result.exit_code == 0, result.output
    assert "1/1 visits.address re-encrypted" in result.output
    after = db.session.scalar(sa.text("SELECT address_sealed FROM visits"))
    new_cipher = FieldCipher.from_config(new_key)
    assert after != before and new_cipher.sealed_with_current(after)
    assert people.open_copy(VISIT_ADDRESS, after, new_cipher) == HOME
    assert app.config["CASEFLOW_DATA_KEY"] == old_key
    app.extensions.pop("caseflow_cipher", None)

NUMBER, PSEUDONYM = "测妇移〔2026〕3号", "小雨"


def test_the_outbox_page_shows_recipient_kind_state_and_error_but_not_what_it_is_about(
        app, db, clock, world, client, login_as):
    supervisor = factories.make_user(world, roles={"supervisor"})
    db.session.add_all([
        OutboxEmail(dedupe_key=f"referral:5:overdue_1:{supervisor.id}:reminder_overdue",
                    created_at=clock.now, to_user_id=supervisor.id, to_address=supervisor.email,
                    subject=f"{NUMBER}（{PSEUDONYM}）已逾期未回告", body=f"{NUMBER} {PSEUDONYM} 已逾期",
                    status="queued", attempts=1, next_attempt_at=clock.now + timedelta(minutes=1),
                    last_error="550 mailbox unavailable"),
        OutboxMessage(channel="sms", dedupe_key=f"sms:referral:5:overdue_1:{supervisor.id}:x",
                      created_at=clock.now, to_user_id=supervisor.id, to_address="+8613812345678",
                      body=f"【caseflow】{NUMBER}（{PSEUDONYM}）已逾期", status="queued", attempts=2,
                      next_attempt_at=clock.now, last_error="HTTP 500 Internal Server Error"),
    ])
    login_as("system_admin")
    email_page = page_text(client.get("/admin/outbox"))
    messages_page = page_text(client.get("/admin/outbox?channel=messages"))
    for page in (email_page, messages_page):
        assert NUMBER not in page and PSEUDONYM not in page and "逾期" not in page
        assert zh("Referral") in page and zh("failed, will retry") in page
    assert supervisor.email in email_page and "550 mailbox unavailable" in email_page
    assert "+8613812345678" in messages_page and "HTTP 500 Internal Server Error" in messages_page
    # The subject's and the text's column is gone too, not just emptied.
    # The columns the page had (主题, 内容: Subject, Text) are gone, and their messages too.
    # (The skip link, 跳到主要内容 "skip to the main content", is no column.)
    messages_page = messages_page.replace("跳到主要内容", "")
    assert "主题" not in email_page and "内容" not in messages_page


@pytest.fixture
def fresh_app(app, tmp_path):
    """An application on a database of its own, empty, for a migration's test."""
    from caseflow.extensions import db as _db
    from tests.conftest import create_database, make_app

    url, drop = create_database(app.config["TEST_BACKEND"], tmp_path)
    fresh = make_app(url)
    yield fresh
    with fresh.app_context():
        _db.engine.dispose()
    drop()


def test_migration_0017_seals_the_demos_visit_addresses_and_removes_every_copy(fresh_app):
    """On the demo as an older caseflow left it: addresses in clear in the visits, in the
    timeline's text and in the visits' audit rows."""
    import flask_migrate

    from caseflow.core.crypto import cipher_for_app
    from caseflow.core.db import UTCDateTime
    from caseflow.extensions import db as _db
    from tests.referrals.test_demo import load

    with fresh_app.app_context():
        flask_migrate.upgrade()  # an empty database: nothing to seal
    load(fresh_app, "2026-11-27")
    events = sa.table("aid_case_events", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("text", sa.Text), sa.column("data", sa.JSON))
    audit = sa.table("audit_events", sa.column("occurred_at", UTCDateTime()),
                     sa.column("actor_name", sa.String), sa.column("action", sa.String),
                     sa.column("before", sa.JSON), sa.column("after", sa.JSON))
    with fresh_app.app_context():
        flask_migrate.downgrade(revision="0016_password_resets")
        with _db.engine.begin() as conn:
            addresses = dict(conn.execute(sa.text("SELECT id, address FROM visits")).all())
            assert len(addresses) >= 4 and all(addresses.values())
            for row in conn.execute(sa.select(events.c.id, events.c.data).where(
                    events.c.kind == "visit_recorded")).all():
                conn.execute(events.update().where(events.c.id == row.id).values(
                    text=addresses[row.data["visit_id"]]))
            first, *_ = addresses.values()
            conn.execute(audit.insert(), [
                dict(occurred_at=DEFAULT_NOW, actor_name="旧版", action="aid_case.visit_recorded",
                     before=None, after={"address": first, "visited_on": "2026-11-20"}),
                dict(occurred_at=DEFAULT_NOW, actor_name="旧版", action="aid_case.visit_corrected",
                     before={"address": first, "met": "本人"}, after={"address": first + "（东门）",
                                                                      "met": "本人及婆婆"})])
        flask_migrate.upgrade()

        with _db.engine.connect() as conn:
            dump = " ".join(str(v) for table in ("visits", "aid_case_events", "audit_events")
                            for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row)
            for address in addresses.values():
                assert address not in dump
            sealed = dict(conn.execute(sa.text("SELECT id, address_sealed FROM visits")).all())
            redaction = conn.execute(sa.text(
                "SELECT reason FROM audit_events WHERE action = 'audit.redacted'")).scalar_one()
            corrected = conn.execute(sa.select(audit.c.before, audit.c.after).where(
                audit.c.action == "aid_case.visit_corrected", audit.c.actor_name == "旧版")).one()
        cipher = cipher_for_app(fresh_app)
        assert {i: people.open_copy(VISIT_ADDRESS, s, cipher) for i, s in sealed.items()} == addresses
        assert "2 audit rows" in redaction
        assert corrected.before == {"met": "本人"}
        assert corrected.after == {"met": "本人及婆婆", "protected_fields_changed": ["address"]}
        # The log's guard is back: its rows refuse changes again.
        with pytest.raises(sa.exc.DBAPIError), _db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET reason = 'x'"))
