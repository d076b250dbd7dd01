"""The aid case forms: every bad field in one round, beside its field, nothing saved
(opening a case, a visit, a household member, the decision and the payment)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from caseflow.core.errors import FieldErrors
from caseflow.core.people.models import Person
from caseflow.investigations import services
from caseflow.investigations.models import AidCase, HouseholdMember, Visit
from tests.conftest import zh
from tests.core.test_form_errors import _count, _errors
from tests.investigations.helpers import CaseCast, audit_rows, case_input, visit_input


@pytest.fixture
def cast(world, db):
    return CaseCast(world)


def _fields(refused) -> list[str]:
    return [field for field, _message in refused.value.errors]


def test_a_visit_form_with_four_bad_fields_shows_the_four_at_once(client, login_as, cast, db, clock):
    case = cast.investigating(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    response = client.submit(f"{page}/visits", {
        "visited_on": (clock.now.date() + timedelta(days=3)).isoformat(), "place_kind": "",
        "address": "某社区", "visitor_ids": [str(cast.prosecutor.id)], "met": " ", "notes": ""},
        page=page)
    assert response.status_code == 400
    assert _errors(response.get_data(as_text=True)) == {
        "visited_on": [zh("A visit cannot be recorded for a future date.")],
        "place_kind": [zh("Choose the kind of place visited.")],
        "met": [zh("Say whom the team met.")], "notes": [zh("Write what the visit found.")]}
    assert _count(db, Visit) == 0


def test_opening_a_case_refuses_every_bad_field_together(cast, db, clock):
    ref = cast.registered(clock.now)
    today = clock.now.date()
    with pytest.raises(FieldErrors) as refused:
        services.open_case(actor=cast.prosecutor, now=clock.now, handler=None, referral=ref,
                           data=case_input(summary=" ", application_received_on=None,
                                           offence_on=today + timedelta(days=1)))
    assert _fields(refused) == ["summary", "application_received_on", "offence_on", "handler_id"]
    assert _count(db, AidCase) == 0


def test_a_household_member_with_two_bad_fields_is_refused_for_both(cast, db, clock):
    case = cast.investigating(clock.now)
    services.save_household(case, actor=cast.prosecutor, now=clock.now,
                            data=services.HouseholdInput(qualifies_minimum_allowance=None),
                            expected_version=None)
    people = _count(db, Person)
    with pytest.raises(FieldErrors) as refused:
        services.save_member(case, actor=cast.prosecutor, now=clock.now,
                             data=services.MemberInput(pseudonym="小雨之子", relation="",
                                                       age_years=None, monthly_income="abc"))
    assert _fields(refused) == ["relation", "age_years", "monthly_income"]
    assert _count(db, HouseholdMember) == 0 and _count(db, Person) == people


def test_the_decision_refuses_its_amount_and_its_date_together(cast, db, clock):
    case = cast.approved(clock.now)
    with pytest.raises(FieldErrors) as refused:
        services.decide(case, actor=cast.prosecutor, now=clock.now, amount="abc", decided_on=None)
    assert _fields(refused) == ["granted_amount", "decided_on"]
    assert case.granted_amount is None and audit_rows(db, case, "aid_case.decided") == []


def test_the_payment_refuses_amount_date_and_method_together(cast, db, clock):
    case = cast.decided(clock.now)
    with pytest.raises(FieldErrors) as refused:
        services.record_payment(case, actor=cast.prosecutor, now=clock.now, amount="1",
                                paid_on=None, method="")
    assert _fields(refused) == ["paid_amount", "paid_on", "payment_method"]
    assert case.paid_amount is None and audit_rows(db, case, "aid_case.paid") == []


def test_the_visit_service_names_each_bad_field(cast, db, clock):
    case = cast.investigating(clock.now)
    with pytest.raises(FieldErrors) as refused:
        services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                              data=visit_input(cast, place_kind="x", address=" ", visitor_ids=[]))
    assert _fields(refused) == ["place_kind", "address", "visitor_ids"]
    assert _count(db, Visit) == 0


def test_a_visits_form_refusal_and_the_services_come_in_one_round(client, login_as, cast, db, clock):
    """The address over its 300 characters is the form's own refusal (Length); the place
    not chosen and nobody met are the service's: all three at once."""
    case = cast.investigating(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    response = client.submit(f"{page}/visits", {
        "visited_on": clock.now.date().isoformat(), "place_kind": "", "address": "址" * 301,
        "visitor_ids": [str(cast.prosecutor.id)], "met": "", "notes": "家中困难"}, page=page)
    assert response.status_code == 400
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"address", "place_kind", "met"}
    assert len(errors["address"]) == 1
    assert errors["place_kind"] == [zh("Choose the kind of place visited.")]
    assert _count(db, Visit) == 0


def test_the_decision_forms_bad_date_and_the_services_bad_amount_come_together(
        client, login_as, cast, db, clock):
    case = cast.approved(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    response = client.submit(f"{page}/decision", {
        "granted_amount": "九万", "decided_on": "2026-02-30", "decision_text": ""}, page=page)
    assert response.status_code == 400
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"granted_amount", "decided_on"}  # the date is the form's own refusal
    db.session.refresh(case)
    assert case.granted_amount is None and audit_rows(db, case, "aid_case.decided") == []


def test_the_payment_forms_bad_date_comes_with_the_amount_and_the_method(
        client, login_as, cast, db, clock):
    case = cast.decided(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    response = client.submit(f"{page}/payment", {
        "paid_amount": "1", "paid_on": "not a date", "payment_method": "",
        "payment_reference": ""}, page=page)
    assert response.status_code == 400
    assert set(_errors(response.get_data(as_text=True))) == {
        "paid_amount", "paid_on", "payment_method"}
    db.session.refresh(case)
    assert case.paid_amount is None and audit_rows(db, case, "aid_case.paid") == []
