"""The service item form: every bad field in one round, beside its field, nothing saved;
the form's own refusals (a text too long, an agency not offered) and the service's (no
kind of help, no frequency, no start date) together."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.assistance import services
from caseflow.assistance.models import ServiceItem
from caseflow.core.errors import FieldErrors
from tests.assistance.helpers import AssistCast
from tests.conftest import zh
from tests.core.test_form_errors import _count, _errors


@pytest.fixture
def cast(world, db):
    return AssistCast(world)


def _item_post(cast, world, **overrides):
    data = {"kind": "legal_aid", "beneficiary_id": str(cast.person.id),
            "provider_org_id": str(world.justice_bureau.id), "officer_id": str(cast.officer.id),
            "frequency": "monthly", "starts_on": "2026-11-20", "ends_on": "", "details": "",
            "legal_matter": ""}
    data.update(overrides)
    return data


def test_an_item_with_three_bad_fields_is_refused_for_each_at_once(client, login_as, cast, world,
                                                                   db, clock):
    plan = cast.plan(clock.now)
    login_as(cast.officer)
    page = f"/assistance/{plan.id}"
    response = client.submit(f"{page}/items", _item_post(cast, world, kind="", frequency="",
                                                         starts_on=""), page=page)
    assert response.status_code == 400
    assert _errors(response.get_data(as_text=True)) == {
        "kind": [zh("Choose the kind of help.")], "frequency": [zh("Choose how often.")],
        "starts_on": [zh("Enter the start date.")]}
    assert _count(db, ServiceItem) == 0


def test_the_item_forms_own_refusals_come_with_the_services(client, login_as, cast, world, db,
                                                           clock):
    plan = cast.plan(clock.now)
    login_as(cast.officer)
    page = f"/assistance/{plan.id}"
    response = client.submit(f"{page}/items", _item_post(
        cast, world, kind="", frequency="", details="细" * 2001, provider_org_id="0"), page=page)
    assert response.status_code == 400
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"details", "provider_org_id", "kind", "frequency"}
    assert errors["kind"] == [zh("Choose the kind of help.")]
    assert len(errors["provider_org_id"]) == 1  # the form's own message only, not two
    assert _count(db, ServiceItem) == 0


def test_the_item_check_names_every_bad_field(cast, db, clock):
    plan = cast.plan(clock.now)
    data = cast.item_input(plan, kind="", frequency="", starts_on=clock.now.date(),
                           ends_on=clock.now.date().replace(year=2025))
    with pytest.raises(FieldErrors) as refused:
        services.add_item(plan, actor=cast.officer, now=clock.now, data=data)
    assert [field for field, _message in refused.value.errors] == ["kind", "frequency", "ends_on"]
    assert db.session.scalar(sa.select(sa.func.count(ServiceItem.id))) == 0


def test_a_session_forms_bad_date_comes_with_the_services_errors(client, login_as, cast, db,
                                                                 clock):
    """The date that is no date is the form's own refusal; nobody attended and no notes are
    the service's: the three at once, and no session saved."""
    from caseflow.assistance.models import ServiceSession

    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now)
    login_as(cast.officer)
    page = f"/assistance/items/{item.id}"
    response = client.submit(f"{page}/sessions", {
        "held_on": "2026-13-01", "attended": " ", "seen_separately": "", "notes": "",
        "outcome": ""}, page=page)
    assert response.status_code == 400
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"held_on", "attended", "notes"}
    assert errors["notes"] == [zh("Write what happened in the session.")]
    assert _count(db, ServiceSession) == 0


def test_a_session_names_every_bad_field(cast, db, clock):
    from caseflow.assistance.models import ServiceSession

    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now)
    with pytest.raises(FieldErrors) as refused:
        services.record_session(item, actor=cast.officer, now=clock.now, data=services.SessionInput(
            held_on=None, attended="", notes=" "))
    assert [field for field, _message in refused.value.errors] == ["held_on", "attended", "notes"]
    assert _count(db, ServiceSession) == 0
