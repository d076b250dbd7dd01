"""Persons: pseudonyms in lists, identity sealed at rest, masked on screen, unmasked
only for those who may see it and always logged; resident ID and phone checks."""
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st
from stdnum.cn import ric

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.errors import Conflict, NotAllowed, ValidationFailed
from caseflow.core.people import services
from caseflow.core.people.models import Person
from caseflow.core.people.validation import normalise_phone, normalise_resident_id
from tests import factories
from tests.conftest import page_text, zh

ID = factories.VALID_IDS[0]


def _form(**overrides):
    data = {"pseudonym": "小雨", "real_name": "陈雨婷", "gender": "", "birth_date": "",
            "resident_id": ID, "phone": "13871234567", "address": "武汉市江汉区某社区"}
    data.update(overrides)
    return data


def test_recording_a_person_seals_the_identity_and_audits_without_values(client, login_as, db):
    officer = login_as("federation_officer")
    response = client.submit("/people/new", _form())
    assert response.status_code == 302
    person = db.session.scalars(sa.select(Person)).one()
    raw = db.session.execute(sa.text("SELECT * FROM persons")).mappings().one()
    stored = " ".join(str(v) for v in raw.values())
    for secret in ("陈雨婷", ID, "13871234567", "江汉区"):
        assert secret not in stored
    assert person.pseudonym_pinyin == "xiaoyu"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.create")).one()
    assert event.actor_id == officer.id
    assert "陈雨婷" not in str(event.after) and ID not in str(event.after)
    # Gender and birth date come from the ID number.
    identity = services.read_identity(person)
    assert identity.birth_date == date(1985, 3, 12) and identity.gender == "female"


def test_the_page_masks_the_identity_and_revealing_it_is_logged(client, login_as, db):
    officer = login_as("federation_officer")
    client.submit("/people/new", _form())
    person = db.session.scalars(sa.select(Person)).one()
    text = page_text(client.get(f"/people/{person.id}"))
    assert "陈雨婷" not in text and ID not in text and "420***********0020" in text
    assert "138****4567" in text
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0
    response = client.submit(f"/people/{person.id}/reveal", {"purpose": "核实救助申请"},
                             page=f"/people/{person.id}")
    text = page_text(response)
    assert "陈雨婷" in text and ID in text
    access = db.session.scalars(sa.select(AccessEvent)).one()
    assert access.actor_id == officer.id and access.person_id == person.id
    assert access.purpose == "核实救助申请"
    assert set(access.fields.split(",")) >= {"real_name", "resident_id", "phone", "address"}


def test_revealing_without_a_purpose_is_refused_and_not_logged(client, login_as, db):
    login_as("federation_officer")
    client.submit("/people/new", _form())
    person = db.session.scalars(sa.select(Person)).one()
    response = client.submit(f"/people/{person.id}/reveal", {"purpose": ""}, page=f"/people/{person.id}")
    assert response.status_code == 400
    assert "陈雨婷" not in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0


@pytest.mark.parametrize(("value", "message", "kwargs"), [
    ("42010319850312002", "A resident ID number has 18 characters; this one has %(count)d.", {"count": 17}),
    ("420103198503120021", "The last character (check digit) of this resident ID number is wrong; "
                           "please check for a mistyped digit.", {}),
    ("42010319850230002X", "The birth date or region code inside this resident ID number is not possible.", {}),
    ("42010319850312002A", "A resident ID number is 17 digits followed by a digit or X.", {}),
])
def test_malformed_resident_id_gets_a_message_that_says_what_is_wrong(
        client, login_as, db, value, message, kwargs):
    login_as("federation_officer")
    response = client.submit("/people/new", _form(resident_id=value))
    assert response.status_code == 200
    text = page_text(response)
    assert zh(message, **kwargs) in text
    assert "陈雨婷" in response.get_data(as_text=True)  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count(Person.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "person.create")) == 0


def test_malformed_phone_number_gets_a_message(client, login_as, db):
    login_as("federation_officer")
    response = client.submit("/people/new", _form(phone="1387123"))
    assert zh("This phone number does not exist in the Chinese numbering plan; "
              "check the number of digits and the area code.") in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Person.id))) == 0


def test_birth_date_that_contradicts_the_id_number_is_refused(client, login_as, db):
    login_as("federation_officer")
    response = client.submit("/people/new", _form(birth_date="1985-03-13"))
    assert zh("The birth date differs from the one in the resident ID number (%(day)s).",
              day="1985-03-12") in page_text(response)


