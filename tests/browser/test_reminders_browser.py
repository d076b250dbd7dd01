"""Reminders in a real browser: the supervisor of 第五检察部 (proc.head, 刘强) signs in,
sees the bell count, reads his notifications, opens one, marks all as read, and opens
the overdue list; a prosecutor without the supervisor role is kept out of that list;
the system administrator sees the queued reminder e-mails and the scheduler's runs.

The reminders are put in the live server's database first, as the scheduler would:
two referrals from the federation to 第五检察部 are filed, sent and registered through
the services at moments in the past (one overdue, handled by 张明; one due within 3 days,
handled by 刘强 himself, so that both reach him), then ``sweep(now=...)`` runs and
commits, and the reminder job runs once more through the scheduler's runner (which adds
nothing, and leaves a run on the administrators' page). The demo data may hold other
referrals with their own deadlines; the test counts from the database, never assumes
how many there are.

Elements are found by data-testid, href, name and the data (referral numbers), never by
translated text. Screenshots go to test-artifacts/browser-reminders-*.png.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import (PSEUDONYM, RECEIVER, REFERRALS, in_app, path_of,
                                              sign_in)

pytestmark = pytest.mark.browser

ATTENTION, NOTIFICATIONS, OUTBOX = f"{REFERRALS}/attention", "/notifications", "/admin/outbox"
SUPERVISOR, PROSECUTOR, SYSADMIN = "proc.head", "prosecutor", "sysadmin"
#: The attention page's "due soon" horizon (caseflow/referrals/queries.py needing_attention).
DUE_SOON_DAYS = 3


# -- the reminders, in the live server's database ------------------------------------------

def _at(day: date, hour: int) -> datetime:
    """``hour`` o'clock on ``day`` in the district, as the aware UTC time the app stores."""
    from caseflow.core.db import local_zone

    return datetime.combine(day, time(hour), tzinfo=local_zone()).astimezone(timezone.utc)


def _receipt_due_soon(calendar, today: date) -> tuple[date, date | None]:
    """A received day whose one-month reply date falls 1–3 days from today (a working day
    if one fits), and None; or, when none does (a long holiday), a received day whose
    reply date has just passed and the day to extend it to."""
    fitting, earlier = [], []
    for days_back in range(20, 75):
        received = today - timedelta(days=days_back)
        due = calendar.reply_due(received).day
        if today < due <= today + timedelta(days=DUE_SOON_DAYS):
            fitting.append(received)
        elif due < today:
            earlier.append((due, received))
    if fitting:
        working = [d for d in fitting if calendar.is_working_day(d)]
        return (working or fitting)[0], None
    return max(earlier)[1], today + timedelta(days=2)


