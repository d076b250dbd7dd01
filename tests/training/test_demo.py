"""The joint training demo data (issue 6): the district federation trains the chairs of its
12 street federations together with prosecutors, in the story's year, and announces the
next session; loaded through the services, and only once."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.cli import _now_for
from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.demo import DEMO_STEPS, STREETS
from caseflow.core.orgs.models import User
from caseflow.training import demo as training_demo, policy, queries
from caseflow.training.models import TrainingAttendance, TrainingInvitation, TrainingSession
from tests.referrals.test_demo import load


def sessions(db) -> dict[str, TrainingSession]:
    return {s.title: s for s in db.session.scalars(sa.select(TrainingSession))}


def counts(db) -> list[int]:
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (TrainingSession, TrainingInvitation, TrainingAttendance, User, AuditEvent)]


def user(db, username: str) -> User:
    return db.session.scalars(sa.select(User).where(User.username == username)).one()


def test_the_step_is_registered_once(app):
    before = [step.name for step in DEMO_STEPS]
    training_demo.register_demo_step()
    training_demo.register_demo_step()
    assert [step.name for step in DEMO_STEPS] == before
    assert before.count(training_demo.STEP_NAME) == 1


def test_the_chairs_of_the_12_streets_are_trained_with_prosecutors_and_the_demo_loads_once(app, db, clock):
    today = date(2026, 11, 27)
    first = load(app, today.isoformat())
    assert "street federation chairs: 12 new, 12 in the demo" in first.output
    assert "training sessions: 2 new, 2 in the demo" in first.output
    now = _now_for(today.isoformat())
    found = sessions(db)
    from caseflow.reports.demo import CHAIRS_TRAINING, story_year
    # (and the story's year's session with the same chairs: tests/reports/test_demo_consistency.py)
    assert set(found) == {training_demo.CHAIRS_SESSION, training_demo.UPCOMING_SESSION,
                          CHAIRS_TRAINING.format(year=story_year(today))}

    # a chair's account for each street federation, a demo user like the others
    chairs = {code: user(db, training_demo.chair_username(code)) for code, _name in STREETS}
    assert all(c.is_demo and not c.must_change_password and c.organisation.code == f"jh-fed-{code}"
               and policy.can_list_sessions(c) for code, c in chairs.items())
    assert len({c.display_name for c in chairs.values()}) == 12

    held = found[training_demo.CHAIRS_SESSION]
    assert held.state == "held" and local_date(held.starts_at).year == today.year and held.ends_at < now
    assert {o.organisation.code for o in held.organisers} == {"jh-fed", "jh-proc-5"}
    assert [t.value for t in held.topics] == ["spotting_leads", "starting_a_case", "aid_coverage"]
    assert "张明" in held.trainers and held.created_by.username == "fed.officer"
    invited = {(i.organisation.code if i.organisation else i.user.username) for i in held.active_invitations}
    assert invited == {f"jh-fed-{code}" for code, _ in STREETS} | {"prosecutor", "proc.head"}
    marks = {a.user.username if a.user else a.external_name: a.status for a in held.attendances}
    chair_marks = [marks[training_demo.chair_username(code)] for code, _ in STREETS]
    assert chair_marks.count("present") == 10 and chair_marks.count("excused") == 1
    assert chair_marks.count("absent") == 1
    assert marks["prosecutor"] == marks["proc.head"] == "present"  # together with prosecutors
    assert marks["赵静"] == "present"  # the justice bureau's worker, by name
    assert all(held.starts_at <= a.recorded_at < now for a in held.attendances)

    upcoming = found[training_demo.UPCOMING_SESSION]
    assert upcoming.state == "scheduled" and local_date(upcoming.starts_at) > today
    assert upcoming.attendances == [] and len(upcoming.active_invitations) == 12
    assert upcoming.created_at < now

    # through the services: an audit row for each step
    audited = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "training_sessions", AuditEvent.object_id == str(held.id))).all()
    assert audited.count("training.attendance_recorded") == len(held.attendances)
    assert {"training.created", "training.invited", "training.held"} <= set(audited)

    # who has been trained, as the district federation's head reads it
    head = user(db, "fed.head")
    silent = {r.organisation.code for r in queries.not_sent_anyone(head, today.year)}
    assert silent == {"jh-fed-wansong", "jh-fed-gaosaoshu"}
    rows = {r.organisation.code: r.people for r in queries.by_organisation(head, today.year)}
    assert rows["jh-fed"] == 2 and rows["jh-fed-minzu"] == 1 and len(rows) == 13
    assert policy.can_view_session(chairs["minzu"], held) and not policy.can_edit_session(chairs["minzu"], held)

    # loading again, today or on another day, adds nothing
    before = counts(db)
    second = load(app, today.isoformat())
    assert "training sessions: 0 new, 2 in the demo" in second.output
    load(app, "2027-01-15")
    assert counts(db) == before


@pytest.mark.parametrize("today", ["2026-01-05", "2026-01-01", "2026-03-20"])
def test_the_chairs_session_is_in_the_past_of_any_day(app, db, clock, today):
    load(app, today)
    held = sessions(db)[training_demo.CHAIRS_SESSION]
    now = _now_for(today)
    assert held.state == "held" and held.ends_at < now
    assert all(a.recorded_at < now for a in held.attendances)
    if today != "2026-01-01":  # no working day of the year comes before New Year's Day
        assert local_date(held.starts_at).year == 2026
