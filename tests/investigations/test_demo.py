"""The judicial aid case demo data (issue 5): 小雨's case as DOMAIN.md tells it, investigated
jointly, approved, decided and paid; 阿兰's proposal waiting for approval; both opened from
their demo referrals, before the referral's reply, and loaded only once."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from caseflow.cli import _now_for
from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.orgs.models import User
from caseflow.core.demo import DEMO_STEPS
from caseflow.core.people.models import Person
from caseflow.investigations import demo as case_demo, policy
from caseflow.investigations.models import (
    AidCase, CaseEvent, CaseEventKind, HouseholdMember, MeasureState, Visit,
)
from caseflow.referrals.demo import STEP_NAME as REFERRAL_STEP_NAME
from caseflow.reports import demo as story_demo
from tests.referrals.test_demo import load

YUAN = Decimal


def demo_cases(db) -> dict[str, AidCase]:
    """The live demo's cases (the story's year has its own test)."""
    story = {pseudonym for pseudonym, *_rest in story_demo.PERSONS}
    cases = db.session.scalars(sa.select(AidCase).order_by(AidCase.id)).all()
    return {case.applicant.pseudonym: case for case in cases if case.applicant.pseudonym not in story}


def counts(db) -> list[int]:
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (AidCase, CaseEvent, Visit, HouseholdMember, Person, AuditEvent)]


def assert_consistent(db, cases: list[AidCase], today: date, now) -> None:
    """Every step in the past and in order, through the services (a timeline event and an
    audit row each), visits after the application, the referral answered after the case."""
    for case in cases:
        events = case.events
        times = [e.occurred_at for e in events]
        assert times == sorted(times) and times[-1] < now, case.number
        assert events[0].kind == CaseEventKind.OPENED.value
        creator = db.session.get(User, case.created_by_id)
        assert creator.is_demo and creator.username == case.handler.username == "prosecutor"
        audited = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "aid_cases", AuditEvent.object_id == str(case.id)))
        assert audited == len(events)
        referral = case.referral
        assert referral is not None and referral.person_id == case.applicant_id
        assert case.application_received_on == referral.received_on
        assert events[0].occurred_at > referral.registered_at
        if referral.replied_at is not None:
            assert times[-1] < referral.replied_at, case.number
        investigation = case.investigation
        assert {m.side for m in investigation.members} == {"federation", "procuratorate"}
        for visit in investigation.visits:
            assert case.application_received_on < visit.visited_on < today
            assert set(visit.visitor_ids) <= {m.user_id for m in investigation.members}
            assert visit.met and visit.notes and not visit.is_void
        assert local_date(case.proposed_at) < today
    numbered = sorted(cases, key=lambda c: c.events[0].occurred_at)
    assert [(c.number_year, c.number_seq) for c in numbered] == sorted(
        (c.number_year, c.number_seq) for c in numbered)


def test_the_step_is_registered_once_after_the_referrals(app):
    before = [step.name for step in DEMO_STEPS]
    case_demo.register_demo_step()
    case_demo.register_demo_step()
    assert [step.name for step in DEMO_STEPS] == before
    assert before.count(case_demo.STEP_NAME) == 1
    assert before.index(REFERRAL_STEP_NAME) < before.index(case_demo.STEP_NAME)


def test_xiaoyus_case_tells_the_story_and_the_demo_loads_once(app, db, clock):
    today = date(2026, 11, 27)
    first = load(app, today.isoformat())
    cases = demo_cases(db)
    assert set(cases) == {"小雨", "晓丽", "阿兰"}
    assert "judicial aid cases: 3 new, 3 in the demo" in first.output
    assert f"{cases['小雨'].number} 小雨: paid" in first.output
    assert_consistent(db, list(cases.values()), today, _now_for(today.isoformat()))

    case = cases["小雨"]
    assert case.number.startswith("江汉检救〔") and case.organisation.code == "jh-proc-5"
    assert case.referral.submission_token == "demo-xiaoyu-judicial-aid"
    assert case.offence == case.referral.offence  # taken over from the referral
    # The joint team: the prosecutor 张明 and the federation officer 王芳, with a plan.
    team = {m.user.username: m.user.display_name for m in case.investigation.members}
    assert team == {"prosecutor": "张明", "fed.officer": "王芳"}
    assert "街道" in case.investigation.plan and "社区" in case.investigation.plan
    # Three visits: her street office, her community, her home.
    visits = case.investigation.visits
    assert [v.place_kind for v in visits] == ["street_office", "community", "home"]
    assert all("低保" in v.notes or "收入" in v.notes or "票据" in v.notes for v in visits)

    # The household: she, two minors at school, the mother-in-law over 80 with a pension.
    household = case.assessment
    members = {m.relation: m for m in household.members}
    assert len(members) == 4
    herself = members["本人（申请人）"]
    assert herself.work.startswith("无业") and "脊柱" in herself.health and not herself.is_minor
    minors = household.minors
    assert len(minors) == 2 and all(m.is_minor and m.person.is_minor for m in minors)
    assert {m.schooling[:2] for m in minors} == {"小学", "职业"}
    assert all(m.age_years < 18 for m in minors)
    assert {m.age_years for m in minors} == {10, 16}
    mother = members["婆婆"]
    assert mother.age_years > 80 and not mother.is_minor
    assert mother.monthly_income == YUAN("2000.00") and mother.income_source == "养老金"
    # She is a member through her own record; the others' identities are sealed in new ones.
    assert herself.person_id == case.applicant_id
    assert all(m.person.organisation_id == case.organisation_id for m in household.members
               if m.person_id != case.applicant_id)

    # The figures, exact to the fen.
    assert household.income_lost == YUAN("3200.00")
    assert household.medical_costs == YUAN("1500.00")
    assert household.monthly_costs == YUAN("4650.00")
    assert household.monthly_income == YUAN("2000.00")
    assert household.monthly_gap == YUAN("-2650.00")
    assert household.qualifies_minimum_allowance is False
    assert "户籍" in household.minimum_allowance_reason

    # Proposed by 张明, approved by 刘强 (not the proposer), decided and paid.
    assert case.state == "paid"
    assert case.proposed_amount == case.granted_amount == case.paid_amount == YUAN("50000.00")
    assert case.findings and case.proposal_reasons and case.decision_text
    assert case.proposed_by.username == "prosecutor" and case.reviewed_by.username == "proc.head"
    assert case.proposed_at < case.reviewed_at
    assert local_date(case.reviewed_at) <= case.decided_on <= case.paid_on < today
    assert case.payment_method == "bank_transfer" and case.payment_reference
    assert case.paid_on < case.referral.reply_on  # the referral's reply says it was paid
    measures = {(m.kind, m.agency.code): m for m in case.measures}
    assert set(measures) == {("skills_training", "jh-fed"), ("job_training", "jh-employment"),
                             ("follow_up", "jh-fed")}
    assert all(m.state == MeasureState.READY.value and m.details for m in measures.values())
    kinds = [e.kind for e in case.events]
    assert kinds.count("visit_recorded") == 3 and kinds.count("member_saved") == 4
    assert kinds[-4:] == ["proposed", "approved", "decided", "paid"]

    # Loading again, today or on another day, adds nothing.
    before = counts(db)
    second = load(app, today.isoformat())
    assert "judicial aid cases: 0 new, 3 in the demo" in second.output
    load(app, "2027-01-15")
    assert counts(db) == before


def test_a_proposal_waits_for_the_supervisor(app, db, clock):
    load(app, "2026-11-27")
    proposed = db.session.scalars(sa.select(AidCase).where(AidCase.state == "proposed")).all()
    assert len(proposed) == 1
    case = proposed[0]
    assert case.applicant.pseudonym == "阿兰"
    assert case.referral.submission_token == "demo-alan-due-in-1"
    assert case.referral.state == "registered"  # not answered yet
    assert case.created_by_id == case.proposed_by_id == case.handler_id
    assert case.proposed_by.username == "prosecutor"
    assert case.reviewed_by_id is None and case.granted_amount is None
    assert case.proposed_amount == YUAN("30000.00") and case.findings and case.proposal_reasons
    assert {m.user.username for m in case.investigation.members} == {"prosecutor", "fed.minzu"}
    assert [v.place_kind for v in case.investigation.visits] == ["hospital"]
    assert len(case.assessment.members) == 2 and case.assessment.income_lost == YUAN("4000.00")
    assert case.measures and all(m.state == MeasureState.RECOMMENDED.value for m in case.measures)
    # 刘强 may approve it; 张明, who proposed it, may not.
    head = db.session.scalars(sa.select(User).where(User.username == "proc.head")).one()
    assert policy.can_review(head, case)
    assert not policy.can_review(case.proposed_by, case)


@pytest.mark.parametrize("today", ["2026-06-15", "2026-10-06", "2027-02-09"])
def test_the_cases_follow_the_referrals_on_any_day(app, db, clock, today):
    load(app, today)
    cases = demo_cases(db)
    assert {name: case.state for name, case in cases.items()} == {
        "小雨": "paid", "晓丽": "paid", "阿兰": "proposed"}
    assert_consistent(db, list(cases.values()), date.fromisoformat(today), _now_for(today))


def test_a_case_is_opened_directly_when_its_referral_is_missing(app, db, clock, monkeypatch):
    """A database whose demo referrals are gone or changed by hand: the same women's cases
    are opened directly, with dates relative to today."""
    monkeypatch.setattr(case_demo._DemoCases, "referral", lambda self, slug, sender: None)
    today = date(2026, 11, 28)
    result = load(app, today.isoformat())
    assert "judicial aid cases: 3 new, 3 in the demo" in result.output
    cases = demo_cases(db)
    # The replies "case opened" name the cases opened for the same women, which links them.
    assert {name: (case.state, case.referral is not None) for name, case in cases.items()} == {
        "小雨": ("paid", True), "晓丽": ("paid", True), "阿兰": ("proposed", False)}
    for case in cases.values():
        assert case.applicant.organisation.kind == "federation"  # the woman the federation recorded
        assert case.offence
        times = [e.occurred_at for e in case.events]
        assert times == sorted(times) and times[-1] < _now_for(today.isoformat())
        assert all(case.application_received_on < v.visited_on < today
                   for v in case.investigation.visits)
