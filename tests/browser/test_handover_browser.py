"""A hand-over reaches the other side's bell without a reload (issue 12), in a real browser.

An officer sends an urgent referral; the receiving department's supervisor, whose page is
already open, sees her bell count it and read out what came; she opens it from the bell and
registers it, naming a handler; the officer's page, open all along, shows the registration
in its bell. Neither open page is reloaded: a marker set in each page's window before the
wait would not survive a navigation.

The pages poll every 2 seconds here (CASEFLOW_BELL_POLL_SECONDS, 15 in a real run), so the
waits below are short; the issue's limit is 30 seconds.
"""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import (
    NUMBER, PSEUDONYM, REFERRALS, in_app, path_of, referral_row, sign_in, submit, today_and_due,
    user_id,
)

pytestmark = pytest.mark.browser

POLL_SECONDS = 2
#: Three turns of the poll and the alert's own work; far under the issue's 30 seconds.
BELL_WAIT_MS = 10_000
RECEIVING_DEPARTMENT = "jh-proc-5"
CIRCUMSTANCES = "浏览器测试：紧急移送，当事人生活无着，请尽快登记。"
REGISTRATION = "江汉检五登〔{year}〕铃声1号"


@pytest.fixture
def quick_bell(live_server):
    config = live_server.app.config
    before = config["CASEFLOW_BELL_POLL_SECONDS"]
    config["CASEFLOW_BELL_POLL_SECONDS"] = POLL_SECONDS
    yield
    config["CASEFLOW_BELL_POLL_SECONDS"] = before


def bell_count(page) -> int:
    return int(page.get_by_test_id("bell-count").inner_text().strip())


def mark_page(page) -> None:
    """A marker that only this load of the page carries: a reload or navigation drops it."""
    page.evaluate("window.__caseflowNoReload = true")


def still_the_same_page(page) -> bool:
    return page.evaluate("window.__caseflowNoReload === true")


def wait_for_bell_above(page, count: int) -> float:
    """Seconds until the bell shows more than ``count``, without any reload."""
    started = time.monotonic()
    page.wait_for_function(
        "n => parseInt(document.querySelector('[data-testid=bell-count]').textContent, 10) > n",
        arg=count, timeout=BELL_WAIT_MS)
    return time.monotonic() - started


def set_visibility(page, state: str) -> None:
    """What switching to another tab does to a page (headless Chromium never hides one)."""
    page.evaluate("""state => {
        Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
        document.dispatchEvent(new Event("visibilitychange"));
    }""", state)


def organisation_id(live_server, code: str) -> int:
    from caseflow.core.orgs.models import Organisation

    return in_app(live_server, lambda s: s.scalar(sa.select(Organisation.id).where(Organisation.code == code)))


def officer_sends_an_urgent_referral(officer, live_server) -> tuple[int, str]:
    page = officer.page
    today, _due = today_and_due(live_server)
    page.goto(f"{REFERRALS}/new")
    page.locator("select[name=person_id]").select_option(label=PSEUDONYM)
    page.locator("select[name=receiver_org_id]").select_option(
        str(organisation_id(live_server, RECEIVING_DEPARTMENT)))
    page.locator("select[name=source]").select_option("petition_reception")
    page.locator("textarea[name=circumstances]").fill(CIRCUMSTANCES)
    page.locator("input[name=help_requested][value=judicial_aid]").check()
    page.locator("input[name=is_urgent]").check()
    page.locator("input[name=consent_on]").fill(today.isoformat())
    page.locator("select[name=consent_method]").select_option("written")
    submit(page, "save-referral")
    match = re.fullmatch(rf"{REFERRALS}/(\d+)", path_of(page))
    assert match, f"saving the draft did not open it: {page.url}"
    referral_id = int(match.group(1))
    submit(page, "send")
    number = page.get_by_test_id("referral-number").inner_text().strip()
    assert NUMBER.fullmatch(number), f"not sent: {number!r}"
    row = referral_row(live_server, referral_id)
    assert row["state"] == "sent" and row["is_urgent"]
    return referral_id, number


