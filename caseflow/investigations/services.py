"""Every change to a judicial aid case: one function per action, each checking permission
(``policy``), validating its input, and writing its timeline event and audit row in the
caller's transaction. State moves only along ``models.TRANSITIONS``."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core import files, numbering
from caseflow.core.audit.services import changes, record
from caseflow.core.db import local_date
from caseflow.core.documents.services import letter_issuer
from caseflow.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from caseflow.core.money import format_amount
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.core.versions import CONFLICT_MESSAGE, check_version, flush_versioned, state_change
from caseflow.extensions import db
from caseflow.investigations import alerts, policy
from caseflow.investigations.models import (
    TRANSITIONS, AidCase, AidCaseCounter, CaseDocument, CaseEvent, CaseEventKind, CaseState,
    HouseholdAssessment, HouseholdMember, Investigation, InvestigationMember, MeasureKind,
    VISIT_ADDRESS, MeasureState, PaymentMethod, PlaceKind, RecommendedMeasure, ReviewOutcome, Visit,
)

register(SettingSpec(
    key="aid_amount_maximum",
    label=_l("Maximum judicial aid amount (yuan)"),
    help=_l("No proposal, decision or payment may exceed this amount."),
    minimum=1, maximum=10_000_000, config_default="CASEFLOW_AID_AMOUNT_MAXIMUM", fallback=200_000,
))

AMOUNT_PATTERN = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
OLDEST_AGE = 120


# -- helpers -------------------------------------------------------------------------


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)


def _text(value: str | None, field_name: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field_name)
    return value


def _optional(value: str | None) -> str | None:
    return (value or "").strip() or None


def parse_amount(value, *, field_name: str, allow_zero: bool = False) -> Decimal:
    """Yuan with at most two decimals, positive and within the administrator's maximum."""
    text = str(value if value is not None else "").strip().replace("，", ",")
    if not text:
        raise ValidationFailed(_("Enter the amount in yuan."), field=field_name)
    if not AMOUNT_PATTERN.match(text):
        raise ValidationFailed(
            _("Write the amount in yuan as digits with at most two decimals, e.g. 30000 or "
              "30000.50 (no commas or currency signs)."), field=field_name)
    amount = Decimal(text)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(_("The amount must be more than zero."), field=field_name)
    maximum = Decimal(get_setting("aid_amount_maximum"))
    if amount > maximum:
        raise ValidationFailed(
            _("The amount may be at most %(max)s yuan (set by the system administrator).",
              max=format_amount(maximum)), field=field_name)
    return amount


