"""What ``/api/v1/cases`` and ``/api/v1/notifications`` answer, as pydantic models (the
document takes their JSON Schema, as ``schemas.py``'s). No field holds a protected identity
(the applicant's or a household member's name, resident ID number, phone, address): the
applicant is her pseudonym; the household only its counts. Money is exact: yuan as a
decimal string with two decimals (``"30000.00"``), never a binary float."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from caseflow.api.schemas import Organisation, Person

#: Yuan, exactly: digits, a point, two decimals (the database's NUMERIC(12, 2) as text).
Yuan = Annotated[str, Field(pattern=r"^[0-9]{1,10}\.[0-9]{2}$",
                            description="Yuan as a decimal string with exactly two decimals "
                                        "(e.g. \"30000.00\"): exact, never a binary float.",
                            examples=["30000.00"])]


def yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


class CaseSummary(BaseModel):
    id: int
    number: str = Field(description="The case number in its procuratorate's series.")
    state: str = Field(description="investigating, proposed, approved, rejected, decided or paid.")
    organisation: Organisation = Field(description="The procuratorate that handles the case.")
    applicant: Person = Field(description="The applicant by her pseudonym, never her identity.")
    handler: str = Field(description="The handler's name.")
    referral_id: int | None = Field(description="The referral the case was opened from, if any.")
    application_received_on: date
    offence: str | None
    proposed_amount: Yuan | None
    proposed_at: datetime | None
    granted_amount: Yuan | None
    decided_on: date | None
    paid_amount: Yuan | None
    paid_on: date | None
    is_imported: bool = Field(description="Brought in from an office's ledger.")
    version: int


class TeamMember(BaseModel):
    name: str
    organisation: str
    side: str = Field(description="federation or procuratorate.")


class JointInvestigation(BaseModel):
    started_on: date
    plan: str
    team: list[TeamMember]
    visits: int = Field(description="Visits recorded (void ones not counted).")


class Household(BaseModel):
    """The household assessment's counts; its members' details are on the pages only."""
    members: int
    minors: int


class Measure(BaseModel):
    kind: str = Field(description="counselling, legal_aid, job_training, skills_training, "
                                  "social_assistance or follow_up.")
    state: str = Field(description="recommended, ready, taken_over or dropped.")
    agency: Organisation | None
    details: str | None


class Case(CaseSummary):
    referral_number: str | None
    criminal_case_number: str | None
    offence_on: date | None
    summary: str = Field(description="The application in brief.")
    investigation: JointInvestigation | None
    household: Household | None
    findings: str | None
    proposal_reasons: str | None
    proposed_by: str | None = Field(description="The proposer's name.")
    reviewed_by: str | None = Field(description="The reviewer's name.")
    reviewed_at: datetime | None
    review_comment: str | None
    measures: list[Measure] = Field(description="The measures of the current proposal.")
    decision_text: str | None
    payment_method: str | None = Field(description="bank_transfer, cash or other.")


NEXT = "The next page's URL (its opaque cursor), or null on the last."


class CasePage(BaseModel):
    items: list[CaseSummary]
    next: str | None = Field(description=NEXT)


class Notification(BaseModel):
    id: int
    kind: str = Field(description="What happened, as a key (e.g. aid_case.proposal_submitted).")
    text: str = Field(description="The sentence the notification centre shows, in the "
                                  "caller's language.")
    link: str | None = Field(description="The page it is about (a path of the web application).")
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[Notification]
    next: str | None = Field(description=NEXT)


# -- built from the records -----------------------------------------------------------------


def _summary_fields(case) -> dict:
    return dict(
        id=case.id, number=case.number, state=case.state,
        organisation=Organisation(id=case.organisation.id, name=case.organisation.name),
        applicant=Person(id=case.applicant.id, pseudonym=case.applicant.pseudonym),
        handler=case.handler.display_name, referral_id=case.referral_id,
        application_received_on=case.application_received_on, offence=case.offence,
        proposed_amount=yuan(case.proposed_amount), proposed_at=case.proposed_at,
        granted_amount=yuan(case.granted_amount), decided_on=case.decided_on,
        paid_amount=yuan(case.paid_amount), paid_on=case.paid_on, is_imported=case.is_imported,
        version=case.version)


def case_summary(case) -> CaseSummary:
    return CaseSummary(**_summary_fields(case))


def _investigation(case) -> JointInvestigation | None:
    inv = case.investigation
    if inv is None:
        return None
    return JointInvestigation(
        started_on=inv.started_on, plan=inv.plan,
        team=[TeamMember(name=m.user.display_name, organisation=m.user.organisation.name,
                         side=m.side) for m in inv.members],
        visits=sum(1 for v in inv.visits if not v.is_void))


def case_detail(case) -> Case:
    assessment = case.assessment
    return Case(
        **_summary_fields(case),
        referral_number=case.referral.number if case.referral is not None else None,
        criminal_case_number=case.criminal_case_number, offence_on=case.offence_on,
        summary=case.summary, investigation=_investigation(case),
        household=(Household(members=len(assessment.members), minors=len(assessment.minors))
                   if assessment is not None else None),
        findings=case.findings, proposal_reasons=case.proposal_reasons,
        proposed_by=case.proposed_by.display_name if case.proposed_by else None,
        reviewed_by=case.reviewed_by.display_name if case.reviewed_by else None,
        reviewed_at=case.reviewed_at, review_comment=case.review_comment,
        measures=[Measure(kind=m.kind, state=m.state, details=m.details,
                          agency=(Organisation(id=m.agency.id, name=m.agency.name)
                                  if m.agency else None))
                  for m in case.current_measures],
        decision_text=case.decision_text, payment_method=case.payment_method)


def notification(row, text: str) -> Notification:
    return Notification(id=row.id, kind=row.kind, text=text, link=row.link,
                        created_at=row.created_at, read_at=row.read_at)