def test_the_same_woman_is_found_by_her_id_number_without_decrypting(world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    person = factories.make_person(world, officer, resident_id=ID)
    assert services.find_by_resident_id(ID.lower()) == person
    with pytest.raises(Conflict) as refused:
        factories.make_person(world, officer, pseudonym="另一化名", resident_id=ID)
    assert "小雨" in refused.value.message
    # Someone who cannot see her record learns only which organisation has it.
    prosecutor = factories.make_user(world, roles={"prosecutor"})
    with pytest.raises(Conflict) as refused:
        factories.make_person(world, prosecutor, pseudonym="另一化名", resident_id=ID)
    assert "小雨" not in refused.value.message and world.street_a.name in refused.value.message


def test_many_people_are_found_in_one_query_and_a_new_one_is_sealed_as_recording_seals(world, db, clock):
    """The bulk path (an import) and the single one (the person form) share the code: the
    blind-index look-up of many numbers at once, and a new person sealed and flagged a
    minor as ``record_person`` does, but neither flushed nor audited."""
    officer = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    first = factories.make_person(world, officer, resident_id=factories.VALID_IDS[0])
    second = factories.make_person(world, officer, pseudonym="小芳", resident_id=factories.VALID_IDS[1])
    found = services.find_by_resident_ids([factories.VALID_IDS[0], factories.VALID_IDS[1],
                                           factories.VALID_IDS[2], None])
    assert found == {factories.VALID_IDS[0]: first, factories.VALID_IDS[1]: second}
    assert services.find_by_resident_ids([]) == {}
    audits = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    child = services.clean_identity(services.Identity(real_name="王小花", resident_id="110105201501010017"),
                                    today=clock.now.date())
    person = services.new_person(actor=officer, now=clock.now, pseudonym="小花", identity=child,
                                 organisation=world.street_a)
    assert person.id is None and person.is_minor and person.pseudonym_pinyin == "xiaohua"
    db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audits
    assert services.read_identity(person).real_name == "王小花"
    assert services.find_by_resident_id("110105201501010017") == person


def test_search_finds_by_pinyin_and_by_exact_id_number(client, login_as, world, db):
    officer = login_as("federation_officer")
    factories.make_person(world, officer, resident_id=ID)
    factories.make_person(world, officer, pseudonym="晓丽", resident_id=factories.VALID_IDS[1])
    assert "小雨" in page_text(client.get("/people?q=xiaoyu"))
    assert "晓丽" not in page_text(client.get("/people?q=xiaoyu"))
    text = page_text(client.get(f"/people?q={factories.VALID_IDS[1]}"))
    assert "晓丽" in text and "小雨" not in text


def test_lists_show_only_the_visible_organisations_people(client, login_as, world):
    owner = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    factories.make_person(world, owner, pseudonym="甲街的人")
    other = factories.make_user(world, roles={"federation_officer"}, org=world.street_b)
    login_as(other)
    assert "甲街的人" not in page_text(client.get("/people"))


def test_a_minors_identity_is_for_supervisors_and_the_recorder_only(world, db, clock):
    recorder = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    child = factories.make_person(world, recorder, pseudonym="晓丽之子",
                                  resident_id=factories.MINOR_ID, real_name="黄小明", phone=None)
    assert child.is_minor
    colleague = factories.make_user(world, roles={"federation_officer"}, org=world.street_a)
    with pytest.raises(NotAllowed):
        services.reveal_identity(child, actor=colleague, now=clock.now, purpose="x")
    supervisor = factories.make_user(world, roles={"supervisor"}, org=world.federation)
    assert services.reveal_identity(child, actor=supervisor, now=clock.now,
                                    purpose="复核").real_name == "黄小明"
    assert services.reveal_identity(child, actor=recorder, now=clock.now,
                                    purpose="跟进").real_name == "黄小明"
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 2


def test_editing_changes_the_sealed_values_and_audits_which_fields(client, login_as, world, db):
    officer = login_as("federation_officer")
    person = factories.make_person(world, officer, resident_id=ID)
    page = client.get(f"/people/{person.id}/edit")
    assert "陈雨婷" not in page.get_data(as_text=True)  # masked until a purpose is given
    assert db.session.scalar(sa.select(sa.func.count(AccessEvent.id))) == 0
    page = client.submit(f"/people/{person.id}/edit/reveal", {"purpose": "更正电话"},
                         page=f"/people/{person.id}/edit")
    assert "陈雨婷" in page.get_data(as_text=True)  # the filled form is a logged view
    assert db.session.scalars(sa.select(AccessEvent.purpose)).one() == "更正电话"
    response = client.submit(f"/people/{person.id}/edit", _form(phone="027-85551234"))
    assert response.status_code == 302
    db.session.refresh(person)
    assert services.read_identity(person).phone == "+862785551234"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.update")).one()
    assert event.after["protected_fields_changed"] == ["phone"]
    assert "2785551234" not in str(event.after)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["420103", "420102", "110101", "440305"]),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
       st.integers(min_value=0, max_value=999), st.integers(min_value=0, max_value=16),
       st.integers(min_value=1, max_value=9))
def test_id_numbers_are_accepted_exactly_when_the_standard_says_so(app, region, day, serial,
                                                                    position, shift):
    body = f"{region}{day:%Y%m%d}{serial:03d}"
    number = body + ric.calc_check_digit(body + "0")
    with app.test_request_context():
        if ric.is_valid(number):
            assert normalise_resident_id(number.lower()) == number
        else:  # a region code not in use in that birth year
            with pytest.raises(ValidationFailed):
                normalise_resident_id(number)
        # Any single mistyped digit is caught by the check digit (GB 11643).
        typo = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1:]
        with pytest.raises(ValidationFailed) as refused:
            normalise_resident_id(typo)
        assert refused.value.field == "resident_id"


@pytest.mark.parametrize(("typed", "stored"), [
    ("13871234567", "+8613871234567"), ("138 7123 4567", "+8613871234567"),
    ("027-85551234", "+862785551234"), ("+86 138 7123 4567", "+8613871234567"),
])
def test_phone_numbers_are_normalised(app, typed, stored):
    with app.test_request_context():
        assert normalise_phone(typed) == stored
