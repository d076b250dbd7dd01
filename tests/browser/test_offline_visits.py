"""Visits offline in a real browser (issue 18): the federation officer 王芳 on her phone,
with the connection cut by Playwright (``context.set_offline``).

1. She opens the visit form of an open case of her team: the service worker keeps it (no
   real name, ID number, phone or address in what is kept). Offline she records a visit
   with a photo from the camera (a 2400 px picture): "saved on this phone", one visit
   waiting. The page reloaded offline comes from the phone and still shows it. Back
   online, the visit arrives once: one row with its token, its photo (made 1600 px
   JPEG by the page), one audit row; nothing waits any more.
2. Two visits saved offline while the prosecutor proposes the amount meanwhile (through
   the service): back online, both are shown as conflicts with the reason and what
   happened; one she discards herself, the other waits on the phone (a reload keeps it)
   until the proposal is returned, and is then sent again against the case as it is now:
   it arrives once.

The cases and the changes "made meanwhile" are put in the live server's database through
the services; what the phone does is done through the pages only.
"""
from __future__ import annotations

import io
import re
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import app_text, in_app, sign_in

pytestmark = pytest.mark.browser

OFFICER, PROSECUTOR, SUPERVISOR = "fed.officer", "prosecutor", "proc.head"
REAL_NAME, PHONE, HOME = "离线测试真名", "13900001111", "离线测试路88号"


KEPT_PAGES = "async () => (await caches.keys()).some(name => name.startsWith('cf-pages-'))"
FORM_AT = re.compile(r'data-form-at="([^"]+)"')


def resident_id(serial: int) -> str:
    """A valid resident ID number (GB 11643 check digit), one per case's woman."""
    body = f"42010319850312{serial % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def _now():
    from caseflow.core.db import utcnow

    return utcnow()


def open_case(live_server, id_number: str) -> int:
    """A case under investigation, its team the prosecutor 张明 and 王芳, for a woman
    recorded with her identity (which no kept page may show)."""
    from caseflow.core.orgs.models import User
    from caseflow.core.people import services as people
    from caseflow.extensions import db
    from caseflow.investigations import services

    with live_server.app.app_context():
        users = {u.username: u for u in db.session.scalars(
            sa.select(User).where(User.username.in_([OFFICER, PROSECUTOR])))}
        now = _now()
        person = people.record_person(
            actor=users[PROSECUTOR], now=now, pseudonym=f"离线{uuid.uuid4().hex[:4]}",
            identity=people.Identity(real_name=REAL_NAME, resident_id=id_number, phone=PHONE,
                                     address=HOME))
        case = services.open_case(actor=users[PROSECUTOR], now=now, handler=users[PROSECUTOR],
                                  applicant=person, data=services.CaseInput(
                                      summary="离线走访测试", application_received_on=now.date()))
        services.start_investigation(case, actor=users[PROSECUTOR], now=now, plan="走访家庭",
                                     members=[users[PROSECUTOR], users[OFFICER]])
        db.session.commit()
        return case.id


def change_case(live_server, case_id: int, step: str) -> None:
    """What happens meanwhile at the office: the proposal, or its return."""
    from caseflow.core.orgs.models import User
    from caseflow.extensions import db
    from caseflow.investigations import services
    from caseflow.investigations.models import AidCase

    with live_server.app.app_context():
        case = db.session.get(AidCase, case_id)
        user = db.session.scalar(sa.select(User).where(
            User.username == (PROSECUTOR if step == "propose" else SUPERVISOR)))
        if step == "propose":
            services.propose(case, actor=user, now=_now(), data=services.ProposalInput(
                findings="属实", amount="20000", reasons="家庭困难", measures=[]))
        else:
            services.review(case, actor=user, now=_now(), outcome="return", comment="请补充走访")
        db.session.commit()


def recorded(live_server, case_id: int) -> dict:
    from caseflow.core import files
    from caseflow.core.audit.models import AuditEvent
    from caseflow.investigations.models import CaseDocument, Investigation, Visit

    def read(session):
        visits = session.scalars(sa.select(Visit).join(Investigation).where(
            Investigation.case_id == case_id).order_by(Visit.id)).all()
        documents = session.scalars(sa.select(CaseDocument).where(
            CaseDocument.visit_id.in_([v.id for v in visits]))).all()
        audits = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "aid_cases", AuditEvent.object_id == str(case_id),
            AuditEvent.action == "aid_case.visit_recorded")).all()
        return {"visits": [(v.client_token, v.notes, v.recorded_by_id) for v in visits],
                "documents": [(d.content_type, files.read(d.sha256)) for d in documents],
                "audits": [a.after.get("offline_token") for a in audits]}

    return in_app(live_server, read)


def photo(width=2400, height=1800) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 90)).save(out, "PNG")
    return out.getvalue()


