"""Who may change whose alert settings, and who sees who cannot be reached."""
from __future__ import annotations

from caseflow.core.orgs import policy as orgs_policy
from caseflow.core.orgs.roles import Role


def can_set_phone(actor, user) -> bool:
    """A user her own; the system administrator anyone's (from the account form)."""
    return actor.id == user.id or orgs_policy.can_manage_accounts(actor)


def can_set_webhook(actor) -> bool:
    return orgs_policy.can_manage_organisations(actor)


def can_see_unreachable(actor) -> bool:
    """Supervisors: they answer for their organisation hearing of hand-overs."""
    return actor.is_authenticated and actor.has_role(Role.SUPERVISOR)
