"""Shared builders for the judicial aid case tests: the referral cast, plus a case taken
step by step along its life (opened, investigated, proposed, approved, decided)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.investigations import services
from caseflow.investigations.models import CaseEvent
from tests.referrals.helpers import Cast

AID_CASE_PREFIX = "测检救"


def case_input(**overrides) -> services.CaseInput:
    values = dict(summary="丈夫因刑事案件去世，本人重病无业，申请国家司法救助。",
                  application_received_on=date(2026, 11, 25))
    values.update(overrides)
    return services.CaseInput(**values)


def visit_input(cast, **overrides) -> services.VisitInput:
    values = dict(visited_on=date(2026, 11, 26), place_kind="home", address="江汉区某社区3栋",
                  visitor_ids=[cast.prosecutor.id, cast.officer.id], met="申请人及其婆婆",
                  notes="两名子女在读，婆婆每月退休金约2000元。")
    values.update(overrides)
    return services.VisitInput(**values)


def proposal_input(**overrides) -> services.ProposalInput:
    values = dict(findings="家庭主要收入来源中断，医疗支出较大。", amount="30000",
                  reasons="丈夫每月收入3000余元中断，本人医疗费用持续。", measures=[])
    values.update(overrides)
    return services.ProposalInput(**values)


def audit_rows(db, case, action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "aid_cases", AuditEvent.object_id == str(case.id),
        AuditEvent.action == action).order_by(AuditEvent.id)).all()


def event_kinds(db, case) -> list[str]:
    return [e.kind for e in db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


class CaseCast(Cast):
    """The referral cast, with the procuratorate numbering aid cases. The prosecutor
    handles the case; the team is the prosecutor and the district federation officer;
    ``proc_supervisor`` reviews; ``other_prosecutor`` is of the same department but
    not on the team."""

    def __init__(self, world):
        super().__init__(world)
        world.procuratorate.aid_case_prefix = AID_CASE_PREFIX
        from caseflow.extensions import db

        db.session.flush()

    def open(self, now, *, referral=None, applicant=None, actor=None, handler=None, **data):
        if referral is None and applicant is None:
            referral = self.registered(now)
        return services.open_case(actor=actor or self.prosecutor, now=now, data=case_input(**data),
                                  handler=handler or self.prosecutor, applicant=applicant,
                                  referral=referral)

    def investigating(self, now, *, members=None, **open_kwargs):
        case = self.open(now, **open_kwargs)
        services.start_investigation(case, actor=self.prosecutor, now=now, plan="走访街道、社区和家庭。",
                                     members=members or [self.prosecutor, self.officer])
        return case

    def proposed(self, now, *, amount="30000", measures=None, actor=None, **kwargs):
        case = self.investigating(now, **kwargs)
        services.propose(case, actor=actor or self.prosecutor, now=now,
                         data=proposal_input(amount=amount, measures=measures or []))
        return case

    def approved(self, now, **kwargs):
        case = self.proposed(now, **kwargs)
        services.review(case, actor=self.proc_supervisor, now=now, outcome="approve", comment=None)
        return case

    def decided(self, now, *, granted="30000", decided_on=None, **kwargs):
        case = self.approved(now, **kwargs)
        services.decide(case, actor=self.prosecutor, now=now, amount=granted,
                        decided_on=decided_on or local_date(now), text="决定给予司法救助金。")
        return case
