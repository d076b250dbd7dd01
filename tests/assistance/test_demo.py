"""The assistance demo data (issue 6): 晓丽's plan as DOMAIN.md tells it (counselling changed
from monthly to weekly with adults and minors seen separately, her children's own
counselling, legal aid for the car, job training, follow-up), items overdue and one waiting
for its provider, all through the services, in the past, loaded only once; 小雨's approved
measures left to take over."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from caseflow.assistance import demo as plan_demo, services
from caseflow.assistance.models import (
    AssistanceEvent, AssistancePlan, EventKind, PlanMember, ServiceItem, ServiceSession,
)
from caseflow.cli import _now_for
from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.calendar.rules import add_months
from caseflow.core.db import local_date
from caseflow.core.demo import DEMO_STEPS
from caseflow.core.orgs.models import User
from caseflow.core.people.models import Person
from caseflow.investigations.demo import STEP_NAME as CASE_STEP_NAME
from caseflow.investigations.models import AidCase, MeasureState
from caseflow.referrals.models import Referral
from tests.referrals.test_demo import load

CHILDREN = ("晓丽之子", "晓丽之女")


def xiaoli_plan(db) -> AssistancePlan:
    return db.session.scalars(sa.select(AssistancePlan).join(AssistancePlan.person)
                              .where(Person.pseudonym == "晓丽")).one()


def her_items(plan: AssistancePlan) -> dict[str, ServiceItem]:
    """Her own items by kind (one each); the children's are left out."""
    items = [i for i in plan.items if i.beneficiary_id == plan.person_id]
    by_kind = {i.kind: i for i in items}
    assert len(by_kind) == len(items)
    return by_kind


def overdue(plan: AssistancePlan, today: date) -> set[tuple[str, str]]:
    return {(i.kind, i.beneficiary.pseudonym) for i in plan.items if i.is_overdue(today)}


#: The daughter's last weekly session was missed; 李娟's last monthly contact too.
OVERDUE = {("counselling", "晓丽之女"), ("follow_up", "晓丽")}


def user(db, username: str) -> User:
    return db.session.scalars(sa.select(User).where(User.username == username)).one()


def counts(db) -> list[int]:
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (AssistancePlan, PlanMember, ServiceItem, ServiceSession,
                          AssistanceEvent, AuditEvent, AccessEvent, Person)]


def assert_consistent(db, plan: AssistancePlan, today: date, now) -> None:
    """Every step in the past and in order, through the services (a timeline event and an
    audit row each); items after the opening, answers after sending, sessions after the
    answer and the start, none in the future."""
    events = plan.events
    times = [e.occurred_at for e in events]
    assert times == sorted(times) and times[-1] < now
    assert events[0].kind == EventKind.PLAN_OPENED.value
    assert events[0].actor_id == plan.officer_id
    ids = [str(i.id) for i in plan.items]
    audited = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(sa.or_(
        sa.and_(AuditEvent.object_type == "assistance_plans", AuditEvent.object_id == str(plan.id)),
        sa.and_(AuditEvent.object_type == "assistance_items", AuditEvent.object_id.in_(ids)))))
    assert audited == len(events)
    opened = local_date(plan.created_at)
    for item in plan.items:
        assert opened <= item.starts_on < today, item.kind
        assert item.officer.username == "fed.minzu"
        if item.state == "planned":
            continue
        assert item.starts_on <= item.sent_on < today
        answered = item.responded_at
        if item.state == "sent":
            assert answered is None
            continue
        assert item.sent_on <= local_date(answered) < today
        for session in item.sessions:
            assert max(item.starts_on, local_date(answered)) <= session.held_on < today
            assert local_date(session.recorded_at) == session.held_on
            assert answered < session.recorded_at < now
        if item.sessions and item.frequency != "once":
            last = item.sessions[-1].held_on
            assert item.next_session_due_on == services.next_due(last, item.frequency)


def test_the_step_is_registered_once_after_the_aid_cases(app):
    before = [step.name for step in DEMO_STEPS]
    plan_demo.register_demo_step()
    plan_demo.register_demo_step()
    assert [step.name for step in DEMO_STEPS] == before
    assert before.count(plan_demo.STEP_NAME) == 1
    assert before.index(CASE_STEP_NAME) < before.index(plan_demo.STEP_NAME)


