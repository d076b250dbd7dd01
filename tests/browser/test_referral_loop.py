"""The whole referral loop in a real browser, as the issue puts it: an officer files and
sends, a prosecutor registers and designates a handler, the handler replies, the officer
sees the reply and prints the letter. Then the people who must not see it do not.

The loop is one test, because each step needs the one before; each step is a function
named for it, so a failure says which step broke. A second test checks that the forms
of the detail page, where several share field names, label their own fields. Both run
on the session's live server and demo data (tests/browser/conftest.py), file their own
referrals and change no user another browser test depends on.

Elements are found by data-testid, name, value and href; what a page says is compared
with the app's own translation of the message (``app_text``), never with a literal,
since the catalogue is still growing. Data (organisation names, pseudonyms, the texts
typed here) is compared as it is.
"""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from caseflow.core.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

REFERRALS = "/referrals"
NUMBER = re.compile(r"江汉妇移〔\d{4}〕\d+号")
RECEIVER = "江汉区人民检察院第五检察部"
#: A department receives, but letters are issued in the procuratorate's own name.
PROCURATORATE = "江汉区人民检察院"
PSEUDONYM, REAL_NAME = "小雨", "陈雨婷"  # demo person recorded by fed.officer (caseflow/core/demo.py)
HELP = ("judicial_aid", "skills_training")
CIRCUMSTANCES = "浏览器测试：丈夫因刑事案件去世，本人患脊柱疾病无业，两个孩子在读。"
NOTE = "浏览器测试：内部进度，已调取刑事卷宗"
COMMENT = "浏览器测试：请补充社区走访记录"
REPLY = "浏览器测试：经审查不符合国家司法救助条件，建议转介社会救助。"
REGISTRATION = "江汉检五登〔{year}〕浏览器1号"
PHONE_WIDTH = 375


# -- helpers ------------------------------------------------------------------------------

def path_of(page) -> str:
    return urlsplit(page.url).path


def sign_in(tab, username: str) -> None:
    page = tab.page
    page.goto("/login")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert path_of(page) == "/", f"{username} was not signed in: {page.url}"


def submit(page, testid: str) -> None:
    """Click a button that posts its form, and wait for the page that answers."""
    with page.expect_navigation():
        page.get_by_test_id(testid).click()


