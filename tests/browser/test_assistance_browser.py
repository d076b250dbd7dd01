"""The assistance journey in a real browser (caseflow/assistance), each step by the person
who does it in the district, through the pages only:

1. the district federation's officer 王芳 opens an assistance plan for a woman (the
   Assistance menu, "open a plan"), adds psychological counselling by 心晴心理, monthly,
   and sends it to the centre;
2. the centre's counsellor 周敏 finds it among the items sent to her agency, opens it and
   sees the pseudonym and nothing of the woman's identity; she accepts it and records a
   session, adults and minors seen separately; the next session falls due a month later;
3. 王芳 changes the frequency from monthly to weekly: without a reason she is told why
   not, beside the reason, and nothing changes; with the reason the item is weekly, the
   timelines (item and plan) show the change and its reason, and the next session moves
   to a week after the last one; the counsellor sees the new rhythm;
4. a worker of another agency (the justice bureau's 赵静) cannot open the item (404, as if absent);
5. the item page fits a 375 px phone without scrolling sideways, for the officer (every
   form) and the counsellor.

The woman is recorded for 王芳 through the services beforehand (the demo's 晓丽 already
has a plan, and 小雨 may get one from her aid case): a pseudonym of her own, a real name
and a phone number the provider must never see. Everything else is done in the browser.

Elements are found by data-testid, name and value; what a page says is compared with the
app's own translation (``app_text``), never with a literal, since the catalogue is being
translated; the data typed here is compared as it is. Screenshots go to
test-artifacts/browser-assistance-*.png.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import (
    PHONE_WIDTH, app_text, in_app, no_horizontal_scroll, path_of, sign_in, submit, user_id,
)

pytestmark = pytest.mark.browser

ASSISTANCE = "/assistance"
OFFICER, COUNSELLOR, OTHER_AGENCY = "fed.officer", "counsellor", "justice.worker"
PROVIDER_CODE = "jh-counselling"  # 江汉区心晴心理咨询服务中心 in the demo (caseflow/core/demo.py)
PROVIDER_SHORT = "心晴心理"

PSEUDONYM, REAL_NAME, PHONE = "晴岚", "浏览器测试晴岚", "13900007321"
PLAN_SUMMARY = "浏览器测试：案发后本人及两个孩子受到惊吓，需要心理疏导。"
DETAILS = "浏览器测试：成人与未成年人的心理疏导，先每月一次。"
ATTENDED = "晴岚及两个孩子"
SESSION_NOTES = "浏览器测试：首次疏导，先与晴岚单独谈，再与两个孩子分别谈；孩子夜间仍易惊醒。"
SESSION_OUTCOME = "浏览器测试：建议提高疏导频次"
WEEKLY_REASON = "浏览器测试：联合评审认为每月一次间隔过长，改为每周一次，成人与未成年人分开。"


# -- helpers ------------------------------------------------------------------------------

def today(live_server) -> date:
    from caseflow.core.db import local_date, utcnow

    with live_server.app.app_context():
        return local_date(utcnow())


def add_months(day: date, months: int) -> date:
    from caseflow.core.calendar.rules import add_months as rule

    return rule(day, months)


def provider(live_server) -> tuple[int, str]:
    from caseflow.core.orgs.models import Organisation

    def read(session):
        org = session.scalar(sa.select(Organisation).where(Organisation.code == PROVIDER_CODE))
        return org.id, org.name
    return in_app(live_server, read)


def record_the_woman(live_server) -> int:
    """晴岚, recorded by 王芳 (in the district federation) with the identity the provider
    must not see; no plan yet."""
    from caseflow.core.db import utcnow
    from caseflow.core.orgs.models import User
    from caseflow.core.people import services as people

    def work(session):
        officer = session.scalar(sa.select(User).where(User.username == OFFICER))
        person = people.record_person(actor=officer, now=utcnow(), pseudonym=PSEUDONYM,
                                      identity=people.Identity(real_name=REAL_NAME, phone=PHONE))
        session.commit()
        return person.id
    return in_app(live_server, work)


def item_row(live_server, item_id: int) -> dict:
    from caseflow.assistance.models import ServiceItem

    def read(session):
        item = session.get(ServiceItem, item_id)
        return {"state": item.state, "kind": item.kind, "frequency": item.frequency,
                "provider": item.provider.code, "beneficiary": item.beneficiary.pseudonym,
                "officer": item.officer.username, "sent_on": item.sent_on,
                "acceptance_due_on": item.acceptance_due_on,
                "next_session_due_on": item.next_session_due_on,
                "responded_by": item.responded_by_id,
                "sessions": [(s.held_on, s.attended, s.seen_separately, s.notes)
                             for s in item.sessions],
                "plan_events": [e.kind for e in item.plan.events]}
    return in_app(live_server, read)


def id_from(page, pattern: str) -> int:
    match = re.fullmatch(pattern, path_of(page))
    assert match, f"not the expected page ({pattern}): {page.url}"
    return int(match.group(1))


def state_text(live_server, state: str) -> str:
    """An item state's label as a Chinese-language user reads it (a label may carry a
    context of its own: an item's Active is not an account's)."""
    from flask_babel import force_locale

    from caseflow.assistance.models import ItemState

    with live_server.app.test_request_context(), force_locale("zh_CN"):
        return str(ItemState(state).label)


def state_of(page) -> str:
    return page.get_by_test_id("item-state").first.inner_text().strip()


def next_session(page) -> str:
    badge = page.get_by_test_id("next-session")
    assert badge.count() == 1, f"{badge.count()} next-session badges on {page.url}"
    return badge.inner_text().strip()


def assert_chinese(page, username: str) -> None:
    # Other browser tests switch some demo users' language and back; a user left in English
    # would make every comparison with the Chinese catalogue below fail for no visible reason.
    lang = page.evaluate("document.documentElement.lang")
    assert lang == "zh-CN", f"{username}'s pages are in {lang!r}, the comparisons need zh-CN"


# -- the steps ----------------------------------------------------------------------------

def officer_opens_the_plan(officer, live_server, person_id: int) -> int:
    page = officer.page
    sign_in(officer, OFFICER)
    assert_chinese(page, OFFICER)
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{ASSISTANCE}']").click()
    assert path_of(page) == ASSISTANCE
    with page.expect_navigation():
        page.get_by_test_id("new-plan").click()
    assert path_of(page) == f"{ASSISTANCE}/new"

    form = page.get_by_test_id("plan-form")
    person = form.locator("select[name=person_id]")
    person.select_option(str(person_id))
    assert person.locator("option:checked").inner_text().strip() == PSEUDONYM
    assert REAL_NAME not in page.content()  # the choice lists pseudonyms only
    form.locator("textarea[name=summary]").fill(PLAN_SUMMARY)
    submit(page, "open-plan")

    plan_id = id_from(page, rf"{ASSISTANCE}/(\d+)")
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("plan-title").inner_text().strip() == app_text(
        live_server, "Assistance plan of %(pseudonym)s", pseudonym=PSEUDONYM)
    assert PLAN_SUMMARY in page.locator("main").inner_text()
    assert page.get_by_test_id("item-link").count() == 0
    return plan_id


def officer_adds_and_sends_counselling(officer, live_server, plan_id: int, person_id: int) -> int:
    page = officer.page
    day = today(live_server)
    provider_id, provider_name = provider(live_server)
    form = page.get_by_test_id("item-form")
    # Defaults: the woman herself, the officer adding the item, starting today.
    assert form.locator("select[name=beneficiary_id]").input_value() == str(person_id)
    assert form.locator("select[name=officer_id]").input_value() == str(
        user_id(live_server, OFFICER))
    assert form.locator("input[name=starts_on]").input_value() == day.isoformat()
    form.locator("select[name=kind]").select_option("counselling")
    form.locator("select[name=provider_org_id]").select_option(str(provider_id))
    chosen = form.locator("select[name=provider_org_id] option:checked").inner_text().strip()
    assert chosen == provider_name and PROVIDER_SHORT in chosen
    form.locator("select[name=frequency]").select_option("monthly")
    form.locator("textarea[name=details]").fill(DETAILS)
    submit(page, "add-item")

    item_id = id_from(page, rf"{ASSISTANCE}/items/(\d+)")
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("item-title").inner_text().strip() == (
        f"{app_text(live_server, 'Psychological counselling')} · {PSEUDONYM}")
    assert state_of(page) == app_text(live_server, "Planned")
    assert DETAILS in page.locator("main").inner_text()
    assert page.locator(f"main a[href='{ASSISTANCE}/{plan_id}']").is_visible()  # the whole plan
    row = item_row(live_server, item_id)
    assert (row["state"], row["kind"], row["frequency"], row["provider"], row["beneficiary"],
            row["officer"]) == ("planned", "counselling", "monthly", PROVIDER_CODE, PSEUDONYM,
                                OFFICER)

    send = page.get_by_test_id("send-item")
    assert send.inner_text().strip() == app_text(live_server, "Send to %(agency)s",
                                                 agency=provider_name)
    submit(page, "send-item")
    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert state_of(page) == app_text(live_server, "Sent to the provider")
    assert page.get_by_test_id("send-item").count() == 0
    # Waiting for the centre's answer; not hers to give.
    assert page.get_by_test_id("accept-item").count() == 0
    row = item_row(live_server, item_id)
    assert row["state"] == "sent" and row["sent_on"] == day and row["acceptance_due_on"] >= day
    assert page.get_by_test_id("answer-due").inner_text().strip() == app_text(
        live_server, "answer due %(day)s", day=row["acceptance_due_on"].isoformat())
    officer.screenshot("assistance-item-sent")
    return item_id


def counsellor_accepts_and_records_a_session(counsellor, live_server, item_id: int,
                                             plan_id: int) -> None:
    page = counsellor.page
    day = today(live_server)
    sign_in(counsellor, COUNSELLOR)
    assert_chinese(page, COUNSELLOR)
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{ASSISTANCE}']").click()
    assert path_of(page) == ASSISTANCE
    assert page.locator("h1").inner_text().strip() == app_text(live_server, "Items sent to us")
    link = f"a[href='{ASSISTANCE}/items/{item_id}']"
    row = page.get_by_test_id("item-row").filter(has=page.locator(link))
    assert row.count() == 1, (
        f"the item is not among those sent to 心晴心理: "
        f"{page.get_by_test_id('item-row').all_inner_texts()}")
    text = row.inner_text()
    assert PSEUDONYM in text and app_text(live_server, "Psychological counselling") in text
    assert app_text(live_server, "Monthly") in text
    assert row.get_by_test_id("item-state").inner_text().strip() == app_text(
        live_server, "Sent to the provider")
    assert REAL_NAME not in page.content() and PHONE not in page.content()

    with page.expect_navigation():
        row.locator(link).click()
    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}"
    assert PSEUDONYM in page.get_by_test_id("item-title").inner_text()
    # The pseudonym only: counselling does not need her identity, and offers no way to it.
    assert REAL_NAME not in page.content() and PHONE not in page.content()
    assert page.get_by_test_id("show-identity").count() == 0
    assert page.get_by_test_id("identity").count() == 0
    # Nor the plan behind it: the woman's other help is not the centre's business.
    assert page.locator(f"main a[href='{ASSISTANCE}/{plan_id}']").count() == 0
    assert page.get_by_test_id("session-form").count() == 0  # not before accepting
    assert page.get_by_test_id("frequency-form").count() == 0  # the officer's, not hers
    counsellor.screenshot("assistance-item-to-answer")

    submit(page, "accept-item")
    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert state_of(page) == app_text(live_server, "Accepted")
    assert page.get_by_test_id("accept-item").count() == 0
    # Accepted today: the first session is due from today.
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=day.isoformat())
    row = item_row(live_server, item_id)
    assert row["state"] == "accepted" and row["responded_by"] == user_id(live_server, COUNSELLOR)

    form = page.get_by_test_id("session-form")
    assert form.locator("input[name=held_on]").input_value() == day.isoformat()
    form.locator("input[name=attended]").fill(ATTENDED)
    form.locator("input[name=seen_separately][value=yes]").check()
    form.locator("textarea[name=notes]").fill(SESSION_NOTES)
    form.locator("input[name=outcome]").fill(SESSION_OUTCOME)
    submit(page, "save-session")

    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}", page.url
    assert page.locator(".alert-success").is_visible()
    assert state_of(page) == state_text(live_server, "active")
    session = page.get_by_test_id("session")
    assert session.count() == 1
    text = session.inner_text()
    assert day.isoformat() in text and ATTENDED in text and SESSION_NOTES in text
    assert SESSION_OUTCOME in text and "周敏" in text
    assert app_text(live_server, "adults and minors seen separately") in text
    monthly_due = add_months(day, 1)
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=monthly_due.isoformat())
    row = item_row(live_server, item_id)
    assert row["state"] == "active" and row["next_session_due_on"] == monthly_due
    assert row["sessions"] == [(day, ATTENDED, True, SESSION_NOTES)]
    counsellor.screenshot("assistance-item-session")


def officer_changes_the_frequency(officer, live_server, item_id: int, plan_id: int) -> None:
    page = officer.page
    day = today(live_server)
    monthly_due, weekly_due = add_months(day, 1), day + timedelta(days=7)
    page.goto(f"{ASSISTANCE}/items/{item_id}")
    # She sees what the centre recorded, and when the next session is due.
    assert state_of(page) == state_text(live_server, "active")
    assert SESSION_NOTES in page.get_by_test_id("session").inner_text()
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=monthly_due.isoformat())
    form = page.get_by_test_id("frequency-form")
    assert form.locator("select[name=frequency]").input_value() == "monthly"
    changed = app_text(live_server, "Frequency changed")

    # Without a reason: refused beside the reason, her choice kept, nothing changed.
    form.locator("select[name=frequency]").select_option("weekly")
    submit(page, "change-frequency")
    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}/frequency", page.url
    form = page.get_by_test_id("frequency-form")
    reason = form.locator("input[name=reason]")
    error = form.get_by_test_id("error-reason")
    assert error.is_visible(), "the missing reason shows no error beside its field"
    assert error.inner_text().strip() == app_text(live_server, "Say why the frequency changes.")
    assert "is-invalid" in (reason.get_attribute("class") or "")
    assert form.locator("select[name=frequency]").input_value() == "weekly"
    assert page.locator(".alert-success").count() == 0
    # The other forms with a reason field (cancel) are not blamed.
    assert page.get_by_test_id("error-reason").count() == 1
    assert changed not in page.get_by_test_id("timeline").inner_text()
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=monthly_due.isoformat())
    row = item_row(live_server, item_id)
    assert (row["frequency"], row["next_session_due_on"]) == ("monthly", monthly_due)
    assert "frequency_changed" not in row["plan_events"]
    officer.screenshot("assistance-frequency-error")

    reason.fill(WEEKLY_REASON)
    submit(page, "change-frequency")
    assert path_of(page) == f"{ASSISTANCE}/items/{item_id}", page.url
    assert page.locator(".alert-success").is_visible()
    weekly, monthly = app_text(live_server, "Weekly"), app_text(live_server, "Monthly")
    entries = page.get_by_test_id("timeline").locator("li")
    last = entries.nth(entries.count() - 1).inner_text()
    assert changed in last and f"{monthly} → {weekly}" in last and WEEKLY_REASON in last, last
    assert "王芳" in last
    # The next session: a week after the last one, no longer a month.
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=weekly_due.isoformat())
    assert weekly in page.get_by_test_id("item-facts").inner_text()
    assert page.get_by_test_id("frequency-form").locator(
        "select[name=frequency]").input_value() == "weekly"
    row = item_row(live_server, item_id)
    assert (row["frequency"], row["next_session_due_on"]) == ("weekly", weekly_due)
    assert row["plan_events"].count("frequency_changed") == 1

    # The plan's timeline tells it too, and the item's line shows the new rhythm.
    with page.expect_navigation():
        page.locator(f"main a[href='{ASSISTANCE}/{plan_id}']").click()
    assert path_of(page) == f"{ASSISTANCE}/{plan_id}"
    plan_line = page.get_by_test_id("timeline").locator("li", has_text=WEEKLY_REASON)
    assert plan_line.count() == 1
    assert changed in plan_line.inner_text() and f"{monthly} → {weekly}" in plan_line.inner_text()
    item_link = page.locator(f"[data-testid=item-link][href='{ASSISTANCE}/items/{item_id}']")
    assert weekly in item_link.inner_text()
    assert app_text(live_server, "next session %(day)s", day=weekly_due.isoformat()) in (
        item_link.inner_text())
    officer.screenshot("assistance-frequency-changed")


def counsellor_sees_the_new_rhythm(counsellor, live_server, item_id: int) -> None:
    page = counsellor.page
    weekly_due = today(live_server) + timedelta(days=7)
    page.goto(f"{ASSISTANCE}/items/{item_id}")
    assert app_text(live_server, "Weekly") in page.get_by_test_id("item-facts").inner_text()
    assert next_session(page) == app_text(live_server, "next session %(day)s",
                                          day=weekly_due.isoformat())
    assert WEEKLY_REASON in page.get_by_test_id("timeline").inner_text()
    assert REAL_NAME not in page.content() and PHONE not in page.content()


def other_agency_is_kept_out(new_tab, live_server, item_id: int, plan_id: int) -> None:
    other = new_tab()
    page = other.page
    sign_in(other, OTHER_AGENCY)
    response = page.goto(ASSISTANCE)
    assert response.status == 200
    assert page.locator(f"main a[href='{ASSISTANCE}/items/{item_id}']").count() == 0
    assert PSEUDONYM not in page.locator("main").inner_text()
    for path in (f"{ASSISTANCE}/items/{item_id}", f"{ASSISTANCE}/{plan_id}"):
        response = page.goto(path)
        # Answered as if there were no such record: nothing says it exists, or whose it is.
        assert response.status == 404, f"{OTHER_AGENCY} opened {path} ({response.status})"
        assert page.get_by_test_id("error").is_visible()
        assert PSEUDONYM not in page.content() and REAL_NAME not in page.content()
    other.screenshot("assistance-other-agency-404")
    other.assert_no_problems()


def item_page_fits_a_phone(new_tab, item_id: int, username: str) -> None:
    phone = new_tab(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True,
                    has_touch=True, device_scale_factor=2)
    page = phone.page
    sign_in(phone, username)
    path = f"{ASSISTANCE}/items/{item_id}"
    response = page.goto(path)
    assert response.status == 200, f"{username} could not open {path} ({response.status})"
    assert page.get_by_test_id("item-title").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(f"assistance-item-phone-{username.replace('.', '-')}")
    assert no_horizontal_scroll(page), (
        f"{path} is {width} px wide on a {PHONE_WIDTH} px phone ({username})")
    phone.assert_no_problems()


# -- the journey ------------------------------------------------------------------------------

def test_assistance_from_plan_to_weekly_counselling(new_tab, live_server):
    person_id = record_the_woman(live_server)

    officer = new_tab()
    plan_id = officer_opens_the_plan(officer, live_server, person_id)
    item_id = officer_adds_and_sends_counselling(officer, live_server, plan_id, person_id)

    counsellor = new_tab()
    counsellor_accepts_and_records_a_session(counsellor, live_server, item_id, plan_id)

    officer_changes_the_frequency(officer, live_server, item_id, plan_id)
    officer.assert_no_problems()
    counsellor_sees_the_new_rhythm(counsellor, live_server, item_id)
    counsellor.assert_no_problems()

    other_agency_is_kept_out(new_tab, live_server, item_id, plan_id)

    # The officer's page carries every form (frequency, completion, cancellation).
    item_page_fits_a_phone(new_tab, item_id, OFFICER)
    item_page_fits_a_phone(new_tab, item_id, COUNSELLOR)
