"""Who may see and do what with joint training. Routes, templates and tests ask these.

Federation officers, prosecutors and supervisors organise and record training: a
session belongs to its organising organisations, whose people and those of the
organisations above them run it. Whoever was invited (in person, or through their
organisation) or recorded as attending sees it too. Every case worker lists the sessions
they may see and reads who has been trained in their organisation and those below it.
Partner workers and administrators see none of it (a partner's worker may still be
recorded as an outside attendee, by name)."""
from __future__ import annotations

from caseflow.core.orgs.policy import can_work_on_cases, visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.training.models import SessionState

TRAINING_ROLES = (Role.FEDERATION_OFFICER, Role.PROSECUTOR, Role.SUPERVISOR)
#: The organisations that organise training and whose people are trained.
TRAINING_KINDS = (OrganisationKind.FEDERATION.value, OrganisationKind.PROCURATORATE.value)


def _case_worker(user) -> bool:
    return (can_work_on_cases(user) and user.has_role(*TRAINING_ROLES)
            and user.organisation.kind in TRAINING_KINDS)


def can_list_sessions(user) -> bool:
    return _case_worker(user)


def can_see_report(user) -> bool:
    """Who has been trained, for the user's organisation and those below it."""
    return _case_worker(user)


def can_create_session(user) -> bool:
    return _case_worker(user)


def on_organiser_side(user, session) -> bool:
    """Of an organising organisation, or of one above it."""
    visible = visible_organisation_ids(user)
    return _case_worker(user) and any(org_id in visible for org_id in session.organiser_ids)


def _invited(user, session) -> bool:
    visible = visible_organisation_ids(user)
    for invitation in session.active_invitations:
        if invitation.user_id == user.id or invitation.organisation_id in visible:
            return True
        if invitation.user is not None and invitation.user.organisation_id in visible:
            return True
    return False


def _attended(user, session) -> bool:
    visible = visible_organisation_ids(user)
    return any(a.user_id == user.id or a.organisation_id in visible for a in session.attendances)


def can_view_session(user, session) -> bool:
    return on_organiser_side(user, session) or (
        _case_worker(user) and (_invited(user, session) or _attended(user, session)))


def can_edit_session(user, session) -> bool:
    return session.state != SessionState.CANCELLED and on_organiser_side(user, session)


def can_cancel_session(user, session) -> bool:
    return session.state == SessionState.SCHEDULED and on_organiser_side(user, session)


def can_invite(user, session) -> bool:
    return session.state == SessionState.SCHEDULED and on_organiser_side(user, session)


def can_record_attendance(user, session) -> bool:
    """Once the session has started (the service checks the time), by its organisers."""
    return session.state != SessionState.CANCELLED and on_organiser_side(user, session)


def can_add_material(user, session) -> bool:
    return session.state != SessionState.CANCELLED and on_organiser_side(user, session)