def file_reminders(live_server) -> dict:
    """Two registered referrals to 第五检察部 (one overdue, one due soon), then the sweep
    as of now, committed. Returns their ids and numbers and what the sweep did."""
    from caseflow.core.calendar.services import load_calendar
    from caseflow.core.db import local_date, utcnow
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.people.models import Person
    from caseflow.referrals import services
    from caseflow.referrals.reminders import sweep

    def work(session):
        now = utcnow()
        today = local_date(now)
        calendar = load_calendar()

        def user(username):
            return session.scalar(sa.select(User).where(User.username == username))

        officer, prosecutor, supervisor = user("fed.officer"), user(PROSECUTOR), user(SUPERVISOR)
        person = session.scalar(sa.select(Person).where(Person.pseudonym == PSEUDONYM))
        receiver = session.scalar(sa.select(Organisation).where(Organisation.name == RECEIVER))
        assert receiver.code == "jh-proc-5"

        def file(slug: str, received: date, handler: User):
            sent_at = _at(received, 10)
            ref = services.save_draft(
                actor=officer, now=sent_at - timedelta(hours=1), person=person, receiver=receiver,
                data=services.ReferralInput(
                    source="hotline", circumstances=f"浏览器测试：提醒（{slug}）",
                    help_requested=["judicial_aid"], consent_on=received - timedelta(days=1),
                    consent_method="written"),
                submission_token=f"browser-reminders-{slug}")
            services.send(ref, actor=officer, now=sent_at)
            services.register(ref, actor=supervisor, now=_at(received, 15),
                              registration_number=f"江汉检五登〔浏览器〕提醒{slug}",
                              received_on=received, handler=handler)
            return ref

        # Received about seven weeks ago: the reply was due about three weeks ago.
        overdue_received = today - timedelta(days=50)
        while not calendar.is_working_day(overdue_received):
            overdue_received -= timedelta(days=1)
        overdue = file("overdue", overdue_received, prosecutor)

        soon_received, extend_to = _receipt_due_soon(calendar, today)
        soon = file("due-soon", soon_received, supervisor)
        if extend_to is not None:
            services.extend_deadline(soon, actor=supervisor, now=now - timedelta(hours=1),
                                     new_due_on=extend_to, reason="浏览器测试：延长至近日")
        assert overdue.reply_due_on < today, overdue.reply_due_on
        assert today < soon.reply_due_on <= today + timedelta(days=DUE_SOON_DAYS), (
            soon.reply_due_on, today)

        result = sweep(now=now)
        session.commit()
        return {"overdue": (overdue.id, overdue.number), "soon": (soon.id, soon.number),
                "today": today, "sweep": result}
    return in_app(live_server, work)


def run_reminder_job_again(live_server):
    """The scheduler's reminder job, through the scheduler's runner: recorded as a run,
    and (same stages, already claimed) nothing new."""
    from caseflow.core.scheduler.registry import JOBS
    from caseflow.core.scheduler.runner import run_job

    return run_job(live_server.app, JOBS["reminder_sweep"])


def notifications_of(live_server, username: str) -> list[dict]:
    from caseflow.core.notifications.models import Notification
    from caseflow.core.orgs.models import User

    def read(session):
        user_id = session.scalar(sa.select(User.id).where(User.username == username))
        return [{"id": n.id, "kind": n.kind, "link": n.link, "read": n.read_at is not None,
                 "number": (n.params or {}).get("number")}
                for n in session.scalars(sa.select(Notification).where(
                    Notification.user_id == user_id).order_by(Notification.id))]
    return in_app(live_server, read)


def unread_of(live_server, username: str) -> int:
    return sum(not n["read"] for n in notifications_of(live_server, username))


def queued_emails_about(live_server, referral_ids) -> list[dict]:
    from caseflow.core.notifications.models import OutboxEmail

    def read(session):
        rows = session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        return [{"id": e.id, "to": e.to_address, "subject": e.subject, "status": e.status}
                for e in rows
                if any(e.dedupe_key.startswith(f"referral:{rid}:") for rid in referral_ids)]
    return in_app(live_server, read)


# -- in the browser --------------------------------------------------------------------------

def bell_count(page) -> int:
    return int(page.get_by_test_id("bell").get_by_test_id("bell-count").inner_text().strip())


def attention_row(page, table: str, referral_id: int):
    return page.get_by_test_id(table).get_by_test_id("attention-row").filter(
        has=page.locator(f"a[href='{REFERRALS}/{referral_id}']"))


