"""Who may hold API tokens: every signed-in user, for themselves; what a token then
reaches is what its owner may reach on the pages (the domains' own policy functions)."""
from __future__ import annotations


def can_manage_tokens(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_revoke_token(user, token) -> bool:
    """A token is its owner's alone: nobody else sees or revokes it."""
    return can_manage_tokens(user) and token.user_id == user.id