def parse_optional_amount(value, *, field_name: str) -> Decimal | None:
    """A monthly figure of the household: empty, or zero or more with two decimals."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not AMOUNT_PATTERN.match(text):
        raise ValidationFailed(
            _("Write the amount in yuan as digits with at most two decimals, e.g. 2000 or "
              "2000.50."), field=field_name)
    return Decimal(text)


def _event(case: AidCase, kind: CaseEventKind, *, actor, now: datetime, from_state=None,
           to_state=None, text=None, data=None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, occurred_at=now, actor_id=actor.id,
                      actor_name=actor.display_name, actor_org_name=actor.organisation.name,
                      kind=kind.value, from_state=from_state, to_state=to_state, text=text,
                      data=data)
    db.session.add(event)
    return event


def _audit(action: str, case: AidCase, *, actor, now: datetime, before=None, after=None, reason=None):
    record(action, actor=actor, now=now, obj=case, object_label=case.number,
           organisation_id=case.organisation_id, before=before, after=after, reason=reason)


def _json(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _move(case: AidCase, to: CaseState, *, actor, now: datetime, kind: CaseEventKind,
          text: str | None = None, data: dict | None = None) -> None:
    current = case.state_enum
    if (current, to) not in TRANSITIONS:
        raise InvalidTransition(_("A case that is “%(state)s” cannot become “%(target)s”.",
                                  state=current.label, target=to.label))
    case.state = to.value
    case.updated_at = now
    data = {k: _json(v) for k, v in (data or {}).items()}
    _event(case, kind, actor=actor, now=now, from_state=current.value, to_state=to.value,
           text=text, data=data or None)
    _audit(f"aid_case.{kind.value}", case, actor=actor, now=now, before={"state": current.value},
           after={"state": to.value, **data}, reason=text)


def _not_future(day: date | None, today: date, field_name: str, message: str) -> None:
    if day is not None and day > today:
        raise ValidationFailed(message, field=field_name)


# -- opening a case ------------------------------------------------------------------


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
                              has_role)
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


def open_case(*, actor, now: datetime, data: CaseInput, handler: User | None,
              applicant: Person | None = None, referral=None) -> AidCase:
    """Open a case from a registered referral (its person is the applicant) or directly
    for a person recorded another way."""
    from caseflow.core.people.policy import can_view_person
    from caseflow.referrals import policy as referral_policy

    _require(policy.can_open_case(actor),
             _("Judicial aid cases are opened by prosecutors of a procuratorate."))
    today = local_date(now)
    if referral is not None:
        if not referral_policy.on_receiver_side(actor, referral) or referral.state not in (
                "registered", "replied", "closed"):
            raise ValidationFailed(
                _("A case is opened from a referral your procuratorate has registered."),
                field="referral")
        existing = case_for_referral(referral)
        if existing is not None:
            raise Conflict(_("Case %(number)s was already opened from this referral.",
                             number=existing.number))
        applicant = referral.person
        data.criminal_case_number = data.criminal_case_number or referral.criminal_case_number
        data.offence = data.offence or referral.offence
        data.offence_on = data.offence_on or referral.offence_on
    if applicant is None or not can_view_person(actor, applicant):
        raise ValidationFailed(_("Choose the applicant from the persons you can see."),
                               field="applicant_id")
    summary = _text(data.summary, "summary", _("Summarise the application."))
    if data.application_received_on is None:
        raise ValidationFailed(_("Enter the date the application was received."),
                               field="application_received_on")
    _not_future(data.application_received_on, today, "application_received_on",
                _("The application date cannot be in the future."))
    _not_future(data.offence_on, today, "offence_on", _("The date of the offence cannot be in the future."))
    if data.offence_on and data.application_received_on < data.offence_on:
        raise ValidationFailed(_("The application cannot be received before the offence."),
                               field="application_received_on")
    org = actor.organisation
    handler = _check_handler(org, handler)
    number, seq, series = next_case_number(org, today.year)
    case = AidCase(
        number=number, number_year=today.year, number_seq=seq, numbering_org_id=series.id,
        organisation_id=org.id, referral_id=referral.id if referral is not None else None,
        applicant_id=applicant.id, handler_id=handler.id, created_by_id=actor.id,
        state=CaseState.INVESTIGATING.value, summary=summary,
        criminal_case_number=_optional(data.criminal_case_number), offence=_optional(data.offence),
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
    _require(policy.can_add_document(actor, case),
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


# -- the joint investigation -----------------------------------------------------------


def team_candidates(case: AidCase) -> list[User]:
    """Who may join a case's team: case workers of the federation and the procuratorate."""
    from caseflow.core.orgs.models import UserRole

    has_role = sa.exists().where(UserRole.user_id == User.id,
                                 UserRole.role.in_([r.value for r in policy.CASE_ROLES]))
    return db.session.scalars(
        sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
        .where(Organisation.kind.in_([OrganisationKind.FEDERATION.value,
                                      OrganisationKind.PROCURATORATE.value]),
               User.is_active_account, has_role)
        .order_by(Organisation.kind, User.display_name)).all()


def _check_team(case: AidCase, members: list[User]) -> list[User]:
    allowed = {u.id for u in team_candidates(case)}
    members = list({m.id: m for m in members}.values())
    if any(m.id not in allowed for m in members):
        raise ValidationFailed(_("Team members are federation officers, prosecutors or their "
                                 "supervisors."), field="members")
    sides = {m.organisation.kind for m in members}
    if not {OrganisationKind.FEDERATION.value, OrganisationKind.PROCURATORATE.value} <= sides:
        raise ValidationFailed(
            _("A joint investigation needs at least one member from the federation and one "
              "from the procuratorate."), field="members")
    return members


