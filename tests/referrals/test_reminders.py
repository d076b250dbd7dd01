"""Reminders: the sweep walked through every stage by the clock, exactly once, with the
e-mails delivered to a real SMTP server."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.db import local_zone
from caseflow.core.notifications.delivery import deliver_due
from caseflow.core.notifications.models import Notification, OutboxEmail, ReminderLedger
from caseflow.extensions import db as _db
from caseflow.referrals import alerts, reminders, services
from caseflow.referrals.reminders import sweep
from tests.referrals.helpers import Cast


def at(day: date, hour: int = 9):
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone())


@pytest.fixture
def cast(world):
    return Cast(world)


@pytest.fixture
def registered(cast, clock):
    # Sent and registered on Fri 2026-11-27: reply due Mon 2026-12-28.
    return cast.registered(clock.now)


def _ledger(db, ref):
    return {(row.stage.split("@")[0], row.outcome) for row in db.session.scalars(
        sa.select(ReminderLedger).where(ReminderLedger.subject_id == ref.id))}


def _notified(db, user):
    """The reminders the user has had, in order (not the hand-over alerts: alerts.KINDS)."""
    return [n.kind for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id,
                                      Notification.kind.not_in(alerts.KINDS))
        .order_by(Notification.id))]


def _deliver(app, now):
    return deliver_due(app, now=now)


STAGE_DAYS = [
    # (local day of the sweep, stage sent that day, who hears)
    (date(2026, 12, 17), "due_7", "handler"),     # 7 working days before Mon 28 Dec
    (date(2026, 12, 23), "due_3", "handler"),
    (date(2026, 12, 25), "due_1", "handler"),
    (date(2026, 12, 28), "due_today", "handler+supervisors"),
    (date(2026, 12, 29), "overdue_1", "supervisors+sender"),
    (date(2027, 1, 5), "overdue_w1", "supervisors"),
    (date(2027, 1, 12), "overdue_w2", "supervisors"),
]


def test_a_referral_walks_through_every_stage_once(app, db, cast, registered, smtp_server):
    assert registered.reply_due_on == date(2026, 12, 28)
    sent_stages = []
    for day, stage, who in STAGE_DAYS:
        for hour in (7, 9, 15):  # several sweeps a day: only the first does anything
            result = sweep(now=at(day, hour))
            sent_stages.extend([stage] * result.stages_sent)
        assert (stage, "sent") in _ledger(db, registered), day
    assert sent_stages == [s for _, s, _ in STAGE_DAYS]
    handler_kinds = _notified(db, cast.prosecutor)
    assert handler_kinds == ["referral.due_soon"] * 3 + ["referral.due_today"]
    supervisor_kinds = _notified(db, cast.proc_supervisor)
    assert supervisor_kinds == ["referral.due_today"] + ["referral.overdue"] * 3
    assert _notified(db, cast.officer) == ["referral.reply_late"]

    db.session.flush()
    result = _deliver(app, at(date(2027, 1, 12), 10))
    assert result.failed == 0
    arrived = smtp_server.messages
    assert len(arrived) == result.sent == 4 + 4 + 1
    handler_mail = [m for m in arrived if m["to"] == [cast.prosecutor.email]]
    assert len(handler_mail) == 4
    first = handler_mail[0]
    assert registered.number in first["subject"] and "11" in first["subject"]  # days to 28 Dec
    assert registered.person.pseudonym in first["body"]
    assert "陈雨婷" not in first["body"] and "420103" not in first["body"]
    assert f"http://caseflow.test/referrals/{registered.id}" in first["body"]
    assert _deliver(app, at(date(2027, 1, 12), 11)).sent == 0  # nothing twice
    assert len(smtp_server.messages) == 9


def test_after_ten_days_down_only_the_overdue_escalation_goes_out(db, cast, registered):
    result = sweep(now=at(date(2027, 1, 4)))  # first sweep after the system was down
    assert result.stages_sent == 1
    ledger = _ledger(db, registered)
    assert ("overdue_1", "sent") in ledger
    assert {("due_7", "skipped"), ("due_3", "skipped"), ("due_1", "skipped"),
            ("due_today", "skipped")} <= ledger
    assert _notified(db, cast.prosecutor) == []
    assert sweep(now=at(date(2027, 1, 4), 15)).stages_sent == 0


def test_replied_returned_and_withdrawn_referrals_get_no_reminders(db, cast, registered, clock):
    services.reply(registered, actor=cast.prosecutor, now=clock.now, outcome="other", text="已处理",
                   reply_on=date(2026, 11, 27))
    returned = cast.registered(clock.now)
    services.return_referral(returned, actor=cast.prosecutor, now=clock.now, reason="不属于本院管辖")
    withdrawn = cast.sent(clock.now)
    services.withdraw(withdrawn, actor=cast.officer, now=clock.now, reason="当事人撤回")
    db.session.flush()
    assert sweep(now=at(date(2027, 1, 20))).stages_sent == 0
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.kind.not_in(alerts.KINDS))) == 0


def test_an_extension_moves_the_stages(db, cast, registered, clock):
    sweep(now=at(date(2026, 12, 17)))  # due_7 for the 28th
    services.extend_deadline(registered, actor=cast.proc_supervisor, now=at(date(2026, 12, 18)),
                             new_due_on=date(2027, 1, 29), reason="需补充调查")
    db.session.flush()
    assert sweep(now=at(date(2026, 12, 29))).stages_sent == 0  # not overdue any more
    result = sweep(now=at(date(2027, 1, 20)))  # 7 working days before 29 Jan
    assert result.stages_sent == 1
    assert _notified(db, cast.prosecutor) == ["referral.due_soon", "referral.due_soon"]


def test_an_extended_referral_gets_its_due_today_and_overdue_stages(db, cast, registered):
    # The ledger key of an extended referral's stage carries both dates, e.g.
    # "overdue_w1@2026-11-27+2027-01-29": 32 characters. PostgreSQL enforces the column's
    # length (SQLite does not), and a key that did not fit rolled back the whole sweep.
    services.extend_deadline(registered, actor=cast.proc_supervisor, now=at(date(2026, 12, 18)),
                             new_due_on=date(2027, 1, 29), reason="需补充调查")
    db.session.flush()
    assert sweep(now=at(date(2027, 1, 29))).stages_sent == 1
    assert sweep(now=at(date(2027, 2, 1))).stages_sent == 1
    assert sweep(now=at(date(2027, 2, 8))).stages_sent == 1
    stages = {stage for stage, outcome in _ledger(db, registered) if outcome == "sent"}
    assert {"due_today", "overdue_1", "overdue_w1"} <= stages
    assert _notified(db, cast.proc_supervisor) == ["referral.due_today"] + ["referral.overdue"] * 2
    assert _notified(db, cast.officer) == ["referral.reply_late"]


def test_the_longest_stage_key_fits_the_ledger_on_every_database():
    from caseflow.core.notifications.models import ReminderLedger
    from caseflow.referrals.reminders import stage_key

    longest = max((stage_key(name, received_on=date(2026, 12, 31), extended_due_on=date(2027, 12, 31))
                   for name in ("registration_late", "overdue_w9999", "due_today", "due_30",
                                "target_overdue", "target_due_today")), key=len)
    assert len(longest) <= ReminderLedger.__table__.c.stage.type.length


def test_one_failing_referral_does_not_stop_the_others(app, db, cast, clock):
    from caseflow.core.scheduler.models import JobItemFailure

    first, broken, last = (cast.registered(clock.now) for _ in range(3))
    db.session.flush()
    # A referral the sweep cannot handle: its handler's account row points nowhere the
    # directory can load (as a half-imported record would).
    original = reminders._emit

    def failing_emit(row, *args, **kwargs):
        if row.id == broken.id:
            raise RuntimeError("cannot reach handler")
        return original(row, *args, **kwargs)

    reminders._emit = failing_emit
    try:
        result = sweep(now=at(date(2026, 12, 28)))
    finally:
        reminders._emit = original
    assert result.stages_sent == 2 and result.failures == 1
    assert {s for s, o in _ledger(db, first)} >= {"due_today"}
    assert {s for s, o in _ledger(db, last)} >= {"due_today"}
    assert _ledger(db, broken) == set()  # nothing half-claimed: the next sweep tries again
    failure = db.session.scalars(sa.select(JobItemFailure)).one()
    assert (failure.subject_type, failure.subject_id) == ("referral", broken.id)
    assert "cannot reach handler" in failure.error
    assert sweep(now=at(date(2026, 12, 28), 10)).stages_sent == 1  # the broken one, now well


def test_a_reassigned_handler_gets_the_next_stage(db, cast, registered):
    sweep(now=at(date(2026, 12, 17)))
    services.assign_handler(registered, actor=cast.proc_supervisor, now=at(date(2026, 12, 18)),
                            handler=cast.other_prosecutor)
    db.session.flush()
    sweep(now=at(date(2026, 12, 23)))
    assert _notified(db, cast.prosecutor) == ["referral.due_soon"]
    assert _notified(db, cast.other_prosecutor) == ["referral.due_soon"]


def test_late_registration_reaches_the_receiving_supervisors(db, cast, clock):
    ref = cast.sent(clock.now)  # registration due Wed 2 Dec
    db.session.flush()
    assert sweep(now=at(date(2026, 12, 2))).stages_sent == 0
    assert sweep(now=at(date(2026, 12, 3))).stages_sent == 1
    assert _notified(db, cast.proc_supervisor) == ["referral.registration_late"]
    assert ref.state == "sent"


def test_a_supervisor_who_chose_the_digest_gets_one_daily_message(app, db, cast, registered, smtp_server):
    cast.proc_supervisor.email_preference = "digest"
    db.session.flush()
    sweep(now=at(date(2026, 12, 29), 7))  # before the digest hour: escalation, no digest
    sweep(now=at(date(2026, 12, 29), 9))
    sweep(now=at(date(2026, 12, 29), 16))
    assert _notified(db, cast.proc_supervisor) == ["referral.overdue"]  # in the app at once
    db.session.flush()
    _deliver(app, at(date(2026, 12, 29), 17))
    to_supervisor = [m for m in smtp_server.messages if m["to"] == [cast.proc_supervisor.email]]
    assert len(to_supervisor) == 1
    assert registered.number in to_supervisor[0]["body"]


def test_smtp_down_retries_then_delivers_each_email_once(app, db, cast, registered, smtp_server):
    sweep(now=at(date(2026, 12, 28)))
    db.session.flush()
    smtp_server.controller.stop()
    down = _deliver(app, at(date(2026, 12, 28), 10))
    assert down.sent == 0 and down.failed == 2
    rows = db.session.scalars(sa.select(OutboxEmail)).all()
    assert all(r.status == "queued" and r.attempts == 1 and r.last_error for r in rows)
    assert _deliver(app, at(date(2026, 12, 28), 10)).failed == 0  # waits for its backoff
    from aiosmtpd.controller import Controller

    restarted = Controller(smtp_server, hostname="127.0.0.1", port=smtp_server.port)
    restarted.start()
    try:
        back = _deliver(app, at(date(2026, 12, 28), 11))
        assert back.sent == 2 and back.failed == 0
        assert len(smtp_server.messages) == 2
        assert _deliver(app, at(date(2026, 12, 28), 12)).sent == 0
    finally:
        restarted.stop()


def test_the_cli_sweeps_as_of_a_local_time(app, db, cast, registered):
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2026-12-17 09:00"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 reminders queued")
    again = app.test_cli_runner().invoke(args=["reminders", "run", "--as-of", "2026-12-17 10:00"])
    assert again.output.startswith("0 reminders queued")


def test_the_bell_and_the_notification_centre(client, login_as, db, cast, registered):
    sweep(now=at(date(2026, 12, 17)))
    db.session.flush()
    login_as(cast.prosecutor)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="bell-count">1<' in html
    page = client.get("/notifications").get_data(as_text=True)
    assert registered.number in page
    notification = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == cast.prosecutor.id)).one()
    response = client.submit(f"/notifications/{notification.id}/read", page="/notifications")
    assert response.location == f"/referrals/{registered.id}"
    assert 'data-testid="bell-count">0<' in client.get("/").get_data(as_text=True)


def test_supervisors_see_overdue_and_due_soon_referrals(client, login_as, db, cast, clock):
    from datetime import timedelta

    overdue = cast.sent(clock.now - timedelta(days=40))
    soon = cast.sent(clock.now - timedelta(days=29))
    calm = cast.sent(clock.now)
    db.session.flush()
    login_as(cast.proc_supervisor)
    html = client.get("/referrals/attention").get_data(as_text=True)
    overdue_part, rest = html.split('data-testid="due-soon"')
    assert overdue.number in overdue_part and soon.number in rest and calm.number not in html


def _deactivate_supervisors_above(db, org):
    from caseflow.core.orgs.models import User, UserRole

    while org is not None:
        for user in db.session.scalars(sa.select(User).join(UserRole, UserRole.user_id == User.id)
                                       .where(User.organisation_id == org.id,
                                              UserRole.role == "supervisor")):
            user.is_active_account = False
        org = org.parent
    db.session.flush()


def test_a_stage_with_nobody_to_tell_is_recorded_for_the_system_administrator(db, cast, clock):
    from caseflow.core.notifications.models import UndeliverableAlert

    ref = cast.sent(clock.now)  # registration due Wed 2 Dec
    _deactivate_supervisors_above(db, cast.world.department5)
    result = sweep(now=at(date(2026, 12, 3)))
    assert result.stages_sent == 1 and result.undeliverable == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))
                             .where(Notification.kind.not_in(alerts.KINDS))) == 0
    row = db.session.scalars(sa.select(UndeliverableAlert)).one()
    assert (row.organisation_id, row.kind) == (cast.world.department5.id, "referral.registration_late")
    assert row.params["number"] == ref.number
    assert sweep(now=at(date(2026, 12, 3), 15)).undeliverable == 0  # recorded once


def test_a_closed_handler_account_sends_the_reminder_to_the_supervisors(db, cast, registered):
    cast.prosecutor.is_active_account = False
    db.session.flush()
    assert sweep(now=at(date(2026, 12, 17))).stages_sent == 1  # due_7
    assert _notified(db, cast.proc_supervisor) == ["referral.due_soon"]


def test_the_late_reply_notice_names_who_was_told(app, db, cast, registered):
    from tests.conftest import zh

    sweep(now=at(date(2026, 12, 29)))  # overdue_1
    notice = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == cast.officer.id, Notification.kind == "referral.reply_late")).one()
    told = notice.params["told"]
    assert [t["name"] for t in told] == [cast.proc_supervisor.display_name]
    from caseflow.core.notifications.services import notification_text
    with app.test_request_context():
        text = notification_text(notice.kind, notice.params)
    assert text.endswith(zh("Told: %(names)s.", names=zh("%(name)s (%(role)s, %(org)s)",
                                                          name=cast.proc_supervisor.display_name,
                                                          role=zh("supervisor"),
                                                          org=cast.world.department5.name)))


def test_an_urgent_referral_is_due_for_registration_the_next_working_day(db, cast):
    # Sent on Friday 27 November 2026: registration due Monday 30 November (one working
    # day, a setting), the internal reply target 10 working days on (Friday 11 December),
    # the statutory date still Monday 28 December.
    ref = cast.sent(at(date(2026, 11, 27)), is_urgent=True)
    assert ref.registration_due_on == date(2026, 11, 30)
    assert ref.target_due_on == date(2026, 12, 11)
    assert ref.reply_due_on == ref.statutory_due_on == date(2026, 12, 28)
    plain = cast.sent(at(date(2026, 11, 27)))
    assert plain.registration_due_on == date(2026, 12, 2) and plain.target_due_on is None


def test_an_urgent_referral_has_reminders_for_its_internal_target(db, cast):
    ref = cast.sent(at(date(2026, 11, 27)), is_urgent=True)
    services.register(ref, actor=cast.proc_supervisor, now=at(date(2026, 11, 30)),
                      registration_number="登-急1", received_on=ref.received_on,
                      handler=cast.prosecutor)
    db.session.flush()
    assert sweep(now=at(date(2026, 12, 9))).stages_sent == 0
    assert sweep(now=at(date(2026, 12, 10))).stages_sent == 1  # the working day before
    assert sweep(now=at(date(2026, 12, 11))).stages_sent == 1
    assert sweep(now=at(date(2026, 12, 12))).stages_sent == 1
    assert sweep(now=at(date(2026, 12, 12), 15)).stages_sent == 0
    assert _notified(db, cast.prosecutor) == ["referral.target_due_soon", "referral.target_due_today"]
    assert _notified(db, cast.proc_supervisor) == ["referral.target_due_today",
                                                   "referral.target_overdue"]
    # The statutory track goes on as for any referral.
    assert sweep(now=at(date(2026, 12, 17))).stages_sent == 1
    assert _notified(db, cast.prosecutor)[-1] == "referral.due_soon"


def test_the_referral_page_shows_the_target_beside_the_statutory_date(client, login_as, db, cast,
                                                                       clock):
    from tests.conftest import page_text, zh

    ref = cast.sent(clock.now, is_urgent=True)
    db.session.flush()
    login_as(cast.proc_supervisor)
    text = page_text(client.get(f"/referrals/{ref.id}"))
    assert zh("Internal target (urgent)") in text and ref.target_due_on.isoformat() in text
    assert ref.statutory_due_on.isoformat() in text


def test_loading_the_calendar_moves_an_urgent_referrals_target_and_records_it(db, cast):
    from caseflow.core.audit.models import AuditEvent
    from caseflow.core.calendar.services import set_day

    ref = cast.sent(at(date(2026, 11, 27)), is_urgent=True)
    assert ref.target_due_on == date(2026, 12, 11)
    set_day(date(2026, 12, 3), is_working=False, note="临时休息", actor=None,
            now=at(date(2026, 11, 28)))
    assert ref.target_due_on == date(2026, 12, 14)
    moved = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.due_moved", AuditEvent.object_id == str(ref.id))).one()
    assert moved.after["target_due_on"] == "2026-12-14"
