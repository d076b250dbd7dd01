"""The person form: the form's own refusals (a birth date that is no date) and the service's
(the pseudonym, the resident ID number's check digit, the phone) come back in one round,
each beside its field, with what was typed kept and nothing written."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from tests import factories
from tests.conftest import zh
from tests.core.test_form_errors import BAD_ID, BAD_PHONE, _count, _errors

NOT_A_DATE = "1990-02-30"
CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; "
               "please check for a mistyped digit.")
PHONE = ("This phone number does not exist in the Chinese numbering plan; check the number "
         "of digits and the area code.")


def _audited(db, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action))


def _bad_person(**overrides) -> dict:
    data = {"pseudonym": "", "real_name": "陈雨婷", "gender": "", "birth_date": NOT_A_DATE,
            "resident_id": BAD_ID, "phone": BAD_PHONE, "address": "武汉市江汉区某社区",
            "minor_reason": ""}
    data.update(overrides)
    return data


def _assert_every_error_beside_its_field(html: str) -> None:
    errors = _errors(html)
    assert set(errors) == {"pseudonym", "birth_date", "resident_id", "phone"}
    assert errors["pseudonym"] == [zh("A pseudonym is required: lists show only the pseudonym.")]
    assert errors["resident_id"] == [zh(CHECK_DIGIT)]
    assert errors["phone"] == [zh(PHONE)]
    assert len(errors["birth_date"]) == 1  # the form's own: a date it cannot read
    # What was typed is still there to correct.
    for typed in (NOT_A_DATE, BAD_ID, BAD_PHONE, "陈雨婷", "武汉市江汉区某社区"):
        assert typed in html, typed


def test_a_new_person_with_an_unreadable_date_and_three_bad_fields_shows_all_four(client, login_as, db):
    login_as("federation_officer")
    response = client.submit("/people/new", _bad_person())
    assert response.status_code == 200  # the form again (this page answers a refusal with 200)
    _assert_every_error_beside_its_field(response.get_data(as_text=True))
    assert _count(db, Person) == 0 and _audited(db, "person.create") == 0


def test_correcting_a_person_shows_the_forms_and_the_services_errors_together(client, login_as,
                                                                           world, db):
    officer = login_as("federation_officer")
    person = factories.make_person(world, officer, resident_id=factories.VALID_IDS[0])
    sealed = person.resident_id_sealed
    response = client.submit(f"/people/{person.id}/edit", _bad_person(),
                             page=f"/people/{person.id}/edit")
    assert response.status_code == 400
    _assert_every_error_beside_its_field(response.get_data(as_text=True))
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert person.pseudonym == "小雨" and person.resident_id_sealed == sealed
    assert _audited(db, "person.update") == 0


def test_a_minor_made_adult_without_a_reason_is_named_with_the_unreadable_address(client, login_as,
                                                                              world, db):
    """Lifting a child's protection wants a reason (the service's check, which needs the
    recorded person): it is named in the round in which the form refuses a field too."""
    officer = login_as("federation_officer")
    child = factories.make_person(world, officer, pseudonym="小明",
                                  resident_id=factories.MINOR_ID)
    response = client.submit(f"/people/{child.id}/edit", _bad_person(
        pseudonym="小明", birth_date="", resident_id=factories.VALID_IDS[0], phone="13871234567",
        address="址" * 301), page=f"/people/{child.id}/edit")
    assert response.status_code == 400
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"address", "minor_reason"}
    db.session.expire_all()
    assert db.session.get(Person, child.id).is_minor
    assert _audited(db, "person.update") == 0


def test_the_check_writes_nothing_and_refuses_what_recording_refuses(world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"})
    identity = people_services.Identity(resident_id=BAD_ID, phone=BAD_PHONE)
    refusals = []
    for call in (people_services.check_person, people_services.record_person):
        try:
            call(actor=officer, now=clock.now, pseudonym="", identity=identity)
        except Exception as error:  # noqa: BLE001 - the refusal is what is compared
            refusals.append((type(error), getattr(error, "errors", None)))
    assert len(refusals) == 2 and refusals[0] == refusals[1]
    assert [field for field, _message in refusals[0][1]] == ["pseudonym", "resident_id", "phone"]
    checked = people_services.check_person(
        actor=officer, now=clock.now, pseudonym=" 小雨 ",
        identity=people_services.Identity(resident_id=factories.MINOR_ID))
    assert checked.pseudonym == "小雨" and checked.is_minor
    assert _count(db, Person) == 0 and _audited(db, "person.create") == 0