def start_investigation(case: AidCase, *, actor, now: datetime, plan: str, members: list[User]) -> Investigation:
    _require(policy.can_run_investigation(actor, case),
             _("The case's handler or a supervisor starts the joint investigation."))
    if case.investigation is not None:
        raise Conflict(_("The joint investigation of this case has already started."))
    plan = _text(plan, "plan", _("Write the investigation plan."))
    members = _check_team(case, members)
    investigation = Investigation(case_id=case.id, plan=plan, started_on=local_date(now),
                                  started_by_id=actor.id, created_at=now, updated_at=now)
    case.investigation = investigation
    investigation.members = [InvestigationMember(user_id=m.id, side=m.organisation.kind)
                             for m in members]
    db.session.flush()
    names = [m.display_name for m in members]
    _event(case, CaseEventKind.INVESTIGATION_STARTED, actor=actor, now=now, text=plan,
           data={"members": names})
    _audit("aid_case.investigation_started", case, actor=actor, now=now,
           after={"members": [m.id for m in members]})
    return investigation


def change_team(case: AidCase, *, actor, now: datetime, members: list[User], reason: str) -> Investigation:
    _require(policy.can_run_investigation(actor, case) and case.investigation is not None,
             _("The case's handler or a supervisor changes the team of a started investigation."))
    reason = _text(reason, "reason", _("Say why the team changes."))
    members = _check_team(case, members)
    investigation = case.investigation
    before = sorted(m.user_id for m in investigation.members)
    wanted = {m.id: m for m in members}
    kept = [row for row in investigation.members if row.user_id in wanted]
    investigation.members = kept + [InvestigationMember(user_id=user_id, side=user.organisation.kind)
                                    for user_id, user in wanted.items() if user_id not in before]
    investigation.updated_at = now
    db.session.flush()
    _event(case, CaseEventKind.TEAM_CHANGED, actor=actor, now=now, text=reason,
           data={"members": [m.display_name for m in members]})
    _audit("aid_case.team_changed", case, actor=actor, now=now, before={"members": before},
           after={"members": sorted(wanted)}, reason=reason)
    return investigation


@dataclass
class VisitInput:
    visited_on: date | None
    place_kind: str
    #: In clear, only in memory; a correction leaves it empty to keep the address recorded.
    address: str | None
    visitor_ids: list[int] = field(default_factory=list)
    other_visitors: str | None = None
    met: str = ""
    notes: str = ""


ADDRESS_LENGTH = 300


def _check_visit(case: AidCase, data: VisitInput, *, today: date, keep_address: bool = False) -> VisitInput:
    if data.visited_on is None:
        raise ValidationFailed(_("Enter the date of the visit."), field="visited_on")
    _not_future(data.visited_on, today, "visited_on", _("A visit cannot be recorded for a future date."))
    started = case.investigation.started_on
    # A year back; from 29 February, the 28th (``replace`` would fail on a leap day).
    year_before = started.replace(year=started.year - 1,
                                  day=28 if (started.month, started.day) == (2, 29) else started.day)
    if data.visited_on < year_before:
        raise ValidationFailed(_("The visit date is more than a year before the investigation "
                                 "started; check the year."), field="visited_on")
    if data.place_kind not in {p.value for p in PlaceKind}:
        raise ValidationFailed(_("Choose the kind of place visited."), field="place_kind")
    data.address = (data.address or "").strip() or None
    if data.address is None and not keep_address:
        raise ValidationFailed(_("Enter the address visited."), field="address")
    if data.address is not None and len(data.address) > ADDRESS_LENGTH:
        raise ValidationFailed(_("An address has at most %(n)d characters.", n=ADDRESS_LENGTH),
                               field="address")
    team = {m.user_id for m in case.investigation.members}
    data.visitor_ids = sorted(set(data.visitor_ids))
    if not data.visitor_ids or not set(data.visitor_ids) <= team:
        raise ValidationFailed(_("Choose who went, from the investigation team."), field="visitor_ids")
    data.met = _text(data.met, "met", _("Say whom the team met."))
    data.notes = _text(data.notes, "notes", _("Write what the visit found."))
    data.other_visitors = _optional(data.other_visitors)
    return data


def _visit_snapshot(visit: Visit) -> dict:
    """What the audit row keeps of a visit: everything but the address, which is the
    woman's home as often as not and stays sealed in the visit alone."""
    return {"visited_on": visit.visited_on.isoformat(), "place_kind": visit.place_kind,
            "visitor_ids": list(visit.visitor_ids),
            "other_visitors": visit.other_visitors, "met": visit.met, "notes": visit.notes}