def kept_page(page, path: str, *, timeout: float = 10) -> str:
    """The page as the phone keeps it (the service worker's cache), once it is kept."""
    deadline = time.monotonic() + timeout
    while True:
        html = page.evaluate("""async path => {
            const hit = await caches.match(path, {ignoreVary: true});
            return hit ? await hit.text() : null; }""", path)
        if html:
            return html
        assert time.monotonic() < deadline, f"{path} was not kept on the phone"
        time.sleep(0.2)


def open_visit_form(tab, case_id: int) -> str:
    page = tab.page
    path = f"/cases/{case_id}/visits/new"
    page.goto(path)
    # The worker, registered on the first page, takes the pages opened after it is active
    # (and the open ones it claims); a page whose loading overlapped its activation is
    # taken at its next load, as on a phone.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # the pages of her open cases kept (static/js/offline.js notes it when done)
    page.wait_for_function("() => sessionStorage.getItem('cf-offline-kept') !== null")
    html = kept_page(page, path)
    page.wait_for_selector("#offline-visits[data-ready]", state="attached")
    return html


def fill_visit(page, notes: str, *, with_photo: bool = False) -> None:
    form = page.get_by_test_id("offline-visit-form")
    form.locator("select[name=place_kind]").select_option("home")
    form.locator("input[name=address]").fill("离线路1号3栋")
    form.locator("textarea[name=met]").fill("申请人本人")
    form.locator("textarea[name=notes]").fill(notes)
    if with_photo:
        form.locator("input[name=attachment]").set_input_files(
            {"name": "camera.png", "mimeType": "image/png", "buffer": photo()})
    page.get_by_test_id("save-visit").click()


def waiting(page):
    return page.get_by_test_id("waiting-visit")


def wait_for_count(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=waiting-visit]').length === n", arg=count)


def test_a_visit_recorded_offline_arrives_once_when_back_online(new_tab, live_server):
    from PIL import Image

    case_id = open_case(live_server, resident_id(801))
    tab = new_tab()
    page, context = tab.page, tab.context
    sign_in(tab, OFFICER)
    kept = open_visit_form(tab, case_id)
    for protected in (REAL_NAME, resident_id(801), PHONE, HOME):
        assert protected not in kept

    path = f"/cases/{case_id}/visits/new"
    kept_at = FORM_AT.search(kept_page(page, path)).group(1)
    context.set_offline(True)
    fill_visit(page, "离线走访：住房漏雨，孩子上学需要补助。", with_photo=True)
    saved = app_text(live_server, "Saved on this phone; it will be sent when you are back online.")
    page.wait_for_function("text => document.querySelector('[data-testid=offline-status]')"
                           ".textContent.includes(text)", arg=saved)
    wait_for_count(page, 1)
    assert waiting(page).first.get_attribute("data-state") == "waiting"
    # what waits is sealed: the notes are nowhere on the phone in clear
    stored = page.evaluate("""() => new Promise(resolve => {
        const open = indexedDB.open('caseflow-offline', 1);
        open.onsuccess = () => {
            const all = open.result.transaction('visits').objectStore('visits').getAll();
            all.onsuccess = () => resolve(JSON.stringify(all.result)); }; })""")
    assert "住房漏雨" not in stored and "离线路1号" not in stored and '"kid"' in stored

    response = page.reload()
    # the very page kept on the phone (its time), not a new one from the server
    assert response.from_service_worker
    assert page.get_by_test_id("offline-visit-form").get_attribute("data-form-at") == kept_at
    page.wait_for_selector("#offline-visits[data-ready]", state="attached")
    wait_for_count(page, 1)
    assert recorded(live_server, case_id)["visits"] == []

    context.set_offline(False)
    wait_for_count(page, 0)
    sent = app_text(live_server, "Visit sent and recorded.")
    page.wait_for_function("text => document.querySelector('[data-testid=offline-status]')"
                           ".textContent.includes(text)", arg=sent)
    rows = recorded(live_server, case_id)
    assert len(rows["visits"]) == 1
    token, notes, _recorder = rows["visits"][0]
    assert notes == "离线走访：住房漏雨，孩子上学需要补助。" and token
    assert rows["audits"] == [token]
    [(content_type, data)] = rows["documents"]
    assert content_type == "image/jpeg"
    assert Image.open(io.BytesIO(data)).size == (1600, 1200)

    # nothing waits, and a reload sends nothing again
    page.reload()
    page.wait_for_selector("#offline-visits[data-ready]", state="attached")
    assert waiting(page).count() == 0
    assert len(recorded(live_server, case_id)["visits"]) == 1


