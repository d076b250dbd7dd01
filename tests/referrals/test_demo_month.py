"""The whole demo swept day by day over a month, on SQLite and on PostgreSQL: both queue
the same reminders, a second sweep of each day queues none, and the extended referrals'
due-today and overdue stages go out on PostgreSQL too (their ledger keys carry both dates,
which a VARCHAR(30) that SQLite never enforced refused there, rolling back every sweep).

Each backend gets a database of its own (the sweep commits a batch at a time), built by
migration and loaded with ``caseflow demo``'s own loader, so the two runs are compared in
one test.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.demo import load_demo
from caseflow.core.notifications.models import Notification, ReminderLedger
from caseflow.core.orgs.models import User
from caseflow.extensions import db as _db
from caseflow.referrals import alerts
from caseflow.referrals.models import Referral
from caseflow.referrals.reminders import sweep
from tests.conftest import POSTGRES_URL, create_database, make_app, migrate_to_head

LOADED_ON = date(2026, 11, 2)
DAYS = 31
SHANGHAI = timezone(timedelta(hours=8))


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=SHANGHAI)


def sweep_the_month(backend: str, tmp_path) -> dict:
    url, drop = create_database(backend, tmp_path / backend)
    app = make_app(url)
    migrate_to_head(app)
    try:
        with app.app_context():
            load_demo(now=_at(LOADED_ON, 8), log=lambda *_: None)
            _db.session.commit()
            per_day, again = [], []
            for offset in range(DAYS):
                day = LOADED_ON + timedelta(days=offset)
                per_day.append(sweep(now=_at(day, 9)).stages_sent)
                again.append(sweep(now=_at(day, 15)).stages_sent)
            ledger = {(number, stage, outcome) for number, stage, outcome in _db.session.execute(
                sa.select(Referral.number, ReminderLedger.stage, ReminderLedger.outcome)
                .join(Referral, Referral.id == ReminderLedger.subject_id)
                .where(ReminderLedger.subject_type == "referral"))}
            told = sorted(_db.session.execute(
                sa.select(Notification.link, User.username, Notification.kind)
                .join(User, User.id == Notification.user_id)
                .where(Notification.kind.like("referral.%"),
                       Notification.kind.not_in(alerts.KINDS))).all())
            numbers = dict(_db.session.execute(sa.select(Referral.id, Referral.number)).all())
            _db.session.rollback()
        # Ids may differ between the databases; the referral numbers do not.
        told = sorted((numbers[int(link.rsplit("/", 1)[1])], user, kind) for link, user, kind in told)
        return {"per_day": per_day, "again": again, "ledger": ledger, "told": told}
    finally:
        with app.app_context():
            _db.engine.dispose()
        drop()


@pytest.mark.skipif(not POSTGRES_URL, reason="compares with PostgreSQL: set CASEFLOW_TEST_DATABASE_URL")
def test_the_demo_swept_for_a_month_queues_the_same_reminders_on_both_databases(tmp_path):
    sqlite = sweep_the_month("sqlite", tmp_path)
    postgresql = sweep_the_month("postgresql", tmp_path)
    assert sum(postgresql["per_day"]) > 10, postgresql["per_day"]
    assert postgresql["again"] == [0] * DAYS and sqlite["again"] == [0] * DAYS
    assert postgresql["per_day"] == sqlite["per_day"]
    assert postgresql["ledger"] == sqlite["ledger"]
    assert postgresql["told"] == sqlite["told"]
    extended = {stage.split("@")[0] for _n, stage, outcome in postgresql["ledger"]
                if "+" in stage and outcome == "sent"}
    assert {"due_today", "overdue_1"} & extended, sorted(extended)