def visit_address(visit: Visit) -> str:
    """The address as the case page and the printed report show it: masked."""
    return people.masked_copy(VISIT_ADDRESS, visit.address_sealed)


def reveal_visit_addresses(case: AidCase, visits: list[Visit], *, actor, now: datetime,
                           purpose: str) -> dict[int, str]:
    """The visits' addresses in the clear, for those who may see the case and the
    applicant's identity, after a purpose; the view is in the access log under her."""
    _require(policy.can_reveal_visit_addresses(actor, case),
             _("Your roles do not allow seeing the addresses of this case's visits."))
    if any(v.investigation.case_id != case.id for v in visits):
        raise NotAllowed(_("That visit belongs to another case."))
    shown = people.reveal_copies(VISIT_ADDRESS, [v.address_sealed for v in visits],
                                 person=case.applicant, actor=actor, now=now, purpose=purpose)
    return {v.id: address for v, address in zip(visits, shown)}


def reveal_name_for_decision(case: AidCase, *, actor, now: datetime, purpose: str) -> str:
    """The applicant's real name for the decision served on her, after a purpose; the view
    is in the access log under her (the field ``real_name``)."""
    from caseflow.core.audit.services import record_access
    from caseflow.core.people.validation import clean_purpose

    _require(policy.can_produce_real_name_decision(actor, case),
             _("Your roles do not allow producing the decision with the applicant's real name."))
    purpose = clean_purpose(purpose)
    real_name = people.read_identity(case.applicant).real_name
    if not real_name:
        raise ValidationFailed(_("The applicant's real name is not recorded; record it on her "
                                 "page first."), field="purpose")
    record_access(actor=actor, person=case.applicant, fields=["real_name"], now=now,
                  purpose=purpose)
    return real_name


def record_visit(case: AidCase, *, actor, now: datetime, data: VisitInput) -> Visit:
    _require(policy.can_record_findings(actor, case) and case.investigation is not None,
             _("Visits are recorded by the investigation team while the case is investigated."))
    data = _check_visit(case, data, today=local_date(now))
    visit = Visit(investigation_id=case.investigation.id, visited_on=data.visited_on,
                  place_kind=data.place_kind, address_sealed=people.seal_copy(VISIT_ADDRESS, data.address),
                  visitor_ids=data.visitor_ids,
                  other_visitors=data.other_visitors, met=data.met, notes=data.notes,
                  recorded_by_id=actor.id, created_at=now, updated_at=now)
    db.session.add(visit)
    db.session.flush()
    # The timeline names the place's kind; the address stays in the visit, sealed.
    _event(case, CaseEventKind.VISIT_RECORDED, actor=actor, now=now,
           data={"visit_id": visit.id, "visited_on": data.visited_on.isoformat(),
                 "place_kind": data.place_kind})
    _audit("aid_case.visit_recorded", case, actor=actor, now=now, after=_visit_snapshot(visit))
    return visit


def correct_visit(visit: Visit, *, actor, now: datetime, data: VisitInput, reason: str,
                  expected_version: int | None) -> Visit:
    case = visit.investigation.case
    _require(policy.can_record_findings(actor, case),
             _("Visits are corrected by the investigation team while the case is investigated."))
    if visit.is_void:
        raise InvalidTransition(_("A void visit cannot be corrected; record a new one."))
    check_version(visit.version, expected_version)
    reason = _text(reason, "reason", _("Say what the correction is for."))
    data = _check_visit(case, data, today=local_date(now), keep_address=True)
    before = _visit_snapshot(visit)
    for name in ("visited_on", "place_kind", "visitor_ids", "other_visitors", "met", "notes"):
        setattr(visit, name, getattr(data, name))
    address_changed = (data.address is not None
                       and data.address != people.open_copy(VISIT_ADDRESS, visit.address_sealed))
    if address_changed:
        visit.address_sealed = people.seal_copy(VISIT_ADDRESS, data.address)
    visit.updated_at = now
    old, new = changes(before, _visit_snapshot(visit))
    fields = sorted({*new, "address"} if address_changed else new)
    if not fields:
        return visit
    if address_changed:
        # Named, never shown: the audit row says the address changed, not what it was.
        new["protected_fields_changed"] = ["address"]
    flush_versioned()  # the version check happens here too, against concurrent writers
    _event(case, CaseEventKind.VISIT_CORRECTED, actor=actor, now=now, text=reason,
           data={"visit_id": visit.id, "fields": fields})
    _audit("aid_case.visit_corrected", case, actor=actor, now=now, before=old, after=new, reason=reason)
    return visit


