"""Who may see a person, and who may see her identity unmasked."""
from __future__ import annotations

from caseflow.core import hooks
from caseflow.core.orgs.policy import can_see_organisation_records, can_work_on_cases
from caseflow.core.orgs.roles import Role

#: Roles whose work needs identities: partner workers see only what an item sends them.
IDENTITY_ROLES = (Role.FEDERATION_OFFICER, Role.PROSECUTOR, Role.SUPERVISOR)


def can_list_people(user) -> bool:
    return can_work_on_cases(user) and user.has_role(*IDENTITY_ROLES)


def can_record_person(user) -> bool:
    return can_list_people(user)


#: Other ways a person's record reaches a user, and who else sees a minor's identity:
#: hooks the domains add to (``core.hooks``).
SHARED_WITH, MINOR_SHARED_WITH = hooks.PERSON_SHARED_WITH, hooks.MINOR_SHARED_WITH


def can_view_person(user, person) -> bool:
    if not can_list_people(user):
        return False
    if can_see_organisation_records(user, person.organisation_id):
        return True
    return any(shared(user, person) for shared in SHARED_WITH)


def recorded_by_users_side(user, person) -> bool:
    """The person was recorded by the user's organisation or one below it."""
    return can_see_organisation_records(user, person.organisation_id)


def can_edit_person(user, person) -> bool:
    """Identity is changed only by the organisation that recorded it and those above it:
    the receiving side of a referral sees the woman the sender recorded (``SHARED_WITH``)
    but never rewrites or clears what the sender knows of her. Editing shows the identity,
    so a minor's is edited only by those who may see it."""
    return (can_list_people(user) and recorded_by_users_side(user, person)
            and can_view_identity(user, person))


def can_view_identity(user, person) -> bool:
    """Unmasked identity fields. A minor's are for supervisors and for whoever recorded
    her; later modules widen this to a case's team, never beyond."""
    if not can_view_person(user, person):
        return False
    if person.is_minor:
        return (user.has_role(Role.SUPERVISOR) or person.created_by_id == user.id
                or any(shared(user, person) for shared in MINOR_SHARED_WITH))
    return True