def supervisor_reads_his_notifications(tab, live_server, reminders) -> None:
    page = tab.page
    overdue_id, overdue_number = reminders["overdue"]
    soon_id, soon_number = reminders["soon"]
    sign_in(tab, SUPERVISOR)

    unread = unread_of(live_server, SUPERVISOR)
    assert unread > 0, "the sweep left the supervisor no unread notification"
    assert bell_count(page) == unread, f"the bell shows {bell_count(page)}, the database {unread}"
    assert "btn-warning" in page.get_by_test_id("bell").get_attribute("class")

    with page.expect_navigation():
        page.get_by_test_id("bell").click()
    assert path_of(page) == NOTIFICATIONS
    items = page.get_by_test_id("notification")
    texts = items.all_inner_texts()
    for number in (overdue_number, soon_number):
        assert any(number in text for text in texts), f"no notification names {number}: {texts}"
    tab.screenshot("reminders-notifications")

    # Open the overdue referral's notification: its page, and one fewer unread.
    from caseflow.referrals.alerts import KINDS as HAND_OVER_KINDS

    # The reminder (the referral's hand-over reached the supervisor too, when it was sent).
    mine = [n for n in notifications_of(live_server, SUPERVISOR)
            if n["link"] == f"{REFERRALS}/{overdue_id}" and not n["read"]
            and n["kind"] not in HAND_OVER_KINDS]
    assert [n["kind"] for n in mine] == ["referral.overdue"], mine
    item = items.filter(has=page.locator(f"form[action='{NOTIFICATIONS}/{mine[0]['id']}/read']"))
    assert overdue_number in item.inner_text()
    assert "list-group-item-warning" in item.get_attribute("class")  # unread stands out
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    assert path_of(page) == f"{REFERRALS}/{overdue_id}", page.url
    assert page.get_by_test_id("referral-number").inner_text().strip() == overdue_number
    assert bell_count(page) == unread - 1
    assert unread_of(live_server, SUPERVISOR) == unread - 1

    # Back in the list, the one he read is no longer highlighted; then mark all as read.
    with page.expect_navigation():
        page.get_by_test_id("bell").click()
    item = page.get_by_test_id("notification").filter(
        has=page.locator(f"form[action='{NOTIFICATIONS}/{mine[0]['id']}/read']"))
    assert "list-group-item-warning" not in item.get_attribute("class")
    with page.expect_navigation():
        page.get_by_test_id("read-all").click()
    assert path_of(page) == NOTIFICATIONS
    assert page.locator(".alert-success").is_visible()
    assert bell_count(page) == 0
    assert "btn-warning" not in page.get_by_test_id("bell").get_attribute("class")
    assert unread_of(live_server, SUPERVISOR) == 0
    assert page.locator("[data-testid=notification].list-group-item-warning").count() == 0


def supervisor_opens_the_overdue_list(tab, reminders) -> None:
    page = tab.page
    overdue_id, overdue_number = reminders["overdue"]
    soon_id, soon_number = reminders["soon"]
    link = page.get_by_test_id("main-nav").locator(f"a[href='{ATTENTION}']")
    assert link.count() == 1, "the supervisor's menu has no link to the overdue list"
    with page.expect_navigation():
        link.click()
    assert path_of(page) == ATTENTION

    overdue = attention_row(page, "overdue", overdue_id)
    assert overdue.count() == 1, (
        f"{overdue_number} is not in the overdue table: "
        f"{page.get_by_test_id('overdue').inner_text()}")
    assert "table-danger" in overdue.get_attribute("class"), "the overdue row is not red"
    assert overdue.locator(f"a[href='{REFERRALS}/{overdue_id}']").inner_text().strip() == (
        overdue_number)
    assert attention_row(page, "due-soon", overdue_id).count() == 0

    soon = attention_row(page, "due-soon", soon_id)
    assert soon.count() == 1, (
        f"{soon_number} is not in the due-soon table: "
        f"{page.get_by_test_id('due-soon').inner_text()}")
    assert "table-warning" in soon.get_attribute("class")
    assert soon_number in soon.inner_text()
    assert attention_row(page, "overdue", soon_id).count() == 0
    # Every overdue row is red, every due-soon row is not.
    for row in page.get_by_test_id("overdue").get_by_test_id("attention-row").all():
        assert "table-danger" in row.get_attribute("class")
    for row in page.get_by_test_id("due-soon").get_by_test_id("attention-row").all():
        assert "table-danger" not in row.get_attribute("class")
    tab.screenshot("reminders-attention")

    with page.expect_navigation():
        overdue.locator(f"a[href='{REFERRALS}/{overdue_id}']").click()
    assert path_of(page) == f"{REFERRALS}/{overdue_id}"