def void_visit(visit: Visit, *, actor, now: datetime, reason: str) -> Visit:
    case = visit.investigation.case
    _require(policy.can_record_findings(actor, case),
             _("Visits are marked void by the investigation team while the case is investigated."))
    if visit.is_void:
        raise InvalidTransition(_("This visit is already void."))
    reason = _text(reason, "void_reason", _("Say why the visit is void."))
    visit.voided_at, visit.void_reason, visit.updated_at = now, reason, now
    flush_versioned()
    _event(case, CaseEventKind.VISIT_VOIDED, actor=actor, now=now, text=reason,
           data={"visit_id": visit.id})
    _audit("aid_case.visit_voided", case, actor=actor, now=now, after={"visit_id": visit.id}, reason=reason)
    return visit


# -- the household assessment ---------------------------------------------------------


@dataclass
class HouseholdInput:
    medical_costs: str | None = None
    schooling_costs: str | None = None
    housing_costs: str | None = None
    other_costs: str | None = None
    income_lost: str | None = None
    qualifies_minimum_allowance: bool | None = None
    minimum_allowance_reason: str | None = None
    other_help: str | None = None


HOUSEHOLD_AMOUNTS = ("medical_costs", "schooling_costs", "housing_costs", "other_costs", "income_lost")


def _household_snapshot(assessment: HouseholdAssessment) -> dict:
    return {**{name: _json(getattr(assessment, name)) for name in HOUSEHOLD_AMOUNTS},
            "qualifies_minimum_allowance": assessment.qualifies_minimum_allowance,
            "minimum_allowance_reason": assessment.minimum_allowance_reason,
            "other_help": assessment.other_help}


def save_household(case: AidCase, *, actor, now: datetime, data: HouseholdInput,
                   expected_version: int | None) -> HouseholdAssessment:
    """Create or update the assessment. ``expected_version`` is the version the form was
    shown with (None when there was none yet): a concurrent save gets a Conflict."""
    _require(policy.can_record_findings(actor, case),
             _("The household is assessed by the case's team while the case is investigated."))
    assessment = case.assessment
    if assessment is None and expected_version is not None:
        raise Conflict(str(CONFLICT_MESSAGE))
    if assessment is not None:
        if expected_version is None:
            raise Conflict(str(CONFLICT_MESSAGE))
        check_version(assessment.version, expected_version)
    amounts = {name: parse_optional_amount(getattr(data, name), field_name=name)
               for name in HOUSEHOLD_AMOUNTS}
    reason = _optional(data.minimum_allowance_reason)
    if data.qualifies_minimum_allowance is not None and reason is None:
        raise ValidationFailed(_("Say why the household does or does not qualify for the minimum "
                                 "living allowance."), field="minimum_allowance_reason")
    if assessment is None:
        assessment = HouseholdAssessment(case_id=case.id, updated_by_id=actor.id,
                                         created_at=now, updated_at=now)
        case.assessment = assessment
        before = {}
    else:
        before = _household_snapshot(assessment)
    for name, value in amounts.items():
        setattr(assessment, name, value)
    assessment.qualifies_minimum_allowance = data.qualifies_minimum_allowance
    assessment.minimum_allowance_reason = reason
    assessment.other_help = _optional(data.other_help)
    assessment.updated_by_id, assessment.updated_at = actor.id, now
    flush_versioned()  # the version check happens here too, against concurrent writers
    old, new = changes(before, _household_snapshot(assessment))
    _event(case, CaseEventKind.HOUSEHOLD_SAVED, actor=actor, now=now, data={"fields": sorted(new)})
    _audit("aid_case.household_saved", case, actor=actor, now=now, before=old, after=new)
    return assessment