def test_xiaolis_plan_tells_the_story_and_the_demo_loads_once(app, db, clock):
    today = date(2026, 11, 28)
    now = _now_for(today.isoformat())
    first = load(app, today.isoformat())
    assert "assistance plans: 1 new, 1 in the demo" in first.output
    assert "晓丽 (民族街妇联): " in first.output
    plan = xiaoli_plan(db)
    assert_consistent(db, plan, today, now)

    # Run by 李娟 of 民族街妇联, who recorded her: the plan is her organisation's.
    assert plan.is_open and plan.aid_case_id is None
    assert plan.officer.username == "fed.minzu" and plan.officer.display_name == "李娟"
    assert plan.organisation.code == "jh-fed-minzu" == plan.person.organisation.code
    assert "暴力犯罪" in plan.summary
    # Her children, minors (their records restricted as such), are the plan's family members.
    assert {(m.person.pseudonym, m.relation) for m in plan.members} == {
        ("晓丽之子", "儿子"), ("晓丽之女", "女儿")}
    assert all(m.person.is_minor and m.added_by_id == plan.officer_id for m in plan.members)
    joined = [e for e in plan.events if e.kind == EventKind.MEMBER_ADDED.value]
    assert len(joined) == 2 and all(e.data["minor"] for e in joined)

    items = her_items(plan)
    assert set(items) == {"counselling", "legal_aid", "job_training", "skills_training",
                          "follow_up"}

    # Counselling by 心晴心理: monthly, accepted by 周敏, two sessions with the children
    # present; changed to weekly with the joint review's reason; weekly sessions since,
    # seen separately, none missed.
    counselling = items["counselling"]
    assert counselling.provider.code == "jh-counselling"
    assert counselling.responded_by_id == user(db, "counsellor").id
    assert counselling.state == "active" and counselling.frequency == "weekly"
    changes = [e for e in plan.events if e.kind == EventKind.FREQUENCY_CHANGED.value]
    assert len(changes) == 1
    change = changes[0]
    assert change.item_id == counselling.id and change.data == {"from": "monthly", "to": "weekly"}
    assert change.actor_id == plan.officer_id
    assert "联合评审" in change.text and "每周" in change.text and "分开" in change.text
    added = next(e for e in plan.events if e.item_id == counselling.id
                 and e.kind == EventKind.ITEM_ADDED.value)
    assert added.data["frequency"] == "monthly"
    changed_on = local_date(change.occurred_at)
    monthly = [s for s in counselling.sessions if s.held_on < changed_on]
    weekly = [s for s in counselling.sessions if s.held_on > changed_on]
    assert len(monthly) == 2 and len(weekly) + 2 == len(counselling.sessions)
    assert all(s.seen_separately is False and "晓丽之子" in s.attended for s in monthly)
    assert 25 <= (monthly[1].held_on - monthly[0].held_on).days <= 31
    assert len(weekly) >= 4 and all(s.seen_separately is True for s in weekly)
    assert all(s.recorded_by.username == "counsellor" for s in counselling.sessions)
    gaps = [(b.held_on - a.held_on).days for a, b in zip(weekly, weekly[1:])]
    assert gaps and max(gaps) <= 7
    assert not counselling.is_overdue(today)
    assert today <= counselling.next_session_due_on <= today + timedelta(days=7)

    # Legal aid from the justice bureau for the car; 赵静 accepted, met her, filed the suit.
    legal = items["legal_aid"]
    assert legal.provider.code == "jh-justice" and legal.needs_identity
    assert "车辆" in legal.legal_matter and "权属" in legal.legal_matter
    assert legal.responded_by_id == user(db, "justice.worker").id
    assert legal.state == "active" and len(legal.sessions) == 1
    assert legal.lawsuit_outcome.startswith("诉讼进行中") and "立案" in legal.lawsuit_outcome
    assert not legal.is_overdue(today)
    assert any(e.kind == EventKind.LEGAL_MATTER.value and e.item_id == legal.id
               for e in plan.events)
    # She saw the identity the lawsuit needs, and the view is logged.
    views = db.session.scalars(sa.select(AccessEvent).where(
        AccessEvent.person_id == plan.person_id,
        AccessEvent.actor_id == legal.responded_by_id)).all()
    assert len(views) == 1 and views[0].purpose
    # The procuratorate's reply to the legal aid referral says the bureau has taken it.
    car = db.session.scalars(sa.select(Referral).where(
        Referral.submission_token == "demo-xiaoli-legal-aid")).one()
    assert car.person_id == plan.person_id and legal.sent_on > car.received_on
    assert legal.responded_at < car.replied_at

    # Job training from the employment service centre, accepted by 孙丽, with its classes.
    job = items["job_training"]
    assert job.provider.code == "jh-employment" and job.state == "active"
    assert job.responded_by_id == user(db, "employment.worker").id
    assert job.sessions and all(s.recorded_by.username == "employment.worker" for s in job.sessions)
    assert job.starts_on > changed_on and not job.is_overdue(today)

    # Skills training, sent yesterday, waits for the employment centre's answer.
    skills = items["skills_training"]
    assert skills.state == "sent" and skills.provider.code == "jh-employment"
    assert skills.responded_at is None and not skills.sessions
    assert skills.sent_on < today <= skills.acceptance_due_on and not skills.is_overdue(today)

    # Follow-up by 李娟 herself, monthly: the last contact is a few days overdue.
    follow = items["follow_up"]
    assert follow.provider.code == "jh-fed-minzu" and follow.frequency == "monthly"
    assert follow.responded_by_id == plan.officer_id and follow.state == "active"
    assert len(follow.sessions) >= 2
    assert follow.next_session_due_on == add_months(follow.sessions[-1].held_on, 1)
    assert follow.is_overdue(today)
    assert today - timedelta(days=10) <= follow.next_session_due_on < today

    assert overdue(plan, today) == OVERDUE
    assert [i for i in plan.items if i.state == "sent"] == [skills]

    # Loading again, today or on another day, adds nothing.
    before = counts(db)
    second = load(app, today.isoformat())
    assert "assistance plans: 0 new, 1 in the demo" in second.output
    load(app, "2027-01-15")
    assert counts(db) == before


