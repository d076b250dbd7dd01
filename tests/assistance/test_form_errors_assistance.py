"""The assistance plan form and the family member form: every bad field in one round,
beside its field, the input kept and nothing written; the form's own refusals (a text
too long) come with the service's (her open plan, no pseudonym, a birth date ahead)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.assistance import services
from caseflow.assistance.models import AssistancePlan, PlanMember
from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import Conflict, FieldErrors
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from tests.assistance.helpers import AssistCast
from tests.conftest import zh
from tests.core.test_form_errors import _count, _errors


@pytest.fixture
def cast(world, db):
    return AssistCast(world)


def _audited(db, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action))


def test_the_plan_form_shows_her_open_plan_with_the_forms_own_refusal(client, login_as, cast, db,
                                                                      clock):
    """The summary over its 2000 characters is the form's refusal (Length); that she has an
    open plan already is the service's: both at once, beside their fields."""
    cast.plan(clock.now)
    login_as(cast.officer)
    summary = "计" * 2001
    response = client.submit("/assistance/new", {"person_id": str(cast.person.id),
                                                 "summary": summary}, page="/assistance/new")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"person_id", "summary"}
    assert errors["person_id"] == [zh("%(pseudonym)s already has an open assistance plan.",
                                      pseudonym=cast.person.pseudonym)]
    assert summary in html  # kept, all 2001 characters
    assert _count(db, AssistancePlan) == 1 and _audited(db, "assistance.plan_opened") == 1


def test_a_second_plan_is_refused_beside_the_person(cast, db, clock):
    cast.plan(clock.now)
    with pytest.raises(Conflict) as refused:
        services.open_plan(actor=cast.officer, now=clock.now, person=cast.person)
    assert refused.value.field == "person_id"
    # The check alone says the same and writes nothing.
    with pytest.raises(Conflict):
        services.check_plan(actor=cast.officer, person=cast.person)
    assert _count(db, AssistancePlan) == 1


def test_the_member_form_shows_the_forms_and_the_services_errors_at_once(client, login_as, cast,
                                                                         db, clock):
    """The relation over its 40 characters is the form's refusal; no pseudonym and a birth
    date ahead are the service's (the people module's rules): the three at once."""
    plan = cast.plan(clock.now)
    login_as(cast.officer)
    page = f"/assistance/{plan.id}"
    people_before, audit_before = _count(db, Person), _count(db, AuditEvent)
    relation = "关" * 41
    born = (clock.now.date() + timedelta(days=30)).isoformat()
    response = client.submit(f"{page}/members", {"person_id": "0", "pseudonym": "",
                                                 "real_name": "张某", "birth_date": born,
                                                 "relation": relation}, page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"relation", "pseudonym", "birth_date"}
    assert errors["pseudonym"] == [zh("A pseudonym is required: lists show only the pseudonym.")]
    assert errors["birth_date"] == [zh("A birth date cannot be in the future.")]
    assert relation in html and f'value="{born}"' in html and 'value="张某"' in html
    assert _count(db, Person) == people_before and _count(db, PlanMember) == 0
    assert _count(db, AuditEvent) == audit_before


def test_the_family_member_check_names_every_bad_field(cast, db, clock):
    plan = cast.plan(clock.now)
    people_before = _count(db, Person)
    born = clock.now.date() + timedelta(days=1)
    with pytest.raises(FieldErrors) as refused:
        services.add_family_member(plan, actor=cast.officer, now=clock.now, relation=" ",
                                   pseudonym="", identity=people.Identity(birth_date=born))
    assert [field for field, _message in refused.value.errors] == ["relation", "pseudonym",
                                                                   "birth_date"]
    assert _count(db, Person) == people_before and _count(db, PlanMember) == 0
    assert _audited(db, "assistance.member_added") == 0


def test_a_member_already_in_the_plan_is_refused_beside_the_person(cast, db, clock):
    plan = cast.plan(clock.now)
    with pytest.raises(FieldErrors) as refused:
        services.check_family_member(plan, actor=cast.officer, now=clock.now, relation="",
                                     person=cast.person)
    assert [field for field, _message in refused.value.errors] == ["relation", "person_id"]