@dataclass
class MemberInput:
    pseudonym: str
    relation: str
    real_name: str | None = None
    birth_date: date | None = None
    resident_id: str | None = None
    age_years: int | None = None
    schooling: str | None = None
    work: str | None = None
    monthly_income: str | None = None
    income_source: str | None = None
    health: str | None = None
    disability: str | None = None
    #: The member is the applicant herself: her existing record, not a new person.
    is_applicant: bool = False


def _age(data: MemberInput, today: date) -> int:
    if data.birth_date is None and data.resident_id:
        # The resident ID number holds the birth date: the age must agree with it.
        from caseflow.core.people.validation import birth_date_from_resident_id, normalise_resident_id

        data.birth_date = birth_date_from_resident_id(normalise_resident_id(data.resident_id))
    if data.birth_date is not None:
        if data.birth_date > today:
            raise ValidationFailed(_("A birth date cannot be in the future."), field="birth_date")
        age = people.age_on(data.birth_date, today)
        if age > OLDEST_AGE:
            raise ValidationFailed(_("A birth date more than %(n)d years ago is not possible.",
                                     n=OLDEST_AGE), field="birth_date")
        if data.age_years is not None and data.age_years != age:
            raise ValidationFailed(
                _("The age (%(age)d) does not match the birth date, which gives %(computed)d today.",
                  age=data.age_years, computed=age), field="age_years")
        return age
    if data.age_years is None:
        raise ValidationFailed(_("Enter the age or the birth date."), field="age_years")
    if not 0 <= data.age_years <= OLDEST_AGE:
        raise ValidationFailed(_("The age must be between 0 and %(n)d.", n=OLDEST_AGE), field="age_years")
    return data.age_years


def _member_snapshot(member: HouseholdMember) -> dict:
    return {name: _json(getattr(member, name)) for name in (
        "relation", "age_years", "is_minor", "schooling", "work", "monthly_income",
        "income_source", "health", "disability")}


def save_member(case: AidCase, *, actor, now: datetime, data: MemberInput,
                member: HouseholdMember | None = None) -> HouseholdMember:
    """Add a household member, or correct one. The identity goes into a sealed ``Person``."""
    _require(policy.can_record_findings(actor, case),
             _("The household is assessed by the case's team while the case is investigated."))
    assessment = case.assessment
    if assessment is None:
        raise ValidationFailed(_("Save the household assessment before adding its members."))
    if member is not None and member.assessment_id != assessment.id:
        raise NotAllowed(_("That household member belongs to another case."))
    today = local_date(now)
    is_applicant = data.is_applicant or (member is not None and member.person_id == case.applicant_id)
    if is_applicant:
        if member is None and any(m.person_id == case.applicant_id for m in assessment.members):
            raise Conflict(_("The applicant is already a member of this household."))
        if data.birth_date is None and data.age_years is None:
            # Her age comes from her own record; the form need not repeat it.
            data.birth_date = people.read_identity(case.applicant).birth_date
    relation = _text(data.relation, "relation", _("Say how this member is related to the applicant."))
    age = _age(data, today)
    income = parse_optional_amount(data.monthly_income, field_name="monthly_income")
    identity = people.Identity(real_name=data.real_name, birth_date=data.birth_date,
                               resident_id=data.resident_id)
    if member is None:
        person = case.applicant if is_applicant else people.record_person(
            actor=actor, now=now, pseudonym=data.pseudonym, identity=identity,
            organisation=case.organisation)
        member = HouseholdMember(person_id=person.id, created_at=now)
        assessment.members.append(member)
        before = {}
    else:
        person = member.person
        if not is_applicant:  # the applicant's identity is edited on her own record
            current = people.read_identity(person)
            identity.gender, identity.phone, identity.address = current.gender, current.phone, current.address
            # Only a change goes through the people module, which lets only the recording
            # organisation change an identity: a team member of the other side still
            # corrects the member's income or schooling.
            if ((data.pseudonym or "").strip() != person.pseudonym
                    or people.clean_identity(identity, today=today) != current):
                people.update_person(person, actor=actor, now=now, pseudonym=data.pseudonym,
                                     identity=identity)
        before = _member_snapshot(member)
    member.relation, member.age_years, member.is_minor = relation, age, age < people.ADULT_AGE
    member.schooling, member.work = _optional(data.schooling), _optional(data.work)
    member.monthly_income, member.income_source = income, _optional(data.income_source)
    member.health, member.disability = _optional(data.health), _optional(data.disability)
    member.updated_at = now
    if member.is_minor and not person.is_minor:
        # Known only by age: the person's record is restricted as a minor's all the same.
        person.is_minor = True
    db.session.flush()
    old, new = changes(before, _member_snapshot(member))
    _event(case, CaseEventKind.MEMBER_SAVED, actor=actor, now=now, text=f"{relation} {person.pseudonym}",
           data={"member_id": member.id, "fields": sorted(new)})
    _audit("aid_case.member_saved", case, actor=actor, now=now, before=old,
           after={"member_id": member.id, **new})
    return member


