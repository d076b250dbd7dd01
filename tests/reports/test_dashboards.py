"""The role dashboards on the home page: who sees which panel, the counts and their links,
that a count equals the rows behind its link, and that the page costs the same number of
statements whatever the number of rows.

The data is built with the services (the casts of the referral, case and assistance
tests); only the reply due dates are then moved to put referrals on either side of
"overdue" and "due soon" (the deadline rules have their own tests)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from caseflow.core.db import local_date
from caseflow.core.notifications.models import OutboxEmail
from caseflow.core.orgs.roles import Role
from caseflow.core.scheduler.models import JobRun
from caseflow.core.scheduler.registry import JOBS
from caseflow.referrals import services as referral_services
from tests import factories
from tests.assistance.helpers import AssistCast, at

CASE_PANELS = ("dashboard-my-work", "dashboard-supervisor", "dashboard-approvals")


@pytest.fixture
def cast(world):
    return AssistCast(world)


@pytest.fixture
def today(world):
    return local_date(world.now)


def html_of(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def panels(html: str) -> set[str]:
    return set(re.findall(r'data-testid="(dashboard-[a-z-]+|panel-[a-z-]+)"', html))


def count(html: str, testid: str) -> int:
    match = re.search(rf'data-testid="{testid}-count">(\d+)<', html)
    assert match, f"no figure {testid}"
    return int(match.group(1))


def link(html: str, testid: str) -> str:
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*data-testid="{testid}"', html)
    assert match, f"no link {testid}"
    return unescape(match.group(1))


def rows(html: str, testid: str) -> int:
    return html.count(f'data-testid="{testid}"')


def referral_rows(client, url: str) -> set[str]:
    html = client.get(url).get_data(as_text=True)
    return set(re.findall(r'href="/referrals/(\d+)"', html))


def registered(cast, today, due_in_days: int, *, handler=None):
    """A referral registered by the 5th department (handled by ``cast.prosecutor`` unless
    the supervisor reassigns it to ``handler``), its reply due ``due_in_days`` from today."""
    ref = cast.registered(cast.world.now)
    if handler is not None:
        referral_services.assign_handler(ref, actor=cast.proc_supervisor, now=cast.world.now,
                                         handler=handler, reason="工作调整")
    ref.reply_due_on = today + timedelta(days=due_in_days)
    return ref


# -- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PARTNER_WORKER, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN,
                                  Role.AUDIT_ADMIN])
def test_partner_workers_and_administrators_see_no_case_panel(client, login_as, cast, today, role):
    registered(cast, today, -2)
    login_as(role)
    assert not panels(html_of(client)) & set(CASE_PANELS)


def test_a_handler_sees_their_own_open_referrals_by_due_date_and_nothing_of_others(
        client, login_as, cast, today, db):
    overdue = registered(cast, today, -2)
    soon = registered(cast, today, 2)
    later = registered(cast, today, 10)
    others = registered(cast, today, -5, handler=cast.other_prosecutor)
    replied = registered(cast, today, -1)
    referral_services.reply(replied, actor=cast.prosecutor, now=cast.world.now, outcome="other",
                            text="已转交其他部门处理。", reply_on=today)
    db.session.flush()

    login_as(cast.prosecutor)
    html = html_of(client)
    assert {"dashboard-my-work"} <= panels(html)
    assert "dashboard-supervisor" not in panels(html) and "dashboard-approvals" not in panels(html)
    assert (count(html, "my-open"), count(html, "my-overdue"),
            count(html, "my-due-soon")) == (3, 1, 2)
    shown = re.findall(r'href="/referrals/(\d+)"', html.split('data-testid="my-referrals"')[1]
                       .split("</ul>")[0])
    assert shown == [str(overdue.id), str(soon.id), str(later.id)]  # by due date
    assert str(others.id) not in shown and str(replied.id) not in shown
    assert 'text-bg-danger" data-testid="my-overdue-count"' in html
    assert 'text-bg-warning" data-testid="my-due-soon-count"' in html
    # the counts equal the rows behind their links
    assert referral_rows(client, link(html, "my-overdue")) == {str(overdue.id)}
    assert referral_rows(client, link(html, "my-due-soon")) == {str(overdue.id), str(soon.id)}
    assert link(html, "my-referrals-all") == "/referrals?box=mine"


def test_the_officer_sees_the_assistance_items_she_is_responsible_for(client, login_as, cast, db):
    plan = cast.plan(at(local_date(cast.world.now) - timedelta(days=30)))
    early = at(local_date(cast.world.now) - timedelta(days=20))
    late_answer = cast.sent_item(plan, early, kind="counselling")
    waiting = cast.sent_item(plan, cast.world.now, kind="job_training", provider=cast.employment)
    cast.item(plan, cast.world.now, kind="legal_aid", provider=cast.world.justice_bureau,
              frequency="once", legal_matter="车辆所有权纠纷")  # planned: nothing waits yet
    other_officer = factories.make_user(cast.world, roles={Role.FEDERATION_OFFICER},
                                        org=cast.world.federation)
    db.session.flush()

    login_as(cast.officer)
    html = html_of(client)
    assert (count(html, "my-items-open"), count(html, "my-items-overdue")) == (2, 1)
    items = re.findall(r'href="/assistance/items/(\d+)"', html)
    assert items == [str(late_answer.id), str(waiting.id)]  # by the date each waits for

    client.submit("/logout", page="/")
    login_as(other_officer)
    html = html_of(client)
    assert (count(html, "my-items-open"), count(html, "my-items-overdue")) == (0, 0)
    assert "/assistance/items/" not in html


# -- the supervisor -------------------------------------------------------------------------


def test_the_supervisor_sees_overdue_and_due_soon_work_of_the_organisation(
        client, login_as, cast, today, db):
    overdue = [registered(cast, today, -3), registered(cast, today, -1)]
    due_today = registered(cast, today, 0)
    soon = registered(cast, today, 3)
    registered(cast, today, 4)  # not yet due soon
    elsewhere = registered(cast, today, -2)
    elsewhere.receiver_org_id = cast.world.procuratorate.id  # above the supervisor's department
    db.session.flush()

    login_as(cast.proc_supervisor)
    html = html_of(client)
    assert {"dashboard-my-work", "dashboard-supervisor", "dashboard-approvals"} <= panels(html)
    assert count(html, "org-overdue") == 2
    assert count(html, "org-due-soon") == 4  # within 3 days, the overdue included
    assert count(html, "org-registration-late") == 0
    # the counts equal the rows behind the links
    assert referral_rows(client, link(html, "org-overdue")) == {str(r.id) for r in overdue}
    assert referral_rows(client, link(html, "org-due-soon")) == {
        str(r.id) for r in [*overdue, due_today, soon]}
    shown = re.findall(r'href="/referrals/(\d+)"', html.split('data-testid="org-referrals"')[1]
                       .split("</ul>")[0])
    assert shown[:2] == [str(overdue[0].id), str(overdue[1].id)] and str(elsewhere.id) not in shown
    assert link(html, "org-attention-all") == "/referrals/attention"


def test_the_supervisors_overdue_is_the_reports_overdue_now(client, login_as, cast, today, db):
    """One definition: the dashboard's overdue referrals are the report's "overdue now" of the
    referrals the supervisor's organisation and those below it received, the same day, and
    as many as the rows of the list the count links to."""
    from caseflow.core.orgs.services import subtree_ids
    from caseflow.reports import definitions

    overdue = [registered(cast, today, -4), registered(cast, today, -1)]
    registered(cast, today, 0)  # due today: not overdue yet
    registered(cast, today, 2)
    above = registered(cast, today, -2)
    above.receiver_org_id = cast.world.procuratorate.id  # above the supervisor's department
    db.session.flush()

    login_as(cast.proc_supervisor)
    html = html_of(client)
    department = subtree_ids(cast.proc_supervisor.organisation_id)
    assert count(html, "org-overdue") == definitions.overdue_now(department, today) == len(overdue)
    assert len(referral_rows(client, link(html, "org-overdue"))) == len(overdue)
    counts = definitions.open_referrals(department, today)
    assert (count(html, "org-due-soon"), count(html, "org-registration-late")) == (
        counts.due_soon, counts.registration_late) == (4, 0)
    # the report's figure for the district procuratorate counts the one received above too
    assert definitions.overdue_now(subtree_ids(cast.world.procuratorate.id), today) == 3


def test_the_supervisor_sees_only_five_rows_and_the_link_to_the_rest(client, login_as, cast, today):
    for days in range(-7, 0):
        registered(cast, today, days)
    login_as(cast.proc_supervisor)
    html = html_of(client)
    assert count(html, "org-overdue") == 7
    shown = html.split('data-testid="org-referrals"')[1].split("</ul>")[0]
    assert rows(shown, "dashboard-referral") == 5
    assert len(referral_rows(client, link(html, "org-overdue"))) == 7


def test_proposals_awaiting_approval(client, login_as, cast, db):
    first = cast.proposed(cast.world.now)
    second = cast.proposed(cast.world.now)
    cast.investigating(cast.world.now)  # not proposed yet
    login_as(cast.proc_supervisor)
    html = html_of(client)
    assert count(html, "approvals-waiting") == 2
    shown = re.findall(r'href="/cases/(\d+)"', html.split('data-testid="approval-cases"')[1]
                       .split("</ul>")[0])
    assert sorted(shown) == sorted([str(first.id), str(second.id)])
    assert link(html, "approvals-waiting") == "/cases/approvals"
    queue_page = client.get("/cases/approvals").get_data(as_text=True)
    queue = set(re.findall(r'href="/cases/(\d+)"', queue_page))
    assert queue == {str(first.id), str(second.id)}

    client.submit("/logout", page="/")
    login_as(cast.fed_supervisor)  # a federation supervisor reviews no proposals
    assert "dashboard-approvals" not in panels(html_of(client))


def test_the_federation_supervisor_sees_the_overdue_assistance_items(client, login_as, cast, db):
    plan = cast.plan(at(local_date(cast.world.now) - timedelta(days=30)))
    early = at(local_date(cast.world.now) - timedelta(days=20))
    late = [cast.sent_item(plan, early), cast.sent_item(plan, early, kind="job_training",
                                                        provider=cast.employment)]
    cast.sent_item(plan, cast.world.now, kind="legal_aid", provider=cast.world.justice_bureau,
                   frequency="once", legal_matter="车辆所有权纠纷")  # answer not due yet
    db.session.flush()

    login_as(cast.fed_supervisor)
    html = html_of(client)
    assert count(html, "org-items-overdue") == 2
    assert count(html, "org-plans-overdue") == 1
    items = re.findall(r'href="/assistance/items/(\d+)"', html.split('data-testid="org-items"')[1]
                       .split("</ul>")[0])
    assert sorted(items) == sorted(str(i.id) for i in late)
    plans = set(re.findall(r'href="/assistance/(\d+)"', client.get(link(html, "org-plans-overdue"))
                           .get_data(as_text=True)))
    assert plans == {str(plan.id)}


# -- the administrator ----------------------------------------------------------------------


def test_the_system_administrator_sees_the_scheduler_health_and_the_outbox(client, login_as, db,
                                                                           world):
    now = world.now
    name, job = sorted(JOBS.items())[0]
    db.session.add(JobRun(job=name, started_at=now - timedelta(seconds=3 * job.every_seconds),
                          finished_at=now - timedelta(seconds=3 * job.every_seconds - 1),
                          status="succeeded"))
    other, other_job = sorted(JOBS.items())[1]
    db.session.add(JobRun(job=other,
                          started_at=now - timedelta(seconds=other_job.every_seconds * 5),
                          finished_at=now, status="failed"))
    db.session.add(JobRun(job=other, started_at=now - timedelta(seconds=10), finished_at=now,
                          status="succeeded"))
    emails = [(0, "queued"), (2, "queued"), (1, "sending"), (1, "sent")]
    for n, (attempts, status) in enumerate(emails):
        db.session.add(OutboxEmail(dedupe_key=f"dash-{n}", created_at=now, subject="s", body="b",
                                   to_address="a@example.com", status=status, attempts=attempts,
                                   next_attempt_at=now, sent_at=now if status == "sent" else None))
    db.session.flush()

    login_as(Role.SYSTEM_ADMIN)
    html = html_of(client)
    assert "panel-system-admin" in panels(html)
    assert re.search(rf'data-testid="job-{name}" data-late="yes"', html)  # three intervals ago
    assert re.search(rf'data-testid="job-{other}" data-late="no"', html)  # its last run is recent
    # A job recorded only when it has work (outbox_wake) is not listed: idle is not late.
    never = [n for n in JOBS if n not in (name, other) and JOBS[n].only_when is None]
    for n in never:
        assert re.search(rf'data-testid="job-{n}" data-late="yes"', html)  # never run
    assert not re.search(r'data-testid="job-outbox_wake"', html)
    assert count(html, "outbox-queued") == 2
    assert count(html, "outbox-failing") == 2
    assert link(html, "outbox-failing") == "/admin/outbox?status=failing"
    failing_page = client.get(link(html, "outbox-failing")).get_data(as_text=True)
    assert failing_page.count('data-testid="outbox-row"') == 2
    queued_page = client.get(link(html, "outbox-queued")).get_data(as_text=True)
    assert queued_page.count('data-testid="outbox-row"') == 2


# -- bounded cost ---------------------------------------------------------------------------


@contextmanager
def statements(db):
    seen = []

    def count_it(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count_it)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_it)


def _home_statements(client, db) -> int:
    with statements(db) as seen:
        html_of(client)
    return len(seen)


@pytest.mark.parametrize("who", ["proc_supervisor", "prosecutor", "fed_supervisor"])
def test_the_home_page_costs_the_same_statements_for_few_and_many_rows(
        client, login_as, cast, today, db, who):
    plan = cast.plan(at(local_date(cast.world.now) - timedelta(days=30)))
    early = at(local_date(cast.world.now) - timedelta(days=20))
    cast.sent_item(plan, early)
    cast.proposed(cast.world.now)
    for days in range(-3, 3):
        registered(cast, today, days)
    db.session.flush()
    login_as(getattr(cast, who))
    html_of(client)  # warm: the first page of a session may load more than the rest
    few = _home_statements(client, db)

    for days in range(-20, 20):
        registered(cast, today, days)
    for _ in range(6):
        cast.sent_item(plan, early, kind="job_training", provider=cast.employment)
    cast.proposed(cast.world.now)
    cast.proposed(cast.world.now)
    db.session.flush()
    many = _home_statements(client, db)
    assert few == many, (few, many)
    assert 5 < many < 40, many