def test_each_child_has_weekly_counselling_of_their_own(app, db, clock):
    today = date(2026, 11, 28)
    result = load(app, today.isoformat())
    assert "晓丽 (民族街妇联): 2 family members, 7 items, 2 overdue" in result.output
    plan = xiaoli_plan(db)
    children = {i.beneficiary.pseudonym: i for i in plan.items
                if i.beneficiary_id != plan.person_id}
    assert set(children) == set(CHILDREN)
    change = next(e for e in plan.events if e.kind == EventKind.FREQUENCY_CHANGED.value)
    adult = her_items(plan)["counselling"]
    for item in children.values():
        assert item.beneficiary.is_minor and item.kind == "counselling"
        assert item.provider.code == "jh-counselling" and item.frequency == "weekly"
        assert item.responded_by_id == adult.responded_by_id
        assert item.starts_on == local_date(change.occurred_at)  # from the joint review on
        assert item.sessions and all(s.seen_separately is True for s in item.sessions)
        assert all(s.recorded_by.username == "counsellor" for s in item.sessions)
    # Seen separately: on the days of her sessions, each child in a session of their own.
    held = {s.held_on for s in adult.sessions}
    assert all(s.held_on in held for item in children.values() for s in item.sessions)
    son, daughter = children["晓丽之子"], children["晓丽之女"]
    assert not son.is_overdue(today)
    assert daughter.is_overdue(today)  # her last weekly session was missed
    assert daughter.sessions[-1].held_on < son.sessions[-1].held_on
    assert daughter.next_session_due_on < today <= son.next_session_due_on


def test_xiaoyus_measures_are_left_ready_and_can_be_taken_over(app, db, clock):
    today = date(2026, 11, 28)
    result = load(app, today.isoformat())
    case = db.session.scalars(sa.select(AidCase).join(AidCase.applicant)
                              .where(Person.pseudonym == "小雨")).one()
    assert f"{case.number} 小雨: approved measures left to take over" in result.output
    assert all(m.state == MeasureState.READY.value for m in case.measures)
    # 王芳 can take them over from the aid case page: 小雨's plan, one item per measure.
    officer = user(db, "fed.officer")
    plan = services.plan_from_aid_case(case, actor=officer, now=_now_for(today.isoformat())).plan
    assert plan.aid_case_id == case.id and plan.organisation.code == "jh-fed"
    assert {(i.kind, i.provider.code, i.state) for i in plan.items} == {
        ("skills_training", "jh-fed", "planned"), ("job_training", "jh-employment", "planned"),
        ("follow_up", "jh-fed", "planned")}
    assert all(m.state == MeasureState.TAKEN_OVER.value for m in case.measures)


@pytest.mark.parametrize("today", ["2026-06-15", "2026-10-06", "2027-02-09"])
def test_the_plan_follows_the_referrals_on_any_day(app, db, clock, today):
    day = date.fromisoformat(today)
    load(app, today)
    plan = xiaoli_plan(db)
    assert_consistent(db, plan, day, _now_for(today))
    items = her_items(plan)
    assert items["counselling"].frequency == "weekly"
    assert overdue(plan, day) == OVERDUE
    assert {m.person.pseudonym for m in plan.members} == set(CHILDREN)
    assert items["skills_training"].state == "sent" and not items["skills_training"].is_overdue(day)
    assert items["legal_aid"].lawsuit_outcome and items["job_training"].sessions


def test_the_plan_is_dated_from_today_when_the_referrals_are_missing(app, db, clock, monkeypatch):
    """A database whose demo referrals are gone or changed by hand: the plan's dates are
    relative to today."""
    monkeypatch.setattr(plan_demo._DemoPlans, "referral", lambda self, slug, sender: None)
    today = date(2026, 11, 28)
    result = load(app, today.isoformat())
    assert "assistance plans: 1 new, 1 in the demo" in result.output
    plan = xiaoli_plan(db)
    assert_consistent(db, plan, today, _now_for(today.isoformat()))
    assert local_date(plan.created_at) > today - timedelta(days=100)
    assert overdue(plan, today) == OVERDUE