def prosecutor_is_kept_out(tab) -> None:
    page = tab.page
    sign_in(tab, PROSECUTOR)
    assert page.get_by_test_id("main-nav").locator(f"a[href='{ATTENTION}']").count() == 0
    assert page.locator(f"a[href='{ATTENTION}']").count() == 0
    response = page.goto(ATTENTION)
    assert response.status == 403, f"{PROSECUTOR} opened {ATTENTION} ({response.status})"
    assert page.get_by_test_id("forbidden").is_visible()
    assert page.get_by_test_id("overdue").count() == 0


def sysadmin_sees_the_outbox(tab, live_server, reminders, job_run) -> None:
    page = tab.page
    sign_in(tab, SYSADMIN)
    link = page.get_by_test_id("main-nav").locator(f"a[href='{OUTBOX}']")
    assert link.count() == 1, "the system administrator's menu has no link to the outbox"
    with page.expect_navigation():
        link.click()
    assert path_of(page) == OUTBOX

    emails = queued_emails_about(live_server, [reminders["overdue"][0], reminders["soon"][0]])
    assert emails, "the sweep queued no e-mail for the two referrals"
    assert {e["status"] for e in emails} == {"queued"}
    assert {e["to"] for e in emails} >= {f"{SUPERVISOR}@demo.example.com"}
    rows = page.get_by_test_id("outbox-row")
    shown = rows.all_inner_texts()
    for email in emails:
        # The page names the recipient and the kind of message, never its subject.
        row = page.locator(f"[data-testid=outbox-row][data-outbox-id='{email['id']}']")
        assert row.count() == 1, f"queued e-mail {email['id']} is not listed: {shown}"
        assert email["to"] in row.inner_text() and email["subject"] not in row.inner_text()
        assert row.locator(".badge.text-bg-secondary").count() == 1  # queued, no attempt
        assert "table-danger" not in (row.get_attribute("class") or "")
    for number in (reminders["overdue"][1], reminders["soon"][1]):
        # Administrators see no case records: not even a referral's number.
        assert not any(number in text for text in shown), f"the outbox page names {number}"

    # The queued filter lists them too.
    with page.expect_navigation():
        page.locator(f"main a[href='{OUTBOX}?status=queued']").click()
    for email in emails:
        assert page.locator(f"[data-testid=outbox-row][data-outbox-id='{email['id']}']").count() == 1

    # The scheduler section: the reminder job's run, succeeded.
    runs = page.get_by_test_id("job-run").filter(has_text="reminder_sweep")
    assert runs.count() >= 1, page.locator("main").inner_text()
    assert runs.first.locator(".badge.text-bg-success").count() == 1
    assert job_run.detail in runs.first.inner_text()
    tab.screenshot("reminders-outbox")


# -- the journey ------------------------------------------------------------------------------

def test_supervisor_sees_the_bell_reads_reminders_and_opens_the_overdue_list(new_tab,
                                                                            live_server):
    reminders = file_reminders(live_server)
    swept = reminders["sweep"]
    assert swept.stages_sent >= 2 and swept.notifications >= 2 and swept.emails >= 2, swept
    job_run = run_reminder_job_again(live_server)
    assert job_run.status == "succeeded", job_run.detail
    assert job_run.detail.startswith("0 reminders queued"), (
        f"the second sweep sent reminders again: {job_run.detail}")

    supervisor = new_tab()
    supervisor_reads_his_notifications(supervisor, live_server, reminders)
    supervisor_opens_the_overdue_list(supervisor, reminders)
    supervisor.assert_no_problems()

    prosecutor = new_tab()
    prosecutor_is_kept_out(prosecutor)
    prosecutor.assert_no_problems()

    admin = new_tab()
    sysadmin_sees_the_outbox(admin, live_server, reminders, job_run)
    admin.assert_no_problems()
