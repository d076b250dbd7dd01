"""The joint investigation of a case: its team (members from both sides), and its
visits, recorded, corrected and voided, with their addresses sealed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core.audit.services import changes
from caseflow.core.db import local_date
from caseflow.core.errors import Checks, Conflict, InvalidTransition, NotAllowed, ValidationFailed, require
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.people import services as people
from caseflow.core.text import optional_text, required_text
from caseflow.core.versions import check_version, flush_versioned
from caseflow.extensions import db
from caseflow.investigations import policy
from caseflow.investigations.models import (
    AidCase, CaseEventKind, Investigation, InvestigationMember, VISIT_ADDRESS, PlaceKind, Visit,
)
from caseflow.investigations.services.common import _audit, _event, _not_future


def team_candidates(case: AidCase) -> list[User]:
    """Who may join a case's team: case workers of the federation and the procuratorate."""
    from caseflow.core.orgs.models import UserRole

    has_role = sa.exists().where(UserRole.user_id == User.id,
                                 UserRole.role.in_([r.value for r in policy.CASE_ROLES]))
    return db.session.scalars(
        sa.select(User).join(Organisation, Organisation.id == User.organisation_id)
        .where(Organisation.kind.in_([OrganisationKind.FEDERATION.value,
                                      OrganisationKind.PROCURATORATE.value]),
               User.is_active_account, User.is_service_account.is_(False), has_role)
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
    require(policy.can_run_investigation(actor, case),
            _("The case's handler or a supervisor starts the joint investigation."))
    if case.investigation is not None:
        raise Conflict(_("The joint investigation of this case has already started."))
    plan = required_text(plan, "plan", _("Write the investigation plan."))
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
    require(policy.can_run_investigation(actor, case) and case.investigation is not None,
            _("The case's handler or a supervisor changes the team of a started investigation."))
    reason = required_text(reason, "reason", _("Say why the team changes."))
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
    """Every field of a visit checked; the refusal (``FieldErrors``) names each bad one."""
    checks = Checks()
    with checks:
        if data.visited_on is None:
            raise ValidationFailed(_("Enter the date of the visit."), field="visited_on")
        _not_future(data.visited_on, today, "visited_on",
                    _("A visit cannot be recorded for a future date."))
        started = case.investigation.started_on
        # A year back; from 29 February, the 28th (``replace`` would fail on a leap day).
        year_before = started.replace(year=started.year - 1,
                                      day=28 if (started.month, started.day) == (2, 29) else started.day)
        if data.visited_on < year_before:
            raise ValidationFailed(_("The visit date is more than a year before the investigation "
                                     "started; check the year."), field="visited_on")
    with checks:
        if data.place_kind not in {p.value for p in PlaceKind}:
            raise ValidationFailed(_("Choose the kind of place visited."), field="place_kind")
    data.address = (data.address or "").strip() or None
    with checks:
        if data.address is None and not keep_address:
            raise ValidationFailed(_("Enter the address visited."), field="address")
        if data.address is not None and len(data.address) > ADDRESS_LENGTH:
            raise ValidationFailed(_("An address has at most %(n)d characters.", n=ADDRESS_LENGTH),
                                   field="address")
    team = {m.user_id for m in case.investigation.members}
    data.visitor_ids = sorted(set(data.visitor_ids or []))
    with checks:
        if not data.visitor_ids or not set(data.visitor_ids) <= team:
            raise ValidationFailed(_("Choose who went, from the investigation team."),
                                   field="visitor_ids")
    with checks:
        data.met = required_text(data.met, "met", _("Say whom the team met."))
    with checks:
        data.notes = required_text(data.notes, "notes", _("Write what the visit found."))
    data.other_visitors = optional_text(data.other_visitors)
    checks.done()
    return data


def check_visit(case: AidCase, data: VisitInput, *, today: date) -> VisitInput:
    """A new visit's fields checked and nothing written: what ``record_visit`` refuses, for
    a form whose own validators refused too (``core.web.validate_form``)."""
    if case.investigation is None:
        return data  # no visit before the investigation; record_visit says so
    return _check_visit(case, data, today=today)


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
    require(policy.can_reveal_visit_addresses(actor, case),
            _("Your roles do not allow seeing the addresses of this case's visits."))
    if any(v.investigation.case_id != case.id for v in visits):
        raise NotAllowed(_("That visit belongs to another case."))
    shown = people.reveal_copies(VISIT_ADDRESS, [v.address_sealed for v in visits],
                                 person=case.applicant, actor=actor, now=now, purpose=purpose)
    return {v.id: address for v, address in zip(visits, shown)}


def record_visit(case: AidCase, *, actor, now: datetime, data: VisitInput,
                 client_token: str | None = None) -> Visit:
    """A new visit. ``client_token``: the phone's token of a visit saved offline
    (``services.offline``); unique in the table, the insert fails if it was recorded."""
    require(policy.can_record_findings(actor, case) and case.investigation is not None,
            _("Visits are recorded by the investigation team while the case is investigated."))
    data = _check_visit(case, data, today=local_date(now))
    visit = Visit(investigation_id=case.investigation.id, visited_on=data.visited_on,
                  place_kind=data.place_kind, address_sealed=people.seal_copy(VISIT_ADDRESS, data.address),
                  visitor_ids=data.visitor_ids,
                  other_visitors=data.other_visitors, met=data.met, notes=data.notes,
                  recorded_by_id=actor.id, created_at=now, updated_at=now,
                  client_token=client_token)
    db.session.add(visit)
    db.session.flush()
    # The timeline names the place's kind; the address stays in the visit, sealed.
    _event(case, CaseEventKind.VISIT_RECORDED, actor=actor, now=now,
           data={"visit_id": visit.id, "visited_on": data.visited_on.isoformat(),
                 "place_kind": data.place_kind})
    after = _visit_snapshot(visit)
    if client_token is not None:
        after["offline_token"] = client_token
    _audit("aid_case.visit_recorded", case, actor=actor, now=now, after=after)
    return visit


def correct_visit(visit: Visit, *, actor, now: datetime, data: VisitInput, reason: str,
                  expected_version: int | None) -> Visit:
    case = visit.investigation.case
    require(policy.can_record_findings(actor, case),
            _("Visits are corrected by the investigation team while the case is investigated."))
    if visit.is_void:
        raise InvalidTransition(_("A void visit cannot be corrected; record a new one."))
    check_version(visit.version, expected_version)
    reason = required_text(reason, "reason", _("Say what the correction is for."))
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
    require(policy.can_record_findings(actor, case),
            _("Visits are marked void by the investigation team while the case is investigated."))
    if visit.is_void:
        raise InvalidTransition(_("This visit is already void."))
    reason = required_text(reason, "void_reason", _("Say why the visit is void."))
    visit.voided_at, visit.void_reason, visit.updated_at = now, reason, now
    flush_versioned()
    _event(case, CaseEventKind.VISIT_VOIDED, actor=actor, now=now, text=reason,
           data={"visit_id": visit.id})
    _audit("aid_case.visit_voided", case, actor=actor, now=now, after={"visit_id": visit.id}, reason=reason)
    return visit
