"""Forms: every field error in one round, beside its field; long texts refused with a
clear message when over their limit, never cut; the limit shown by a counter, not
enforced by the browser's maxlength (which cuts pasted text silently)."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.core.errors import Checks, Conflict, FieldErrors, NotAllowed, ValidationFailed
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.referrals.models import Referral, ReferralEvent
from tests import factories
from tests.conftest import zh
from tests.referrals.helpers import Cast

BAD_ID = "420103198503120021"  # wrong check digit
BAD_PHONE = "12345"


@pytest.fixture
def cast(world):
    return Cast(world)


def _errors(html: str) -> dict[str, list[str]]:
    """Field name → the error messages shown beside it."""
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'data-testid="error-([\w-]+)"[^>]*>([^<]*)</div>', html):
        found.setdefault(name, []).append(text.strip())
    return found


def _new_referral(client, **overrides):
    html = client.get("/referrals/new").get_data(as_text=True)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]*)"', html).group(1)
    data = {"submission_token": token, "person_id": "0", "pseudonym": "新化名", "real_name": "",
            "resident_id": "", "phone": "", "address": "", "receiver_org_id": "",
            "source": "hotline", "circumstances": "热线反映家庭困难", "help_requested": ["counselling"],
            "consent_on": "2026-11-26", "consent_method": "oral_recorded"}
    data.update(overrides)
    return data


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- the collector --------------------------------------------------------------------------


def test_checks_keep_every_field_error_and_let_anything_else_through():
    checks = Checks()
    with checks:
        raise ValidationFailed("一", field="a")
    with checks:
        pass
    with checks:
        raise Conflict("二", field="b")
    with pytest.raises(FieldErrors) as refused:
        checks.done()
    assert refused.value.errors == [("a", "一"), ("b", "二")]
    # One error is raised as it was (a Conflict stays a Conflict); one without a field, or
    # a refusal of permission, stops the checks at once.
    single = Checks()
    with single:
        raise Conflict("三", field="c")
    with pytest.raises(Conflict):
        single.done()
    for error in (ValidationFailed("无字段"), NotAllowed("无权", field="a")):
        with pytest.raises(type(error)):
            with Checks():
                raise error


def test_a_persons_three_bad_fields_are_refused_together(world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"})
    with pytest.raises(FieldErrors) as refused:
        people_services.record_person(
            actor=officer, now=clock.now, pseudonym=" ",
            identity=people_services.Identity(resident_id=BAD_ID, phone=BAD_PHONE))
    assert [field for field, _message in refused.value.errors] == ["pseudonym", "resident_id", "phone"]
    assert _count(db, Person) == 0


# -- the pages -------------------------------------------------------------------------------


def test_the_person_form_shows_all_three_errors_at_once_and_saves_nothing(client, login_as, db):
    login_as("federation_officer")
    response = client.submit("/people/new", {"pseudonym": "", "resident_id": BAD_ID,
                                             "phone": BAD_PHONE, "gender": ""})
    assert response.status_code == 200  # the form again (this page answers a refusal with 200)
    errors = _errors(response.get_data(as_text=True))
    assert set(errors) == {"pseudonym", "resident_id", "phone"}
    assert errors["resident_id"] == [zh("The last character (check digit) of this resident ID "
                                        "number is wrong; please check for a mistyped digit.")]
    assert _count(db, Person) == 0


def test_the_referral_form_reports_her_record_and_the_referral_together(client, login_as, cast, db, world):
    login_as(cast.officer)
    people = _count(db, Person)
    data = _new_referral(client, receiver_org_id=str(world.department5.id), pseudonym="",
                         resident_id=BAD_ID, phone=BAD_PHONE, circumstances="  ",
                         help_requested=[])
    response = client.submit("/referrals/new", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert set(_errors(html)) == {"pseudonym", "resident_id", "phone", "circumstances",
                                  "help_requested"}
    # What she typed is still there to correct.
    assert f'value="{BAD_ID}"' in html and f'value="{BAD_PHONE}"' in html
    assert _count(db, Person) == people and _count(db, Referral) == 0


def test_an_over_long_text_is_refused_with_the_count_and_kept_not_cut(client, login_as, cast, db, world):
    """The offence is a String(120) column: PostgreSQL would refuse 121 characters with a
    server error, SQLite would store them; both refuse it on the form, with the text kept."""
    login_as(cast.officer)
    offence = "故" * 121
    data = _new_referral(client, receiver_org_id=str(world.department5.id),
                         person_id=str(cast.person.id), offence=offence)
    response = client.submit("/referrals/new", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _errors(html)["offence"], "no message beside the offence"
    assert offence in html  # kept, all 121 characters
    assert _count(db, Referral) == 0


def test_a_comment_over_its_limit_is_refused_and_its_counter_says_by_how_much(client, login_as, cast, db, clock):
    ref = cast.sent(clock.now)
    login_as(cast.officer)
    page = f"/referrals/{ref.id}"
    events = _count(db, ReferralEvent)
    text = "意" * 5003
    response = client.submit(f"{page}/comment", {"text": text}, page=page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _errors(html)["text"]
    assert text in html
    counter = re.search(r'id="comment-text-count"[^>]*>([^<]*)<', html).group(1)
    assert "5003" in counter and "5000" in counter and "3" in counter.split("·")[-1]
    assert _count(db, ReferralEvent) == events


def test_long_texts_have_a_counter_and_no_maxlength_that_cuts(client, login_as, cast):
    login_as(cast.officer)
    html = client.get("/referrals/new").get_data(as_text=True)
    assert "maxlength" not in html
    circumstances = re.search(r'<textarea[^>]*id="circumstances"[^>]*>', html).group(0)
    assert 'data-max-chars="5000"' in circumstances
    assert "circumstances-count" in circumstances  # the counter describes the field
    assert 'id="circumstances-count"' in html
    # A short field (a pseudonym of at most 60) has neither counter nor cut.
    assert 'id="pseudonym-count"' not in html


def test_a_training_session_with_several_bad_fields_is_refused_for_each_at_once(world, db, clock):
    from caseflow.training import services as training_services
    from caseflow.training.models import TrainingSession

    organiser = factories.make_user(world, roles={"federation_officer"})
    data = training_services.SessionInput(
        title=" ", held_on=clock.now.date(), start_time=None, end_time=None, place="",
        trainers="某讲师", organisers=[world.federation], topics=[])
    with pytest.raises(FieldErrors) as refused:
        training_services.create_session(actor=organiser, now=clock.now, data=data)
    assert [field for field, _message in refused.value.errors] == [
        "title", "start_time", "end_time", "place", "topics"]
    assert _count(db, TrainingSession) == 0