# -- proposal, review, decision, payment ------------------------------------------------


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
    _require(policy.can_propose(actor, case),
             _("The handler proposes the aid once the joint investigation has started."))
    findings = _text(data.findings, "findings", _("Write the findings of the investigation."))
    amount = parse_amount(data.amount, field_name="amount")
    reasons = _text(data.reasons, "reasons", _("Give the reasons for the amount."))
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
                           details=_optional(measure.details), state=MeasureState.RECOMMENDED.value)
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
    _require(policy.can_review(actor, case),
             _("A supervisor of the procuratorate reviews the proposal."))
    comment = _optional(comment)
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


@state_change
def decide(case: AidCase, *, actor, now: datetime, amount: str, decided_on: date | None,
           text: str | None = None) -> AidCase:
    _require(policy.can_decide(actor, case),
             _("The handler records the decision once the proposal is approved."))
    granted = parse_amount(amount, field_name="granted_amount")
    if granted > case.proposed_amount:
        raise ValidationFailed(
            _("The amount granted cannot exceed the approved proposal (%(amount)s yuan).",
              amount=format_amount(case.proposed_amount)), field="granted_amount")
    if decided_on is None:
        raise ValidationFailed(_("Enter the date of the decision."), field="decided_on")
    _not_future(decided_on, local_date(now), "decided_on", _("The decision date cannot be in the future."))
    if case.reviewed_at is not None and decided_on < local_date(case.reviewed_at):
        raise ValidationFailed(_("The decision cannot be dated before the approval."), field="decided_on")
    case.granted_amount, case.decided_on, case.decision_text = granted, decided_on, _optional(text)
    _move(case, CaseState.DECIDED, actor=actor, now=now, kind=CaseEventKind.DECIDED,
          text=case.decision_text, data={"granted_amount": granted, "decided_on": decided_on})
    return case


@state_change
def record_payment(case: AidCase, *, actor, now: datetime, amount: str, paid_on: date | None,
                   method: str, reference: str | None = None) -> AidCase:
    _require(policy.can_record_payment(actor, case),
             _("The handler records the payment once the decision is made."))
    paid = parse_amount(amount, field_name="paid_amount")
    if paid != case.granted_amount:
        raise ValidationFailed(
            _("The payment must be the amount granted (%(amount)s yuan).",
              amount=format_amount(case.granted_amount)), field="paid_amount")
    if paid_on is None:
        raise ValidationFailed(_("Enter the date of the payment."), field="paid_on")
    _not_future(paid_on, local_date(now), "paid_on", _("The payment date cannot be in the future."))
    if paid_on < case.decided_on:
        raise ValidationFailed(_("The payment cannot be dated before the decision."), field="paid_on")
    if method not in {m.value for m in PaymentMethod}:
        raise ValidationFailed(_("Choose how it was paid."), field="payment_method")
    case.paid_amount, case.paid_on, case.payment_method = paid, paid_on, method
    case.payment_reference = _optional(reference)
    _move(case, CaseState.PAID, actor=actor, now=now, kind=CaseEventKind.PAID,
          data={"paid_amount": paid, "paid_on": paid_on, "method": method})
    return case


def ready_measures():
    """The approved measures the assistance module has not taken over yet."""
    return (sa.select(RecommendedMeasure).where(RecommendedMeasure.state == MeasureState.READY.value)
            .order_by(RecommendedMeasure.case_id, RecommendedMeasure.id))