def open_referrals(page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{REFERRALS}']").click()
    assert path_of(page) == REFERRALS


def app_text(live_server, message: str, **values) -> str:
    """``message`` as the app shows it to a Chinese-language user."""
    from flask_babel import force_locale, gettext

    with live_server.app.test_request_context(), force_locale("zh_CN"):
        return gettext(message, **values)


def in_app(live_server, work):
    from caseflow.extensions import db

    with live_server.app.app_context():
        try:
            return work(db.session)
        finally:
            db.session.rollback()


def referral_row(live_server, referral_id: int) -> dict:
    from caseflow.referrals.models import Referral

    def read(session):
        ref = session.get(Referral, referral_id)
        return {"state": ref.state, "number": ref.number, "consent_on": ref.consent_on,
                "handler": ref.handler.username if ref.handler else None,
                "registration_number": ref.registration_number, "received_on": ref.received_on,
                "reply_due_on": ref.reply_due_on, "is_urgent": ref.is_urgent,
                "help_requested": sorted(ref.help_requested)}
    return in_app(live_server, read)


def today_and_due(live_server) -> tuple[date, date]:
    """The district's today, and the reply date one month from it on the app's calendar."""
    from caseflow.core.calendar.services import load_calendar
    from caseflow.core.db import local_date, utcnow

    def compute(_session):
        today = local_date(utcnow())
        return today, load_calendar().reply_due(today).day
    return in_app(live_server, compute)


def user_id(live_server, username: str) -> int:
    from caseflow.core.orgs.models import User

    return in_app(live_server,
                  lambda s: s.scalar(sa.select(User.id).where(User.username == username)))


def send_background_referral(live_server) -> str:
    """A non-urgent referral sent *after* ours, straight through the services, so that
    only the urgency can put ours first in the inbox (same due date, lower id)."""
    from caseflow.core.db import local_date, utcnow
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.people.models import Person
    from caseflow.referrals import services

    def work(session):
        now = utcnow()
        actor = session.scalar(sa.select(User).where(User.username == "fed.head"))
        ref = services.save_draft(
            actor=actor, now=now,
            person=session.scalar(sa.select(Person).where(Person.pseudonym == PSEUDONYM)),
            receiver=session.scalar(sa.select(Organisation).where(Organisation.name == RECEIVER)),
            data=services.ReferralInput(
                source="community_visit", circumstances="浏览器测试：非紧急的对照移送",
                help_requested=["counselling"], consent_on=local_date(now),
                consent_method="written"),
            submission_token="browser-referral-loop-background")
        services.send(ref, actor=actor, now=now)
        session.commit()
        return ref.number
    return in_app(live_server, work)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# -- the steps ----------------------------------------------------------------------------

def officer_files_a_draft_without_consent(officer, live_server) -> int:
    page = officer.page
    sign_in(officer, "fed.officer")
    open_referrals(page)
    with page.expect_navigation():
        page.get_by_test_id("new-referral").click()
    assert path_of(page) == f"{REFERRALS}/new"

    page.locator("select[name=person_id]").select_option(label=PSEUDONYM)
    page.locator("select[name=receiver_org_id]").select_option(label=RECEIVER)
    page.locator("select[name=source]").select_option("petition_reception")
    page.locator("textarea[name=circumstances]").fill(CIRCUMSTANCES)
    for kind in HELP:
        page.locator(f"input[name=help_requested][value={kind}]").check()
    page.locator("input[name=is_urgent]").check()
    # No consent yet: a draft may be saved without it.
    assert page.locator("input[name=consent_on]").input_value() == ""
    submit(page, "save-referral")

    match = re.fullmatch(rf"{REFERRALS}/(\d+)", path_of(page))
    assert match, f"saving the draft did not open it: {page.url}"
    referral_id = int(match.group(1))
    assert page.locator(".alert-success").is_visible()
    saved = referral_row(live_server, referral_id)
    assert saved["state"] == "draft" and saved["number"] is None and saved["consent_on"] is None
    assert saved["is_urgent"] and saved["help_requested"] == sorted(HELP)
    return referral_id


def officer_cannot_send_without_consent(officer, live_server, referral_id: int) -> None:
    page = officer.page
    submit(page, "send")
    alert = page.locator(".alert-danger")
    assert alert.is_visible(), "sending without consent showed no error"
    expected = app_text(live_server, "Record the person's consent to share (date and how it "
                                     "was given) before sending.")
    assert expected in alert.inner_text()
    # Still a draft, everywhere: the database, the heading, the buttons.
    assert referral_row(live_server, referral_id)["state"] == "draft"
    assert referral_row(live_server, referral_id)["number"] is None
    assert page.get_by_test_id("referral-number").inner_text().strip() == app_text(
        live_server, "Draft referral")
    assert not NUMBER.search(page.locator("main").inner_text())
    assert page.get_by_test_id("send").is_visible() and page.get_by_test_id("edit").is_visible()
    assert page.get_by_test_id("due-badge").count() == 0
    assert page.get_by_test_id("print-letter").count() == 0


def officer_adds_consent_and_sends(officer, live_server, referral_id: int) -> str:
    page = officer.page
    today, due = today_and_due(live_server)
    with page.expect_navigation():
        page.get_by_test_id("edit").click()
    assert path_of(page) == f"{REFERRALS}/{referral_id}/edit"
    # What was saved comes back into the form.
    assert page.locator("textarea[name=circumstances]").input_value() == CIRCUMSTANCES
    assert page.locator("input[name=is_urgent]").is_checked()
    for kind in HELP:
        assert page.locator(f"input[name=help_requested][value={kind}]").is_checked()
    page.locator("input[name=consent_on]").fill(today.isoformat())
    page.locator("select[name=consent_method]").select_option("written")
    submit(page, "save-referral")
    assert path_of(page) == f"{REFERRALS}/{referral_id}", page.url
    assert referral_row(live_server, referral_id)["consent_on"] == today

    submit(page, "send")
    assert path_of(page) == f"{REFERRALS}/{referral_id}"
    number = page.get_by_test_id("referral-number").inner_text().strip()
    assert NUMBER.fullmatch(number), f"not an official number: {number!r}"
    assert number.startswith(f"江汉妇移〔{today.year}〕")
    badge = page.get_by_test_id("due-badge").first
    assert badge.is_visible() and badge.inner_text().strip()
    assert page.get_by_test_id("reply-due").inner_text().strip().startswith(due.isoformat())
    assert page.get_by_test_id("send").count() == 0 and page.get_by_test_id("edit").count() == 0
    assert page.get_by_test_id("print-letter").is_visible()
    row = referral_row(live_server, referral_id)
    assert (row["state"], row["number"], row["received_on"], row["reply_due_on"]) == (
        "sent", number, today, due)
    return number


def prosecutor_registers_and_designates_himself(prosecutor, live_server, referral_id: int,
                                                number: str, other_number: str) -> None:
    page = prosecutor.page
    today, _due = today_and_due(live_server)
    sign_in(prosecutor, "prosecutor")
    open_referrals(page)  # the inbox is the default box
    rows = page.get_by_test_id("referral-row")
    ours = rows.filter(has=page.locator(f"a[href='{REFERRALS}/{referral_id}']"))
    assert ours.count() == 1, f"{number} is not in the inbox: {rows.all_inner_texts()}"
    assert ours.locator("a").first.inner_text().strip() == number
    assert ours.locator(".badge.text-bg-danger").first.inner_text().strip() == app_text(
        live_server, "urgent")
    assert PSEUDONYM in ours.inner_text() and REAL_NAME not in page.locator("main").inner_text()
    assert ours.get_by_test_id("due-badge").is_visible()

    # Urgent first: among her referrals, ours comes before the ordinary one sent after it
    # with the same due date (the demo data holds others, in no fixed number).
    search = page.locator("form[role=search]")
    search.locator("input[name=q]").fill(PSEUDONYM)
    with page.expect_navigation():
        search.locator("button[type=submit]").click()
    numbers = [text.split()[0] if text.split() else ""
               for text in page.get_by_test_id("referral-row").all_inner_texts()]
    assert number in numbers and other_number in numbers, numbers
    assert numbers.index(number) < numbers.index(other_number), (
        f"the urgent referral is not before the ordinary one sent after it: {numbers}")
    ours = page.get_by_test_id("referral-row").filter(
        has=page.locator(f"a[href='{REFERRALS}/{referral_id}']"))

    with page.expect_navigation():
        ours.locator(f"a[href='{REFERRALS}/{referral_id}']").click()
    assert path_of(page) == f"{REFERRALS}/{referral_id}"
    assert page.get_by_test_id("referral-number").inner_text().strip() == number
    form = page.locator(f"form[action='{REFERRALS}/{referral_id}/register']")
    registration = REGISTRATION.format(year=today.year)
    form.locator("input[name=registration_number]").fill(registration)
    form.locator("input[name=received_on]").fill(today.isoformat())
    form.locator("select[name=handler_id]").select_option(str(user_id(live_server, "prosecutor")))
    submit(page, "register")

    assert path_of(page) == f"{REFERRALS}/{referral_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("handler").inner_text().strip() == "张明"
    assert registration in page.locator("main").inner_text()
    assert page.get_by_test_id("register").count() == 0
    row = referral_row(live_server, referral_id)
    assert (row["state"], row["handler"], row["registration_number"], row["received_on"]) == (
        "registered", "prosecutor", registration, today)


def handler_notes_comments_and_replies(prosecutor, live_server, referral_id: int) -> None:
    page = prosecutor.page
    note_form = page.locator(f"form[action='{REFERRALS}/{referral_id}/note']")
    note_form.locator("textarea[name=text]").fill(NOTE)
    submit(page, "add-note")
    comment_form = page.locator(f"form[action='{REFERRALS}/{referral_id}/comment']")
    comment_form.locator("textarea[name=text]").fill(COMMENT)
    submit(page, "add-comment")

    timeline = page.get_by_test_id("timeline")
    note_item = timeline.locator("li", has_text=NOTE)
    assert note_item.count() == 1, "the handler does not see his own progress note"
    assert app_text(live_server, "internal") in note_item.inner_text()
    assert timeline.locator("li", has_text=COMMENT).count() == 1

    reply_form = page.locator(f"form[action='{REFERRALS}/{referral_id}/reply']")
    reply_form.locator("select[name=outcome]").select_option("not_eligible")
    today = today_and_due(live_server)[0]
    assert reply_form.locator("input[name=reply_on]").input_value() == today.isoformat()
    reply_form.locator("textarea[name=text]").fill(REPLY)
    submit(page, "reply-submit")
    assert path_of(page) == f"{REFERRALS}/{referral_id}", page.url
    assert page.get_by_test_id("reply").is_visible()
    assert page.get_by_test_id("reply-submit").count() == 0
    assert referral_row(live_server, referral_id)["state"] == "replied"


def officer_reads_the_reply_and_prints(officer, live_server, referral_id: int, number: str) -> None:
    page = officer.page
    page.goto(f"{REFERRALS}/{referral_id}")
    reply = page.get_by_test_id("reply")
    assert reply.is_visible(), "the sender does not see the reply"
    assert REPLY in reply.inner_text()
    assert app_text(live_server, "Not eligible") in reply.inner_text()
    assert page.get_by_test_id("handler").inner_text().strip() == "张明"
    timeline = page.get_by_test_id("timeline")
    assert timeline.locator("li", has_text=COMMENT).count() == 1, "the sender misses the comment"
    assert NOTE not in page.content(), "the sender sees the receiver's internal progress note"
    assert page.get_by_test_id("add-note").count() == 0
    assert page.get_by_test_id("due-badge").count() == 0  # replied: the clock has stopped
    officer.screenshot("referral-detail")

    with page.expect_navigation():
        page.get_by_test_id("print-letter").click()
    assert path_of(page) == f"{REFERRALS}/{referral_id}/letter"
    letter = page.get_by_test_id("letter")
    text = letter.inner_text()
    assert number in text and f"{PROCURATORATE}：" in text and PSEUDONYM in text  # the addressee
    assert RECEIVER not in text, "a letter names the internal department"
    assert "江汉区妇女联合会" in text  # the issuer
    assert REAL_NAME not in page.content(), "the letter carries the real name"
    officer.screenshot("referral-letter")

    page.go_back()
    assert path_of(page) == f"{REFERRALS}/{referral_id}"
    with page.expect_navigation():
        page.get_by_test_id("print-reply").click()
    assert path_of(page) == f"{REFERRALS}/{referral_id}/reply-letter"
    reply_letter = page.get_by_test_id("reply-letter")
    text = reply_letter.inner_text()
    assert number in text and PROCURATORATE in text and REPLY in text and PSEUDONYM in text
    assert RECEIVER not in text, "the reply letter names the internal department as its issuer"
    assert "张明" in text
    assert REAL_NAME not in page.content()
    officer.screenshot("referral-reply-letter")

    page.goto(f"{REFERRALS}/{referral_id}")
    submit(page, "close")
    assert path_of(page) == f"{REFERRALS}/{referral_id}"
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("close").count() == 0
    assert referral_row(live_server, referral_id)["state"] == "closed"
    # Closed, the reply and the letters stay.
    assert page.get_by_test_id("reply").is_visible()
    assert page.get_by_test_id("print-letter").is_visible()


def detail_page_fits_a_phone(new_tab, live_server, referral_id: int) -> None:
    phone = new_tab(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True,
                    has_touch=True, device_scale_factor=2)
    page = phone.page
    sign_in(phone, "fed.officer")
    page.goto(f"{REFERRALS}/{referral_id}")
    assert page.get_by_test_id("reply").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    phone.screenshot("referral-detail-phone")
    assert no_horizontal_scroll(page), (
        f"the detail page is {width} px wide on a {PHONE_WIDTH} px phone")
    phone.assert_no_problems()


def street_officer_and_partner_are_kept_out(new_tab, referral_id: int, number: str) -> None:
    street = new_tab()
    page = street.page
    sign_in(street, "fed.minzu")
    for box in ("inbox", "outbox", "mine"):
        response = page.goto(f"{REFERRALS}?box={box}")
        assert response.status == 200
        main = page.locator("main")
        assert number not in main.inner_text(), f"民族街妇联 sees the district's referral in {box}"
        assert main.locator(f"a[href='{REFERRALS}/{referral_id}']").count() == 0
    for path in (f"{REFERRALS}/{referral_id}", f"{REFERRALS}/{referral_id}/letter",
                 f"{REFERRALS}/{referral_id}/reply-letter"):
        response = page.goto(path)
        # Another organisation's referral is answered as if there were none.
        assert response.status == 404, f"fed.minzu opened {path} ({response.status})"
        assert page.get_by_test_id("error").is_visible()
        assert number not in page.content()
    street.assert_no_problems()

    partner = new_tab()
    page = partner.page
    sign_in(partner, "justice.worker")
    assert page.get_by_test_id("main-nav").locator(f"a[href='{REFERRALS}']").count() == 0
    for path in (REFERRALS, f"{REFERRALS}/{referral_id}"):
        response = page.goto(path)
        assert response.status == 403, f"justice.worker opened {path} ({response.status})"
        assert page.get_by_test_id("forbidden").is_visible()
    partner.assert_no_problems()


def registered_referral(live_server, registration: str) -> int:
    """A referral filed by fed.officer, sent, registered by 张明 as handler: the state in
    which the detail page carries the most forms (note, comment, reply, return; a
    supervisor also gets reassign and extend)."""
    from caseflow.core.db import local_date, utcnow
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.people.models import Person
    from caseflow.referrals import services

    def work(session):
        now = utcnow()
        officer = session.scalar(sa.select(User).where(User.username == "fed.officer"))
        prosecutor = session.scalar(sa.select(User).where(User.username == "prosecutor"))
        ref = services.save_draft(
            actor=officer, now=now,
            person=session.scalar(sa.select(Person).where(Person.pseudonym == PSEUDONYM)),
            receiver=session.scalar(sa.select(Organisation).where(Organisation.name == RECEIVER)),
            data=services.ReferralInput(
                source="hotline", circumstances="浏览器测试：表单标签", help_requested=["legal_aid"],
                consent_on=local_date(now), consent_method="oral_recorded"),
            submission_token=f"browser-referral-labels-{registration}")
        services.send(ref, actor=officer, now=now)
        services.register(ref, actor=prosecutor, now=now, registration_number=registration,
                          received_on=local_date(now), handler=prosecutor)
        session.commit()
        return ref.id
    return in_app(live_server, work)


#: Every <label for=...> and the control it names: [label text, its form's action, the
#: control's form's action]. A label must name a control of its own form.
LABELS_AND_CONTROLS = """() => [...document.querySelectorAll('main label[for]')].map(label => {
    const control = document.getElementById(label.htmlFor);
    const own = label.closest('form'), theirs = control && control.closest('form');
    return [label.textContent.trim(), own && own.getAttribute('action'),
            theirs && theirs.getAttribute('action')];
})"""


def test_detail_page_labels_name_the_field_of_their_own_form(new_tab, live_server):
    """On the handler's page the comment, progress-note and reply forms each have a
    textarea named ``text``; each label must lead to its own form's field (clicking it
    focuses that field; a screen reader reads it there). Likewise the supervisor's return,
    reassign and extend forms, which each have a ``reason``."""
    referral_id = registered_referral(live_server, "江汉检五登〔浏览器〕标签1号")
    reply_label = app_text(live_server, "Reply")
    broken = []
    for username in ("prosecutor", "proc.head"):
        tab = new_tab()
        page = tab.page
        sign_in(tab, username)
        page.goto(f"{REFERRALS}/{referral_id}")
        assert page.get_by_test_id("reply-submit").is_visible()
        broken += [f"{username}: the label {text!r} of {own} names the field of {theirs}"
                   for text, own, theirs in page.evaluate(LABELS_AND_CONTROLS) if own != theirs]

        # What a user does: click the reply's label and type; the reply gets the text.
        reply_form = page.locator(f"form[action='{REFERRALS}/{referral_id}/reply']")
        reply_form.get_by_text(reply_label, exact=True).click()
        page.keyboard.type("x")
        if reply_form.locator("textarea[name=text]").input_value() != "x":
            broken.append(f"{username}: clicking the reply's label and typing does not fill "
                          "the reply")
        tab.assert_no_problems()
    assert not broken, "\n".join(broken)


# -- the loop -------------------------------------------------------------------------------

def test_referral_loop_from_filing_to_closing(new_tab, live_server):
    officer = new_tab()
    referral_id = officer_files_a_draft_without_consent(officer, live_server)
    officer_cannot_send_without_consent(officer, live_server, referral_id)
    number = officer_adds_consent_and_sends(officer, live_server, referral_id)
    other_number = send_background_referral(live_server)

    prosecutor = new_tab()
    prosecutor_registers_and_designates_himself(prosecutor, live_server, referral_id, number,
                                                other_number)
    handler_notes_comments_and_replies(prosecutor, live_server, referral_id)
    prosecutor.assert_no_problems()

    officer_reads_the_reply_and_prints(officer, live_server, referral_id, number)
    officer.assert_no_problems()

    detail_page_fits_a_phone(new_tab, live_server, referral_id)
    street_officer_and_partner_are_kept_out(new_tab, referral_id, number)
