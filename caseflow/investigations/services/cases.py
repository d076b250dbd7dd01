"""A case's life at the procuratorate: opening it (from a referral or directly), its
handler and number, the link to the referral a reply names, its documents, and the
proposal with its measures and the supervisor's review."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core import files, numbering
from caseflow.core.db import local_date
from caseflow.core.documents.services import letter_issuer
from caseflow.core.errors import Checks, Conflict, NotAllowed, ValidationFailed, require
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.people.models import Person
from caseflow.core.text import optional_text, required_text
from caseflow.core.versions import state_change
from caseflow.extensions import db
from caseflow.investigations import alerts, policy
from caseflow.investigations.models import (
    AidCase, AidCaseCounter, CaseDocument, CaseEventKind, CaseState, MeasureKind, MeasureState,
    RecommendedMeasure, ReviewOutcome, Visit,
)
from caseflow.investigations.services.common import _audit, _event, _move, _not_future, parse_amount


@dataclass
class CaseInput:
    summary: str
    application_received_on: date | None
    criminal_case_number: str | None = None
    offence: str | None = None
    offence_on: date | None = None


def handlers_for(org: Organisation) -> list[User]:
    """Who may handle a case of ``org``: its prosecutors and supervisors, and those below."""
    from caseflow.core.orgs.models import UserRole

    has_role = sa.exists().where(UserRole.user_id == User.id,
                                 UserRole.role.in_([Role.PROSECUTOR.value, Role.SUPERVISOR.value]))
    return db.session.scalars(
        sa.select(User).where(User.organisation_id.in_(subtree_ids(org.id)), User.is_active_account,
                              User.is_service_account.is_(False), has_role)
        .order_by(User.display_name)).all()


def _check_handler(org: Organisation, handler: User | None) -> User:
    if handler is None:
        raise ValidationFailed(_("Designate a handler."), field="handler_id")
    if handler not in handlers_for(org):
        raise ValidationFailed(
            _("%(name)s is not a prosecutor of %(org)s; the handler must be one.",
              name=handler.display_name, org=org.name), field="handler_id")
    return handler


def next_case_number(org: Organisation, year: int) -> tuple[str, int, Organisation]:
    """The next number of ``org``'s cases, in the series of the organisation it issues as
    (or the nearest one above with a prefix), which heads and signs the decision: a
    department never numbers, nor signs, in its own name (``core.documents``)."""
    series = letter_issuer(org, "aid_case_prefix")
    if series is None:
        raise ValidationFailed(
            _("%(org)s has no judicial aid case number prefix; the system administrator sets one "
              "on the organisation page.", org=org.name))
    seq = numbering.next_in_series(AidCaseCounter, series.id, year)
    return numbering.official_number(series.aid_case_prefix, year, seq), seq, series


def case_for_referral(referral) -> AidCase | None:
    return db.session.scalar(sa.select(AidCase).where(AidCase.referral_id == referral.id))


def cases_for_reply(user, referral) -> list[AidCase]:
    """The cases a reply "judicial aid case opened" may name: the one opened from the
    referral; else the cases the user's procuratorate opened directly for its person (from
    no referral), which the reply then links to it."""
    linked = case_for_referral(referral)
    if linked is not None:
        return [linked] if policy.can_view_case(user, linked) else []
    rows = db.session.scalars(sa.select(AidCase).where(
        AidCase.applicant_id == referral.person_id, AidCase.referral_id.is_(None))
        .order_by(AidCase.id)).all()
    return [case for case in rows if policy.on_procuratorate_side(user, case)]


def link_case_to_referral(case: AidCase, referral, *, actor, now: datetime) -> None:
    """The reply names the case: a case opened directly now comes from the referral (its
    sender sees it from then on)."""
    if case.referral_id == referral.id:
        return
    case.referral_id = referral.id
    case.updated_at = now
    _audit("aid_case.linked", case, actor=actor, now=now, before={"referral_id": None},
           after={"referral_id": referral.id, "referral": referral.number})


def _check_referral(actor, referral) -> None:
    """A case is opened from a referral the actor's procuratorate registered (or has
    answered since), and only once."""
    from caseflow.referrals import policy as referral_policy
    from caseflow.referrals.models import ReferralState

    if not referral_policy.on_receiver_side(actor, referral) or referral.state not in (
            ReferralState.REGISTERED, ReferralState.REPLIED, ReferralState.CLOSED):
        raise ValidationFailed(
            _("A case is opened from a referral your procuratorate has registered."),
            field="referral")
    existing = case_for_referral(referral)
    if existing is not None:
        raise Conflict(_("Case %(number)s was already opened from this referral.",
                         number=existing.number))


def check_case(*, actor, today: date, data: CaseInput, handler: User | None,
               applicant: Person | None = None, referral=None) -> tuple[Person, CaseInput]:
    """A new case's fields, every one checked and nothing written; the refusal
    (``FieldErrors``) names each bad field. Opened from a referral, its person is the
    applicant and its criminal case, offence and date fill what the form left empty. The
    applicant and the input as kept (the summary cleaned)."""
    from caseflow.core.people.policy import can_view_person

    if referral is not None:
        _check_referral(actor, referral)
        applicant = referral.person
        data = replace(data,
                       criminal_case_number=data.criminal_case_number or referral.criminal_case_number,
                       offence=data.offence or referral.offence,
                       offence_on=data.offence_on or referral.offence_on)
    checks = Checks()
    with checks:
        if applicant is None or not can_view_person(actor, applicant):
            raise ValidationFailed(_("Choose the applicant from the persons you can see."),
                                   field="applicant_id")
    with checks:
        data = replace(data, summary=required_text(data.summary, "summary",
                                                   _("Summarise the application.")))
    with checks:
        if data.application_received_on is None:
            raise ValidationFailed(_("Enter the date the application was received."),
                                   field="application_received_on")
        _not_future(data.application_received_on, today, "application_received_on",
                    _("The application date cannot be in the future."))
    with checks:
        _not_future(data.offence_on, today, "offence_on",
                    _("The date of the offence cannot be in the future."))
    with checks:
        if (data.offence_on and data.application_received_on
                and data.application_received_on < data.offence_on):
            raise ValidationFailed(_("The application cannot be received before the offence."),
                                   field="application_received_on")
    with checks:
        _check_handler(actor.organisation, handler)
    checks.done()
    return applicant, data


def open_case(*, actor, now: datetime, data: CaseInput, handler: User | None,
              applicant: Person | None = None, referral=None) -> AidCase:
    """Open a case from a registered referral (its person is the applicant) or directly
    for a person recorded another way."""
    require(policy.can_open_case(actor),
            _("Judicial aid cases are opened by prosecutors of a procuratorate."))
    today = local_date(now)
    applicant, data = check_case(actor=actor, today=today, data=data, handler=handler,
                                 applicant=applicant, referral=referral)
    org = actor.organisation
    number, seq, series = next_case_number(org, today.year)
    case = AidCase(
        number=number, number_year=today.year, number_seq=seq, numbering_org_id=series.id,
        organisation_id=org.id, referral_id=referral.id if referral is not None else None,
        applicant_id=applicant.id, handler_id=handler.id, created_by_id=actor.id,
        state=CaseState.INVESTIGATING.value, summary=data.summary,
        criminal_case_number=optional_text(data.criminal_case_number),
        offence=optional_text(data.offence),
        offence_on=data.offence_on, application_received_on=data.application_received_on,
        created_at=now, updated_at=now)
    db.session.add(case)
    db.session.flush()
    _event(case, CaseEventKind.OPENED, actor=actor, now=now, to_state=case.state,
           data={"referral": referral.number if referral is not None else None,
                 "handler": handler.display_name})
    _audit("aid_case.opened", case, actor=actor, now=now,
           after={"number": number, "applicant_id": applicant.id, "handler_id": handler.id,
                  "referral_id": case.referral_id})
    if referral is not None:
        alerts.tell_case_opened(case, referral, actor=actor, now=now)
    return case


files.register(CaseDocument.sha256)  # so that `caseflow keys rotate` re-encrypts them


def add_document(case: AidCase, *, actor, now: datetime, filename: str, data: bytes,
                 visit: Visit | None = None) -> CaseDocument:
    require(policy.can_add_document(actor, case),
            _("Only the case's team and handler add documents to it."))
    if visit is not None and visit.investigation.case_id != case.id:
        raise NotAllowed(_("That visit belongs to another case."))
    checked = files.check(filename, data)
    files.store(data, checked.sha256)
    row = CaseDocument(case_id=case.id, visit_id=visit.id if visit else None, filename=checked.filename,
                       content_type=checked.content_type, size_bytes=checked.size,
                       sha256=checked.sha256, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _event(case, CaseEventKind.DOCUMENT_ADDED, actor=actor, now=now, text=checked.filename,
           data={"sha256": checked.sha256, "size": checked.size, "visit_id": row.visit_id})
    _audit("aid_case.document", case, actor=actor, now=now,
           after={"filename": checked.filename, "sha256": checked.sha256, "visit_id": row.visit_id})
    return row


# -- the proposal and its review ------------------------------------------------------------


@dataclass
class MeasureInput:
    kind: str
    agency: Organisation | None = None
    details: str | None = None


@dataclass
class ProposalInput:
    findings: str
    amount: str
    reasons: str
    measures: list[MeasureInput] = field(default_factory=list)


def agencies() -> list[Organisation]:
    """Who may be proposed to give a measure: the partner agencies and the federation."""
    return db.session.scalars(
        sa.select(Organisation).where(Organisation.is_active, Organisation.kind.in_(
            [OrganisationKind.PARTNER.value, OrganisationKind.FEDERATION.value]))
        .order_by(Organisation.kind.desc(), Organisation.code)).all()


@state_change
def propose(case: AidCase, *, actor, now: datetime, data: ProposalInput) -> AidCase:
    require(policy.can_propose(actor, case),
            _("The handler proposes the aid once the joint investigation has started."))
    findings = required_text(data.findings, "findings",
                             _("Write the findings of the investigation."))
    amount = parse_amount(data.amount, field_name="amount")
    reasons = required_text(data.reasons, "reasons", _("Give the reasons for the amount."))
    allowed_agencies = {a.id for a in agencies()}
    for measure in data.measures:
        if measure.kind not in {k.value for k in MeasureKind}:
            raise ValidationFailed(_("Choose the kind of each measure."), field="measures")
        if measure.agency is not None and measure.agency.id not in allowed_agencies:
            raise ValidationFailed(_("Measures are given by a partner agency or the federation."),
                                   field="measures")
    case.findings, case.proposed_amount, case.proposal_reasons = findings, amount, reasons
    case.proposed_by_id, case.proposed_at = actor.id, now
    case.reviewed_by_id, case.reviewed_at = None, None
    # A returned proposal's measures are kept, dropped, beside the new ones: nothing is deleted.
    for old in case.measures:
        if old.state == MeasureState.RECOMMENDED.value:
            old.state = MeasureState.DROPPED.value
    case.measures.extend(
        RecommendedMeasure(kind=measure.kind, agency_id=measure.agency.id if measure.agency else None,
                           details=optional_text(measure.details),
                           state=MeasureState.RECOMMENDED.value)
        for measure in data.measures)
    _move(case, CaseState.PROPOSED, actor=actor, now=now, kind=CaseEventKind.PROPOSED, text=reasons,
          data={"amount": amount, "measures": [m.kind for m in data.measures]})
    alerts.tell_proposed(case, actor=actor, now=now)
    return case


@state_change
def review(case: AidCase, *, actor, now: datetime, outcome: str, comment: str | None) -> AidCase:
    """The supervisor approves, rejects, or returns the proposal for more work."""
    if case.state == CaseState.PROPOSED.value and case.proposed_by_id == actor.id:
        raise NotAllowed(_("Nobody approves their own proposal: another supervisor reviews it."))
    require(policy.can_review(actor, case),
            _("A supervisor of the procuratorate reviews the proposal."))
    comment = optional_text(comment)
    if outcome not in {o.value for o in ReviewOutcome}:
        raise ValidationFailed(_("Choose approve, return or reject."), field="outcome")
    if outcome != ReviewOutcome.APPROVE.value and comment is None:
        raise ValidationFailed(_("Say why the proposal is rejected or returned."), field="comment")
    case.review_comment = comment
    if outcome == ReviewOutcome.RETURN.value:
        case.reviewed_by_id = case.reviewed_at = None
        _move(case, CaseState.INVESTIGATING, actor=actor, now=now, kind=CaseEventKind.RETURNED,
              text=comment)
        alerts.tell_reviewed(case, outcome=outcome, actor=actor, now=now)
        return case
    case.reviewed_by_id, case.reviewed_at = actor.id, now
    approved = outcome == ReviewOutcome.APPROVE.value
    for measure in case.measures:
        if measure.state == MeasureState.RECOMMENDED.value:
            measure.state = (MeasureState.READY if approved else MeasureState.DROPPED).value
    _move(case, CaseState.APPROVED if approved else CaseState.REJECTED, actor=actor, now=now,
          kind=CaseEventKind.APPROVED if approved else CaseEventKind.REJECTED, text=comment,
          data={"amount": case.proposed_amount})
    alerts.tell_reviewed(case, outcome=outcome, actor=actor, now=now)
    return case


def note_imported(case: AidCase, *, actor, now: datetime, filename: str, row: int):
    """The timeline's entry of a case brought in from an office's ledger
    (``caseflow.imports``): who imported it, when, from which file and row, in the state the
    ledger gives. Its original dates are the case's own columns."""
    return _event(case, CaseEventKind.OPENED, actor=actor, now=now, to_state=case.state,
                  text=_("Imported from %(file)s, row %(row)d.", file=filename, row=row),
                  data={"imported": {"file": filename, "row": row}})


def ready_measures():
    """The approved measures the assistance module has not taken over yet."""
    return (sa.select(RecommendedMeasure).where(RecommendedMeasure.state == MeasureState.READY.value)
            .order_by(RecommendedMeasure.case_id, RecommendedMeasure.id))
