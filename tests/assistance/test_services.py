"""Assistance plans, service by service: opening and closing a plan, adding items, sending
them to the agency, its answer, sessions and their next due date, frequency changes,
legal aid (the identity, the legal matter), completing and cancelling, taking over an aid
decision's measures; who sees what; the lists. Each allowed and refused, with the rows,
the timeline event and the audit row it leaves (or does not)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from caseflow.assistance import policy, queries, services
from caseflow.assistance.models import AssistancePlan, ItemState, ServiceItem, ServiceSession
from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.investigations.models import RecommendedMeasure
from tests import factories
from tests.conftest import zh
from tests.assistance.helpers import (
    STARTS_ON, AssistCast, all_audit, at, audit_rows, event_kinds, events, measure,
)

TODAY = date(2026, 11, 27)  # the local date of the default clock: a Friday


@pytest.fixture
def cast(world):
    return AssistCast(world)


def _count(db, model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _reloaded(db, obj):
    """The object as the database has it now (what the next request would read)."""
    db.session.flush()
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def _admin(world):
    return factories.make_user(world, roles={Role.SYSTEM_ADMIN})


def _street_person(cast):
    """A woman recorded by the street federation 甲街: the district above sees her too."""
    return factories.make_person(cast.world, cast.street_officer, pseudonym="街道的人",
                                 resident_id=None)


def _legal(cast, plan, now, step="sent_item", **overrides):
    """A legal aid item for the justice bureau, taken to ``step`` (a cast builder)."""
    values = {"kind": "legal_aid", "provider": cast.world.justice_bureau, "frequency": "once"}
    return getattr(cast, step)(plan, now, **{**values, **overrides})


def _plans_listed(db, user, *, state="", overdue=False, q="", today=TODAY) -> list[int]:
    query = queries.plan_list(user, state=state, overdue=overdue, q=q, today=today)
    return [p.id for p in db.session.scalars(query)]


def _items_listed(db, user, state="") -> list[int]:
    return [i.id for i in db.session.scalars(queries.provider_items(user, state=state))]


# -- opening a plan ---------------------------------------------------------------------------


def test_a_federation_officer_opens_a_plan_for_a_woman(cast, db, clock, world):
    plan = cast.plan(clock.now)
    row = _reloaded(db, plan)
    assert row.state == "open" and row.is_open
    assert row.person_id == cast.person.id and row.officer_id == cast.officer.id
    assert row.organisation_id == world.federation.id  # the plan is the officer's organisation's
    assert row.aid_case_id is None and row.summary == "心理疏导、法律援助和就业培训"
    assert row.closed_at is None and row.closing_summary is None
    assert services.open_plan_for(cast.person).id == row.id
    [event] = events(db, row)
    assert event.kind == "plan_opened" and event.item_id is None
    assert event.actor_id == cast.officer.id and event.actor_org_name == world.federation.name
    assert event.text == row.summary and event.data == {"aid_case": None}
    [audit] = audit_rows(db, row, "assistance.plan_opened")
    assert audit.actor_id == cast.officer.id and audit.organisation_id == world.federation.id
    assert audit.after == {"person_id": cast.person.id, "aid_case_id": None}
    assert audit.object_label == f"{cast.person.pseudonym} #{row.id}"


def test_supervisors_and_street_officers_open_plans_for_their_organisation(cast, db, clock,
                                                                            world):
    plan = cast.plan(clock.now, actor=cast.fed_supervisor, summary="  ")
    assert plan.officer_id == cast.fed_supervisor.id and plan.summary is None  # blank is no summary
    street_person = _street_person(cast)
    street_plan = cast.plan(clock.now, actor=cast.street_officer, person=street_person)
    assert street_plan.organisation_id == world.street_a.id


def test_only_federation_officers_and_supervisors_open_plans(cast, db, clock, world):
    admin = _admin(world)
    for user in (cast.prosecutor, cast.proc_supervisor, cast.partner, cast.counsellor, admin):
        assert not policy.can_open_plan(user), user.display_name
        with pytest.raises(NotAllowed) as refused:
            cast.plan(clock.now, actor=user)
        assert refused.value.message
    assert policy.can_open_plan(cast.officer) and policy.can_open_plan(cast.fed_supervisor)
    assert policy.can_open_plan(cast.street_officer)
    db.session.flush()
    assert _count(db, AssistancePlan) == 0 and all_audit(db) == []


def test_the_woman_must_be_one_the_officer_can_see(cast, db, clock):
    # 小雨 was recorded by the district federation: the street federation 乙街 does not see her.
    for person in (cast.person, None):
        with pytest.raises(ValidationFailed) as refused:
            services.open_plan(actor=cast.street_b_officer, now=clock.now, person=person)
        assert refused.value.field == "person_id"
    db.session.flush()
    assert _count(db, AssistancePlan) == 0


def test_a_woman_has_one_open_plan_at_a_time(cast, db, clock):
    first = cast.plan(clock.now)
    with pytest.raises(Conflict) as refused:
        cast.plan(clock.now, actor=cast.fed_supervisor)
    assert cast.person.pseudonym in refused.value.message
    db.session.flush()
    assert _count(db, AssistancePlan) == 1
    assert len(audit_rows(db, first, "assistance.plan_opened")) == 1
    # Once closed, a new plan may follow.
    services.close_plan(first, actor=cast.officer, now=clock.now, summary="帮扶完成")
    second = cast.plan(clock.now + timedelta(days=30))
    assert second.id != first.id and services.open_plan_for(cast.person).id == second.id
    assert _count(db, AssistancePlan) == 2


def test_the_database_refuses_a_second_open_plan_for_the_same_woman(cast, db, clock, world):
    plan = cast.plan(clock.now)
    db.session.flush()

    def insert(state, **extra):
        db.session.add(AssistancePlan(person_id=cast.person.id, organisation_id=world.street_a.id,
                                      officer_id=cast.street_officer.id, state=state,
                                      created_at=clock.now, updated_at=clock.now, **extra))
        db.session.flush()

    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            insert("open")
    # A closed one beside the open one is history, not a second plan.
    with db.session.begin_nested():
        insert("closed", closed_at=clock.now, closing_summary="旧计划")
    assert _count(db, AssistancePlan, AssistancePlan.person_id == cast.person.id) == 2
    assert _count(db, AssistancePlan, AssistancePlan.state == "open") == 1
    assert services.open_plan_for(cast.person).id == plan.id


# -- adding items -------------------------------------------------------------------------------


def test_an_item_is_added_planned_with_its_event_and_audit(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now, ends_on=date(2027, 5, 20))
    row = _reloaded(db, item)
    assert row.state == "planned" and row.plan_id == plan.id
    assert (row.kind, row.frequency, row.starts_on, row.ends_on) == (
        "counselling", "monthly", STARTS_ON, date(2027, 5, 20))
    assert row.beneficiary_id == cast.person.id and row.provider_org_id == cast.counselling.id
    assert row.officer_id == cast.officer.id and row.details == "成人与未成年人分开进行"
    assert row.needs_identity is False  # counselling works with the pseudonym
    assert row.sent_on is None and row.acceptance_due_on is None and row.next_session_due_on is None
    assert row.measure_id is None and row.version == 1
    plan = db.session.get(AssistancePlan, plan.id)
    assert event_kinds(db, plan) == ["plan_opened", "item_added"]
    event = events(db, plan, row)[0]
    assert event.to_state == "planned" and event.from_state is None
    assert event.data == {"kind": "counselling", "provider": cast.counselling.name,
                          "frequency": "monthly", "beneficiary": cast.person.pseudonym}
    [audit] = audit_rows(db, row, "assistance.item_added")
    assert audit.organisation_id == plan.organisation_id
    assert audit.object_label == f"{cast.person.pseudonym} #{plan.id}/{row.id}"
    assert audit.after == {"kind": "counselling", "provider_org_id": cast.counselling.id,
                           "beneficiary_id": cast.person.id, "frequency": "monthly",
                           "starts_on": "2026-11-20", "measure_id": None}


def test_a_legal_aid_item_needs_the_identity_and_keeps_the_legal_matter(cast, db, clock):
    plan = cast.plan(clock.now)
    item = _reloaded(db, cast.legal_aid(plan, clock.now, legal_matter="  车辆所有权纠纷 "))
    assert item.needs_identity is True and item.legal_matter == "车辆所有权纠纷"
    assert item.lawsuit_outcome is None
    # The federation itself may give help too (job training by the district federation).
    training = cast.item(plan, clock.now, kind="job_training", provider=cast.world.federation,
                         frequency="weekly", legal_matter=None, details=" ")
    assert training.provider_org_id == cast.world.federation.id and training.details is None


def _other_district(cast):
    org = factories.make_org("另一区妇女联合会", OrganisationKind.FEDERATION, now=cast.world.now)
    return factories.make_user(cast.world, roles={Role.FEDERATION_OFFICER}, org=org)


def _inactive_partner(cast):
    org = factories.make_org("已撤销的服务机构", OrganisationKind.PARTNER, now=cast.world.now)
    org.is_active = False
    return org


BAD_ITEMS = {
    "unknown kind": (lambda c: dict(kind="holiday"), "kind"),
    "no kind": (lambda c: dict(kind=""), "kind"),
    "a stranger benefits": (lambda c: dict(beneficiary=factories.make_person(
        c.world, c.officer, pseudonym="旁人", resident_id=None)), "beneficiary_id"),
    "nobody benefits": (lambda c: dict(beneficiary=None), "beneficiary_id"),
    "the procuratorate gives help": (lambda c: dict(provider=c.world.procuratorate),
                                     "provider_org_id"),
    "an inactive agency": (lambda c: dict(provider=_inactive_partner(c)), "provider_org_id"),
    "no provider": (lambda c: dict(provider=None), "provider_org_id"),
    "a prosecutor is responsible": (lambda c: dict(officer=c.prosecutor), "officer_id"),
    "a partner worker is responsible": (lambda c: dict(officer=c.counsellor), "officer_id"),
    "an officer of another district": (lambda c: dict(officer=_other_district(c)), "officer_id"),
    "no officer": (lambda c: dict(officer=None), "officer_id"),
    "unknown frequency": (lambda c: dict(frequency="daily"), "frequency"),
    "no start": (lambda c: dict(starts_on=None), "starts_on"),
    "end before start": (lambda c: dict(ends_on=STARTS_ON - timedelta(days=1)), "ends_on"),
}


@pytest.mark.parametrize("case", list(BAD_ITEMS))
def test_a_bad_item_names_its_field_and_saves_nothing(cast, db, clock, case):
    plan = cast.plan(clock.now)
    make_overrides, field = BAD_ITEMS[case]
    overrides = make_overrides(cast)
    with pytest.raises(ValidationFailed) as refused:
        cast.item(plan, clock.now, **overrides)
    assert refused.value.field == field
    assert refused.value.message
    db.session.flush()
    assert _count(db, ServiceItem) == 0
    assert event_kinds(db, plan) == ["plan_opened"]
    assert all_audit(db) == ["assistance.plan_opened"]


def test_an_item_may_end_the_day_it_starts(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now, frequency="once", ends_on=STARTS_ON)
    assert _reloaded(db, item).ends_on == STARTS_ON


def test_the_officer_may_be_of_a_street_federation_below_the_plans(cast, db, clock):
    plan = cast.plan(clock.now)
    officers = {u.id for u in services.officers_for(plan)}
    assert officers >= {cast.officer.id, cast.fed_supervisor.id, cast.street_officer.id,
                        cast.street_b_officer.id}
    assert cast.prosecutor.id not in {u.id for u in services.officers_for(plan)}
    item = cast.item(plan, clock.now, officer=cast.street_officer)
    assert item.officer_id == cast.street_officer.id
    # A street federation's plan has only its own officers.
    street_person = _street_person(cast)
    street_plan = cast.plan(clock.now, actor=cast.street_officer, person=street_person)
    with pytest.raises(ValidationFailed) as refused:
        cast.item(street_plan, clock.now, actor=cast.street_officer, officer=cast.street_b_officer)
    assert refused.value.field == "officer_id"
    with pytest.raises(ValidationFailed) as refused:
        cast.item(street_plan, clock.now, actor=cast.street_officer, officer=cast.officer)
    assert refused.value.field == "officer_id"


def test_a_child_in_the_aid_cases_household_may_benefit(cast, db, clock):
    case = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling)],
                              child=True)
    plan = services.plan_from_aid_case(case, actor=cast.officer, now=clock.now).plan
    assert [p.id for p in services.beneficiaries_for(plan)] == [cast.person.id, cast.child.id]
    item = cast.item(plan, clock.now, beneficiary=cast.child, details="未成年人单独疏导")
    assert _reloaded(db, item).beneficiary_id == cast.child.id
    # A child of no household of hers does not.
    stranger_child = factories.make_person(cast.world, cast.officer, pseudonym="别家孩子",
                                           resident_id=None)
    with pytest.raises(ValidationFailed) as refused:
        cast.item(plan, clock.now, beneficiary=stranger_child)
    assert refused.value.field == "beneficiary_id"
    # A plan without an aid case has the woman only.
    other_woman = factories.make_person(cast.world, cast.officer, pseudonym="晓丽", resident_id=None)
    other_plan = cast.plan(clock.now, person=other_woman)
    with pytest.raises(ValidationFailed):
        cast.item(other_plan, clock.now, beneficiary=cast.child)


def test_a_family_member_added_to_the_plan_may_benefit(cast, db, clock):
    from caseflow.core.people.services import Identity

    plan = cast.plan(clock.now)
    child = services.add_family_member(plan, actor=cast.officer, now=clock.now, relation=" 女儿 ",
                                       pseudonym="小妹", identity=Identity(
                                           real_name="陈小妹", birth_date=date(2016, 4, 18)))
    row = _reloaded(db, plan)
    [member] = row.members
    assert (member.person_id, member.relation) == (child.id, "女儿")
    assert member.added_by_id == cast.officer.id and member.added_at == clock.now
    assert child.is_minor and child.organisation_id == row.organisation_id
    event = events(db, row)[-1]
    assert event.kind == "member_added" and event.data == {"person_id": child.id, "minor": True}
    [audit] = audit_rows(db, row, "assistance.member_added")
    assert audit.after == {"person_id": child.id, "relation": "女儿", "is_minor": True}
    assert [p.id for p in services.beneficiaries_for(row)] == [cast.person.id, child.id]
    item = cast.item(row, clock.now, beneficiary=child)
    assert _reloaded(db, item).beneficiary_id == child.id
    # A person already recorded joins by her record.
    sister = factories.make_person(cast.world, cast.officer, pseudonym="小姨", resident_id=None)
    services.add_family_member(row, actor=cast.officer, now=clock.now, relation="妹妹", person=sister)
    assert sister.id in {p.id for p in services.beneficiaries_for(row)}


def test_a_family_member_is_refused_when_it_makes_no_sense(cast, db, clock, world):
    plan = cast.plan(clock.now)
    known = factories.make_person(world, cast.officer, pseudonym="小姨", resident_id=None)
    services.add_family_member(plan, actor=cast.officer, now=clock.now, relation="妹妹", person=known)
    unseen = factories.make_person(world, _other_district(cast), pseudonym="别区的人", resident_id=None)
    refusals = [
        (dict(relation=" ", person=unseen), ValidationFailed, "relation"),
        (dict(relation="女儿", pseudonym=" "), ValidationFailed, "pseudonym"),
        (dict(relation="女儿", person=unseen), ValidationFailed, "person_id"),
        (dict(relation="妹妹", person=known), Conflict, "person_id"),  # already in the plan
        (dict(relation="本人", person=cast.person), Conflict, "person_id"),  # the woman herself
    ]
    for kwargs, error, field in refusals:
        with pytest.raises(error) as refused:
            with db.session.begin_nested():
                services.add_family_member(plan, actor=cast.officer, now=clock.now, **kwargs)
        assert refused.value.field == field, kwargs
    for user in (cast.counsellor, cast.street_b_officer, cast.prosecutor):
        with pytest.raises(NotAllowed):
            services.add_family_member(plan, actor=user, now=clock.now, relation="女儿", person=known)
    row = _reloaded(db, plan)
    assert [m.person_id for m in row.members] == [known.id]
    assert len(audit_rows(db, row, "assistance.member_added")) == 1


def test_items_are_added_by_those_running_the_plan_while_it_is_open(cast, db, clock, world):
    plan = cast.plan(clock.now)
    for user in (cast.street_officer, cast.street_b_officer, cast.prosecutor, cast.counsellor,
                 _admin(world)):
        with pytest.raises(NotAllowed):
            cast.item(plan, clock.now, actor=user)
    assert cast.item(plan, clock.now, actor=cast.fed_supervisor).state == "planned"
    services.cancel(plan.items[0], actor=cast.officer, now=clock.now, reason="重复")
    services.close_plan(plan, actor=cast.officer, now=clock.now, summary="结束")
    with pytest.raises(NotAllowed):
        cast.item(plan, clock.now)
    db.session.flush()
    assert _count(db, ServiceItem) == 1


# -- sending to the provider -----------------------------------------------------------------


def test_sending_gives_the_provider_three_working_days_over_the_weekend(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now)
    services.send_to_provider(item, actor=cast.officer, now=clock.now)
    row = _reloaded(db, item)
    assert row.state == "sent" and row.sent_on == TODAY
    # Friday 27 November: Monday, Tuesday, Wednesday.
    assert row.acceptance_due_on == date(2026, 12, 2)
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state) == ("sent", "planned", "sent")
    assert event.data == {"provider": cast.counselling.name, "acceptance_due_on": "2026-12-02"}
    [audit] = audit_rows(db, row, "assistance.sent")
    assert audit.before == {"state": "planned"}
    assert audit.after == {"state": "sent", "provider": cast.counselling.name,
                           "acceptance_due_on": "2026-12-02"}


def test_the_acceptance_due_date_skips_the_national_day_holiday(cast, db, clock):
    # Sent on Wednesday 30 September 2026: 1-7 October are rest days, then Thursday 8,
    # Friday 9 and Saturday 10 October (an official make-up working day).
    clock.set(at(date(2026, 9, 30)))
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now, starts_on=date(2026, 10, 8))
    services.send_to_provider(item, actor=cast.officer, now=clock.now)
    row = _reloaded(db, item)
    assert row.sent_on == date(2026, 9, 30) and row.acceptance_due_on == date(2026, 10, 10)


def test_the_acceptance_days_are_a_setting(cast, db, clock, world):
    from caseflow.core.settings.services import change_setting, get_setting

    assert get_setting("acceptance_working_days") == 3
    change_setting("acceptance_working_days", 5, actor=_admin(world), now=clock.now)
    plan = cast.plan(clock.now)
    item = services.send_to_provider(cast.item(plan, clock.now), actor=cast.officer, now=clock.now)
    assert _reloaded(db, item).acceptance_due_on == date(2026, 12, 4)


def test_the_plans_officers_and_the_items_officer_send(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now, officer=cast.street_officer)
    for user in (cast.counsellor, cast.prosecutor, cast.street_b_officer):
        with pytest.raises(NotAllowed):
            services.send_to_provider(item, actor=user, now=clock.now)
    assert _reloaded(db, item).state == "planned"
    # The street officer does not run the district's plan, but is this item's officer.
    services.send_to_provider(db.session.get(ServiceItem, item.id), actor=cast.street_officer,
                              now=clock.now)
    assert _reloaded(db, item).state == "sent"


def test_the_items_officer_of_a_street_federation_sees_and_runs_her_item(cast, db, clock):
    """She hears the item's reminders, so she must reach it: the item, not the plan."""
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now, officer=cast.street_officer)
    assert not policy.can_view_plan(cast.street_officer, plan)
    assert policy.can_view_item(cast.street_officer, item)
    assert policy.can_manage_item(cast.street_officer, item)
    assert policy.can_record_session(cast.street_officer, item)
    cast.session(item, clock.now, actor=cast.street_officer)
    services.change_frequency(item, actor=cast.street_officer, now=clock.now, frequency="weekly",
                              reason="加密")
    assert _reloaded(db, item).frequency == "weekly"
    # Another street's officer, and the other items of the plan, stay out of her reach.
    other = cast.item(plan, clock.now)
    assert not policy.can_view_item(cast.street_officer, other)
    assert not policy.can_view_item(cast.street_b_officer, item)
    # Made a system administrator (三员分立), she sees no case record, hers or not.
    from caseflow.core.orgs.models import UserRole

    cast.street_officer.role_rows = [UserRole(role=Role.SYSTEM_ADMIN.value, is_admin_role=True)]
    db.session.flush()
    item = db.session.get(ServiceItem, item.id)
    assert not policy.can_view_item(cast.street_officer, item)
    assert not policy.can_manage_item(cast.street_officer, item)
    with pytest.raises(NotAllowed):
        services.cancel(item, actor=cast.street_officer, now=clock.now, reason="不需要了")
    assert _reloaded(db, item).state == "active"