def test_an_urgent_referral_and_its_registration_reach_the_open_bells(new_tab, live_server, quick_bell):
    officer, supervisor = new_tab(), new_tab()
    sign_in(supervisor, "proc.head")  # the department's supervisor, on her home page
    assert supervisor.page.evaluate("document.visibilityState") == "visible"
    mark_page(supervisor.page)
    supervisor_before = bell_count(supervisor.page)

    sign_in(officer, "fed.officer")
    referral_id, number = officer_sends_an_urgent_referral(officer, live_server)
    mark_page(officer.page)  # the officer stays on her referral's page from now on
    officer_before = bell_count(officer.page)

    # The supervisor's open page: the count grows, the newest sentence names the referral
    # and is read out (aria-live), the bell's label says the new count.
    waited = wait_for_bell_above(supervisor.page, supervisor_before)
    page = supervisor.page
    assert still_the_same_page(page), "the supervisor's page was reloaded"
    bell = page.get_by_test_id("bell")
    assert number in (bell.get_attribute("title") or ""), bell.get_attribute("title")
    assert number in page.get_by_test_id("bell-news").inner_text()
    assert str(bell_count(page)) in bell.get_attribute("aria-label")
    assert waited < BELL_WAIT_MS / 1000
    supervisor.screenshot("handover-supervisor-bell")

    # She opens it from the bell and registers it, naming 张明 as the handler.
    with page.expect_navigation():
        bell.click()
    item = page.get_by_test_id("notification").filter(has_text=number).first
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    assert path_of(page) == f"{REFERRALS}/{referral_id}", page.url
    today, _due = today_and_due(live_server)
    form = page.locator(f"form[action='{REFERRALS}/{referral_id}/register']")
    registration = REGISTRATION.format(year=today.year)
    form.locator("input[name=registration_number]").fill(registration)
    form.locator("input[name=received_on]").fill(today.isoformat())
    form.locator("select[name=handler_id]").select_option(str(user_id(live_server, "prosecutor")))
    submit(page, "register")
    assert page.get_by_test_id("handler").inner_text().strip() == "张明"
    assert referral_row(live_server, referral_id)["state"] == "registered"

    # The officer's page, open since she sent it, shows the registration.
    wait_for_bell_above(officer.page, officer_before)
    page = officer.page
    assert still_the_same_page(page), "the officer's page was reloaded"
    assert number in (page.get_by_test_id("bell").get_attribute("title") or "")
    assert number in page.get_by_test_id("bell-news").inner_text()
    officer.screenshot("handover-officer-bell")

    officer.assert_no_problems()
    supervisor.assert_no_problems()


def test_any_new_notification_reaches_an_open_page(new_tab, live_server, quick_bell):
    """The bell itself, whatever wrote the notification: a reminder written by the sweep
    (here straight through the notification service) shows on a page opened before it."""
    from caseflow.core.db import utcnow
    from caseflow.core.notifications.services import notify
    from caseflow.core.orgs.models import User

    tab = new_tab()
    sign_in(tab, "fed.head")
    page = tab.page
    mark_page(page)
    before = bell_count(page)

    def write(session):
        user = session.scalar(sa.select(User).where(User.username == "fed.head"))
        notify(user, kind="referral.due_today", link="/referrals", now=utcnow(),
               params={"number": "江汉妇移〔2026〕铃1号", "pseudonym": PSEUDONYM, "due": "2026-12-04"})
        session.commit()
    in_app(live_server, write)

    wait_for_bell_above(page, before)
    assert still_the_same_page(page)
    assert bell_count(page) == before + 1
    news = page.get_by_test_id("bell-news").inner_text()
    assert "江汉妇移〔2026〕铃1号" in news and PSEUDONYM in news
    assert "btn-warning" in page.get_by_test_id("bell").get_attribute("class")
    tab.assert_no_problems()


def test_a_signed_out_page_stops_polling(new_tab, live_server, quick_bell):
    """Once the session has ended the poll gets 401 and asks no more: an open tab does not
    knock on the server for ever."""
    tab = new_tab()
    sign_in(tab, "prosecutor")
    page = tab.page
    polls = []
    page.on("request", lambda request: polls.append(request.url)
            if request.url.endswith("/notifications/unread.json") else None)
    page.wait_for_timeout(POLL_SECONDS * 1000 * 2 + 500)
    assert len(polls) >= 1, "the open page never asked for its bell"
    # A page in a hidden tab asks nothing; shown again, it asks at once.
    set_visibility(page, "hidden")
    page.wait_for_timeout(500)
    hidden_from = len(polls)
    page.wait_for_timeout(POLL_SECONDS * 1000 * 2 + 500)
    assert len(polls) == hidden_from, "a hidden page kept polling"
    set_visibility(page, "visible")
    page.wait_for_timeout(500)
    assert len(polls) == hidden_from + 1, "a page shown again did not ask at once"
    tab.context.clear_cookies()  # the session ends (as after the idle limit)
    page.wait_for_timeout(POLL_SECONDS * 1000 * 2 + 500)
    after_end = len(polls)
    page.wait_for_timeout(POLL_SECONDS * 1000 * 2 + 500)
    assert len(polls) == after_end, "the page kept polling after the session had ended"
    # The 401 is the script's to handle: nothing else went wrong in the page.
    tab.problems[:] = [p for p in tab.problems if not p.startswith("401 for fetch")]
    tab.assert_no_problems()
