"""The referral pages: what users see, and bad input that gets a clear message while
nothing is lost or half-saved."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.core.people.models import Person
from caseflow.referrals import services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import page_text, zh
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world):
    return Cast(world)


def _new_form(client, **overrides):
    html = client.get("/referrals/new").get_data(as_text=True)
    token = re.search(r'name="submission_token" type="hidden" value="([^"]*)"', html).group(1)
    data = {"submission_token": token, "person_id": "0", "pseudonym": "新化名", "real_name": "某某",
            "resident_id": "", "phone": "", "address": "", "receiver_org_id": "",
            "source": "hotline", "circumstances": "热线反映家庭困难", "help_requested": ["counselling"],
            "consent_on": "2026-11-26", "consent_method": "oral_recorded"}
    data.update(overrides)
    return data


def test_filing_a_referral_with_a_new_person_and_sending_it(client, login_as, cast, db, world):
    login_as(cast.officer)
    data = _new_form(client, receiver_org_id=str(world.department5.id), is_urgent="y")
    response = client.submit("/referrals/new", data)
    assert response.status_code == 302
    ref = db.session.scalars(sa.select(Referral)).one()
    assert ref.person.pseudonym == "新化名" and ref.is_urgent and ref.state == "draft"
    response = client.submit(f"/referrals/{ref.id}/send", page=f"/referrals/{ref.id}")
    assert response.status_code == 302
    text = page_text(client.get(f"/referrals/{ref.id}"))
    assert "测妇移〔2026〕1号" in text
    assert zh("%(num)d calendar day left", "%(num)d calendar days left", n=31) in text  # due 2026-12-28


def test_a_double_clicked_save_makes_one_referral(client, login_as, cast, db, world):
    login_as(cast.officer)
    data = _new_form(client, receiver_org_id=str(world.department5.id), person_id=str(cast.person.id))
    assert client.submit("/referrals/new", data).status_code == 302
    assert client.submit("/referrals/new", data, page="/referrals/new").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Referral.id))) == 1


def test_a_bad_id_number_for_the_new_person_saves_neither_person_nor_referral(client, login_as, cast, db, world):
    login_as(cast.officer)
    people_before = db.session.scalar(sa.select(sa.func.count(Person.id)))
    data = _new_form(client, receiver_org_id=str(world.department5.id), resident_id="420103198503120021")
    response = client.submit("/referrals/new", data)
    assert response.status_code == 400
    assert zh("The last character (check digit) of this resident ID number is wrong; "
              "please check for a mistyped digit.") in page_text(response)
    assert "热线反映家庭困难" in response.get_data(as_text=True)  # the typed text is kept
    assert db.session.scalar(sa.select(sa.func.count(Person.id))) == people_before
    assert db.session.scalar(sa.select(sa.func.count(Referral.id))) == 0


def test_sending_without_consent_says_so_and_the_draft_stays(client, login_as, cast, db):
    ref = cast.draft(cast.world.now, consent_on=None, consent_method=None)
    login_as(cast.officer)
    response = client.submit(f"/referrals/{ref.id}/send", page=f"/referrals/{ref.id}")
    assert response.status_code == 302  # back to the page, with the reason
    text = page_text(client.get(response.location))
    assert zh("Record the person's consent to share (date and how it was given) before sending.") in text
    db.session.refresh(ref)
    assert ref.state == "draft" and ref.number is None


def test_registration_with_a_future_date_or_foreign_handler_is_refused(client, login_as, cast, db, clock):
    ref = cast.sent(clock.now)
    login_as(cast.prosecutor)
    page = f"/referrals/{ref.id}"
    response = client.submit(f"{page}/register", {"registration_number": "登-1",
                                                   "received_on": "2026-12-01",
                                                   "handler_id": str(cast.prosecutor.id)}, page=page)
    assert response.status_code == 400
    assert zh("The received date cannot be in the future.") in page_text(response)
    assert 'value="登-1"' in response.get_data(as_text=True)
    response = client.submit(f"{page}/register", {"registration_number": "登-1",
                                                   "received_on": "2026-11-27",
                                                   "handler_id": str(cast.officer.id)}, page=page)
    assert response.status_code == 400  # not a choice the form offers
    db.session.refresh(ref)
    assert ref.state == "sent" and ref.registration_number is None


def test_the_whole_loop_through_the_pages(client, login_as, cast, db, clock):
    cast.world.procuratorate.letter_prefix = "测检函"  # the reply letter's series
    ref = cast.sent(clock.now)
    page = f"/referrals/{ref.id}"
    login_as(cast.prosecutor)
    assert ref.number in page_text(client.get("/referrals?box=inbox"))
    assert client.submit(f"{page}/register", {"registration_number": "登-7", "received_on": "2026-11-27",
                                               "handler_id": str(cast.prosecutor.id)},
                         page=page).status_code == 302
    assert client.submit(f"{page}/note", {"text": "已联系当事人"}, page=page).status_code == 302
    assert client.submit(f"{page}/reply", {"outcome": "not_eligible", "reply_on": "2026-11-27",
                                            "text": "不符合司法救助条件"}, page=page).status_code == 302
    letter = page_text(client.get(f"{page}/reply-letter"))
    assert "不符合司法救助条件" in letter and ref.number in letter
    client.submit("/logout", page="/")
    login_as(cast.officer)
    text = page_text(client.get(page))
    assert "不符合司法救助条件" in text and "已联系当事人" not in text
    letter = page_text(client.get(f"{page}/letter"))
    assert ref.number in letter and cast.person.pseudonym in letter and "陈雨婷" not in letter


def test_a_concurrent_edit_keeps_the_second_users_input(client, login_as, cast, db, world):
    ref = cast.draft(cast.world.now)
    login_as(cast.officer)
    form = {"version": str(ref.version), "receiver_org_id": str(world.department5.id),
            "source": "hotline", "circumstances": "第一位的修改", "help_requested": ["legal_aid"],
            "consent_on": "2026-11-20", "consent_method": "written", "person_id": str(ref.person_id)}
    assert client.submit(f"/referrals/{ref.id}/edit", form).status_code == 302
    stale = {**form, "circumstances": "第二位的修改"}  # still carries the old version
    response = client.submit(f"/referrals/{ref.id}/edit", stale)
    assert response.status_code == 400
    assert "第二位的修改" in response.get_data(as_text=True)
    db.session.refresh(ref)
    assert ref.circumstances == "第一位的修改"


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("空.pdf", b"", "%(name)s is empty."),
    ("程序.exe", b"MZ\x90\x00", "%(name)s is not a PDF, JPEG or PNG file."),
])
def test_a_bad_attachment_is_refused_with_a_message(client, login_as, cast, db, app, tmp_path,
                                                    filename, data, message):
    import io

    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path)
    try:
        ref = cast.draft(cast.world.now)
        login_as(cast.officer)
        page = f"/referrals/{ref.id}"
        token = client.csrf_token(page)
        response = client.post(f"{page}/attachments", data={
            "csrf_token": token, "attachment": (io.BytesIO(data), filename)},
            content_type="multipart/form-data")
        assert response.status_code == 400
        assert zh(message, name=filename) in page_text(response)
        assert list(tmp_path.iterdir()) == []
    finally:
        app.config["CASEFLOW_ATTACHMENT_DIR"] = None


def test_lists_filter_search_and_colour(client, login_as, cast, db, clock):
    from datetime import datetime, timedelta, timezone

    late = cast.sent(clock.now - timedelta(days=40))     # overdue
    soon = cast.sent(clock.now - timedelta(days=29))     # due within 3 days
    later = cast.sent(clock.now, is_urgent=True)
    login_as(cast.prosecutor)
    html = client.get("/referrals?box=inbox").get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="referral-row" class="([^"]*)">\s*<td><a[^>]*>([^<]+)</a>', html)
    assert rows[0][1] == later.number  # urgent first
    colours = {number: cls for cls, number in rows}
    assert colours[late.number] == "table-danger" and colours[soon.number] == "table-warning"
    overdue = page_text(client.get("/referrals?box=inbox&overdue=y"))
    assert late.number in overdue and later.number not in overdue
    found = page_text(client.get("/referrals?box=inbox&q=xiaoyu"))
    assert later.number in found
    assert "referral-row" not in client.get("/referrals?box=inbox&q=nobody").get_data(as_text=True)


def test_partner_workers_never_see_referrals(client, login_as, cast, db, clock):
    ref = cast.sent(clock.now)
    login_as(cast.partner)
    assert client.get("/referrals").status_code == 403
    assert client.get(f"/referrals/{ref.id}").status_code == 403