# -- the provider's answer ------------------------------------------------------------------------


def test_the_providers_worker_accepts_and_the_first_session_falls_due(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.sent_item(plan, clock.now)
    later = clock.now + timedelta(days=1)
    services.accept(item, actor=cast.counsellor, now=later)
    row = _reloaded(db, item)
    assert row.state == "accepted" and row.is_running
    assert row.responded_at == later and row.responded_by_id == cast.counsellor.id
    assert row.next_session_due_on == date(2026, 11, 28)  # started already: due from today
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state) == ("accepted", "sent", "accepted")
    assert event.actor_id == cast.counsellor.id and event.actor_org_name == cast.counselling.name
    [audit] = audit_rows(db, row, "assistance.accepted")
    assert audit.actor_id == cast.counsellor.id and audit.organisation_id == plan.organisation_id
    assert audit.after == {"state": "accepted", "next_session_due_on": "2026-11-28"}
    # An item starting later falls due on its start.
    later_item = cast.accepted_item(plan, clock.now, kind="job_training", provider=cast.employment,
                               starts_on=date(2026, 12, 14))
    assert _reloaded(db, later_item).next_session_due_on == date(2026, 12, 14)


def test_a_worker_of_another_agency_cannot_answer(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.sent_item(plan, clock.now)
    for user in (cast.employment_worker, cast.justice_worker, cast.officer):
        with pytest.raises(NotAllowed) as refused:
            services.accept(item, actor=user, now=clock.now)
        assert cast.counselling.name in refused.value.message
        with pytest.raises(NotAllowed) as refused:
            services.decline(item, actor=user, now=clock.now, reason="不是我们的业务")
        assert cast.counselling.name in refused.value.message
    row = _reloaded(db, item)
    assert row.state == "sent" and row.responded_at is None and row.decline_reason is None
    assert audit_rows(db, row, "assistance.accepted") == []
    assert audit_rows(db, row, "assistance.declined") == []


def test_a_planned_item_is_not_the_providers_to_answer(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now)
    assert not policy.can_view_item(cast.counsellor, item)
    with pytest.raises(NotAllowed):
        services.accept(item, actor=cast.counsellor, now=clock.now)
    with pytest.raises(NotAllowed):
        services.decline(item, actor=cast.counsellor, now=clock.now, reason="不做")
    assert _reloaded(db, item).state == "planned"


def test_declining_needs_a_reason(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.sent_item(plan, clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.decline(item, actor=cast.counsellor, now=clock.now, reason="  ")
    assert refused.value.field == "reason"
    row = _reloaded(db, item)
    assert row.state == "sent" and row.decline_reason is None and row.responded_by_id is None
    services.decline(row, actor=cast.counsellor, now=clock.now, reason=" 本月名额已满 ")
    row = _reloaded(db, row)
    assert row.state == "declined" and row.decline_reason == "本月名额已满"
    assert row.responded_by_id == cast.counsellor.id and not row.is_running
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state, event.text) == (
        "declined", "sent", "declined", "本月名额已满")
    [audit] = audit_rows(db, row, "assistance.declined")
    assert audit.reason == "本月名额已满" and audit.before == {"state": "sent"}


def test_an_item_is_answered_once(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now)
    for answer in (lambda: services.accept(item, actor=cast.counsellor, now=clock.now),
                   lambda: services.decline(item, actor=cast.counsellor, now=clock.now,
                                            reason="改变主意")):
        with pytest.raises(NotAllowed) as refused:
            answer()
        assert refused.value.message
    row = _reloaded(db, item)
    assert row.state == "accepted" and row.decline_reason is None
    assert len(audit_rows(db, row, "assistance.accepted")) == 1


# -- sessions -------------------------------------------------------------------------------------


def test_the_first_session_makes_the_item_active_and_the_next_falls_due(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now)
    session = services.record_session(
        item, actor=cast.counsellor, now=clock.now, data=services.SessionInput(
            held_on=date(2026, 11, 26), attended=" 晓丽及两名子女 ", notes="成人与未成年人分开疏导",
            seen_separately=True, outcome=" "))
    row = _reloaded(db, item)
    assert row.state == "active" and row.next_session_due_on == date(2026, 12, 26)
    stored = db.session.get(ServiceSession, session.id)
    assert (stored.held_on, stored.attended, stored.seen_separately, stored.outcome) == (
        date(2026, 11, 26), "晓丽及两名子女", True, None)
    assert stored.recorded_by_id == cast.counsellor.id and stored.recorded_at == clock.now
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state) == ("session", "accepted", "active")
    assert event.data == {"held_on": "2026-11-26", "seen_separately": True,
                          "next_session_due_on": "2026-12-26"}
    [audit] = audit_rows(db, row, "assistance.session")
    assert audit.before == {"state": "accepted"}
    assert audit.after["state"] == "active" and audit.after["next_session_due_on"] == "2026-12-26"

    # The next session: the item stays active, the next due follows the latest session.
    later = clock.now + timedelta(days=7)
    cast.session(row, later, held_on=date(2026, 12, 3), actor=cast.officer, seen_separately=None)
    # A session recorded late, for an earlier day, does not pull the due date back.
    cast.session(row, later, held_on=date(2026, 11, 30))
    row = _reloaded(db, row)
    assert row.state == "active" and row.next_session_due_on == date(2027, 1, 3)
    assert [s.held_on for s in row.sessions] == [date(2026, 11, 26), date(2026, 11, 30),
                                                 date(2026, 12, 3)]
    plan = db.session.get(AssistancePlan, plan.id)
    assert event_kinds(db, plan, row)[-3:] == ["session"] * 3
    assert [e.from_state for e in events(db, plan, row)[-2:]] == [None, None]
    assert len(audit_rows(db, row, "assistance.session")) == 3


@pytest.mark.parametrize("frequency, due", [
    ("weekly", date(2026, 12, 4)), ("biweekly", date(2026, 12, 11)),
    ("monthly", date(2026, 12, 27)), ("once", None),
])
def test_the_next_session_falls_due_by_the_frequency(cast, db, clock, frequency, due):
    plan = cast.plan(clock.now)
    item = cast.active_item(plan, clock.now, frequency=frequency, held_on=TODAY)
    row = _reloaded(db, item)
    assert row.state == "active" and row.next_session_due_on == due
    if due is None:
        assert not row.is_overdue(date(2027, 6, 1))
    else:
        assert not row.is_overdue(due) and row.is_overdue(due + timedelta(days=1))


def test_a_monthly_session_on_31_january_falls_due_on_28_february(cast, db, clock):
    clock.set(at(date(2027, 1, 29)))
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now, starts_on=date(2027, 1, 4))
    clock.set(at(date(2027, 1, 31)))
    cast.session(item, clock.now, held_on=date(2027, 1, 31))
    assert _reloaded(db, item).next_session_due_on == date(2027, 2, 28)
    assert services.next_due(date(2028, 1, 31), "monthly") == date(2028, 2, 29)  # a leap year
    assert services.next_due(date(2026, 12, 31), "weekly") == date(2027, 1, 7)


