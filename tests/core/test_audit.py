"""The audit and access logs: searchable by the audit administrator, scoped for
supervisors, and append-only in the application and in the database."""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.audit.services import AppendOnlyViolation, record
from tests import factories
from tests.conftest import page_text


def test_audit_admin_searches_every_event(client, login_as, world, db, clock):
    actor = factories.make_user(world, roles={"prosecutor"})
    record("person.create", actor=actor, now=clock.now, object_type="persons", object_id=7,
           object_label="小雨", organisation_id=world.department5.id)
    record("user.roles", actor=actor, now=clock.now, object_type="users", object_id=8,
           object_label="someone", organisation_id=world.federation.id)
    login_as("audit_admin")
    text = page_text(client.get("/audit"))
    assert "小雨" in text and "someone" in text
    text = page_text(client.get("/audit?action=person."))
    assert "小雨" in text and "someone" not in text
    text = page_text(client.get("/audit?q=someone&from=2026-11-27&to=2026-11-27"))
    assert "someone" in text and "小雨" not in text
    assert "小雨" not in page_text(client.get("/audit?from=2026-11-28"))


def test_supervisor_sees_only_the_events_of_their_organisation(client, login_as, world, clock):
    actor = factories.make_user(world, roles={"prosecutor"})
    record("person.create", actor=actor, now=clock.now, object_label="检察院的事",
           organisation_id=world.department5.id)
    record("person.create", actor=actor, now=clock.now, object_label="甲街的事",
           organisation_id=world.street_a.id)
    supervisor = factories.make_user(world, roles={"supervisor"}, org=world.federation)
    login_as(supervisor)
    text = page_text(client.get("/audit"))
    assert "甲街的事" in text and "检察院的事" not in text


def test_access_log_lists_unmasked_views(client, login_as, world, db, clock):
    from caseflow.core.people.services import reveal_identity

    officer = factories.make_user(world, roles={"federation_officer"})
    person = factories.make_person(world, officer, resident_id=factories.VALID_IDS[0])
    reveal_identity(person, actor=officer, now=clock.now, purpose="上门核实")
    login_as("audit_admin")
    text = page_text(client.get("/audit/access"))
    assert "上门核实" in text and officer.display_name in text and "小雨" in text


def test_the_application_refuses_to_change_or_delete_log_rows(world, db, clock):
    actor = factories.make_user(world, roles={"prosecutor"})
    event = record("x.test", actor=actor, now=clock.now)
    db.session.flush()
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'rewritten'",
    "DELETE FROM audit_events",
    "UPDATE access_events SET purpose = 'rewritten'",
    "DELETE FROM access_events",
])
def test_the_database_refuses_to_change_or_delete_log_rows(world, db, clock, statement):
    actor = factories.make_user(world, roles={"federation_officer"})
    person = factories.make_person(world, actor)
    record("x.test", actor=actor, now=clock.now)
    db.session.add(AccessEvent(occurred_at=clock.now, actor_id=actor.id, actor_name="x",
                               person_id=person.id, person_pseudonym="小雨", fields="real_name"))
    db.session.flush()
    with pytest.raises(DBAPIError) as refused:
        with db.session.begin_nested():
            db.session.execute(sa.text(statement))
    assert "append-only" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) >= 1
