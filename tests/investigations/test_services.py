"""Judicial aid cases, service by service: opening, the joint investigation, visits, the
household, the proposal and its review, the decision and the payment, each allowed and
refused, with the rows, the timeline event and the audit row it leaves (or does not)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.people import policy as people_policy, services as people
from caseflow.core.people.services import reveal_identity
from caseflow.investigations import policy, services
from caseflow.investigations.models import (
    VISIT_ADDRESS,
    AidCase, AidCaseCounter, CaseEventKind, CaseState, HouseholdAssessment, HouseholdMember,
    Investigation, InvestigationMember, RecommendedMeasure, Visit,
)
from caseflow.investigations.services.common import _move as move
from caseflow.referrals import services as referral_services
from tests import factories
from tests.investigations.helpers import (
    AID_CASE_PREFIX, CaseCast, audit_rows, case_input, event_kinds, proposal_input, visit_input,
)
from tests.referrals.helpers import referral_input

TODAY = date(2026, 11, 27)  # the local date of the default clock


@pytest.fixture
def cast(world):
    return CaseCast(world)


def _count(db, model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _reloaded(db, obj):
    """The object as the database has it now (what the next request would read)."""
    db.session.flush()
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def _direct_applicant(cast, pseudonym="晓丽"):
    return factories.make_person(cast.world, cast.prosecutor, pseudonym=pseudonym, resident_id=None)


# -- opening a case ----------------------------------------------------------------------


def test_opening_from_a_registered_referral_numbers_the_case(cast, db, clock):
    referral = cast.registered(clock.now, criminal_case_number="江汉刑初字第12号", offence="故意伤害")
    case = services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                              handler=cast.prosecutor, referral=referral)
    row = _reloaded(db, case)
    assert row.number == f"{AID_CASE_PREFIX}〔2026〕1号"
    assert (row.number_year, row.number_seq) == (2026, 1)
    assert row.numbering_org_id == cast.world.procuratorate.id  # the series is the procuratorate's
    assert row.organisation_id == cast.world.department5.id
    assert row.state == "investigating"
    assert row.referral_id == referral.id and row.applicant_id == cast.person.id
    assert row.handler_id == cast.prosecutor.id and row.created_by_id == cast.prosecutor.id
    # What the referral already says is carried over.
    assert row.criminal_case_number == "江汉刑初字第12号" and row.offence == "故意伤害"
    assert services.case_for_referral(referral).id == row.id
    assert event_kinds(db, row) == ["opened"]
    event = row.events[0]
    assert event.to_state == "investigating" and event.actor_id == cast.prosecutor.id
    assert event.data["referral"] == referral.number
    [audit] = audit_rows(db, row, "aid_case.opened")
    assert audit.actor_id == cast.prosecutor.id
    assert audit.object_label == row.number
    assert audit.organisation_id == cast.world.department5.id
    assert audit.after == {"number": row.number, "applicant_id": cast.person.id,
                           "handler_id": cast.prosecutor.id, "referral_id": referral.id}


def test_case_numbers_follow_each_other_and_start_again_each_year(cast, db, clock):
    numbers = [cast.open(clock.now).number for _ in range(2)]
    numbers.append(cast.open(clock.now, applicant=_direct_applicant(cast)).number)
    assert numbers == [f"{AID_CASE_PREFIX}〔2026〕{n}号" for n in (1, 2, 3)]
    # 01:00 on 1 January in Shanghai is still 31 December in UTC: the local year counts.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
    next_year_case = cast.open(new_year, applicant=_direct_applicant(cast, "小梅"),
                               application_received_on=date(2026, 12, 30))
    assert next_year_case.number == f"{AID_CASE_PREFIX}〔2027〕1号"
    assert next_year_case.number_year == 2027


def test_a_referral_gets_one_case_only(cast, db, clock):
    referral = cast.registered(clock.now)
    first = cast.open(clock.now, referral=referral)
    with pytest.raises(Conflict) as refused:
        cast.open(clock.now, referral=referral)
    assert first.number in refused.value.message
    assert _count(db, AidCase, AidCase.referral_id == referral.id) == 1
    assert audit_rows(db, first, "aid_case.opened")  # the first one stands


def test_a_referral_not_yet_registered_cannot_open_a_case(cast, db, clock):
    sent = cast.sent(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        cast.open(clock.now, referral=sent)
    assert refused.value.field == "referral"
    assert _count(db, AidCase) == 0


def test_a_federation_officer_cannot_open_a_case(cast, db, clock):
    with pytest.raises(NotAllowed):
        cast.open(clock.now, applicant=cast.person, actor=cast.officer)
    assert not policy.can_open_case(cast.officer)
    assert not policy.can_open_case(cast.partner)
    assert policy.can_open_case(cast.prosecutor)
    assert _count(db, AidCase) == 0
    # No number was used up by the refusal.
    assert cast.open(clock.now).number == f"{AID_CASE_PREFIX}〔2026〕1号"


def test_the_handler_must_be_a_prosecutor_of_the_opening_procuratorate(cast, db, clock, world):
    elsewhere = factories.make_org("另一区人民检察院", OrganisationKind.PROCURATORATE, now=clock.now)
    foreign_prosecutor = factories.make_user(world, roles={Role.PROSECUTOR}, org=elsewhere)
    referral = cast.registered(clock.now)
    for handler in (cast.officer, foreign_prosecutor, cast.partner):
        with pytest.raises(ValidationFailed) as refused:
            cast.open(clock.now, referral=referral, handler=handler)
        assert refused.value.field == "handler_id"
    assert _count(db, AidCase) == 0
    case = cast.open(clock.now, referral=referral, handler=cast.other_prosecutor)
    assert case.handler_id == cast.other_prosecutor.id


@pytest.mark.parametrize("overrides, field", [
    (dict(application_received_on=date(2026, 11, 28)), "application_received_on"),
    (dict(application_received_on=None), "application_received_on"),
    (dict(offence_on=date(2026, 11, 28)), "offence_on"),
    (dict(offence_on=date(2026, 11, 26), application_received_on=date(2026, 11, 25)),
     "application_received_on"),
    (dict(summary="  "), "summary"),
])
def test_opening_refuses_impossible_dates_and_a_missing_summary(cast, db, clock, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        cast.open(clock.now, applicant=_direct_applicant(cast), **overrides)
    assert refused.value.field == field
    assert _count(db, AidCase) == 0


def test_without_a_number_prefix_opening_says_what_is_missing(cast, db, clock, world):
    world.procuratorate.aid_case_prefix = None
    db.session.flush()
    with pytest.raises(ValidationFailed) as refused:
        cast.open(clock.now, applicant=_direct_applicant(cast))
    assert world.department5.name in refused.value.message
    assert _count(db, AidCase) == 0
    assert _count(db, AidCaseCounter) == 0
    # The department's own prefix is used when it has one.
    world.department5.aid_case_prefix = "五部救"
    db.session.flush()
    assert cast.open(clock.now, applicant=_direct_applicant(cast)).number == "五部救〔2026〕1号"


def test_a_direct_case_needs_an_applicant_the_prosecutor_can_see(cast, db, clock, world):
    other_street_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER},
                                               org=world.street_b)
    unseen = factories.make_person(world, other_street_officer, pseudonym="街道的人", resident_id=None)
    with pytest.raises(ValidationFailed) as refused:
        cast.open(clock.now, applicant=unseen)
    assert refused.value.field == "applicant_id"
    applicant = _direct_applicant(cast)
    case = cast.open(clock.now, applicant=applicant)
    assert case.referral_id is None and case.applicant_id == applicant.id
    assert audit_rows(db, case, "aid_case.opened")[0].after["referral_id"] is None


# -- the joint investigation --------------------------------------------------------------


def test_a_joint_investigation_needs_both_sides_on_the_team(cast, db, clock):
    case = cast.open(clock.now)
    one_sided = ([cast.prosecutor, cast.other_prosecutor], [cast.officer, cast.street_officer], [])
    for members in one_sided:
        with pytest.raises(ValidationFailed) as refused:
            services.start_investigation(case, actor=cast.prosecutor, now=clock.now, plan="走访",
                                         members=members)
        assert refused.value.field == "members"
    assert case.investigation is None and _count(db, Investigation) == 0
    assert event_kinds(db, case) == ["opened"]

    investigation = services.start_investigation(
        case, actor=cast.prosecutor, now=clock.now, plan="走访街道、社区和家庭。",
        members=[cast.prosecutor, cast.officer, cast.officer])  # a double pick counts once
    row = _reloaded(db, investigation)
    assert row.started_on == TODAY and row.started_by_id == cast.prosecutor.id
    assert sorted((m.user_id, m.side) for m in row.members) == sorted(
        [(cast.prosecutor.id, "procuratorate"), (cast.officer.id, "federation")])
    assert event_kinds(db, case) == ["opened", "investigation_started"]
    [audit] = audit_rows(db, case, "aid_case.investigation_started")
    assert sorted(audit.after["members"]) == sorted([cast.prosecutor.id, cast.officer.id])
    with pytest.raises(Conflict):
        services.start_investigation(case, actor=cast.prosecutor, now=clock.now, plan="再来一次",
                                     members=[cast.prosecutor, cast.officer])
    assert _count(db, Investigation) == 1


def test_partner_workers_cannot_join_the_team(cast, db, clock):
    case = cast.open(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.start_investigation(case, actor=cast.prosecutor, now=clock.now, plan="走访",
                                     members=[cast.prosecutor, cast.officer, cast.partner])
    assert refused.value.field == "members"
    assert cast.partner not in services.team_candidates(case)
    assert _count(db, InvestigationMember) == 0


def test_only_the_handler_or_a_supervisor_starts_the_investigation(cast, db, clock):
    case = cast.open(clock.now)
    for actor in (cast.other_prosecutor, cast.officer, cast.partner):
        with pytest.raises(NotAllowed):
            services.start_investigation(case, actor=actor, now=clock.now, plan="走访",
                                         members=[cast.prosecutor, cast.officer])
    assert _count(db, Investigation) == 0
    services.start_investigation(case, actor=cast.proc_supervisor, now=clock.now, plan="走访",
                                 members=[cast.prosecutor, cast.officer])
    assert case.investigation is not None


def test_changing_the_team_needs_a_reason_and_keeps_both_sides(cast, db, clock):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.change_team(case, actor=cast.prosecutor, now=clock.now,
                             members=[cast.prosecutor, cast.street_officer], reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(ValidationFailed) as refused:
        services.change_team(case, actor=cast.prosecutor, now=clock.now,
                             members=[cast.prosecutor, cast.other_prosecutor], reason="人员调整")
    assert refused.value.field == "members"
    with pytest.raises(NotAllowed):
        services.change_team(case, actor=cast.officer, now=clock.now,
                             members=[cast.prosecutor, cast.street_officer], reason="人员调整")
    assert sorted(m.user_id for m in _reloaded(db, case).investigation.members) == sorted(
        [cast.prosecutor.id, cast.officer.id])
    assert "team_changed" not in event_kinds(db, case)

    case = _reloaded(db, case)
    services.change_team(case, actor=cast.prosecutor, now=clock.now,
                         members=[cast.prosecutor, cast.street_officer, cast.other_prosecutor],
                         reason="街道妇联熟悉情况")
    row = _reloaded(db, case)
    assert sorted(m.user_id for m in row.investigation.members) == sorted(
        [cast.prosecutor.id, cast.street_officer.id, cast.other_prosecutor.id])
    assert _count(db, InvestigationMember) == 3
    assert event_kinds(db, row)[-1] == "team_changed"
    [audit] = audit_rows(db, row, "aid_case.team_changed")
    assert audit.reason == "街道妇联熟悉情况"
    assert audit.before == {"members": sorted([cast.prosecutor.id, cast.officer.id])}
    assert audit.after == {"members": sorted(
        [cast.prosecutor.id, cast.street_officer.id, cast.other_prosecutor.id])}
    # The officer who left is no longer on the team.
    assert not policy.on_team(cast.officer, row) and policy.on_team(cast.street_officer, row)


# -- visits ---------------------------------------------------------------------------------


def test_a_team_member_records_a_visit(cast, db, clock):
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.officer, now=clock.now,
                                  data=visit_input(cast, other_visitors=" 社区网格员 "))
    row = _reloaded(db, visit)
    assert row.visited_on == date(2026, 11, 26) and row.place_kind == "home"
    assert row.visitor_ids == sorted([cast.prosecutor.id, cast.officer.id])
    assert row.other_visitors == "社区网格员" and row.recorded_by_id == cast.officer.id
    assert row.version == 1 and not row.is_void
    case = db.session.get(AidCase, case.id)
    assert event_kinds(db, case)[-1] == "visit_recorded"
    [audit] = audit_rows(db, case, "aid_case.visit_recorded")
    assert audit.actor_id == cast.officer.id
    # The address is sealed in the visit; the audit row and the timeline hold no copy.
    assert "address" not in audit.after and audit.after["visited_on"] == "2026-11-26"
    assert people.open_copy(VISIT_ADDRESS, row.address_sealed) == "江汉区某社区3栋"
    assert case.events[-1].text is None


@pytest.mark.parametrize("overrides, field", [
    (dict(visited_on=date(2026, 11, 28)), "visited_on"),
    (dict(visited_on=None), "visited_on"),
    (dict(visited_on=date(2025, 11, 26)), "visited_on"),  # more than a year before the start
    (dict(place_kind="moon"), "place_kind"),
    (dict(address=" "), "address"),
    (dict(met=""), "met"),
    (dict(notes=""), "notes"),
    (dict(visitor_ids=[]), "visitor_ids"),
])
def test_a_visit_with_wrong_details_is_refused(cast, db, clock, overrides, field):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                              data=visit_input(cast, **overrides))
    assert refused.value.field == field
    assert _count(db, Visit) == 0
    assert "visit_recorded" not in event_kinds(db, case)


def test_visitors_must_be_members_of_the_team(cast, db, clock):
    case = cast.investigating(clock.now)
    for outsiders in ([cast.other_prosecutor.id], [cast.prosecutor.id, cast.street_officer.id]):
        with pytest.raises(ValidationFailed) as refused:
            services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast, visitor_ids=outsiders))
        assert refused.value.field == "visitor_ids"
    assert _count(db, Visit) == 0


def test_who_is_not_on_the_team_records_no_visit(cast, db, clock, world):
    case = cast.investigating(clock.now)
    for outsider in (cast.street_officer, cast.fed_supervisor, cast.partner, cast.other_prosecutor):
        with pytest.raises(NotAllowed):
            services.record_visit(case, actor=outsider, now=clock.now, data=visit_input(cast))
    assert _count(db, Visit) == 0
    # The handler and the procuratorate's supervisor may, the case being theirs.
    services.record_visit(case, actor=cast.proc_supervisor, now=clock.now, data=visit_input(cast))
    assert _count(db, Visit) == 1


def test_a_visit_is_corrected_with_a_reason_against_the_version_seen(cast, db, clock):
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast))
    db.session.flush()
    seen = visit.version
    with pytest.raises(ValidationFailed) as refused:
        services.correct_visit(visit, actor=cast.prosecutor, now=clock.now,
                               data=visit_input(cast, address="江汉区某社区5栋"), reason=" ",
                               expected_version=seen)
    assert refused.value.field == "reason"
    assert services.visit_address(_reloaded(db, visit)) == "******"
    assert people.open_copy(VISIT_ADDRESS, _reloaded(db, visit).address_sealed) == "江汉区某社区3栋"

    later = clock.now + timedelta(hours=2)
    visit = db.session.get(Visit, visit.id)
    services.correct_visit(visit, actor=cast.officer, now=later,
                           data=visit_input(cast, address="江汉区某社区5栋",
                                            visitor_ids=[cast.officer.id]),
                           reason="门牌号记错", expected_version=seen)
    row = _reloaded(db, visit)
    assert people.open_copy(VISIT_ADDRESS, row.address_sealed) == "江汉区某社区5栋"
    assert row.visitor_ids == [cast.officer.id]
    assert row.version == seen + 1 and row.updated_at == later
    case = db.session.get(AidCase, case.id)
    assert event_kinds(db, case)[-1] == "visit_corrected"
    assert case.events[-1].data["fields"] == ["address", "visitor_ids"]
    [audit] = audit_rows(db, case, "aid_case.visit_corrected")
    assert audit.reason == "门牌号记错"
    # The row says the address changed, never what it was or became.
    assert audit.before == {"visitor_ids": sorted([cast.prosecutor.id, cast.officer.id])}
    assert audit.after == {"protected_fields_changed": ["address"], "visitor_ids": [cast.officer.id]}


def test_a_correction_from_a_stale_form_gets_a_conflict_and_changes_nothing(cast, db, clock):
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast))
    db.session.flush()
    stale = visit.version
    services.correct_visit(visit, actor=cast.prosecutor, now=clock.now,
                           data=visit_input(cast, notes="第一人的修改"), reason="补充",
                           expected_version=stale)
    db.session.flush()
    with pytest.raises(Conflict):
        services.correct_visit(visit, actor=cast.officer, now=clock.now,
                               data=visit_input(cast, notes="第二人的修改"), reason="补充",
                               expected_version=stale)
    row = _reloaded(db, visit)
    assert row.notes == "第一人的修改" and row.version == stale + 1
    assert event_kinds(db, row.investigation.case).count("visit_corrected") == 1
    assert len(audit_rows(db, row.investigation.case, "aid_case.visit_corrected")) == 1


def test_a_visit_changed_by_a_concurrent_request_gets_a_conflict_not_a_crash(cast, db, clock):
    """Both requests read version 1 and pass the check; the other one writes first. The
    UPDATE then finds no row of the version read: a Conflict the user can act on."""
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast))
    db.session.flush()
    seen = visit.version
    db.session.execute(sa.update(Visit.__table__).where(Visit.__table__.c.id == visit.id)
                       .values(notes="另一请求的修改", version=seen + 1))
    with pytest.raises(Conflict):
        with db.session.begin_nested():
            services.correct_visit(visit, actor=cast.officer, now=clock.now,
                                   data=visit_input(cast, notes="我的修改"), reason="补充",
                                   expected_version=seen)
    row = _reloaded(db, visit)
    assert row.notes == "另一请求的修改" and row.version == seen + 1


def test_a_visit_is_voided_with_a_reason_and_never_deleted(cast, db, clock):
    case = cast.investigating(clock.now)
    visit = services.record_visit(case, actor=cast.prosecutor, now=clock.now,
                                  data=visit_input(cast))
    with pytest.raises(ValidationFailed) as refused:
        services.void_visit(visit, actor=cast.prosecutor, now=clock.now, reason="")
    assert refused.value.field == "void_reason"
    assert not _reloaded(db, visit).is_void

    visit = db.session.get(Visit, visit.id)
    services.void_visit(visit, actor=cast.officer, now=clock.now, reason="误录为另一户的走访")
    row = _reloaded(db, visit)
    assert row.is_void and row.voided_at == clock.now and row.void_reason == "误录为另一户的走访"
    assert _count(db, Visit) == 1 and row.notes  # still there, with what it said
    case = db.session.get(AidCase, case.id)
    assert event_kinds(db, case)[-1] == "visit_voided"
    [audit] = audit_rows(db, case, "aid_case.visit_voided")
    assert audit.reason == "误录为另一户的走访" and audit.after == {"visit_id": visit.id}

    with pytest.raises(InvalidTransition):
        services.correct_visit(row, actor=cast.prosecutor, now=clock.now,
                               data=visit_input(cast, notes="改一下"), reason="补充",
                               expected_version=row.version)
    with pytest.raises(InvalidTransition):
        services.void_visit(row, actor=cast.prosecutor, now=clock.now, reason="再作废一次")
    assert _reloaded(db, visit).notes != "改一下"
    assert len(audit_rows(db, case, "aid_case.visit_voided")) == 1


def test_a_visit_can_be_recorded_in_an_investigation_started_on_29_february(cast, db, clock):
    leap_day = datetime(2028, 2, 29, 2, 0, tzinfo=timezone.utc)
    case = cast.investigating(leap_day, applicant=_direct_applicant(cast),
                              application_received_on=date(2028, 2, 25))
    assert case.investigation.started_on == date(2028, 2, 29)
    visit = services.record_visit(case, actor=cast.prosecutor, now=leap_day,
                                  data=visit_input(cast, visited_on=date(2028, 2, 29)))
    assert visit.id is not None
    # A year back from 29 February 2028 is 28 February 2027; before that is refused.
    services.record_visit(case, actor=cast.prosecutor, now=leap_day,
                          data=visit_input(cast, visited_on=date(2027, 2, 28)))
    with pytest.raises(ValidationFailed) as refused:
        services.record_visit(case, actor=cast.prosecutor, now=leap_day,
                              data=visit_input(cast, visited_on=date(2027, 2, 27)))
    assert refused.value.field == "visited_on"


# -- the household -----------------------------------------------------------------------


def _household(cast, case, now, *, expected_version=None, **overrides):
    values = dict(medical_costs="1500", schooling_costs="800.50", other_costs="200",
                  income_lost="3000", qualifies_minimum_allowance=False,
                  minimum_allowance_reason="婆婆有退休金，家庭人均收入高于低保标准。")
    values.update(overrides)
    return services.save_household(case, actor=cast.prosecutor, now=now,
                                   data=services.HouseholdInput(**values),
                                   expected_version=expected_version)


def _member(cast, case, now, *, actor=None, member=None, **overrides):
    values = dict(pseudonym="婆婆", relation="婆婆", age_years=82, monthly_income="2000",
                  income_source="退休金")
    values.update(overrides)
    return services.save_member(case, actor=actor or cast.prosecutor, now=now,
                                data=services.MemberInput(**values), member=member)


def test_the_household_is_saved_with_its_amounts_and_totals(cast, db, clock):
    case = cast.investigating(clock.now)
    assessment = _household(cast, case, clock.now)
    _member(cast, case, clock.now)
    _member(cast, case, clock.now, pseudonym="小雨", relation="本人", age_years=41,
            monthly_income="0", health="脊柱疾病")
    _member(cast, case, clock.now, pseudonym="大宝", relation="长子", age_years=16,
            monthly_income=None, schooling="职业学校")
    row = _reloaded(db, assessment)
    assert row.medical_costs == Decimal("1500.00") and row.schooling_costs == Decimal("800.50")
    assert row.housing_costs is None and row.income_lost == Decimal("3000.00")
    assert row.qualifies_minimum_allowance is False
    assert row.monthly_income == Decimal("2000.00")
    assert row.monthly_costs == Decimal("2500.50")
    assert row.monthly_gap == Decimal("-500.50")
    assert [m.relation for m in row.members] == ["婆婆", "本人", "长子"]
    case = db.session.get(AidCase, case.id)
    assert event_kinds(db, case)[-4:] == ["household_saved"] + ["member_saved"] * 3
    [audit] = audit_rows(db, case, "aid_case.household_saved")
    assert set(audit.before.values()) == {None}  # nothing before the first save
    assert audit.after["medical_costs"] == "1500.00" and audit.after["schooling_costs"] == "800.50"
    assert len(audit_rows(db, case, "aid_case.member_saved")) == 3


@pytest.mark.parametrize("field", ["medical_costs", "schooling_costs", "housing_costs",
                                   "other_costs", "income_lost"])
@pytest.mark.parametrize("bad", ["12.345", "-5", "abc"])
def test_a_wrong_household_amount_names_its_field_and_saves_nothing(cast, db, clock, field, bad):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        _household(cast, case, clock.now, **{field: bad})
    assert refused.value.field == field
    db.session.flush()
    assert _count(db, HouseholdAssessment) == 0
    # On an existing assessment too: nothing of the refused form is kept.
    assessment = _household(cast, case, clock.now)
    db.session.flush()
    version = assessment.version
    with pytest.raises(ValidationFailed) as refused:
        _household(cast, case, clock.now, expected_version=version,
                   **({"other_costs": "9999", field: bad} if field != "other_costs"
                      else {field: bad}))
    assert refused.value.field == field
    row = _reloaded(db, assessment)
    assert row.medical_costs == Decimal("1500.00") and row.other_costs == Decimal("200.00")
    assert row.version == version
    assert len(audit_rows(db, case, "aid_case.household_saved")) == 1


@pytest.mark.parametrize("bad", ["12.345", "-5", "abc"])
def test_a_wrong_member_income_names_its_field_and_saves_nothing(cast, db, clock, bad):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    with pytest.raises(ValidationFailed) as refused:
        _member(cast, case, clock.now, monthly_income=bad)
    assert refused.value.field == "monthly_income"
    db.session.flush()
    assert _count(db, HouseholdMember) == 0


def test_the_allowance_answer_needs_its_reason(cast, db, clock):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        _household(cast, case, clock.now, qualifies_minimum_allowance=True,
                   minimum_allowance_reason=" ")
    assert refused.value.field == "minimum_allowance_reason"
    assert _household(cast, case, clock.now, qualifies_minimum_allowance=None,
                      minimum_allowance_reason=None).qualifies_minimum_allowance is None


def test_a_second_save_from_the_old_form_gets_a_conflict(cast, db, clock):
    case = cast.investigating(clock.now)
    assessment = _household(cast, case, clock.now)
    db.session.flush()
    shown = assessment.version
    # Two people opened the form at version ``shown``; the first one saves.
    _household(cast, case, clock.now, expected_version=shown, medical_costs="1800")
    db.session.flush()
    assert assessment.version == shown + 1
    with pytest.raises(Conflict):
        _household(cast, case, clock.now, expected_version=shown, medical_costs="2500")
    # Creating it again from an empty form when it exists is a conflict too.
    with pytest.raises(Conflict):
        _household(cast, case, clock.now, expected_version=None, medical_costs="2500")
    row = _reloaded(db, assessment)
    assert row.medical_costs == Decimal("1800.00") and row.version == shown + 1
    assert _count(db, HouseholdAssessment) == 1
    assert len(audit_rows(db, case, "aid_case.household_saved")) == 2


def test_a_household_changed_by_a_concurrent_request_gets_a_conflict_not_a_crash(cast, db, clock):
    case = cast.investigating(clock.now)
    assessment = _household(cast, case, clock.now)
    db.session.flush()
    seen = assessment.version
    table = HouseholdAssessment.__table__
    db.session.execute(sa.update(table).where(table.c.id == assessment.id)
                       .values(medical_costs=Decimal("1700"), version=seen + 1))
    with pytest.raises(Conflict):
        with db.session.begin_nested():
            _household(cast, case, clock.now, expected_version=seen, medical_costs="2500")
    row = _reloaded(db, assessment)
    assert row.medical_costs == Decimal("1700.00") and row.version == seen + 1


def test_members_are_added_only_to_a_saved_household(cast, db, clock):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed):
        _member(cast, case, clock.now)
    assert _count(db, HouseholdMember) == 0


@pytest.mark.parametrize("overrides, field", [
    (dict(age_years=None), "age_years"),
    (dict(age_years=121), "age_years"),
    (dict(age_years=-1), "age_years"),
    (dict(age_years=None, birth_date=date(2026, 11, 28)), "birth_date"),
    (dict(age_years=None, birth_date=date(1905, 11, 26)), "birth_date"),
    (dict(age_years=12, birth_date=date(2016, 4, 18)), "age_years"),  # she is 10
    (dict(relation=" "), "relation"),
])
def test_impossible_ages_are_refused(cast, db, clock, overrides, field):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    with pytest.raises(ValidationFailed) as refused:
        _member(cast, case, clock.now, **overrides)
    assert refused.value.field == field
    db.session.flush()
    assert _count(db, HouseholdMember) == 0
    assert "member_saved" not in event_kinds(db, case)


def test_a_member_under_18_is_flagged_a_minor_on_the_member_and_the_person(cast, db, clock):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    by_age = _member(cast, case, clock.now, pseudonym="二宝", relation="次子", age_years=9,
                     monthly_income=None, schooling="小学")
    by_birth = _member(cast, case, clock.now, pseudonym="小妹", relation="女儿", age_years=None,
                       birth_date=date(2016, 4, 18), monthly_income=None)
    eighteen = _member(cast, case, clock.now, pseudonym="侄子", relation="侄子", age_years=None,
                       birth_date=date(2008, 11, 27), monthly_income=None)
    adult = _member(cast, case, clock.now)
    db.session.flush()
    db.session.expire_all()
    by_age, by_birth, eighteen, adult = (db.session.get(HouseholdMember, m.id)
                                         for m in (by_age, by_birth, eighteen, adult))
    assert (by_age.age_years, by_age.is_minor, by_age.person.is_minor) == (9, True, True)
    assert (by_birth.age_years, by_birth.is_minor, by_birth.person.is_minor) == (10, True, True)
    assert (eighteen.age_years, eighteen.is_minor, eighteen.person.is_minor) == (18, False, False)
    assert (adult.age_years, adult.is_minor, adult.person.is_minor) == (82, False, False)
    assessment = db.session.get(AidCase, case.id).assessment
    assert [m.id for m in assessment.minors] == [by_age.id, by_birth.id]
    # The member's identity sits in a Person of the case's procuratorate.
    assert by_birth.person.organisation_id == case.organisation_id


def test_a_member_known_by_resident_id_gets_the_age_it_holds(cast, db, clock):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    with pytest.raises(ValidationFailed) as refused:
        _member(cast, case, clock.now, pseudonym="小妹", relation="女儿", age_years=40,
                resident_id=factories.MINOR_ID, monthly_income=None)  # born 2016-04-18
    assert refused.value.field in ("age_years", "resident_id")
    member = _member(cast, case, clock.now, pseudonym="小妹", relation="女儿", age_years=None,
                     resident_id=factories.MINOR_ID, monthly_income=None)
    assert member.age_years == 10 and member.is_minor and member.person.is_minor


def test_a_member_is_corrected_in_place(cast, db, clock, world):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    member = _member(cast, case, clock.now)
    db.session.flush()
    later = clock.now + timedelta(days=1)
    _member(cast, case, later, member=member, monthly_income="2200", health="高血压")
    row = _reloaded(db, member)
    assert row.monthly_income == Decimal("2200.00") and row.health == "高血压"
    assert _count(db, HouseholdMember) == 1
    case = db.session.get(AidCase, case.id)
    audit = audit_rows(db, case, "aid_case.member_saved")[-1]
    assert audit.before == {"monthly_income": "2000.00", "health": None}
    assert audit.after == {"member_id": member.id, "monthly_income": "2200.00", "health": "高血压"}
    # A member of another case is not corrected through this one.
    other = cast.investigating(clock.now, applicant=_direct_applicant(cast))
    _household(cast, other, clock.now)
    with pytest.raises(NotAllowed):
        _member(cast, other, later, member=row, monthly_income="1")
    assert _reloaded(db, row).monthly_income == Decimal("2200.00")


def test_a_minor_members_identity_is_for_the_team_and_supervisors_only(cast, db, clock, world):
    case = cast.investigating(clock.now)
    _household(cast, case, clock.now)
    minor = _member(cast, case, clock.now, pseudonym="小妹", relation="女儿", age_years=None,
                    real_name="陈小妹", birth_date=date(2016, 4, 18), monthly_income=None)
    db.session.flush()
    person = minor.person
    assert person.is_minor and person.created_by_id == cast.prosecutor.id
    # The federation officer did not record her but is on the team.
    assert people_policy.can_view_identity(cast.officer, person)
    assert people_policy.can_view_identity(cast.proc_supervisor, person)
    # A prosecutor of the same department who is not on the team sees her masked only.
    assert people_policy.can_view_person(cast.other_prosecutor, person)
    assert not people_policy.can_view_identity(cast.other_prosecutor, person)
    assert not people_policy.can_view_identity(cast.street_officer, person)
    assert not people_policy.can_view_identity(cast.partner, person)

    shown = reveal_identity(person, actor=cast.officer, now=clock.now, purpose="核实家庭成员")
    assert shown.real_name == "陈小妹"
    db.session.flush()
    [access] = db.session.scalars(
        sa.select(AccessEvent).where(AccessEvent.person_id == person.id)).all()
    assert access.actor_id == cast.officer.id and access.purpose == "核实家庭成员"
    assert "real_name" in access.fields.split(",")
    with pytest.raises(NotAllowed):
        reveal_identity(person, actor=cast.other_prosecutor, now=clock.now, purpose="好奇")
    db.session.flush()
    assert _count(db, AccessEvent, AccessEvent.person_id == person.id) == 1

    # Leaving the team ends it.
    services.change_team(case, actor=cast.prosecutor, now=clock.now,
                         members=[cast.prosecutor, cast.street_officer], reason="人员调整")
    db.session.flush()
    assert not people_policy.can_view_identity(cast.officer, person)
    assert people_policy.can_view_identity(cast.street_officer, person)


# -- the proposal --------------------------------------------------------------------------


def _set_maximum(world, now, value):
    from caseflow.core.settings.services import change_setting

    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN})
    change_setting("aid_amount_maximum", value, actor=admin, now=now)


@pytest.mark.parametrize("amount", ["0", "0.00", "-100", "12.345", "abc", "", "30,000", "￥30000",
                                    "50000.01", "60000"])
def test_a_proposed_amount_is_positive_with_two_decimals_and_within_the_maximum(
        cast, db, clock, world, amount):
    _set_maximum(world, clock.now, 50000)
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.propose(case, actor=cast.prosecutor, now=clock.now,
                         data=proposal_input(amount=amount))
    assert refused.value.field == "amount"
    row = _reloaded(db, case)
    assert row.state == "investigating" and row.proposed_amount is None
    assert "proposed" not in event_kinds(db, row)
    assert audit_rows(db, row, "aid_case.proposed") == []


@pytest.mark.parametrize("amount, stored", [("50000", "50000.00"), ("0.01", "0.01"),
                                            ("30000.5", "30000.50")])
def test_amounts_up_to_the_maximum_are_accepted(cast, db, clock, world, amount, stored):
    _set_maximum(world, clock.now, 50000)
    case = cast.investigating(clock.now)
    services.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input(amount=amount))
    assert _reloaded(db, case).proposed_amount == Decimal(stored)


def test_a_proposal_records_the_amount_and_the_measures_as_recommended(cast, db, clock, world):
    case = cast.investigating(clock.now)
    measures = [services.MeasureInput(kind="legal_aid", agency=world.justice_bureau,
                                      details="车辆权属纠纷"),
                services.MeasureInput(kind="job_training", agency=world.federation),
                services.MeasureInput(kind="follow_up")]
    services.propose(case, actor=cast.prosecutor, now=clock.now,
                     data=proposal_input(amount="30000.50", measures=measures))
    row = _reloaded(db, case)
    assert row.state == "proposed" and row.proposed_amount == Decimal("30000.50")
    assert row.proposed_by_id == cast.prosecutor.id and row.proposed_at == clock.now
    assert row.findings and row.proposal_reasons
    assert [(m.kind, m.agency_id, m.state) for m in row.measures] == [
        ("legal_aid", world.justice_bureau.id, "recommended"),
        ("job_training", world.federation.id, "recommended"),
        ("follow_up", None, "recommended")]
    assert row.measures[0].details == "车辆权属纠纷"
    event = row.events[-1]
    assert (event.kind, event.from_state, event.to_state) == (
        "proposed", "investigating", "proposed")
    assert event.data["amount"] == "30000.50"
    [audit] = audit_rows(db, row, "aid_case.proposed")
    assert audit.before == {"state": "investigating"}
    assert audit.after == {"state": "proposed", "amount": "30000.50",
                           "measures": ["legal_aid", "job_training", "follow_up"]}
    assert audit.actor_id == cast.prosecutor.id


@pytest.mark.parametrize("overrides, field", [
    (dict(findings=" "), "findings"),
    (dict(reasons=""), "reasons"),
    (dict(measures=[services.MeasureInput(kind="holiday")]), "measures"),
])
def test_a_proposal_needs_findings_reasons_and_known_measures(cast, db, clock, overrides, field):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.propose(case, actor=cast.prosecutor, now=clock.now,
                         data=proposal_input(**overrides))
    assert refused.value.field == field
    row = _reloaded(db, case)
    assert row.state == "investigating" and row.measures == []


def test_measures_are_given_by_a_partner_agency_or_the_federation(cast, db, clock, world):
    case = cast.investigating(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input(
            measures=[services.MeasureInput(kind="counselling", agency=world.procuratorate)]))
    assert refused.value.field == "measures"
    assert _reloaded(db, case).state == "investigating"
    assert _count(db, RecommendedMeasure) == 0


def test_who_proposes_and_when(cast, db, clock):
    not_started = cast.open(clock.now)
    with pytest.raises(NotAllowed):
        services.propose(not_started, actor=cast.prosecutor, now=clock.now, data=proposal_input())
    case = cast.investigating(clock.now)
    for actor in (cast.other_prosecutor, cast.officer, cast.fed_supervisor, cast.partner):
        with pytest.raises(NotAllowed):
            services.propose(case, actor=actor, now=clock.now, data=proposal_input())
    assert _reloaded(db, case).state == "investigating"


# -- the review ----------------------------------------------------------------------------


def test_nobody_approves_their_own_proposal(cast, db, clock, world):
    case = cast.proposed(clock.now, actor=cast.proc_supervisor)  # a supervisor proposes
    for outcome in ("approve", "reject", "return"):
        with pytest.raises(NotAllowed):
            services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome=outcome,
                            comment="自己审自己")
    row = _reloaded(db, case)
    assert row.state == "proposed" and row.reviewed_by_id is None
    assert not policy.can_review(cast.proc_supervisor, row)
    second_supervisor = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                            org=world.department5)
    services.review(row, actor=second_supervisor, now=clock.now, outcome="approve", comment=None)
    assert row.state == "approved" and row.reviewed_by_id == second_supervisor.id


def test_the_database_refuses_a_reviewer_who_proposed(cast, db, clock):
    case = cast.proposed(clock.now)
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            case.reviewed_by_id = case.proposed_by_id
            case.reviewed_at = clock.now
            db.session.flush()
    assert _reloaded(db, case).reviewed_by_id is None


@pytest.mark.parametrize("actor_name", ["prosecutor", "other_prosecutor", "officer",
                                        "fed_supervisor", "partner"])
def test_only_a_supervisor_of_the_procuratorate_reviews(cast, db, clock, actor_name):
    case = cast.proposed(clock.now)
    with pytest.raises(NotAllowed):
        services.review(case, actor=getattr(cast, actor_name), now=clock.now, outcome="approve",
                        comment="同意")
    assert _reloaded(db, case).state == "proposed"


@pytest.mark.parametrize("outcome", ["reject", "return"])
def test_rejecting_or_returning_needs_a_comment(cast, db, clock, outcome):
    case = cast.proposed(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome=outcome,
                        comment=" ")
    assert refused.value.field == "comment"
    with pytest.raises(ValidationFailed) as refused:
        services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="maybe",
                        comment="x")
    assert refused.value.field == "outcome"
    row = _reloaded(db, case)
    assert row.state == "proposed" and row.review_comment is None
    action = "aid_case.rejected" if outcome == "reject" else "aid_case.returned"
    assert audit_rows(db, row, action) == []


def test_a_returned_proposal_goes_back_to_investigating(cast, db, clock, world):
    case = cast.proposed(clock.now, measures=[services.MeasureInput(kind="counselling")])
    later = clock.now + timedelta(hours=3)
    services.review(case, actor=cast.proc_supervisor, now=later, outcome="return",
                    comment="请补充子女就学费用")
    row = _reloaded(db, case)
    assert row.state == "investigating" and row.review_comment == "请补充子女就学费用"
    assert row.reviewed_by_id is None and row.reviewed_at is None
    assert row.proposed_amount == Decimal("30000.00")  # kept for the next proposal
    assert [m.state for m in row.measures] == ["recommended"]
    event = row.events[-1]
    assert (event.kind, event.from_state, event.to_state, event.text) == (
        "returned", "proposed", "investigating", "请补充子女就学费用")
    [audit] = audit_rows(db, row, "aid_case.returned")
    assert audit.actor_id == cast.proc_supervisor.id and audit.reason == "请补充子女就学费用"
    assert audit.before == {"state": "proposed"} and audit.after == {"state": "investigating"}
    # The team works on and proposes again; the new measures replace the old ones, which
    # are kept, dropped, not deleted.
    services.record_visit(row, actor=cast.officer, now=later,
                          data=visit_input(cast, place_kind="school"))
    services.propose(row, actor=cast.prosecutor, now=later, data=proposal_input(
        amount="32000",
        measures=[services.MeasureInput(kind="skills_training", agency=world.federation)]))
    row = _reloaded(db, row)
    assert row.state == "proposed" and row.proposed_amount == Decimal("32000.00")
    assert [(m.kind, m.state) for m in row.measures] == [("counselling", "dropped"),
                                                          ("skills_training", "recommended")]
    assert [m.kind for m in row.current_measures] == ["skills_training"]
    assert len(audit_rows(db, row, "aid_case.proposed")) == 2


def test_approval_makes_the_measures_ready_for_assistance(cast, db, clock, world):
    case = cast.proposed(clock.now, measures=[
        services.MeasureInput(kind="legal_aid", agency=world.justice_bureau),
        services.MeasureInput(kind="job_training", agency=world.federation)])
    other = cast.proposed(clock.now, applicant=_direct_applicant(cast),
                          measures=[services.MeasureInput(kind="counselling")])  # stays proposed
    db.session.flush()
    assert db.session.scalars(services.ready_measures()).all() == []
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="approve",
                    comment="同意")
    row = _reloaded(db, case)
    assert row.state == "approved"
    assert row.reviewed_by_id == cast.proc_supervisor.id and row.reviewed_at == clock.now
    assert [m.state for m in row.measures] == ["ready", "ready"]
    ready = db.session.scalars(services.ready_measures()).all()
    assert [(m.case_id, m.kind) for m in ready] == [(case.id, "legal_aid"),
                                                    (case.id, "job_training")]
    assert [m.state for m in db.session.get(AidCase, other.id).measures] == ["recommended"]
    event = row.events[-1]
    assert (event.kind, event.from_state, event.to_state) == ("approved", "proposed", "approved")
    [audit] = audit_rows(db, row, "aid_case.approved")
    assert audit.actor_id == cast.proc_supervisor.id
    assert audit.after == {"state": "approved", "amount": "30000.00"}


def test_rejection_drops_the_measures_and_ends_the_case(cast, db, clock):
    case = cast.proposed(clock.now, measures=[services.MeasureInput(kind="counselling")])
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="reject",
                    comment="不符合司法救助条件")
    row = _reloaded(db, case)
    assert row.state == "rejected" and row.reviewed_by_id == cast.proc_supervisor.id
    assert [m.state for m in row.measures] == ["dropped"]
    assert db.session.scalars(services.ready_measures()).all() == []
    assert event_kinds(db, row)[-1] == "rejected"
    [audit] = audit_rows(db, row, "aid_case.rejected")
    assert audit.reason == "不符合司法救助条件"
    for call in (
        lambda: services.propose(row, actor=cast.prosecutor, now=clock.now, data=proposal_input()),
        lambda: services.decide(row, actor=cast.prosecutor, now=clock.now, amount="1",
                                decided_on=TODAY),
        lambda: services.review(row, actor=cast.proc_supervisor, now=clock.now, outcome="approve",
                                comment=None),
    ):
        with pytest.raises((NotAllowed, InvalidTransition)):
            call()
    assert _reloaded(db, row).state == "rejected"


# -- decision and payment ------------------------------------------------------------------


def test_the_decision_stays_within_the_approved_proposal(cast, db, clock):
    case = cast.approved(clock.now)  # 30,000 proposed and approved on 27 November
    refusals = [
        (dict(amount="30000.01", decided_on=TODAY), "granted_amount"),
        (dict(amount="0", decided_on=TODAY), "granted_amount"),
        (dict(amount="30000", decided_on=None), "decided_on"),
        (dict(amount="30000", decided_on=date(2026, 11, 26)), "decided_on"),  # before the approval
        (dict(amount="30000", decided_on=date(2026, 11, 28)), "decided_on"),  # in the future
    ]
    for kwargs, field in refusals:
        with pytest.raises(ValidationFailed) as refused:
            services.decide(case, actor=cast.prosecutor, now=clock.now, **kwargs)
        assert refused.value.field == field, kwargs
    row = _reloaded(db, case)
    assert row.state == "approved" and row.granted_amount is None and row.decided_on is None
    assert audit_rows(db, row, "aid_case.decided") == []

    services.decide(row, actor=cast.prosecutor, now=clock.now, amount="25000", decided_on=TODAY,
                    text=" 决定给予司法救助金两万五千元。 ")
    row = _reloaded(db, row)
    assert row.state == "decided" and row.granted_amount == Decimal("25000.00")
    assert row.decided_on == TODAY and row.decision_text == "决定给予司法救助金两万五千元。"
    assert event_kinds(db, row)[-1] == "decided"
    [audit] = audit_rows(db, row, "aid_case.decided")
    assert audit.after == {"state": "decided", "granted_amount": "25000.00",
                           "decided_on": "2026-11-27"}


def test_the_payment_is_the_granted_amount_on_or_after_the_decision(cast, db, clock):
    case = cast.decided(clock.now, granted="25000")
    later = clock.now + timedelta(days=3)
    refusals = [
        (dict(amount="25000.01", paid_on=date(2026, 11, 30), method="bank_transfer"),
         "paid_amount"),
        (dict(amount="24999", paid_on=date(2026, 11, 30), method="bank_transfer"), "paid_amount"),
        (dict(amount="25000", paid_on=None, method="bank_transfer"), "paid_on"),
        (dict(amount="25000", paid_on=date(2026, 11, 26), method="bank_transfer"), "paid_on"),
        # in the future (the payment is recorded on 30 November)
        (dict(amount="25000", paid_on=date(2026, 12, 1), method="bank_transfer"), "paid_on"),
        (dict(amount="25000", paid_on=date(2026, 11, 30), method=""), "payment_method"),
        (dict(amount="25000", paid_on=date(2026, 11, 30), method="cheque"), "payment_method"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(ValidationFailed) as refused:
            services.record_payment(case, actor=cast.prosecutor, now=later, **kwargs)
        assert refused.value.field == field, kwargs
    row = _reloaded(db, case)
    assert row.state == "decided" and row.paid_amount is None
    assert audit_rows(db, row, "aid_case.paid") == []

    services.record_payment(row, actor=cast.prosecutor, now=later, amount="25000.00",
                            paid_on=date(2026, 11, 30), method="bank_transfer",
                            reference=" 转账凭证0001 ")
    row = _reloaded(db, row)
    assert row.state == "paid" and row.paid_amount == Decimal("25000.00")
    assert row.paid_on == date(2026, 11, 30) and row.payment_method == "bank_transfer"
    assert row.payment_reference == "转账凭证0001"
    assert event_kinds(db, row)[-1] == "paid"
    [audit] = audit_rows(db, row, "aid_case.paid")
    assert audit.before == {"state": "decided"}
    assert audit.after == {"state": "paid", "paid_amount": "25000.00", "paid_on": "2026-11-30",
                           "method": "bank_transfer"}
    assert event_kinds(db, row) == ["opened", "investigation_started", "proposed", "approved",
                                    "decided", "paid"]


def test_the_whole_way_is_recorded_in_the_audit_log(cast, db, clock):
    case = cast.decided(clock.now)
    services.record_payment(case, actor=cast.prosecutor, now=clock.now, amount="30000",
                            paid_on=TODAY, method="cash")
    db.session.flush()
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "aid_cases", AuditEvent.object_id == str(case.id))
        .order_by(AuditEvent.id)).all()
    assert actions == ["aid_case.opened", "aid_case.investigation_started", "aid_case.proposed",
                       "aid_case.approved", "aid_case.decided", "aid_case.paid"]


STAGES = ["open", "investigating", "proposed", "approved", "decided"]


def _case_at(cast, now, stage):
    if stage == "open":
        return cast.open(now)
    return getattr(cast, stage)(now)


def _attempts(cast, now):
    return {
        "propose": lambda c: services.propose(c, actor=cast.prosecutor, now=now,
                                              data=proposal_input()),
        "approve": lambda c: services.review(c, actor=cast.proc_supervisor, now=now,
                                             outcome="approve", comment=None),
        "decide": lambda c: services.decide(c, actor=cast.prosecutor, now=now, amount="30000",
                                            decided_on=TODAY),
        "pay": lambda c: services.record_payment(c, actor=cast.prosecutor, now=now, amount="30000",
                                                 paid_on=TODAY, method="bank_transfer"),
    }


#: What each stage allows next; everything else is refused.
ALLOWED = {"investigating": {"propose"}, "proposed": {"approve"}, "approved": {"decide"},
           "decided": {"pay"}, "open": set()}


ACTION_AUDIT = {"propose": "aid_case.proposed", "approve": "aid_case.approved",
                "decide": "aid_case.decided", "pay": "aid_case.paid"}


@pytest.mark.parametrize("stage, action", [
    (stage, action) for stage in STAGES for action in ACTION_AUDIT if action not in ALLOWED[stage]])
def test_steps_out_of_order_are_refused_with_a_message(cast, db, clock, stage, action):
    case = _case_at(cast, clock.now, stage)
    db.session.flush()
    state, version = case.state, case.version
    audited = len(audit_rows(db, case, ACTION_AUDIT[action]))
    with pytest.raises((NotAllowed, InvalidTransition)) as refused:
        _attempts(cast, clock.now)[action](case)
    assert str(refused.value.message)
    row = _reloaded(db, case)
    assert (row.state, row.version) == (state, version)
    assert len(audit_rows(db, row, ACTION_AUDIT[action])) == audited


def test_a_paid_case_takes_no_more_steps(cast, db, clock):
    case = cast.decided(clock.now)
    services.record_payment(case, actor=cast.prosecutor, now=clock.now, amount="30000",
                            paid_on=TODAY, method="bank_transfer")
    for name, attempt in _attempts(cast, clock.now).items():
        with pytest.raises((NotAllowed, InvalidTransition)):
            attempt(case)
    with pytest.raises((NotAllowed, InvalidTransition)):
        services.record_visit(case, actor=cast.prosecutor, now=clock.now, data=visit_input(cast))
    with pytest.raises((NotAllowed, InvalidTransition)):
        _household(cast, case, clock.now)
    assert _reloaded(db, case).state == "paid"
    assert len(audit_rows(db, case, "aid_case.paid")) == 1


def test_the_transition_map_refuses_a_move_policy_would_allow_by_mistake(cast, db, clock):
    case = cast.investigating(clock.now)
    with pytest.raises(InvalidTransition) as refused:
        move(case, CaseState.PAID, actor=cast.prosecutor, now=clock.now, kind=CaseEventKind.PAID)
    assert refused.value.message
    assert case.state == "investigating"
    assert "paid" not in event_kinds(db, case)


# -- who sees a case ------------------------------------------------------------------------


def _street_referral(cast, now):
    """A referral sent by a street federation (甲街) and registered by the prosecutor."""
    person = factories.make_person(cast.world, cast.street_officer, pseudonym="街道转来的人",
                                   resident_id=None)
    ref = referral_services.save_draft(actor=cast.street_officer, now=now, person=person,
                                       receiver=cast.world.department5, data=referral_input(),
                                       submission_token=uuid.uuid4().hex)
    referral_services.send(ref, actor=cast.street_officer, now=now)
    return referral_services.register(ref, actor=cast.prosecutor, now=now,
                                      registration_number="登-街-1", received_on=ref.received_on,
                                      handler=cast.prosecutor)


def test_who_sees_a_case(cast, db, clock, world):
    case = cast.investigating(clock.now, referral=_street_referral(cast, clock.now))
    other_street = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
    outside_procuratorate = factories.make_org("另一区人民检察院", OrganisationKind.PROCURATORATE,
                                               now=clock.now)
    stranger_prosecutor = factories.make_user(world, roles={Role.PROSECUTOR},
                                              org=outside_procuratorate)
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.department5)
    # The procuratorate's side, the team, and the street federation that sent the referral.
    for user in (cast.prosecutor, cast.other_prosecutor, cast.proc_supervisor, cast.officer,
                 cast.street_officer, cast.fed_supervisor):
        assert policy.can_view_case(user, case), user.display_name
    # Partner workers, another street federation, another procuratorate, administrators: no.
    for user in (cast.partner, other_street, stranger_prosecutor, admin):
        assert not policy.can_view_case(user, case), user.display_name
    assert not policy.can_list_cases(cast.partner) and not policy.can_list_cases(admin)
    # Without the team and the referral, a federation officer sees nothing of a direct case.
    direct = cast.open(clock.now, applicant=_direct_applicant(cast))
    assert not policy.can_view_case(cast.officer, direct)
    assert not policy.can_view_case(cast.street_officer, direct)
    assert policy.can_view_case(cast.other_prosecutor, direct)


def test_a_street_federation_sees_its_referrals_case_not_the_districts(cast, db, clock):
    from_district = cast.open(clock.now)  # referral sent by the district federation
    assert policy.can_view_case(cast.officer, from_district)
    assert not policy.can_view_case(cast.street_officer, from_district)
    from_street = cast.open(clock.now, referral=_street_referral(cast, clock.now))
    assert policy.can_view_case(cast.street_officer, from_street)
    assert policy.can_view_case(cast.officer, from_street)  # the district is above the street