@pytest.mark.parametrize("overrides, field", [
    (dict(held_on=TODAY + timedelta(days=1)), "held_on"),
    (dict(held_on=STARTS_ON - timedelta(days=1)), "held_on"),
    (dict(held_on=None), "held_on"),
    (dict(attended=" "), "attended"),
    (dict(notes=""), "notes"),
])
def test_an_impossible_session_is_refused_and_saves_nothing(cast, db, clock, overrides, field):
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now)
    db.session.flush()
    version = item.version
    values = dict(held_on=TODAY, attended="本人", notes="疏导")
    values.update(overrides)
    with pytest.raises(ValidationFailed) as refused:
        services.record_session(item, actor=cast.counsellor, now=clock.now,
                                data=services.SessionInput(**values))
    assert refused.value.field == field
    if overrides.get("held_on") == STARTS_ON - timedelta(days=1):
        assert "2026-11-20" in refused.value.message  # the start is named
    row = _reloaded(db, item)
    assert row.state == "accepted" and row.version == version and row.next_session_due_on == TODAY
    assert _count(db, ServiceSession) == 0
    assert audit_rows(db, row, "assistance.session") == []


def test_who_records_sessions(cast, db, clock):
    plan = cast.plan(clock.now)
    sent = cast.sent_item(plan, clock.now)
    with pytest.raises(NotAllowed) as refused:  # not accepted yet
        cast.session(sent, clock.now, actor=cast.counsellor)
    assert refused.value.message
    item = services.accept(sent, actor=cast.counsellor, now=clock.now)
    for user in (cast.employment_worker, cast.justice_worker, cast.street_b_officer,
                 cast.prosecutor):
        with pytest.raises(NotAllowed) as refused:
            cast.session(item, clock.now, actor=user)
        assert cast.counselling.name in refused.value.message
    db.session.flush()
    assert _count(db, ServiceSession) == 0
    cast.session(item, clock.now, actor=cast.counsellor)
    cast.session(item, clock.now, actor=cast.officer)  # the plan's officer records one too
    assert _count(db, ServiceSession) == 2


