"""Who may see and do what with a judicial aid case. Routes, templates and tests ask these.

The case belongs to its procuratorate; the federation takes part through the joint
investigation's team, and a federation (a street federation too) sees the cases opened
from the referrals it sent. Partner agencies see none of this; administrators see no
case records."""
from __future__ import annotations

from caseflow.core.orgs.policy import can_work_on_cases, visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.core.people.policy import can_view_identity
from caseflow.investigations.models import CaseState

CASE_ROLES = (Role.PROSECUTOR, Role.FEDERATION_OFFICER, Role.SUPERVISOR)


def _case_worker(user) -> bool:
    return can_work_on_cases(user) and user.has_role(*CASE_ROLES)


def on_procuratorate_side(user, case) -> bool:
    """Of the case's procuratorate (or above it), or its handler."""
    return _case_worker(user) and (case.organisation_id in visible_organisation_ids(user)
                                   or case.handler_id == user.id)


def on_team(user, case) -> bool:
    investigation = case.investigation
    return (_case_worker(user) and investigation is not None
            and any(m.user_id == user.id for m in investigation.members))


def referred_by_users_side(user, case) -> bool:
    return (_case_worker(user) and case.referral is not None
            and case.referral.sender_org_id in visible_organisation_ids(user))


def can_list_cases(user) -> bool:
    return _case_worker(user)


def can_open_case(user) -> bool:
    return (_case_worker(user) and user.organisation.kind == OrganisationKind.PROCURATORATE.value
            and user.has_role(Role.PROSECUTOR, Role.SUPERVISOR))


def can_view_case(user, case) -> bool:
    return on_procuratorate_side(user, case) or on_team(user, case) or referred_by_users_side(user, case)


def can_reveal_visit_addresses(user, case) -> bool:
    """The visits' addresses are the applicant's home as often as not: those who see the
    case and may see her identity (``people.policy``: a minor's only for supervisors, her
    recorder and the case's team)."""
    return can_view_case(user, case) and can_view_identity(user, case.applicant)


def can_produce_real_name_decision(user, case) -> bool:
    """The decision naming the applicant by her real name, to serve on her or pay her: a
    decided case, for those who see it and may see her identity (as her visits' addresses)."""
    return case.decided_on is not None and can_reveal_visit_addresses(user, case)


def can_run_investigation(user, case) -> bool:
    """Start it and change its team: the handler or a supervisor of the procuratorate."""
    return (case.state == CaseState.INVESTIGATING and on_procuratorate_side(user, case)
            and (case.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_record_findings(user, case) -> bool:
    """Visits, the household, documents: the team, the handler and the procuratorate's
    supervisors, while the case is investigated."""
    return case.state == CaseState.INVESTIGATING and _works_on(user, case)


def can_add_document(user, case) -> bool:
    return case.state != CaseState.PAID and _works_on(user, case)


def _works_on(user, case) -> bool:
    return on_team(user, case) or (on_procuratorate_side(user, case) and (
        case.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_propose(user, case) -> bool:
    """The handler (or a supervisor of the procuratorate) proposes the amount."""
    return (case.state == CaseState.INVESTIGATING and case.investigation is not None
            and on_procuratorate_side(user, case)
            and (case.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_review(user, case) -> bool:
    """A supervisor of the procuratorate, never the one who proposed."""
    return (case.state == CaseState.PROPOSED and on_procuratorate_side(user, case)
            and user.has_role(Role.SUPERVISOR) and case.proposed_by_id != user.id)


def can_decide(user, case) -> bool:
    return (case.state == CaseState.APPROVED and on_procuratorate_side(user, case)
            and (case.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_record_payment(user, case) -> bool:
    return (case.state == CaseState.DECIDED and on_procuratorate_side(user, case)
            and (case.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_review_queue(user) -> bool:
    return (_case_worker(user) and user.has_role(Role.SUPERVISOR)
            and user.organisation.kind == OrganisationKind.PROCURATORATE.value)


def _cases_of_person(person):
    import sqlalchemy as sa

    from caseflow.investigations.models import AidCase, HouseholdAssessment, HouseholdMember

    in_household = (sa.select(HouseholdAssessment.case_id)
                    .join(HouseholdMember, HouseholdMember.assessment_id == HouseholdAssessment.id)
                    .where(HouseholdMember.person_id == person.id))
    return sa.union(in_household, sa.select(AidCase.id).where(AidCase.applicant_id == person.id))


def _team_case_ids(user):
    import sqlalchemy as sa

    from caseflow.investigations.models import AidCase, Investigation, InvestigationMember

    return sa.union(
        sa.select(Investigation.case_id)
        .join(InvestigationMember, InvestigationMember.investigation_id == Investigation.id)
        .where(InvestigationMember.user_id == user.id),
        sa.select(AidCase.id).where(AidCase.handler_id == user.id))


def shares_case_person(user, person) -> bool:
    """For the people policy: the applicant and the household members of a case are
    shared with its team, its handler and its procuratorate."""
    import sqlalchemy as sa

    from caseflow.extensions import db
    from caseflow.investigations.models import AidCase

    if not _case_worker(user):
        return False
    return db.session.scalar(
        sa.select(AidCase.id).where(
            AidCase.id.in_(_cases_of_person(person)),
            sa.or_(AidCase.id.in_(_team_case_ids(user)),
                   AidCase.organisation_id.in_(visible_organisation_ids(user))))
        .limit(1)) is not None


def on_team_of_minor(user, person) -> bool:
    """For the people policy: a minor of a case's household is seen unmasked by the
    case's team and handler (supervisors see minors already), nobody else."""
    import sqlalchemy as sa

    from caseflow.extensions import db
    from caseflow.investigations.models import AidCase

    if not _case_worker(user):
        return False
    return db.session.scalar(
        sa.select(AidCase.id).where(AidCase.id.in_(_cases_of_person(person)),
                                    AidCase.id.in_(_team_case_ids(user))).limit(1)) is not None
