"""The case-opening form and the household member form: every bad field in one round,
beside its field, the input kept and nothing written; the form's own refusals (a text
too long) come with the service's (a date ahead, no summary, an ID number's wrong check
digit, an income that is no amount). And the measure states and review outcomes carry
their labels."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import FieldErrors
from caseflow.core.people.models import Person
from caseflow.investigations import services
from caseflow.investigations.forms import ReviewForm
from caseflow.investigations.models import (
    AidCase, HouseholdMember, MeasureKind, MeasureState, ReviewOutcome,
)
from caseflow.investigations.services import cases as case_services, household
from tests.conftest import zh
from tests.core.test_form_errors import BAD_ID, _count, _errors
from tests.investigations.helpers import CaseCast, audit_rows, case_input

CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; please "
               "check for a mistyped digit.")


@pytest.fixture
def cast(world, db):
    return CaseCast(world)


def _fields(refused) -> list[str]:
    return [field for field, _message in refused.value.errors]


# -- opening a case ----------------------------------------------------------------------------


def test_the_case_form_shows_the_forms_and_the_services_errors_at_once(client, login_as, cast, db,
                                                                       clock):
    """The offence over its 120 characters is the form's refusal (Length); the offence's date
    ahead, no date of the application and no summary are the service's: all four at once."""
    ref = cast.registered(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/new?referral={ref.id}"
    audit_before = _count(db, AuditEvent)
    offence = "罪" * 121
    ahead = (clock.now.date() + timedelta(days=5)).isoformat()
    response = client.submit(page, {
        "referral_id": str(ref.id), "applicant_id": str(ref.person_id),
        "handler_id": str(cast.prosecutor.id), "application_received_on": "", "summary": "  ",
        "criminal_case_number": "（2026）刑初字第88号", "offence": offence, "offence_on": ahead},
        page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"offence", "offence_on", "application_received_on", "summary"}
    assert errors["offence_on"] == [zh("The date of the offence cannot be in the future.")]
    assert errors["application_received_on"] == [zh("Enter the date the application was received.")]
    assert errors["summary"] == [zh("Summarise the application.")]
    assert offence in html and f'value="{ahead}"' in html and "（2026）刑初字第88号" in html
    assert _count(db, AidCase) == 0 and _count(db, AuditEvent) == audit_before


def test_the_case_check_writes_nothing_and_names_every_bad_field(cast, db, clock):
    ref = cast.registered(clock.now)
    audit_before = _count(db, AuditEvent)
    with pytest.raises(FieldErrors) as refused:
        case_services.check_case(actor=cast.prosecutor, today=clock.now.date(), handler=None,
                                 referral=ref, data=case_input(
                                     summary="", application_received_on=date(2026, 1, 1),
                                     offence_on=date(2026, 3, 1)))
    assert _fields(refused) == ["summary", "application_received_on", "handler_id"]
    assert _count(db, AidCase) == 0 and _count(db, AuditEvent) == audit_before
    # A good case passes the check and is opened with what the check let through.
    applicant, data = case_services.check_case(actor=cast.prosecutor, today=clock.now.date(),
                                               handler=cast.prosecutor, referral=ref,
                                               data=case_input(summary=" 申请救助 "))
    assert applicant == ref.person and data.summary == "申请救助"
    assert _count(db, AidCase) == 0


# -- household members ---------------------------------------------------------------------------


def _with_household(cast, clock):
    case = cast.investigating(clock.now)
    services.save_household(case, actor=cast.prosecutor, now=clock.now,
                            data=services.HouseholdInput(qualifies_minimum_allowance=None),
                            expected_version=None)
    return case


def test_the_member_form_shows_the_forms_and_the_services_errors_at_once(client, login_as, cast,
                                                                         db, clock):
    """The relation over its 40 characters is the form's refusal; no pseudonym, a birth date
    ahead, an ID number with a wrong check digit and an income that is no amount are the
    service's (the ID and the pseudonym came a round later still, from the people module)."""
    case = _with_household(cast, clock)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}/household"
    people_before, audit_before = _count(db, Person), _count(db, AuditEvent)
    relation = "亲" * 41
    born = (clock.now.date() + timedelta(days=10)).isoformat()
    response = client.submit(f"/cases/{case.id}/household/members", {
        "member_id": "", "pseudonym": "", "relation": relation, "real_name": "",
        "birth_date": born, "age_years": "", "resident_id": BAD_ID, "schooling": "",
        "work": "", "monthly_income": "两千", "income_source": "", "health": "",
        "disability": ""}, page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"relation", "pseudonym", "birth_date", "resident_id", "monthly_income"}
    assert errors["resident_id"] == [zh(CHECK_DIGIT)]
    assert errors["birth_date"] == [zh("A birth date cannot be in the future.")]
    assert errors["pseudonym"] == [zh("A pseudonym is required: lists show only the pseudonym.")]
    assert relation in html and f'value="{BAD_ID}"' in html and 'value="两千"' in html
    assert _count(db, HouseholdMember) == 0 and _count(db, Person) == people_before
    assert _count(db, AuditEvent) == audit_before
    assert audit_rows(db, case, "aid_case.member_saved") == []


def test_a_members_identity_is_checked_with_the_rest(cast, db, clock):
    """No relation, no pseudonym and an ID number's wrong check digit: the three together
    (the identity used to be checked only once the member's own fields were right)."""
    case = _with_household(cast, clock)
    people_before = _count(db, Person)
    with pytest.raises(FieldErrors) as refused:
        services.save_member(case, actor=cast.prosecutor, now=clock.now, data=services.MemberInput(
            pseudonym=" ", relation="", birth_date=date(2016, 4, 18), resident_id=BAD_ID))
    assert _fields(refused) == ["relation", "pseudonym", "resident_id"]
    assert _count(db, HouseholdMember) == 0 and _count(db, Person) == people_before
    # The check alone finds the same and writes nothing.
    with pytest.raises(FieldErrors) as checked:
        household.check_member(case, services.MemberInput(
            pseudonym=" ", relation="", birth_date=date(2016, 4, 18), resident_id=BAD_ID),
            today=clock.now.date())
    assert _fields(checked) == ["relation", "pseudonym", "resident_id"]
    assert audit_rows(db, case, "aid_case.member_saved") == []


# -- labels ----------------------------------------------------------------------------------


def test_measure_states_and_review_outcomes_have_labels(app):
    with app.test_request_context(), force_locale("en"):
        assert MeasureState.READY.label == "Approved, for the assistance plan"
        assert MeasureState.TAKEN_OVER.label == "Taken into the assistance plan"
        assert [str(label) for label in ReviewOutcome.labels().values()] == [
            "Approve", "Return for further investigation", "Reject"]
        # The review form offers the outcomes with their labels, in the enum's order.
        choices = ReviewForm(meta={"csrf": False}).outcome.choices
        assert [(c.value, str(c.label)) for c in choices] == [(o.value, o.label) for o in ReviewOutcome]
    assert MeasureState.READY == "ready" and ReviewOutcome.RETURN == "return"


def test_the_case_page_shows_each_measures_state_by_its_label(client, login_as, cast, db, clock,
                                                               world):
    measures = [services.MeasureInput(kind=MeasureKind.COUNSELLING.value, agency=world.federation)]
    case = cast.approved(clock.now, measures=measures)
    login_as(cast.prosecutor)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    with force_locale("zh_CN"):
        label = MeasureState.READY.label
    assert f'data-testid="measure-state">{label}</span>' in html