# -- changing the frequency ------------------------------------------------------------------------


def test_xiaoli_counselling_goes_from_monthly_to_weekly_after_the_joint_review(cast, db, clock,
                                                                              world):
    xiaoli = factories.make_person(world, cast.officer, pseudonym="晓丽", resident_id=None)
    plan = cast.plan(clock.now, person=xiaoli, summary="暴力犯罪被害人及其两名子女的心理疏导")
    item = cast.active_item(plan, clock.now, held_on=date(2026, 11, 20))
    assert _reloaded(db, item).next_session_due_on == date(2026, 12, 20)
    services.change_frequency(db.session.get(ServiceItem, item.id), actor=cast.officer,
                              now=clock.now, frequency="weekly",
                              reason=" 联合评估后改为每周一次，成人与未成年人分开 ")
    row = _reloaded(db, item)
    assert row.frequency == "weekly" and row.state == "active"
    assert row.next_session_due_on == date(2026, 11, 27)  # a week after the last session
    event = events(db, plan, row)[-1]
    assert event.kind == "frequency_changed" and event.text == "联合评估后改为每周一次，成人与未成年人分开"
    assert event.data == {"from": "monthly", "to": "weekly"}
    [audit] = audit_rows(db, row, "assistance.frequency_changed")
    assert audit.before == {"frequency": "monthly", "next_session_due_on": "2026-12-20"}
    assert audit.after == {"frequency": "weekly", "next_session_due_on": "2026-11-27"}
    assert audit.reason == "联合评估后改为每周一次，成人与未成年人分开"
    assert audit.actor_id == cast.officer.id


@pytest.mark.parametrize("frequency, reason, field", [
    ("weekly", " ", "reason"),
    ("weekly", None, "reason"),
    ("monthly", "复核", "frequency"),  # the frequency it has already
    ("daily", "复核", "frequency"),
])
def test_a_frequency_change_needs_a_reason_and_a_new_frequency(cast, db, clock, frequency, reason,
                                                               field):
    plan = cast.plan(clock.now)
    item = cast.active_item(plan, clock.now, held_on=date(2026, 11, 20))
    db.session.flush()
    version = item.version
    with pytest.raises(ValidationFailed) as refused:
        services.change_frequency(item, actor=cast.officer, now=clock.now, frequency=frequency,
                                  reason=reason)
    assert refused.value.field == field
    row = _reloaded(db, item)
    assert (row.frequency, row.next_session_due_on, row.version) == (
        "monthly", date(2026, 12, 20), version)
    assert audit_rows(db, row, "assistance.frequency_changed") == []
    assert "frequency_changed" not in event_kinds(db, plan)


