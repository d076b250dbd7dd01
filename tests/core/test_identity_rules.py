"""Who changes an identity, what a purpose is, and when a child stops being one."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.people import services
from caseflow.core.people.models import Person
from tests import factories
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast

ADULT_ID = factories.VALID_IDS[0]  # born 1985-03-12
CHILD_ID = factories.MINOR_ID  # born 2016-04-18


@pytest.fixture
def cast(world):
    return Cast(world)


def _views(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(AccessEvent.id)))


@pytest.mark.parametrize("purpose", ["\u200b", "\u200b\u200b\u200b", " \u200d\u2060 ", "\u3164\u3164",
                                     "x", "x\u200b", "\u00a0x\u00a0"])
def test_a_purpose_of_invisible_characters_or_one_letter_is_refused_in_both_languages(
        client, login_as, world, db, purpose):
    officer = login_as("federation_officer")
    person = factories.make_person(world, officer)
    response = client.submit(f"/people/{person.id}/reveal", {"purpose": purpose},
                             page=f"/people/{person.id}")
    assert response.status_code == 400 and "陈雨婷" not in page_text(response)
    assert zh("Say in words why you need to see it (at least two visible characters; spaces and "
              "invisible characters do not count).") in page_text(response)
    assert _views(db) == 0
    officer.locale = "en"
    db.session.flush()
    response = client.submit(f"/people/{person.id}/reveal", {"purpose": purpose},
                             page=f"/people/{person.id}")
    assert "Say in words why you need to see it" in page_text(response)


def test_the_purpose_is_logged_without_its_invisible_characters(world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"})
    person = factories.make_person(world, officer)
    services.reveal_identity(person, actor=officer, now=clock.now, purpose="\u200b核\u200b实 ")
    assert db.session.scalars(sa.select(AccessEvent.purpose)).one() == "核实"


def test_the_edit_page_is_masked_until_a_purpose_is_given(client, login_as, world, db):
    officer = login_as("federation_officer")
    person = factories.make_person(world, officer, resident_id=ADULT_ID)
    page = page_text(client.get(f"/people/{person.id}/edit"))
    assert "陈雨婷" not in page and ADULT_ID not in page and "420***********0020" in page
    assert _views(db) == 0
    refused = client.submit(f"/people/{person.id}/edit/reveal", {"purpose": "\u200b"},
                            page=f"/people/{person.id}/edit")
    assert refused.status_code == 400 and "陈雨婷" not in page_text(refused) and _views(db) == 0
    shown = client.submit(f"/people/{person.id}/edit/reveal", {"purpose": "更正住址"},
                          page=f"/people/{person.id}/edit")
    assert 'value="陈雨婷"' in shown.get_data(as_text=True)
    assert db.session.scalars(sa.select(AccessEvent.purpose)).one() == "更正住址"


def test_the_receiving_prosecutor_cannot_change_the_identity_the_federation_recorded(
        cast, client, login_as, db, clock):
    cast.registered(clock.now)  # the prosecutor now sees the woman the federation recorded
    person = cast.person
    before = (person.real_name_sealed, person.resident_id_sealed)
    login_as(cast.prosecutor)
    assert client.get(f"/people/{person.id}").status_code == 200
    assert 'data-testid="edit-person"' not in client.get(f"/people/{person.id}").get_data(as_text=True)
    message = zh("%(org)s recorded this person: only it and the organisations above it change her "
                 "identity. Tell them what should be corrected.", org=person.organisation.name)
    page = client.get(f"/people/{person.id}/edit")
    assert page.status_code == 403 and message in page_text(page)
    # A crafted POST (the form from another record) clears nothing.
    response = client.submit(f"/people/{person.id}/edit", {
        "pseudonym": "改名", "real_name": "", "resident_id": "", "phone": "", "address": ""},
        page="/people/new")
    assert response.status_code == 403 and message in page_text(response)
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert (person.pseudonym, person.real_name_sealed, person.resident_id_sealed) == ("小雨", *before)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "person.update")) == 0
    with pytest.raises(NotAllowed):
        services.update_person(person, actor=cast.prosecutor, now=clock.now, pseudonym="改名",
                               identity=services.Identity())
    # The federation's own supervisor (above the recording organisation) may.
    services.update_person(person, actor=cast.fed_supervisor, now=clock.now, pseudonym="小雨",
                           identity=services.read_identity(person))


def test_a_minor_stays_one_when_the_dates_are_cleared(world, db, clock):
    recorder = factories.make_user(world, roles={"federation_officer"})
    child = factories.make_person(world, recorder, pseudonym="小明", resident_id=CHILD_ID,
                                  real_name="黄小明", phone=None, address=None)
    assert child.is_minor
    services.update_person(child, actor=recorder, now=clock.now, pseudonym="小明",
                           identity=services.Identity(real_name="黄小明"))
    assert child.is_minor and services.read_identity(child).birth_date is None
    # So a colleague still cannot see him.
    colleague = factories.make_user(world, roles={"federation_officer"})
    with pytest.raises(NotAllowed):
        services.reveal_identity(child, actor=colleague, now=clock.now, purpose="核实身份")


def test_lifting_a_childs_protection_takes_an_adult_id_number_and_a_reason_and_is_audited(
        world, db, clock):
    recorder = factories.make_user(world, roles={"federation_officer"})
    child = factories.make_person(world, recorder, pseudonym="小明", resident_id=CHILD_ID,
                                  real_name="黄小明", phone=None, address=None)
    with pytest.raises(ValidationFailed) as refused:
        services.update_person(child, actor=recorder, now=clock.now, pseudonym="小明",
                               identity=services.Identity(real_name="黄小明", resident_id=ADULT_ID))
    assert refused.value.field == "minor_reason" and child.is_minor
    services.update_person(child, actor=recorder, now=clock.now, pseudonym="小明",
                           identity=services.Identity(real_name="黄小明", resident_id=ADULT_ID),
                           reason="身份证号录入错误，核对原件后更正")
    assert not child.is_minor
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.update")).one()
    assert (event.before["is_minor"], event.after["is_minor"]) == (True, False)
    assert event.reason == "身份证号录入错误，核对原件后更正"


def test_the_id_numbers_birth_date_decides_even_against_an_adult_record(world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"})
    person = factories.make_person(world, officer, pseudonym="小华", resident_id=None)
    assert not person.is_minor
    services.update_person(person, actor=officer, now=clock.now, pseudonym="小华",
                           identity=services.Identity(resident_id=CHILD_ID))
    assert person.is_minor and services.read_identity(person).birth_date == date(2016, 4, 18)
