"""Shared builders for the assistance tests: the aid case cast plus the agencies that give
help (the justice bureau, an employment service centre, a counselling provider) and their
workers, and items taken step by step along their life (planned, sent, accepted, active)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from caseflow.assistance import services
from caseflow.assistance.models import AssistanceEvent
from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.investigations import services as case_services
from tests import factories
from tests.investigations.helpers import CaseCast, proposal_input

#: The default start of an item: the week before the default clock (2026-11-27).
STARTS_ON = date(2026, 11, 20)


def at(day: date) -> datetime:
    """09:00 in Asia/Shanghai on ``day`` (01:00 UTC): a ``now`` whose local date is ``day``."""
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)


class AssistCast(CaseCast):
    """The aid case cast (``officer`` of the district federation, ``street_officer`` of
    甲街, the prosecutors, ``partner`` of the justice bureau, ``person`` 小雨 recorded by
    the district federation), with the other agencies that give help."""

    def __init__(self, world):
        super().__init__(world)
        now = world.now
        self.employment = factories.make_org("测试区就业服务中心", OrganisationKind.PARTNER, now=now,
                                             code="t-employment")
        self.counselling = factories.make_org("测试区心理咨询中心", OrganisationKind.PARTNER, now=now,
                                              code="t-counselling")
        self.justice_worker = self.partner
        self.employment_worker = factories.make_user(world, roles={Role.PARTNER_WORKER},
                                                     org=self.employment)
        self.counsellor = factories.make_user(world, roles={Role.PARTNER_WORKER},
                                              org=self.counselling)
        self.street_b_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER},
                                                    org=world.street_b)

    # -- plans and items ---------------------------------------------------------------

    def plan(self, now, *, person=None, actor=None, summary="心理疏导、法律援助和就业培训"):
        return services.open_plan(actor=actor or self.officer, now=now,
                                  person=person or self.person, summary=summary)

    def item_input(self, plan, **overrides) -> services.ItemInput:
        values = dict(kind="counselling", beneficiary=plan.person, provider=self.counselling,
                      officer=self.officer, frequency="monthly", starts_on=STARTS_ON,
                      details="成人与未成年人分开进行")
        values.update(overrides)
        return services.ItemInput(**values)

    def item(self, plan, now, *, actor=None, **overrides):
        return services.add_item(plan, actor=actor or self.officer, now=now,
                                 data=self.item_input(plan, **overrides))

    def legal_aid(self, plan, now, **overrides):
        overrides = {"kind": "legal_aid", "provider": self.world.justice_bureau,
                     "frequency": "once", "legal_matter": "登记在其名下车辆的所有权纠纷", **overrides}
        return self.item(plan, now, **overrides)

    def provider_worker(self, item):
        workers = {self.counselling.id: self.counsellor, self.employment.id: self.employment_worker,
                   self.world.justice_bureau.id: self.justice_worker}
        return workers.get(item.provider_org_id, self.officer)  # the federation gives it itself

    def sent_item(self, plan, now, **overrides):
        item = self.item(plan, now, **overrides)
        return services.send_to_provider(item, actor=self.officer, now=now)

    def accepted_item(self, plan, now, **overrides):
        item = self.sent_item(plan, now, **overrides)
        return services.accept(item, actor=self.provider_worker(item), now=now)

    def active_item(self, plan, now, *, held_on=None, **overrides):
        item = self.accepted_item(plan, now, **overrides)
        self.session(item, now, held_on=held_on)
        return item

    def session(self, item, now, *, held_on=None, actor=None, **overrides):
        values = dict(held_on=held_on or now.date(), attended="晓丽及两名子女",
                      notes="成人与未成年人分开进行疏导", seen_separately=True)
        values.update(overrides)
        return services.record_session(item, actor=actor or self.provider_worker(item), now=now,
                                       data=services.SessionInput(**values))

    # -- an approved aid case ------------------------------------------------------------

    def approved_case(self, now, *, measures=None, child=False, **open_kwargs):
        """A case (of 小雨 unless ``referral`` says otherwise) approved with ``measures``; with
        ``child``, her household has a daughter of 10 (a member, so a possible beneficiary)."""
        case = self.investigating(now, **open_kwargs)
        if child:
            case_services.save_household(case, actor=self.prosecutor, now=now,
                                         expected_version=None,
                                         data=case_services.HouseholdInput(medical_costs="1500"))
            self.child = case_services.save_member(
                case, actor=self.prosecutor, now=now, data=case_services.MemberInput(
                    pseudonym="小妹", relation="女儿", age_years=None, birth_date=date(2016, 4, 18),
                    real_name="陈小妹")).person
        case_services.propose(case, actor=self.prosecutor, now=now,
                              data=proposal_input(measures=measures or []))
        case_services.review(case, actor=self.proc_supervisor, now=now, outcome="approve",
                             comment=None)
        return case


def measure(kind, agency=None, details=None):
    return case_services.MeasureInput(kind=kind, agency=agency, details=details)


def audit_rows(db, obj, action: str) -> list[AuditEvent]:
    """The audit rows of ``action`` about ``obj`` (a plan or an item)."""
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == obj.__tablename__, AuditEvent.object_id == str(obj.id),
        AuditEvent.action == action).order_by(AuditEvent.id)).all()


def all_audit(db) -> list[str]:
    return db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.action.like("assistance.%")).order_by(AuditEvent.id)).all()


def events(db, plan, item=None) -> list[AssistanceEvent]:
    query = sa.select(AssistanceEvent).where(AssistanceEvent.plan_id == plan.id)
    if item is not None:
        query = query.where(AssistanceEvent.item_id == item.id)
    return db.session.scalars(query.order_by(AssistanceEvent.id)).all()


def event_kinds(db, plan, item=None) -> list[str]:
    return [e.kind for e in events(db, plan, item)]
