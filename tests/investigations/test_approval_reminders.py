"""Reminders for proposals waiting for approval: after more than 3 working days, then
weekly, to the supervisors of the case's procuratorate, exactly once per stage."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.calendar.rules import WorkingCalendar
from caseflow.core.db import local_zone
from caseflow.core.notifications.delivery import deliver_due
from caseflow.core.notifications.models import Notification, OutboxEmail, ReminderLedger
from caseflow.core.notifications.services import notification_text
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from caseflow.investigations import services as cases
from caseflow.investigations.reminders import KIND, stages_for, sweep_approvals
from caseflow.referrals.reminders import sweep as referral_sweep
from tests import factories
from tests.referrals.helpers import Cast

#: Wed 30 Dec 2026: then Thu 31 (1st working day), Fri 1 Jan (New Year), the weekend,
#: Mon 4 (2nd), Tue 5 (3rd): more than 3 working days have passed on Wed 6 Jan.
PROPOSED_ON = date(2026, 12, 30)
FIRST = date(2027, 1, 6)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone())


@pytest.fixture
def cast(world):
    world.procuratorate.aid_case_prefix = "测检救"
    return Cast(world)


def open_and_propose(cast, now: datetime, *, proposer=None):
    """A case opened from a registered referral, investigated jointly, proposed at ``now``."""
    referral = cast.registered(now)
    case = cases.open_case(actor=cast.prosecutor, now=now, handler=cast.prosecutor, referral=referral,
                           data=cases.CaseInput(summary="丈夫因刑事案件去世，申请司法救助。",
                                                application_received_on=now.astimezone(local_zone()).date()))
    cases.start_investigation(case, actor=cast.prosecutor, now=now, plan="走访街道、社区和家庭。",
                              members=[cast.officer, cast.prosecutor])
    propose(case, proposer or cast.prosecutor, now)
    return case


def propose(case, actor, now):
    cases.propose(case, actor=actor, now=now, data=cases.ProposalInput(
        findings="家庭收入骤减，两名子女在读。", amount="30000", reasons="符合司法救助条件。"))
    _db.session.flush()


@pytest.fixture
def case(cast, clock, db):
    clock.set(at(PROPOSED_ON).astimezone(timezone.utc))
    return open_and_propose(cast, clock.now)


def notified(db, user) -> list[tuple[str, str | None]]:
    # The reminders only: the proposal's hand-over alert (investigations.alerts) is not one.
    return [(n.kind, n.link) for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id, Notification.kind == KIND)
        .order_by(Notification.id))]


def emails_to(db, user) -> list[OutboxEmail]:
    return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_user_id == user.id)
                              .order_by(OutboxEmail.id)).all()


def ledger(db, case) -> set[tuple[str, str]]:
    return {(row.stage, row.outcome) for row in db.session.scalars(
        sa.select(ReminderLedger).where(ReminderLedger.subject_type == "aid_case",
                                        ReminderLedger.subject_id == case.id))}


def test_stages_count_working_days_after_the_day_of_the_proposal():
    calendar = WorkingCalendar()
    kwargs = dict(proposed_on=PROPOSED_ON, calendar=calendar, working_days=3)
    assert stages_for(today=date(2027, 1, 5), **kwargs) == []
    assert [(s.name, s.on) for s in stages_for(today=FIRST, **kwargs)] == [("waiting", FIRST)]
    assert [s.name for s in stages_for(today=date(2027, 1, 12), **kwargs)] == ["waiting"]
    assert [(s.name, s.on) for s in stages_for(today=date(2027, 1, 13), **kwargs)] == [
        ("waiting", FIRST), ("waiting_w1", date(2027, 1, 13))]
    # Proposed on a Friday: Mon, Tue, Wed are the 3 working days; reminded on Thursday.
    assert stages_for(proposed_on=date(2026, 11, 27), today=date(2026, 12, 3), calendar=calendar,
                      working_days=3)[0].on == date(2026, 12, 3)


def test_the_supervisor_hears_once_after_more_than_three_working_days(app, db, cast, case, smtp_server):
    assert case.state == "proposed"
    for day in (date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3),
                date(2027, 1, 4), date(2027, 1, 5)):  # New Year, a weekend, 3 working days
        for hour in (0, 9, 23):
            assert sweep_approvals(at(day, hour)).stages_sent == 0, day
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.kind == KIND)) == 0

    result = sweep_approvals(at(FIRST, 9))
    assert (result.stages_sent, result.notifications, result.emails) == (1, 1, 1)
    assert notified(db, cast.proc_supervisor) == [(KIND, f"/cases/{case.id}")]
    mails = emails_to(db, cast.proc_supervisor)
    assert len(mails) == 1
    assert ledger(db, case) == {("waiting@2026-12-30", "sent")}

    # The same day, the next day: nothing more.
    for moment in (at(FIRST, 9), at(FIRST, 17), at(date(2027, 1, 7)), at(date(2027, 1, 12), 23)):
        again = sweep_approvals(moment)
        assert (again.stages_sent, again.notifications, again.emails) == (0, 0, 0)
    assert len(notified(db, cast.proc_supervisor)) == 1 and len(emails_to(db, cast.proc_supervisor)) == 1

    # Nobody else: not the proposer, not the federation's supervisor or officer.
    for user in (cast.prosecutor, cast.fed_supervisor, cast.officer, cast.other_prosecutor):
        assert notified(db, user) == [] and emails_to(db, user) == []

    notification = db.session.scalars(sa.select(Notification).where(Notification.kind == KIND)).one()
    text = notification_text(notification.kind, notification.params)
    assert case.number in text and "小雨" in text and "2026-12-30" in text and "3" in text

    db.session.flush()
    delivery = deliver_due(app, now=at(FIRST, 10))
    assert (delivery.sent, delivery.failed) == (1, 0)
    [message] = smtp_server.messages
    assert message["to"] == [cast.proc_supervisor.email]
    assert case.number in message["subject"]
    assert f"http://caseflow.test/cases/{case.id}" in message["body"]
    assert "小雨" in message["body"]
    assert "陈雨婷" not in message["body"] and "420103" not in message["body"]


def test_a_weekly_repeat_while_it_still_waits(db, cast, case):
    assert sweep_approvals(at(FIRST)).stages_sent == 1
    for day in range(7, 13):
        assert sweep_approvals(at(date(2027, 1, day))).stages_sent == 0
    result = sweep_approvals(at(date(2027, 1, 13)))
    assert (result.stages_sent, result.notifications, result.emails) == (1, 1, 1)
    assert sweep_approvals(at(date(2027, 1, 13), 15)).stages_sent == 0
    assert sweep_approvals(at(date(2027, 1, 20))).stages_sent == 1
    assert ledger(db, case) == {("waiting@2026-12-30", "sent"), ("waiting_w1@2026-12-30", "sent"),
                                ("waiting_w2@2026-12-30", "sent")}
    assert notified(db, cast.proc_supervisor) == [(KIND, f"/cases/{case.id}")] * 3
    assert len(emails_to(db, cast.proc_supervisor)) == 3
    latest = db.session.scalars(sa.select(Notification).where(Notification.kind == KIND)
                                .order_by(Notification.id.desc())).first()
    assert latest.params["days"] == 13  # 31 Dec, 4-8 Jan, 11-15 Jan, 18-19 Jan


def test_after_days_down_only_the_latest_stage_goes_out(db, cast, case):
    result = sweep_approvals(at(date(2027, 1, 21)))  # the first sweep in over two weeks
    assert (result.stages_sent, result.stages_skipped, result.notifications) == (1, 1, 1)
    assert ledger(db, case) == {("waiting@2026-12-30", "skipped"), ("waiting_w2@2026-12-30", "sent")}


def test_no_reminder_once_approved(db, cast, case):
    assert sweep_approvals(at(FIRST)).stages_sent == 1
    cases.review(case, actor=cast.proc_supervisor, now=at(date(2027, 1, 7)), outcome="approve",
                 comment=None)
    db.session.flush()
    assert case.state == "approved"
    for day in (date(2027, 1, 13), date(2027, 1, 20), date(2027, 2, 3)):
        assert sweep_approvals(at(day)).stages_sent == 0
    assert len(notified(db, cast.proc_supervisor)) == 1


def test_approved_in_time_means_no_reminder_at_all(db, cast, case):
    cases.review(case, actor=cast.proc_supervisor, now=at(date(2027, 1, 4)), outcome="approve",
                 comment="同意")
    db.session.flush()
    assert sweep_approvals(at(date(2027, 1, 20))).stages_sent == 0
    assert db.session.scalar(sa.select(sa.func.count(ReminderLedger.id))) == 0


def test_a_proposal_made_again_after_a_return_starts_a_new_clock(db, cast, case):
    assert sweep_approvals(at(FIRST)).stages_sent == 1
    cases.review(case, actor=cast.proc_supervisor, now=at(date(2027, 1, 7)), outcome="return",
                 comment="请补充家庭收入材料。")
    db.session.flush()
    assert sweep_approvals(at(date(2027, 1, 7), 15)).stages_sent == 0  # investigating again
    propose(case, cast.prosecutor, at(date(2027, 1, 8)))  # Fri: Mon 11, Tue 12, Wed 13
    for day in (date(2027, 1, 11), date(2027, 1, 12), date(2027, 1, 13)):
        assert sweep_approvals(at(day)).stages_sent == 0, day  # no weekly repeat of the old clock
    assert sweep_approvals(at(date(2027, 1, 14))).stages_sent == 1
    assert ledger(db, case) == {("waiting@2026-12-30", "sent"), ("waiting@2027-01-08", "sent")}
    assert len(notified(db, cast.proc_supervisor)) == 2
    assert len(emails_to(db, cast.proc_supervisor)) == 2


def test_only_the_supervisors_of_the_cases_procuratorate_hear(db, cast, world, clock):
    clock.set(at(PROPOSED_ON).astimezone(timezone.utc))
    second = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.department5)
    above = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)
    by_handler = open_and_propose(cast, clock.now)
    # A supervisor who proposes is not reminded to review their own proposal.
    by_supervisor = open_and_propose(cast, clock.now, proposer=cast.proc_supervisor)
    result = sweep_approvals(at(FIRST))
    assert result.stages_sent == 2
    assert notified(db, cast.proc_supervisor) == [(KIND, f"/cases/{by_handler.id}")]
    assert notified(db, second) == [(KIND, f"/cases/{by_handler.id}"), (KIND, f"/cases/{by_supervisor.id}")]
    assert notified(db, above) == []  # the department has supervisors of its own
    assert notified(db, cast.fed_supervisor) == [] and emails_to(db, cast.fed_supervisor) == []
    assert {m.to_user_id for m in db.session.scalars(sa.select(OutboxEmail))} == {
        cast.proc_supervisor.id, second.id}


def test_when_the_proposer_is_the_departments_only_supervisor_the_level_above_hears(db, cast, world,
                                                                                     clock):
    clock.set(at(PROPOSED_ON).astimezone(timezone.utc))
    above = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)
    case = open_and_propose(cast, clock.now, proposer=cast.proc_supervisor)
    assert sweep_approvals(at(FIRST)).notifications == 1
    assert notified(db, above) == [(KIND, f"/cases/{case.id}")]
    assert notified(db, cast.proc_supervisor) == []


def test_a_supervisor_who_chose_the_digest_gets_it_there(app, db, cast, case, smtp_server):
    cast.proc_supervisor.email_preference = "digest"
    db.session.flush()
    result = sweep_approvals(at(FIRST, 7))
    assert (result.notifications, result.emails) == (1, 0)  # in the app at once
    assert emails_to(db, cast.proc_supervisor) == []
    referral_sweep(now=at(FIRST, 9))  # the daily digest, after the digest hour
    referral_sweep(now=at(FIRST, 15))
    [digest] = emails_to(db, cast.proc_supervisor)
    assert digest.dedupe_key == f"digest:{cast.proc_supervisor.id}:{FIRST.isoformat()}"
    assert case.number in digest.body and f"http://caseflow.test/cases/{case.id}" in digest.body
    assert "陈雨婷" not in digest.body
    db.session.flush()
    assert deliver_due(app, now=at(FIRST, 16)).sent == 1
    assert [m["to"] for m in smtp_server.messages] == [[cast.proc_supervisor.email]]


def test_the_number_of_working_days_is_a_setting(db, cast, case, world):
    from caseflow.core.settings.services import change_setting

    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN})
    change_setting("approval_reminder_working_days", 5, actor=admin, now=at(PROPOSED_ON))
    db.session.flush()
    # 31 Dec, 4, 5, 6, 7 Jan are the 5 working days: reminded on Fri 8 Jan.
    assert sweep_approvals(at(date(2027, 1, 7))).stages_sent == 0
    assert sweep_approvals(at(date(2027, 1, 8))).stages_sent == 1


def test_the_scheduled_job_and_the_cli(app, db, cast, case):
    from caseflow.core.scheduler.registry import JOBS

    job = JOBS["approval_reminders"]
    assert job.every_seconds == 300
    assert sweep_approvals(at(date(2027, 1, 5))).stages_sent == 0
    db.session.flush()
    run = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2027-01-06 09:00"])
    assert run.exit_code == 0, run.output
    assert run.output.startswith("0 reminders queued")
    assert "1 approval reminders queued (0 stale stages skipped, 1 notifications, 1 e-mails)" in run.output
    again = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2027-01-06 10:00"])
    assert "0 approval reminders queued" in again.output
    assert job.func(at(FIRST, 11)).startswith("0 approval reminders queued")
    assert job.func(at(date(2027, 1, 13))).startswith("1 approval reminders queued")
    assert len(notified(db, cast.proc_supervisor)) == 2