def test_a_conflicting_change_is_shown_and_resolved_nothing_lost(new_tab, live_server):
    case_id = open_case(live_server, resident_id(802))
    tab = new_tab()
    page, context = tab.page, tab.context
    sign_in(tab, OFFICER)
    open_visit_form(tab, case_id)

    context.set_offline(True)
    fill_visit(page, "第一次离线走访：保留")
    wait_for_count(page, 1)
    fill_visit(page, "第二次离线走访：重复记录，将放弃")
    wait_for_count(page, 2)
    change_case(live_server, case_id, "propose")

    context.set_offline(False)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=waiting-visit]')]"
                           ".every(item => item.dataset.state === 'conflict')")
    state = app_text(live_server, "Proposal awaiting approval")
    reasons = page.get_by_test_id("visit-conflict").all_inner_texts()
    assert len(reasons) == 2 and all(state in reason for reason in reasons)
    assert app_text(live_server, "Aid proposed") in page.get_by_test_id(
        "visit-conflict-changes").first.inner_text()
    assert recorded(live_server, case_id)["visits"] == []

    # the second is a duplicate: she discards it herself (asked to confirm)
    page.once("dialog", lambda dialog: dialog.accept())
    waiting(page).filter(has_text="第二次").get_by_test_id("discard-visit").click()
    wait_for_count(page, 1)
    # the second's notes are not in clear anywhere: it is found by its summary from the server
    assert "第一次离线走访" in waiting(page).first.inner_text()

    # a reload keeps the conflict: nothing is lost while she waits for the office
    page.reload()
    page.wait_for_selector("#offline-visits[data-ready]", state="attached")
    wait_for_count(page, 1)
    assert waiting(page).first.get_attribute("data-state") == "conflict"

    change_case(live_server, case_id, "return")
    # sent again: the case moved on once more (the return), shown again; sent again, recorded
    page.get_by_test_id("resend-visit").click()
    page.wait_for_function("text => { const item = document.querySelector("
                           "'[data-testid=waiting-visit]'); return item && item.dataset.state "
                           "=== 'conflict' && item.textContent.includes(text); }",
                           arg=app_text(live_server, "Proposal returned"))
    page.get_by_test_id("resend-visit").click()
    wait_for_count(page, 0)
    rows = recorded(live_server, case_id)
    assert [notes for _token, notes, _by in rows["visits"]] == ["第一次离线走访：保留"]
    assert rows["audits"] == [rows["visits"][0][0]]


def test_a_refused_visit_goes_back_to_the_form_and_nothing_is_lost(new_tab, live_server):
    """A visit the form would refuse (a date mistyped into the future) comes back from the
    server into the form, photo kept; saved again, it replaces the refused copy."""
    from datetime import timedelta

    case_id = open_case(live_server, resident_id(804))
    tab = new_tab()
    page, context = tab.page, tab.context
    sign_in(tab, OFFICER)
    open_visit_form(tab, case_id)
    context.set_offline(True)
    form = page.get_by_test_id("offline-visit-form")
    today = form.locator("input[name=visited_on]").input_value()
    from datetime import date

    future = (date.fromisoformat(today) + timedelta(days=3)).isoformat()
    form.locator("input[name=visited_on]").fill(future)
    fill_visit(page, "日期写错的走访", with_photo=True)
    wait_for_count(page, 1)

    context.set_offline(False)
    page.wait_for_function("() => document.querySelector('[data-testid=waiting-visit]')"
                           ".dataset.state === 'refused'")
    assert app_text(live_server, "A visit cannot be recorded for a future date.") in waiting(
        page).first.inner_text()
    page.get_by_test_id("correct-visit").click()
    assert form.locator("input[name=visited_on]").input_value() == future
    assert form.locator("textarea[name=notes]").input_value() == "日期写错的走访"
    assert form.locator("input[name=address]").input_value() == "离线路1号3栋"
    form.locator("input[name=visited_on]").fill(today)
    page.get_by_test_id("save-visit").click()
    wait_for_count(page, 0)
    rows = recorded(live_server, case_id)
    assert [notes for _token, notes, _by in rows["visits"]] == ["日期写错的走访"]
    assert [content_type for content_type, _data in rows["documents"]] == ["image/jpeg"]


def test_signing_out_forgets_the_kept_pages(new_tab, live_server):
    case_id = open_case(live_server, resident_id(803))
    tab = new_tab()
    page = tab.page
    sign_in(tab, OFFICER)
    open_visit_form(tab, case_id)
    assert page.evaluate(KEPT_PAGES)
    with page.expect_navigation():
        page.get_by_test_id("logout").click()
    # gone before the sign-out was sent: nothing to wait for
    assert not page.evaluate(KEPT_PAGES)
    assert page.evaluate("async () => await caches.match('/cases/%d/visits/new')" % case_id) is None
    # the next user of the phone gets her own pages, never the one before's
    sign_in(tab, PROSECUTOR)
    page.goto("/offline/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    html = kept_page(page, "/offline/")
    assert "张明" in html and "王芳" not in html.split("<main", 1)[0]