def test_a_frequency_change_before_any_session(cast, db, clock):
    plan = cast.plan(clock.now)
    planned = cast.item(plan, clock.now)
    services.change_frequency(planned, actor=cast.officer, now=clock.now, frequency="biweekly",
                              reason="调整")
    row = _reloaded(db, planned)
    assert row.frequency == "biweekly" and row.next_session_due_on is None
    # Accepted, no session yet: the first session stays due when it was.
    accepted = cast.accepted_item(plan, clock.now, kind="follow_up", provider=cast.world.federation)
    services.change_frequency(accepted, actor=cast.officer, now=clock.now, frequency="weekly",
                              reason="加密")
    row = _reloaded(db, accepted)
    assert row.frequency == "weekly" and row.next_session_due_on == TODAY
    # To "once": after the last session nothing more falls due.
    active = cast.active_item(plan, clock.now, kind="skills_training", provider=cast.employment,
                              held_on=TODAY)
    services.change_frequency(active, actor=cast.officer, now=clock.now, frequency="once",
                              reason="一次即可")
    assert _reloaded(db, active).next_session_due_on is None


def test_the_provider_does_not_change_the_frequency_nor_anyone_of_a_finished_item(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.active_item(plan, clock.now)
    for user in (cast.counsellor, cast.street_b_officer, cast.prosecutor):
        with pytest.raises(NotAllowed):
            services.change_frequency(item, actor=user, now=clock.now, frequency="weekly",
                                      reason="加密")
    services.complete(item, actor=cast.officer, now=clock.now, outcome="疏导结束")
    with pytest.raises(NotAllowed):
        services.change_frequency(item, actor=cast.officer, now=clock.now, frequency="weekly",
                                  reason="加密")
    row = _reloaded(db, item)
    assert row.frequency == "monthly" and audit_rows(db, row, "assistance.frequency_changed") == []


# -- legal aid -------------------------------------------------------------------------------------


def test_the_legal_aid_provider_sees_the_identity_and_the_view_is_logged(cast, db, clock):
    plan = cast.plan(clock.now)
    item = _legal(cast, plan, clock.now)
    assert item.needs_identity
    # Sent, not yet accepted: the pseudonym only.
    assert not policy.can_see_identity_for_item(cast.justice_worker, item)
    with pytest.raises(NotAllowed):
        services.reveal_beneficiary(item, actor=cast.justice_worker, now=clock.now, purpose=None)
    db.session.flush()
    assert _count(db, AccessEvent) == 0

    services.accept(item, actor=cast.justice_worker, now=clock.now)
    assert policy.can_see_identity_for_item(cast.justice_worker, item)
    identity = services.reveal_beneficiary(item, actor=cast.justice_worker, now=clock.now,
                                           purpose=None)
    assert identity.real_name == "陈雨婷" and identity.resident_id == factories.VALID_IDS[0]
    assert identity.phone.endswith("13871234567")
    db.session.flush()
    [access] = db.session.scalars(sa.select(AccessEvent)).all()
    assert access.actor_id == cast.justice_worker.id and access.person_id == cast.person.id
    assert access.person_pseudonym == cast.person.pseudonym
    assert {"real_name", "resident_id", "phone", "address"} <= set(access.fields.split(","))
    assert str(item.id) in access.purpose  # the item is named when no purpose is given
    services.reveal_beneficiary(item, actor=cast.justice_worker, now=clock.now, purpose="准备起诉材料")
    db.session.flush()
    assert _count(db, AccessEvent, AccessEvent.purpose == "准备起诉材料") == 1


def test_a_childs_identity_is_never_shown_to_the_legal_aid_provider(cast, db, clock):
    from caseflow.core.people.services import Identity

    plan = cast.plan(clock.now)
    child = services.add_family_member(plan, actor=cast.officer, now=clock.now, relation="儿子",
                                       pseudonym="小弟", identity=Identity(
                                           real_name="陈小弟", birth_date=date(2015, 3, 2)))
    item = _legal(cast, plan, clock.now, "accepted_item", beneficiary=child)
    assert item.needs_identity and child.is_minor
    assert not policy.can_see_identity_for_item(cast.justice_worker, item)
    assert policy.is_withheld_minor(cast.justice_worker, item)
    with pytest.raises(NotAllowed) as refused:
        services.reveal_beneficiary(item, actor=cast.justice_worker, now=clock.now, purpose="准备起诉材料")
    assert refused.value.message == zh("A child's identity is not shown to agencies; the responsible "
                                       "officer gives you what the legal aid needs.")
    db.session.flush()
    assert _count(db, AccessEvent) == 0
    # Her mother's legal aid item still shows the mother's identity to the same lawyer.
    mothers = _legal(cast, plan, clock.now, "accepted_item")
    assert services.reveal_beneficiary(mothers, actor=cast.justice_worker, now=clock.now,
                                       purpose=None).real_name == "陈雨婷"
    # The officer who recorded the child sees it, logged.
    assert services.reveal_beneficiary(item, actor=cast.officer, now=clock.now,
                                       purpose="核实").real_name == "陈小弟"
    db.session.flush()
    assert _count(db, AccessEvent, AccessEvent.person_id == child.id) == 1


def test_other_providers_see_the_pseudonym_only(cast, db, clock):
    plan = cast.plan(clock.now)
    counselling = cast.accepted_item(plan, clock.now)
    legal = _legal(cast, plan, clock.now, "accepted_item")
    with pytest.raises(NotAllowed) as refused:
        services.reveal_beneficiary(counselling, actor=cast.counsellor, now=clock.now, purpose="好奇")
    assert refused.value.message
    assert not policy.can_see_identity_for_item(cast.counsellor, counselling)
    # Another agency's worker sees neither item's identity.
    for item in (counselling, legal):
        with pytest.raises(NotAllowed):
            services.reveal_beneficiary(item, actor=cast.employment_worker, now=clock.now,
                                        purpose=None)
    with pytest.raises(NotAllowed):
        services.reveal_beneficiary(legal, actor=cast.counsellor, now=clock.now, purpose=None)
    db.session.flush()
    assert _count(db, AccessEvent) == 0
    # The plan's officer sees it as she sees any identity of hers, logged the same.
    assert services.reveal_beneficiary(counselling, actor=cast.officer, now=clock.now,
                                       purpose="核实").real_name == "陈雨婷"
    db.session.flush()
    assert _count(db, AccessEvent, AccessEvent.actor_id == cast.officer.id) == 1


def test_the_legal_matter_and_the_lawsuits_outcome(cast, db, clock):
    plan = cast.plan(clock.now)
    item = _legal(cast, plan, clock.now, "accepted_item", legal_matter="车辆权属纠纷")
    services.update_legal_matter(item, actor=cast.justice_worker, now=clock.now, matter="车辆权属纠纷",
                                 lawsuit_outcome=" 一审判决车辆归晓丽所有 ")
    row = _reloaded(db, item)
    assert row.legal_matter == "车辆权属纠纷" and row.lawsuit_outcome == "一审判决车辆归晓丽所有"
    event = events(db, plan, row)[-1]
    assert event.kind == "legal_matter" and event.text == "一审判决车辆归晓丽所有"
    [audit] = audit_rows(db, row, "assistance.legal_matter")
    assert audit.before == {"lawsuit_outcome": None}  # only what changed
    assert audit.after == {"lawsuit_outcome": "一审判决车辆归晓丽所有"}
    # The same again changes nothing and records nothing.
    services.update_legal_matter(row, actor=cast.officer, now=clock.now, matter="车辆权属纠纷",
                                 lawsuit_outcome="一审判决车辆归晓丽所有")
    row = _reloaded(db, row)
    assert len(audit_rows(db, row, "assistance.legal_matter")) == 1
    assert event_kinds(db, plan, row).count("legal_matter") == 1


def test_the_legal_matter_is_only_for_legal_aid_and_its_provider(cast, db, clock):
    plan = cast.plan(clock.now)
    counselling = cast.accepted_item(plan, clock.now)
    with pytest.raises(NotAllowed):
        services.update_legal_matter(counselling, actor=cast.officer, now=clock.now, matter="车辆",
                                     lawsuit_outcome=None)
    legal = _legal(cast, plan, clock.now)
    for user in (cast.counsellor, cast.employment_worker):
        with pytest.raises(NotAllowed):
            services.update_legal_matter(legal, actor=user, now=clock.now, matter="车辆",
                                         lawsuit_outcome="胜诉")
    services.decline(legal, actor=cast.justice_worker, now=clock.now, reason="不符合法律援助条件")
    with pytest.raises(NotAllowed):
        services.update_legal_matter(legal, actor=cast.justice_worker, now=clock.now, matter="车辆",
                                     lawsuit_outcome="胜诉")
    db.session.flush()
    assert _count(db, AuditEvent, AuditEvent.action == "assistance.legal_matter") == 0
    assert _reloaded(db, legal).lawsuit_outcome is None


# -- completing and cancelling ---------------------------------------------------------------------


def test_completing_needs_the_outcome_and_ends_the_due_sessions(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.active_item(plan, clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.complete(item, actor=cast.counsellor, now=clock.now, outcome=" ")
    assert refused.value.field == "outcome"
    row = _reloaded(db, item)
    assert row.state == "active" and row.outcome is None and row.next_session_due_on is not None
    services.complete(row, actor=cast.counsellor, now=clock.now, outcome="情绪稳定，疏导结束")
    row = _reloaded(db, row)
    assert row.state == "completed" and row.outcome == "情绪稳定，疏导结束"
    assert row.next_session_due_on is None and not row.is_overdue(date(2027, 6, 1))
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state) == ("completed", "active", "completed")
    [audit] = audit_rows(db, row, "assistance.completed")
    assert audit.reason == "情绪稳定，疏导结束" and audit.actor_id == cast.counsellor.id


def test_an_accepted_item_may_complete_without_sessions_by_its_officer(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.accepted_item(plan, clock.now, kind="social_assistance",
                              provider=cast.world.federation, frequency="once")
    services.complete(item, actor=cast.officer, now=clock.now, outcome="已办理临时救助")
    assert _reloaded(db, item).state == "completed"


@pytest.mark.parametrize("stage", ["planned", "sent", "accepted", "active"])
def test_cancelling_needs_a_reason_and_works_until_the_item_ends(cast, db, clock, stage):
    plan = cast.plan(clock.now)
    item = _item_at(cast, plan, clock.now, stage)
    with pytest.raises(ValidationFailed) as refused:
        services.cancel(item, actor=cast.officer, now=clock.now, reason="")
    assert refused.value.field == "reason"
    assert _reloaded(db, item).state == stage
    with pytest.raises(NotAllowed):  # the provider does not cancel
        services.cancel(db.session.get(ServiceItem, item.id), actor=cast.counsellor, now=clock.now,
                        reason="不做了")
    services.cancel(db.session.get(ServiceItem, item.id), actor=cast.officer, now=clock.now,
                    reason=" 本人搬离本区 ")
    row = _reloaded(db, item)
    assert row.state == "cancelled" and row.cancel_reason == "本人搬离本区"
    assert row.next_session_due_on is None
    event = events(db, plan, row)[-1]
    assert (event.kind, event.from_state, event.to_state, event.text) == (
        "cancelled", stage, "cancelled", "本人搬离本区")
    [audit] = audit_rows(db, row, "assistance.cancelled")
    assert audit.before == {"state": stage} and audit.reason == "本人搬离本区"


# -- moves out of order ----------------------------------------------------------------------------


def _item_at(cast, plan, now, stage):
    if stage == "planned":
        return cast.item(plan, now)
    if stage == "sent":
        return cast.sent_item(plan, now)
    if stage == "accepted":
        return cast.accepted_item(plan, now)
    if stage == "active":
        return cast.active_item(plan, now)
    if stage == "declined":
        return services.decline(cast.sent_item(plan, now), actor=cast.counsellor, now=now,
                                reason="名额已满")
    if stage == "completed":
        return services.complete(cast.active_item(plan, now), actor=cast.officer, now=now,
                                 outcome="结束")
    if stage == "cancelled":
        return services.cancel(cast.item(plan, now), actor=cast.officer, now=now, reason="重复")
    raise AssertionError(stage)


STAGES = ["planned", "sent", "accepted", "active", "declined", "completed", "cancelled"]


def _attempts(cast, now):
    """Each move, by the person who would make it when allowed."""
    return {
        "send": lambda i: services.send_to_provider(i, actor=cast.officer, now=now),
        "accept": lambda i: services.accept(i, actor=cast.counsellor, now=now),
        "decline": lambda i: services.decline(i, actor=cast.counsellor, now=now, reason="名额已满"),
        "session": lambda i: cast.session(i, now, held_on=now.date(), actor=cast.officer),
        "complete": lambda i: services.complete(i, actor=cast.officer, now=now, outcome="结束"),
        "cancel": lambda i: services.cancel(i, actor=cast.officer, now=now, reason="不需要了"),
    }


ALLOWED = {"planned": {"send", "cancel"}, "sent": {"accept", "decline", "cancel"},
           "accepted": {"session", "complete", "cancel"},
           "active": {"session", "complete", "cancel"},
           "declined": set(), "completed": set(), "cancelled": set()}
ACTION_AUDIT = {"send": "assistance.sent", "accept": "assistance.accepted",
                "decline": "assistance.declined", "session": "assistance.session",
                "complete": "assistance.completed", "cancel": "assistance.cancelled"}
#: The columns a transition sets: a refused move leaves every one of them as it was.
MOVED_COLUMNS = ("state", "version", "sent_on", "acceptance_due_on", "outcome", "cancel_reason",
                 "decline_reason", "next_session_due_on", "responded_at")


@pytest.mark.parametrize("stage, action", [
    (stage, action) for stage in STAGES for action in ACTION_AUDIT if action not in ALLOWED[stage]])
def test_moves_out_of_order_are_refused_with_a_message_and_change_nothing(cast, db, clock, stage,
                                                                          action):
    plan = cast.plan(clock.now)
    item = _item_at(cast, plan, clock.now, stage)
    db.session.flush()
    before = {c: getattr(item, c) for c in MOVED_COLUMNS}
    audited = len(audit_rows(db, item, ACTION_AUDIT[action]))
    events_before = len(events(db, plan))
    later = clock.now + timedelta(days=3)  # another day: a date set by mistake would show
    with pytest.raises((NotAllowed, InvalidTransition)) as refused:
        _attempts(cast, later)[action](item)
    assert str(refused.value.message)
    row = _reloaded(db, item)
    assert {c: getattr(row, c) for c in before} == before
    assert len(audit_rows(db, row, ACTION_AUDIT[action])) == audited
    assert len(events(db, db.session.get(AssistancePlan, plan.id))) == events_before
    assert _count(db, ServiceSession, ServiceSession.held_on == later.date()) == 0


def test_an_impossible_move_names_both_states(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.item(plan, clock.now)
    with pytest.raises(InvalidTransition) as refused:
        services.complete(item, actor=cast.officer, now=clock.now, outcome="结束")
    assert ItemState.PLANNED.label in refused.value.message
    assert ItemState.COMPLETED.label in refused.value.message
    with pytest.raises(InvalidTransition):
        services._move(item, ItemState.ACTIVE, actor=cast.officer, now=clock.now,
                       kind=services.EventKind.SESSION)
    row = _reloaded(db, item)
    assert row.state == "planned" and row.outcome is None
    assert event_kinds(db, plan, row) == ["item_added"]


def test_an_answer_to_an_item_changed_meanwhile_is_a_conflict(cast, db, clock):
    plan = cast.plan(clock.now)
    item = cast.sent_item(plan, clock.now)
    db.session.flush()
    seen = item.version
    table = ServiceItem.__table__
    # The officer cancelled it in another request meanwhile.
    db.session.execute(sa.update(table).where(table.c.id == item.id)
                       .values(state="cancelled", cancel_reason="已撤回", version=seen + 1))
    with pytest.raises(Conflict) as refused:
        with db.session.begin_nested():
            services.accept(item, actor=cast.counsellor, now=clock.now)
    assert refused.value.message
    row = _reloaded(db, item)
    assert row.state == "cancelled" and row.version == seen + 1 and row.responded_by_id is None


# -- closing the plan ------------------------------------------------------------------------------


def test_a_plan_closes_with_a_summary_once_every_item_has_ended(cast, db, clock):
    plan = cast.plan(clock.now)
    counselling = cast.active_item(plan, clock.now)
    legal = _legal(cast, plan, clock.now)
    training = cast.sent_item(plan, clock.now, kind="job_training", provider=cast.employment)
    declined = services.decline(training, actor=cast.employment_worker, now=clock.now,
                                reason="暂无培训班")
    with pytest.raises(ValidationFailed) as refused:
        services.close_plan(plan, actor=cast.officer, now=clock.now, summary="帮扶完成")
    assert refused.value.field == "closing_summary"
    message = refused.value.message
    assert counselling.kind_label in message and cast.counselling.short_name in message
    assert legal.kind_label in message and cast.world.justice_bureau.short_name in message
    assert declined.kind_label not in message  # the declined one has ended
    with pytest.raises(ValidationFailed) as refused:
        services.close_plan(plan, actor=cast.officer, now=clock.now, summary=" ")
    assert refused.value.field == "closing_summary"
    row = _reloaded(db, plan)
    assert row.state == "open" and row.closed_at is None and row.closing_summary is None
    assert audit_rows(db, row, "assistance.plan_closed") == []

    services.complete(counselling, actor=cast.counsellor, now=clock.now, outcome="疏导结束")
    services.cancel(legal, actor=cast.officer, now=clock.now, reason="已自行和解")
    for user in (cast.counsellor, cast.street_officer, cast.prosecutor):
        with pytest.raises(NotAllowed):
            services.close_plan(row, actor=user, now=clock.now, summary="帮扶完成")
    later = clock.now + timedelta(days=1)
    services.close_plan(row, actor=cast.fed_supervisor, now=later, summary=" 各项帮扶已完成 ")
    row = _reloaded(db, plan)
    assert row.state == "closed" and row.closed_at == later and row.closing_summary == "各项帮扶已完成"
    assert not row.is_open and services.open_plan_for(cast.person) is None
    assert event_kinds(db, row)[-1] == "plan_closed" and events(db, row)[-1].text == "各项帮扶已完成"
    [audit] = audit_rows(db, row, "assistance.plan_closed")
    assert audit.after == {"state": "closed"} and audit.reason == "各项帮扶已完成"
    assert audit.actor_id == cast.fed_supervisor.id
    # A closed plan takes no more changes.
    assert not policy.can_manage_plan(cast.officer, row)
    with pytest.raises(NotAllowed):
        services.close_plan(row, actor=cast.officer, now=later, summary="再次关闭")
    assert len(audit_rows(db, row, "assistance.plan_closed")) == 1


def test_an_empty_plan_closes(cast, db, clock):
    plan = cast.plan(clock.now)
    services.close_plan(plan, actor=cast.officer, now=clock.now, summary="本人不再需要帮扶")
    assert _reloaded(db, plan).state == "closed"


# -- taking over an aid decision's measures --------------------------------------------------------


def test_approved_measures_become_planned_items_with_the_proposed_agency(cast, db, clock, world):
    case = cast.approved_case(clock.now, measures=[
        measure("legal_aid", world.justice_bureau, "车辆权属纠纷"),
        measure("job_training", cast.employment),
        measure("counselling"),  # no agency proposed: the officer's federation gives it
    ])
    plan = services.plan_from_aid_case(case, actor=cast.officer, now=clock.now).plan
    row = _reloaded(db, plan)
    assert row.aid_case_id == case.id and row.person_id == case.applicant_id
    assert row.organisation_id == world.federation.id and row.officer_id == cast.officer.id
    assert case.number in row.summary
    items = row.items
    assert [(i.kind, i.provider_org_id, i.frequency, i.state) for i in items] == [
        ("legal_aid", world.justice_bureau.id, "once", "planned"),
        ("job_training", cast.employment.id, "once", "planned"),
        ("counselling", world.federation.id, "monthly", "planned"),
    ]
    assert {(i.beneficiary_id, i.officer_id) for i in items} == {(cast.person.id, cast.officer.id)}
    assert all(i.starts_on == TODAY for i in items)
    assert items[0].details == "车辆权属纠纷" and items[0].needs_identity
    measures = db.session.scalars(sa.select(RecommendedMeasure).where(
        RecommendedMeasure.case_id == case.id).order_by(RecommendedMeasure.id)).all()
    assert [m.state for m in measures] == ["taken_over"] * 3
    assert all(m.taken_over_at == clock.now for m in measures)
    assert [m.assistance_ref for m in measures] == [f"{plan.id}/{i.id}" for i in items]
    assert [i.measure_id for i in items] == [m.id for m in measures]
    assert event_kinds(db, row) == ["plan_opened"] + ["item_added"] * 3
    assert events(db, row)[0].data == {"aid_case": case.number}
    [opened] = audit_rows(db, row, "assistance.plan_opened")
    assert opened.after == {"person_id": cast.person.id, "aid_case_id": case.id}
    assert [audit_rows(db, i, "assistance.item_added")[0].after["measure_id"] for i in items] == [
        m.id for m in measures]

    # Nothing is left to take over: a second call is refused and adds nothing.
    with pytest.raises(ValidationFailed) as refused:
        services.plan_from_aid_case(case, actor=cast.officer, now=clock.now)
    assert refused.value.message
    db.session.flush()
    assert _count(db, ServiceItem) == 3 and _count(db, AssistancePlan) == 1


def test_measures_join_the_womans_open_plan(cast, db, clock, world):
    plan = cast.plan(clock.now)
    cast.item(plan, clock.now)
    case = cast.approved_case(clock.now, measures=[measure("follow_up", world.street_a)])
    assert services.plan_from_aid_case(case, actor=cast.officer, now=clock.now).plan.id == plan.id
    row = _reloaded(db, plan)
    assert row.aid_case_id == case.id  # the procuratorate now sees it through its case
    assert [(i.kind, i.frequency, i.provider_org_id) for i in row.items] == [
        ("counselling", "monthly", cast.counselling.id),
        ("follow_up", "monthly", world.street_a.id)]
    assert _count(db, AssistancePlan) == 1


def test_the_district_takes_measures_over_into_a_street_federations_plan(cast, db, clock, world):
    """The woman came through 甲街, which runs her plan; the district officer (above it) takes
    the measures over: the items stay with the street's officer."""
    import uuid

    from caseflow.referrals import services as referral_services
    from tests.referrals.helpers import referral_input

    person = factories.make_person(world, cast.street_officer, pseudonym="街道转来的人", resident_id=None)
    referral = referral_services.save_draft(actor=cast.street_officer, now=clock.now, person=person,
                                            receiver=world.department5, data=referral_input(),
                                            submission_token=uuid.uuid4().hex)
    referral_services.send(referral, actor=cast.street_officer, now=clock.now)
    referral_services.register(referral, actor=cast.prosecutor, now=clock.now,
                               registration_number="登-街-1", received_on=referral.received_on,
                               handler=cast.prosecutor)
    street_plan = cast.plan(clock.now, actor=cast.street_officer, person=person)
    case = cast.approved_case(clock.now, referral=referral,
                              measures=[measure("counselling", cast.counselling)])
    assert policy.can_manage_plan(cast.officer, street_plan)
    plan = services.plan_from_aid_case(case, actor=cast.officer, now=clock.now).plan
    assert plan.id == street_plan.id
    [item] = _reloaded(db, plan).items
    assert item.officer_id == cast.street_officer.id and item.provider_org_id == cast.counselling.id
    [audit] = audit_rows(db, item, "assistance.item_added")
    assert audit.actor_id == cast.officer.id  # who did it is still recorded


def test_measures_not_yet_approved_are_not_taken_over(cast, db, clock):
    case = cast.proposed(clock.now, measures=[measure("counselling")])
    with pytest.raises(ValidationFailed):
        services.plan_from_aid_case(case, actor=cast.officer, now=clock.now)
    db.session.flush()
    assert _count(db, AssistancePlan) == 0
    assert [m.state for m in case.measures] == ["recommended"]


def test_only_federation_officers_take_measures_over(cast, db, clock):
    case = cast.approved_case(clock.now, measures=[measure("counselling")])
    for user in (cast.prosecutor, cast.proc_supervisor, cast.partner):
        with pytest.raises(NotAllowed):
            with db.session.begin_nested():
                services.plan_from_aid_case(case, actor=user, now=clock.now)
    db.session.flush()
    db.session.expire_all()
    assert _count(db, AssistancePlan) == 0
    assert [m.state for m in db.session.scalars(sa.select(RecommendedMeasure))] == ["ready"]


# -- who sees what ---------------------------------------------------------------------------------


def test_a_partner_sees_only_its_agencys_items_and_never_a_planned_one(cast, db, clock):
    plan = cast.plan(clock.now)
    counselling = cast.item(plan, clock.now)
    legal = _legal(cast, plan, clock.now)
    for user in (cast.counsellor, cast.justice_worker, cast.employment_worker):
        assert policy.can_list_assistance(user)
        assert not policy.can_view_plan(user, plan)  # the plan is not theirs, only the items
    assert not policy.can_view_item(cast.counsellor, counselling)  # still planned
    assert policy.can_view_item(cast.justice_worker, legal)
    assert not policy.can_view_item(cast.counsellor, legal) and not policy.can_view_item(
        cast.employment_worker, legal)

    assert _items_listed(db, cast.counsellor) == []
    assert _items_listed(db, cast.justice_worker) == [legal.id]
    assert _items_listed(db, cast.employment_worker) == []
    services.send_to_provider(counselling, actor=cast.officer, now=clock.now)
    assert policy.can_view_item(cast.counsellor, counselling)
    assert not policy.can_view_item(cast.justice_worker, counselling)
    assert _items_listed(db, cast.counsellor) == [counselling.id]
    assert _items_listed(db, cast.counsellor, "accepted") == []


def test_the_procuratorate_sees_the_plans_from_its_aid_cases(cast, db, clock, world):
    case = cast.approved_case(clock.now, measures=[measure("counselling", cast.counselling)])
    from_case = services.plan_from_aid_case(case, actor=cast.officer, now=clock.now).plan
    other_woman = factories.make_person(world, cast.officer, pseudonym="晓丽", resident_id=None)
    direct = cast.plan(clock.now, person=other_woman)
    elsewhere = factories.make_org("另一区人民检察院", OrganisationKind.PROCURATORATE, now=clock.now)
    stranger = factories.make_user(world, roles={Role.PROSECUTOR}, org=elsewhere)
    for user in (cast.prosecutor, cast.other_prosecutor, cast.proc_supervisor):
        assert policy.can_view_plan(user, from_case), user.display_name
        assert policy.can_view_item(user, from_case.items[0])
        assert not policy.can_manage_plan(user, from_case)  # seeing is not running
        assert not policy.can_view_plan(user, direct)
    assert not policy.can_view_plan(stranger, from_case)
    assert _plans_listed(db, cast.prosecutor) == [from_case.id]
    assert _plans_listed(db, stranger) == []


def test_another_street_federation_sees_nothing(cast, db, clock, world):
    street_person = _street_person(cast)
    plan = cast.plan(clock.now, actor=cast.street_officer, person=street_person)
    item = cast.sent_item(plan, clock.now, actor=cast.street_officer, officer=cast.street_officer)
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.street_a)
    for user in (cast.street_b_officer, admin, cast.prosecutor):
        assert not policy.can_view_plan(user, plan), user.display_name
        assert not policy.can_view_item(user, item)
        assert not policy.can_manage_item(user, item)
    for user in (cast.street_b_officer, cast.prosecutor):
        assert _plans_listed(db, user) == []
    assert not policy.can_list_assistance(admin)  # administrators never reach the list
    # Those running it, and the district above the street, do.
    for user in (cast.street_officer, cast.officer, cast.fed_supervisor):
        assert policy.can_view_plan(user, plan), user.display_name
        assert policy.can_manage_plan(user, plan), user.display_name


# -- the lists -------------------------------------------------------------------------------------


def _overdue_ids(db, today):
    query = sa.select(ServiceItem.id).where(queries.overdue_condition(today))
    return set(db.session.scalars(query))


def test_overdue_items_are_late_sessions_and_late_answers(cast, db, clock):
    plan = cast.plan(clock.now)
    planned = cast.item(plan, clock.now)
    waiting = cast.sent_item(plan, clock.now)  # the answer is due on 2 December
    running = cast.accepted_item(plan, clock.now)  # the first session is due today
    active = cast.active_item(plan, clock.now, frequency="weekly", held_on=TODAY)  # next: 4 Dec
    once = cast.active_item(plan, clock.now, frequency="once", held_on=TODAY)  # nothing more due
    ended = _item_at(cast, plan, clock.now, "completed")
    db.session.flush()
    assert _overdue_ids(db, TODAY) == set()
    assert _overdue_ids(db, date(2026, 11, 28)) == {running.id}
    assert _overdue_ids(db, date(2026, 12, 2)) == {running.id}
    assert _overdue_ids(db, date(2026, 12, 3)) == {running.id, waiting.id}
    assert _overdue_ids(db, date(2026, 12, 5)) == {running.id, waiting.id, active.id}
    for day in (TODAY, date(2026, 12, 3), date(2026, 12, 5), date(2027, 6, 1)):
        # The query and the item's own answer agree.
        assert {i.id for i in (planned, waiting, running, active, once, ended)
                if _reloaded(db, i).is_overdue(day)} == _overdue_ids(db, day)
    assert queries.overdue_plan_ids([plan.id], date(2026, 12, 3)) == {plan.id}
    assert queries.overdue_plan_ids([plan.id], TODAY) == set()
    assert queries.overdue_plan_ids([], TODAY) == set()
    # A session brings the running item back on time.
    cast.session(db.session.get(ServiceItem, running.id), at(date(2026, 12, 3)),
                 held_on=date(2026, 12, 3))
    db.session.flush()
    assert running.id not in _overdue_ids(db, date(2026, 12, 5))


def test_the_providers_list_puts_waiting_items_first(cast, db, clock):
    plan = cast.plan(clock.now)
    later = cast.accepted_item(plan, clock.now, starts_on=date(2026, 12, 10))
    sooner = cast.accepted_item(plan, clock.now, starts_on=date(2026, 12, 1))
    waiting = cast.sent_item(plan, clock.now)
    done = services.complete(cast.accepted_item(plan, clock.now), actor=cast.officer, now=clock.now,
                             outcome="结束")
    cast.item(plan, clock.now)  # planned: never listed
    db.session.flush()
    assert _items_listed(db, cast.counsellor) == [waiting.id, sooner.id, later.id, done.id]
    assert _items_listed(db, cast.counsellor, "sent") == [waiting.id]
    assert _items_listed(db, cast.counsellor, "planned") == []
    # The district federation, giving help itself, lists what it gives (and its streets).
    own = cast.sent_item(plan, clock.now, kind="follow_up", provider=cast.world.street_a)
    db.session.flush()
    assert _items_listed(db, cast.officer) == [own.id]
    assert _items_listed(db, cast.street_b_officer) == []


def test_the_plan_list_filters_by_state_overdue_and_name(cast, db, clock, world):
    xiaoyu = cast.plan(clock.now)  # 小雨
    xiaoli_person = factories.make_person(world, cast.officer, pseudonym="晓丽", resident_id=None)
    xiaoli = cast.plan(clock.now, person=xiaoli_person)
    cast.sent_item(xiaoli, clock.now)  # answer due 2 December
    meimei = factories.make_person(world, cast.officer, pseudonym="梅梅", resident_id=None)
    closed = cast.plan(clock.now, person=meimei)
    services.close_plan(closed, actor=cast.officer, now=clock.now, summary="结束")
    db.session.flush()

    def listed(user=cast.officer, state="", overdue=False, q="", today=TODAY):
        return _plans_listed(db, user, state=state, overdue=overdue, q=q, today=today)

    assert listed() == [xiaoli.id, xiaoyu.id, closed.id]  # open first, newest first
    assert listed(state="open") == [xiaoli.id, xiaoyu.id]
    assert listed(state="closed") == [closed.id]
    assert listed(overdue=True) == []
    assert listed(overdue=True, today=date(2026, 12, 3)) == [xiaoli.id]
    assert listed(q="晓丽") == [xiaoli.id]
    assert listed(q=" xiao ") == [xiaoli.id, xiaoyu.id]  # pinyin: 晓丽 xiaoli, 小雨 xiaoyu
    assert listed(q="xiaoyu") == [xiaoyu.id]
    assert listed(q="梅", state="open") == []
    # The street federation 甲街 runs none of these.
    assert listed(user=cast.street_officer) == []
