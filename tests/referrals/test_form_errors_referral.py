"""The referral form: the form's own refusals (a date it cannot read, a text over its
limit) and the services' (her record: pseudonym, resident ID number, phone; the referral:
circumstances, help asked for, how consent was given) come back in one round, each beside
its field, with what was typed kept and nothing written."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import FieldErrors
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.referrals import services
from caseflow.referrals.models import Referral, ReferralEvent
from tests.conftest import zh
from tests.core.test_form_errors import BAD_ID, BAD_PHONE, _count, _errors, _new_referral, cast  # noqa: F401
from tests.referrals.helpers import referral_input

NOT_A_DATE = "2026-02-30"
CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; "
               "please check for a mistyped digit.")


def _audited(db, prefix: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like(f"{prefix}%")))


def test_a_new_referral_shows_the_forms_and_the_services_errors_in_one_round(client, login_as, cast,
                                                                            db, world):
    login_as(cast.officer)
    people, audited = _count(db, Person), _audited(db, "")
    data = _new_referral(client, receiver_org_id=str(world.department5.id), pseudonym="",
                         real_name="陈雨婷", resident_id=BAD_ID, phone=BAD_PHONE,
                         offence_on=NOT_A_DATE, offence="故意伤害", circumstances="  ",
                         help_requested=[], consent_method="")
    response = client.submit("/referrals/new", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"offence_on", "pseudonym", "resident_id", "phone", "circumstances",
                           "help_requested", "consent_method"}
    assert errors["resident_id"] == [zh(CHECK_DIGIT)]
    assert errors["circumstances"] == [zh("Describe the circumstances.")]
    assert errors["help_requested"] == [zh("Choose at least one kind of help asked for.")]
    assert errors["consent_method"] == [zh("Say how consent was given.")]
    # What she typed is still there to correct.
    for typed in (NOT_A_DATE, BAD_ID, BAD_PHONE, "陈雨婷", "故意伤害"):
        assert typed in html, typed
    assert _count(db, Person) == people and _count(db, Referral) == 0
    assert _audited(db, "") == audited


def test_a_chosen_person_and_an_over_long_offence_still_name_the_referrals_errors(client, login_as,
                                                                               cast, db, world):
    login_as(cast.officer)
    offence = "故" * 121
    data = _new_referral(client, receiver_org_id="", person_id=str(cast.person.id),
                         offence=offence, circumstances="", help_requested=[])
    response = client.submit("/referrals/new", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert set(_errors(html)) == {"offence", "receiver_org_id", "circumstances", "help_requested"}
    assert offence in html
    assert _count(db, Referral) == 0 and _audited(db, "referral.") == 0


def test_editing_a_draft_refuses_every_bad_field_at_once(client, login_as, cast, db, world, clock):
    ref = cast.draft(clock.now)
    login_as(cast.officer)
    events, audited = _count(db, ReferralEvent), _audited(db, "referral.")
    form = {"version": str(ref.version), "person_id": str(ref.person_id),
            "receiver_org_id": str(world.department5.id), "source": "hotline",
            "circumstances": "", "help_requested": [], "consent_on": NOT_A_DATE,
            "consent_method": "written", "offence_on": "2026-12-31", "criminal_case_number": "刑-9"}
    response = client.submit(f"/referrals/{ref.id}/edit", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert set(errors) == {"consent_on", "circumstances", "help_requested", "offence_on"}
    assert errors["offence_on"] == [zh("The date of the offence cannot be in the future.")]
    assert NOT_A_DATE in html and "刑-9" in html
    db.session.expire_all()
    assert db.session.get(Referral, ref.id).source == "petition_reception"
    assert _count(db, ReferralEvent) == events and _audited(db, "referral.") == audited


def test_the_check_names_her_record_and_the_referral_together_and_writes_nothing(cast, db, world,
                                                                              clock):
    people = _count(db, Person)
    new_person = services.NewPerson(pseudonym=" ", identity=people_services.Identity(
        resident_id=BAD_ID, phone=BAD_PHONE))
    for call in (services.check_new_referral, services.file_referral):
        extra = {} if call is services.check_new_referral else {"person": None,
                                                                  "submission_token": "t" * 32}
        try:
            call(actor=cast.officer, now=clock.now, new_person=new_person,
                 receiver=world.department5,
                 data=referral_input(circumstances=" ", help_requested=[]), **extra)
        except FieldErrors as error:
            assert [field for field, _m in error.errors] == [
                "pseudonym", "resident_id", "phone", "circumstances", "help_requested"]
        else:
            raise AssertionError(f"{call.__name__} accepted bad fields")
    assert _count(db, Person) == people and _count(db, Referral) == 0


def test_the_same_new_referral_posted_twice_is_one_draft_and_one_person(client, login_as, cast, db,
                                                                        world):
    """A second submit of the form (a double click, a reload) gives the first draft back:
    it records her no second time and is not refused as a duplicate of her own record."""
    from caseflow.core.people.validation import normalise_resident_id
    from tests import factories

    login_as(cast.officer)
    people, created = _count(db, Person), _audited(db, "person.create")
    data = _new_referral(client, receiver_org_id=str(world.department5.id),
                         resident_id=factories.VALID_IDS[1])
    first = client.submit("/referrals/new", data)
    assert first.status_code == 302
    second = client.submit("/referrals/new", data)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert _count(db, Referral) == 1 and _count(db, Person) == people + 1
    assert people_services.find_by_resident_id(normalise_resident_id(factories.VALID_IDS[1]))
    assert _audited(db, "person.create") == created + 1
