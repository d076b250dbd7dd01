"""The demo follows the seed (DOMAIN.md), checked on the loaded demo: every reply "case
opened" names its case; 晓丽 has her aid case with the story's measures; the story's year
holds the joint training of the 12 street federations' chairs with prosecutors; household
figures agree with the notes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from caseflow.core.demo import STREETS
from caseflow.core.orgs.models import Organisation
from caseflow.investigations.models import AidCase
from caseflow.referrals.models import Referral, ReplyOutcome
from caseflow.reports.demo import CHAIRS_TRAINING, story_year
from caseflow.training import demo as training_demo
from caseflow.training.models import TrainingSession
from tests.referrals.test_demo import load

TODAY = date(2026, 11, 27)


def test_every_reply_case_opened_names_its_case(app, db, clock):
    load(app, TODAY.isoformat())
    replies = db.session.scalars(sa.select(Referral).where(
        Referral.reply_outcome == ReplyOutcome.AID_CASE_OPENED.value)).all()
    assert len(replies) >= 4  # 小雨 and 晓丽 today, 小慧 and 小萍 in the story's year
    for ref in replies:
        case = db.session.scalar(sa.select(AidCase).where(AidCase.referral_id == ref.id))
        assert case is not None, ref.number
        assert case.applicant_id == ref.person_id
        [replied] = [e for e in ref.events if e.kind == "replied"]
        assert replied.data["case"] == case.number
        # The aid the reply says was paid was paid before the reply.
        assert case.state == "paid" and case.paid_on <= ref.reply_on, ref.number


def test_xiaoli_has_her_aid_case_with_the_storys_help(app, db, clock):
    load(app, TODAY.isoformat())
    ref = db.session.scalars(sa.select(Referral).where(
        Referral.submission_token == "demo-xiaoli-judicial-aid")).one()
    case = db.session.scalar(sa.select(AidCase).where(AidCase.referral_id == ref.id))
    assert case is not None and case.applicant.pseudonym == "晓丽" and case.state == "paid"
    measures = {(m.kind, m.agency.code): m.details for m in case.measures}
    assert set(measures) == {("counselling", "jh-counselling"), ("legal_aid", "jh-justice"),
                             ("job_training", "jh-employment")}
    assert "每周" in measures[("counselling", "jh-counselling")]


def test_the_storys_year_trains_the_12_street_chairs_with_prosecutors(app, db, clock):
    load(app, TODAY.isoformat())
    year = story_year(TODAY)
    session = db.session.scalars(sa.select(TrainingSession).where(
        TrainingSession.title == CHAIRS_TRAINING.format(year=year))).one()
    assert session.starts_at.year == year
    streets = set(db.session.scalars(sa.select(Organisation.id).where(
        Organisation.code.in_([f"jh-fed-{code}" for code, _name in STREETS]))))
    assert len(streets) == 12
    assert {i.organisation_id for i in session.invitations if i.organisation_id} == streets
    chairs = {training_demo.chair_username(code) for code, _name in training_demo.CHAIRS}
    marks = {a.user.username: a.status for a in session.attendances if a.user is not None}
    assert chairs <= set(marks)
    assert sum(marks[c] == "present" for c in chairs) == 10
    assert marks["prosecutor"] == "present"  # with the prosecutors


def test_household_figures_agree_with_the_notes(app, db, clock):
    load(app, TODAY.isoformat())
    ref = db.session.scalars(sa.select(Referral).where(
        Referral.submission_token == "demo-xiaoyu-judicial-aid")).one()
    case = db.session.scalar(sa.select(AidCase).where(AidCase.referral_id == ref.id))
    household = case.assessment
    members = household.members
    notes = " ".join(e.text or "" for e in ref.events)
    assert f"家庭成员{len(members)}人" in notes
    assert f"家庭现有{len(members)}人" in case.findings
    income = sum((m.monthly_income or Decimal(0)) for m in members)
    costs = sum(v or Decimal(0) for v in (household.medical_costs, household.schooling_costs,
                                          household.housing_costs, household.other_costs))
    assert f"每月支出约{costs:.0f}元" in case.findings
    assert f"收支缺口约{costs - income:.0f}元" in case.findings
    assert f"每月约{household.income_lost:.0f}元" in case.findings
