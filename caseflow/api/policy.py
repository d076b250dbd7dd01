"""Who may hold API tokens: every signed-in user, for themselves, and the system
administrator for the service accounts; what a token then reaches is what its owner may
reach on the pages (the domains' own policy functions)."""
from __future__ import annotations

from caseflow.core.orgs.policy import can_manage_service_accounts


def can_manage_tokens(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_issue_token(actor, owner) -> bool:
    """A person issues tokens of their own; the system administrator issues a service
    account's (an active one). Nobody issues a token of another person's."""
    if getattr(owner, "is_service_account", False):
        return can_manage_service_accounts(actor) and owner.is_active
    return can_manage_tokens(actor) and owner.id == actor.id


def can_revoke_token(user, token) -> bool:
    """A person's token is theirs alone: nobody else sees or revokes it. A service
    account's tokens are the system administrator's to revoke (even once it is
    deactivated)."""
    if token.user.is_service_account:
        return can_manage_service_accounts(user)
    return can_manage_tokens(user) and token.user_id == user.id
