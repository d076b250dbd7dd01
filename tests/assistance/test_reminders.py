"""Reminders for assistance items: the provider's answer after its working days, a missed
session (or follow-up contact) the day after and weekly while missed, exactly once each."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa

from caseflow.assistance import services
from caseflow.assistance.reminders import (
    KIND_ANSWER_DUE, KIND_FOLLOW_UP_OVERDUE, KIND_NOT_ANSWERED, KIND_SESSION_OVERDUE,
    acceptance_stage, missed_query, missed_stages, sweep_assistance,
)
from caseflow.core.db import local_zone
from caseflow.core.notifications.delivery import deliver_due
from caseflow.core.notifications.models import Notification, OutboxEmail, ReminderLedger
from caseflow.core.notifications.services import notification_text
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.extensions import db as _db
from tests import factories
from tests.referrals.helpers import Cast

#: Mon 30 Nov 2026: the provider has Tue 1, Wed 2 and Thu 3 Dec to answer (3 working
#: days); unanswered, it is late on Fri 4 Dec.
SENT_ON = date(2026, 11, 30)
ANSWER_DUE = date(2026, 12, 3)
ANSWER_LATE = date(2026, 12, 4)
#: Weekly counselling from Mon 7 Dec, accepted on Tue 1 Dec: the first session is due on
#: 7 Dec, missed on the 8th, reminded again on the 15th, the 22nd …
FIRST_SESSION_DUE = date(2026, 12, 7)
MISSED = date(2026, 12, 8)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone()).astimezone(timezone.utc)


@pytest.fixture
def cast(world, db):
    return Cast(world)


@pytest.fixture
def plan(cast):
    return services.open_plan(actor=cast.officer, now=at(date(2026, 11, 27)), person=cast.person,
                              summary="心理疏导与法律援助")


def add(cast, plan, *, kind="counselling", provider=None, officer=None, frequency="weekly",
        starts_on=FIRST_SESSION_DUE, now=None):
    return services.add_item(plan, actor=cast.officer, now=now or at(date(2026, 11, 27)),
                             data=services.ItemInput(
                                 kind=kind, beneficiary=cast.person,
                                 provider=provider or cast.world.justice_bureau,
                                 officer=officer or cast.officer, frequency=frequency,
                                 starts_on=starts_on))


def sent(cast, plan, **kwargs):
    item = add(cast, plan, **kwargs)
    services.send_to_provider(item, actor=cast.officer, now=at(SENT_ON))
    _db.session.flush()
    assert (item.sent_on, item.acceptance_due_on) == (SENT_ON, ANSWER_DUE)
    return item


def accepted(cast, plan, *, by=None, **kwargs):
    item = sent(cast, plan, **kwargs)
    services.accept(item, actor=by or cast.partner, now=at(date(2026, 12, 1)))
    _db.session.flush()
    return item


def session(item, actor, held_on: date, now: datetime):
    services.record_session(item, actor=actor, now=now, data=services.SessionInput(
        held_on=held_on, attended="本人", notes="个体心理疏导，情绪较前稳定。"))
    _db.session.flush()


#: The reminders only: the hand-over alerts of ``assistance.alerts`` are not reminders.
REMINDERS = Notification.kind.in_([KIND_ANSWER_DUE, KIND_NOT_ANSWERED, KIND_SESSION_OVERDUE,
                                   KIND_FOLLOW_UP_OVERDUE])


def notified(db, user) -> list[tuple[str, str | None]]:
    return [(n.kind, n.link) for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id, REMINDERS)
        .order_by(Notification.id))]


def emails_to(db, user) -> list[OutboxEmail]:
    return db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_user_id == user.id)
                              .order_by(OutboxEmail.id)).all()


def ledger(db, item) -> set[tuple[str, str]]:
    return {(row.stage, row.outcome) for row in db.session.scalars(
        sa.select(ReminderLedger).where(ReminderLedger.subject_type == "assistance_item",
                                        ReminderLedger.subject_id == item.id))}


def counts(result) -> tuple[int, int, int, int]:
    return result.stages_sent, result.stages_skipped, result.notifications, result.emails


def test_stage_days():
    assert acceptance_stage(acceptance_due_on=ANSWER_DUE, today=ANSWER_DUE) is None
    assert acceptance_stage(acceptance_due_on=ANSWER_DUE, today=ANSWER_LATE).on == ANSWER_LATE
    late = acceptance_stage(acceptance_due_on=ANSWER_DUE, today=date(2027, 2, 1))
    assert (late.name, late.on) == ("acceptance", ANSWER_LATE)
    assert missed_stages(due_on=FIRST_SESSION_DUE, today=FIRST_SESSION_DUE) == []
    assert [(s.name, s.on) for s in missed_stages(due_on=FIRST_SESSION_DUE, today=MISSED)] == [
        ("missed", MISSED)]
    assert [s.name for s in missed_stages(due_on=FIRST_SESSION_DUE, today=date(2026, 12, 14))] == [
        "missed"]
    stages = missed_stages(due_on=FIRST_SESSION_DUE, today=date(2026, 12, 23))
    assert [(s.name, s.on) for s in stages] == [("missed", MISSED),
                                                ("missed_w2", date(2026, 12, 22))]


# -- the provider's answer ----------------------------------------------------------------------


def test_an_unanswered_item_reaches_the_agencys_workers_and_the_officer_once(
        app, db, cast, plan, world, clock, smtp_server):
    second_worker = factories.make_user(world, roles={Role.PARTNER_WORKER},
                                        org=world.justice_bureau)
    left = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau,
                               is_active=False)
    centre = factories.make_org("测试区就业服务中心", OrganisationKind.PARTNER, now=clock.now)
    other_agency = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=centre)
    item = sent(cast, plan)
    for day in (SENT_ON, date(2026, 12, 1), date(2026, 12, 2), ANSWER_DUE):
        for hour in (0, 9, 23):
            assert counts(sweep_assistance(at(day, hour))) == (0, 0, 0, 0), (day, hour)
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(REMINDERS)) == 0

    result = sweep_assistance(at(ANSWER_LATE))
    assert counts(result) == (1, 0, 3, 3)
    link = f"/assistance/items/{item.id}"
    assert notified(db, cast.partner) == [(KIND_ANSWER_DUE, link)]
    assert notified(db, second_worker) == [(KIND_ANSWER_DUE, link)]
    assert notified(db, cast.officer) == [(KIND_NOT_ANSWERED, link)]
    assert ledger(db, item) == {("acceptance@2026-11-30", "sent")}
    # Nobody else: not another agency, not the supervisors, not a departed worker.
    for user in (other_agency, left, cast.fed_supervisor, cast.street_officer, cast.prosecutor,
                 cast.proc_supervisor):
        assert notified(db, user) == [] and emails_to(db, user) == []

    for moment in (at(ANSWER_LATE, 17), at(date(2026, 12, 5)), at(date(2026, 12, 11)),
                   at(date(2027, 1, 4))):
        assert counts(sweep_assistance(moment)) == (0, 0, 0, 0), moment
    assert len(notified(db, cast.partner)) == 1 and len(emails_to(db, cast.partner)) == 1

    texts = {n.kind: notification_text(n.kind, n.params)
             for n in db.session.scalars(sa.select(Notification).where(REMINDERS))}
    for text in texts.values():
        assert "小雨" in text and "2026-11-30" in text and "2026-12-03" in text
    assert world.justice_bureau.name in texts[KIND_NOT_ANSWERED]

    db.session.flush()
    delivery = deliver_due(app, now=at(ANSWER_LATE, 10))
    assert (delivery.sent, delivery.failed) == (3, 0)
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(
        [cast.partner.email, second_worker.email, cast.officer.email])
    for message in smtp_server.messages:
        assert f"http://caseflow.test/assistance/items/{item.id}" in message["body"]
        assert "小雨" in message["body"] or "小雨" in message["subject"]
        for secret in ("陈雨婷", "420103", "13871234567", "某社区"):
            assert secret not in message["body"] and secret not in message["subject"]
    assert deliver_due(app, now=at(ANSWER_LATE, 11)).sent == 0


def test_answered_in_time_means_no_reminder(db, cast, plan):
    item = sent(cast, plan)
    services.accept(item, actor=cast.partner, now=at(ANSWER_DUE, 17))
    _db.session.flush()
    assert counts(sweep_assistance(at(ANSWER_LATE))) == (0, 0, 0, 0)
    declined = sent(cast, plan)
    services.decline(declined, actor=cast.partner, now=at(ANSWER_DUE), reason="本局暂无此项服务")
    _db.session.flush()
    # (on the 7th, the day the accepted item's first session is due: not missed yet)
    assert counts(sweep_assistance(at(FIRST_SESSION_DUE, 23))) == (0, 0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count(ReminderLedger.id))) == 0


def test_a_federation_organisation_as_provider_its_officers_hear(db, cast, plan, world):
    street_worker = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.street_a)
    item = sent(cast, plan, kind="follow_up", provider=world.street_a, frequency="monthly")
    assert sweep_assistance(at(ANSWER_LATE)).notifications == 2
    link = f"/assistance/items/{item.id}"
    assert notified(db, cast.street_officer) == [(KIND_ANSWER_DUE, link)]
    assert notified(db, cast.officer) == [(KIND_NOT_ANSWERED, link)]
    assert notified(db, street_worker) == [] and notified(db, cast.partner) == []


# -- missed sessions -------------------------------------------------------------------------


def test_a_missed_session_reaches_the_officer_once(app, db, cast, plan, smtp_server):
    item = accepted(cast, plan)
    assert item.state == "accepted" and item.next_session_due_on == FIRST_SESSION_DUE
    for day in range(1, 8):
        for hour in (0, 23):
            assert counts(sweep_assistance(at(date(2026, 12, day), hour))) == (0, 0, 0, 0), day

    result = sweep_assistance(at(MISSED, 0))  # just after midnight, local time
    assert counts(result) == (1, 0, 1, 1)
    assert notified(db, cast.officer) == [(KIND_SESSION_OVERDUE, f"/assistance/items/{item.id}")]
    assert notified(db, cast.partner) == []  # the officer follows it up
    assert ledger(db, item) == {("missed@2026-12-07", "sent")}
    notification = db.session.scalars(sa.select(Notification).where(REMINDERS)).one()
    text = notification_text(notification.kind, notification.params)
    assert "小雨" in text and "2026-12-07" in text and cast.world.justice_bureau.name in text
    for moment in (at(MISSED, 9), at(MISSED, 23), at(date(2026, 12, 10)),
                   at(date(2026, 12, 14), 23)):
        assert counts(sweep_assistance(moment)) == (0, 0, 0, 0), moment

    db.session.flush()
    assert deliver_due(app, now=at(MISSED, 10)).sent == 1
    [message] = smtp_server.messages
    assert message["to"] == [cast.officer.email]
    assert f"http://caseflow.test/assistance/items/{item.id}" in message["body"]
    assert "小雨" in message["body"]
    for secret in ("陈雨婷", "420103", "13871234567"):
        assert secret not in message["body"] and secret not in message["subject"]


def test_weekly_while_still_missed(db, cast, plan):
    item = accepted(cast, plan)
    assert sweep_assistance(at(MISSED)).stages_sent == 1
    for day in range(9, 15):
        assert sweep_assistance(at(date(2026, 12, day))).stages_sent == 0, day
    assert counts(sweep_assistance(at(date(2026, 12, 15)))) == (1, 0, 1, 1)
    assert sweep_assistance(at(date(2026, 12, 15), 18)).stages_sent == 0
    assert counts(sweep_assistance(at(date(2026, 12, 22)))) == (1, 0, 1, 1)
    assert ledger(db, item) == {("missed@2026-12-07", "sent"), ("missed_w1@2026-12-07", "sent"),
                                ("missed_w2@2026-12-07", "sent")}
    assert len(notified(db, cast.officer)) == 3 and len(emails_to(db, cast.officer)) == 3
    latest = db.session.scalars(sa.select(Notification).where(REMINDERS)
                                .order_by(Notification.id.desc())).first()
    assert latest.params["days"] == 15


def test_after_days_down_only_the_latest_stage_goes_out(db, cast, plan):
    item = accepted(cast, plan)
    assert counts(sweep_assistance(at(date(2026, 12, 23)))) == (1, 1, 1, 1)
    assert ledger(db, item) == {("missed@2026-12-07", "skipped"), ("missed_w2@2026-12-07", "sent")}


def test_a_new_session_stops_the_reminder_for_the_old_due_date(db, cast, plan):
    item = accepted(cast, plan)
    assert sweep_assistance(at(MISSED)).stages_sent == 1
    session(item, cast.partner, held_on=date(2026, 12, 9), now=at(date(2026, 12, 9), 16))
    assert item.state == "active" and item.next_session_due_on == date(2026, 12, 16)
    for day in range(9, 17):  # no weekly repeat of the 7th; the 16th is not missed yet
        assert sweep_assistance(at(date(2026, 12, day), 23)).stages_sent == 0, day
    assert counts(sweep_assistance(at(date(2026, 12, 17)))) == (1, 0, 1, 1)  # the 16th, missed
    assert ledger(db, item) == {("missed@2026-12-07", "sent"), ("missed@2026-12-16", "sent")}
    session(item, cast.officer, held_on=date(2026, 12, 17), now=at(date(2026, 12, 17), 15))
    for day in (date(2026, 12, 22), date(2026, 12, 24)):
        assert sweep_assistance(at(day)).stages_sent == 0
    assert sweep_assistance(at(date(2026, 12, 25))).stages_sent == 1
    link = f"/assistance/items/{item.id}"
    assert notified(db, cast.officer) == [(KIND_SESSION_OVERDUE, link)] * 3


def test_a_missed_follow_up_contact(db, cast, plan, world):
    item = accepted(cast, plan, kind="follow_up", provider=world.street_a, frequency="monthly",
                    by=cast.street_officer)
    session(item, cast.street_officer, held_on=date(2026, 12, 7), now=at(date(2026, 12, 7), 15))
    assert item.next_session_due_on == date(2027, 1, 7)
    assert sweep_assistance(at(date(2027, 1, 7), 23)).stages_sent == 0
    assert counts(sweep_assistance(at(date(2027, 1, 8)))) == (1, 0, 1, 1)
    assert notified(db, cast.officer) == [(KIND_FOLLOW_UP_OVERDUE, f"/assistance/items/{item.id}")]
    assert notified(db, cast.street_officer) == []
    notification = db.session.scalars(sa.select(Notification).where(REMINDERS)).one()
    assert notification.params["days"] == 1 and "2027-01-07" in notification_text(
        notification.kind, notification.params)


def test_completed_and_cancelled_items_get_nothing(db, cast, plan):
    completed = accepted(cast, plan)
    services.complete(completed, actor=cast.officer, now=at(date(2026, 12, 7), 18), outcome="已结束")
    cancelled_running = accepted(cast, plan)
    services.cancel(cancelled_running, actor=cast.officer, now=at(date(2026, 12, 2)), reason="本人拒绝")
    cancelled_sent = sent(cast, plan)
    services.cancel(cancelled_sent, actor=cast.officer, now=at(date(2026, 12, 2)), reason="改由街道提供")
    _db.session.flush()
    for day in (ANSWER_LATE, MISSED, date(2026, 12, 15), date(2027, 3, 1)):
        assert counts(sweep_assistance(at(day))) == (0, 0, 0, 0), day
    assert db.session.scalar(sa.select(sa.func.count(ReminderLedger.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(REMINDERS)) == 0


def test_a_supervisor_as_officer_is_emailed_at_once_even_with_the_digest(db, cast, plan):
    # These reminders ask the officer to act on the item: not supervisor reminders, so the
    # daily digest does not carry them.
    cast.fed_supervisor.email_preference = "digest"
    item = accepted(cast, plan, officer=cast.fed_supervisor)
    assert counts(sweep_assistance(at(MISSED))) == (1, 0, 1, 1)
    link = f"/assistance/items/{item.id}"
    assert notified(db, cast.fed_supervisor) == [(KIND_SESSION_OVERDUE, link)]
    assert len(emails_to(db, cast.fed_supervisor)) == 1 and notified(db, cast.officer) == []


def test_the_query_uses_the_partial_index(app, db):
    statement = missed_query(MISSED)
    connection = db.session.connection()
    if app.config["TEST_BACKEND"] == "sqlite":
        compiled = statement.compile(dialect=connection.dialect)
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                          tuple(compiled.params[k] for k in compiled.positiontup))
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        compiled = statement.compile(dialect=connection.dialect,
                                     compile_kwargs={"literal_binds": True})
        plan = connection.exec_driver_sql("EXPLAIN " + str(compiled))
    text = "\n".join(str(row) for row in plan)
    assert "ix_assistance_items_running_due" in text, text


# -- the job and the command ---------------------------------------------------------------


def test_the_scheduled_job_and_the_cli(app, db, cast, plan):
    from caseflow.core.scheduler.registry import JOBS

    job = JOBS["assistance_reminders"]
    assert job.every_seconds == 300
    item = sent(cast, plan)
    db.session.flush()
    run = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2026-12-04 09:00"])
    assert run.exit_code == 0, run.output
    [line] = run.output.strip().splitlines()  # one line, the referral counts first
    assert line.startswith("0 reminders queued (")
    assert "; 0 approval reminders queued (" in line
    assert line.endswith("; 1 assistance reminders queued (0 stale stages skipped, "
                         "2 notifications, 2 e-mails)")
    again = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2026-12-04 10:00"])
    assert again.exit_code == 0 and again.output.strip().endswith(
        "0 assistance reminders queued (0 stale stages skipped, 0 notifications, 0 e-mails)")
    assert job.func(at(ANSWER_LATE, 11)) == ("0 assistance reminders queued (0 stale skipped), "
                                             "0 notifications, 0 e-mails")

    services.accept(item, actor=cast.partner, now=at(date(2026, 12, 5)))
    db.session.flush()
    assert job.func(at(MISSED)) == ("1 assistance reminders queued (0 stale skipped), "
                                    "1 notifications, 1 e-mails")
    assert job.func(at(MISSED, 12)).startswith("0 assistance reminders queued")
    run = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2026-12-08 13:00"])
    assert "0 assistance reminders queued" in run.output
    assert len(notified(db, cast.officer)) == 2 and len(notified(db, cast.partner)) == 1
