"""Days are counted the same way where a list and a reminder both count them, and each
says which kind it counts: the referral lists and the reply reminders count calendar days
(自然日: the reply deadline is a calendar date, DOMAIN.md), the approval queue and the
approval reminder count working days (工作日, as the setting says).
"""
from __future__ import annotations

from datetime import date, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.notifications.models import Notification
from caseflow.core.notifications.services import notification_text
from caseflow.investigations.reminders import KIND as WAITING, sweep_approvals
from caseflow.referrals.reminders import sweep
from tests.conftest import page_text, zh
from tests.investigations.test_approval_reminders import FIRST, PROPOSED_ON, at, open_and_propose
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world):
    world.procuratorate.aid_case_prefix = "测检救"
    return Cast(world)


def _text(db, user, kind: str) -> str:
    note = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id.desc())).first()
    assert note is not None, kind
    return notification_text(note.kind, note.params)


def test_the_referral_list_and_the_reply_reminder_count_calendar_days(app, client, login_as, db,
                                                                      cast, clock):
    referral = cast.registered(clock.now)  # received Fri 27 Nov: reply due Mon 28 Dec
    assert referral.reply_due_on == date(2026, 12, 28)
    friday = at(date(2026, 12, 25))  # 3 calendar days before, 1 working day before
    clock.set(friday.astimezone(timezone.utc))
    sweep(now=friday)
    db.session.flush()
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            reminder = _text(db, cast.prosecutor, "referral.due_soon")
        with force_locale("zh_CN"):
            reminder_zh = _text(db, cast.prosecutor, "referral.due_soon")
    assert "due in 3 calendar days" in reminder
    login_as(cast.prosecutor)
    cast.prosecutor.locale = "en"
    db.session.flush()
    response = client.get("/referrals?box=inbox")
    assert '<html lang="en">' in response.get_data(as_text=True)
    listed = page_text(response)
    assert referral.number in listed and "3 calendar days left" in listed
    cast.prosecutor.locale = "zh_CN"
    db.session.flush()
    listed_zh = page_text(client.get("/referrals?box=inbox"))
    left = zh("%(num)d calendar day left", "%(num)d calendar days left", 3)
    assert left in listed_zh and "3 个自然日" in left and "3 个自然日" in reminder_zh


def test_the_approval_queue_and_the_approval_reminder_count_working_days(app, client, login_as, db,
                                                                        cast, clock):
    clock.set(at(PROPOSED_ON).astimezone(timezone.utc))  # Wed 30 Dec 2026
    case = open_and_propose(cast, clock.now)
    first = at(FIRST)  # Wed 6 Jan 2027: 7 calendar days, 3 working days wholly passed
    clock.set(first.astimezone(timezone.utc))
    assert sweep_approvals(first).stages_sent == 1
    db.session.flush()
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            reminder = _text(db, cast.proc_supervisor, WAITING)
    assert "more than 3 working days" in reminder
    login_as(cast.proc_supervisor)
    cast.proc_supervisor.locale = "en"
    db.session.flush()
    response = client.get("/cases/approvals")
    assert '<html lang="en">' in response.get_data(as_text=True)
    queue = page_text(response)
    assert case.number in queue and "waiting 3 working days" in queue and "7 days" not in queue
    cast.proc_supervisor.locale = "zh_CN"
    db.session.flush()
    queue_zh = page_text(client.get("/cases/approvals"))
    waiting = zh("waiting %(num)d working day", "waiting %(num)d working days", 3)
    assert waiting in queue_zh and "3 个工作日" in waiting
