"""Who may do what with organisations, users, settings and the logs.

Every permission is a function of the user (and the object); routes, templates and
tests all ask these, so a rule lives in one place.
"""
from __future__ import annotations

from flask import g, has_request_context

from caseflow.core.orgs.roles import Role
from caseflow.core.orgs.tree import subtree_ids


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def is_administrator(user) -> bool:
    return _signed_in(user) and user.admin_role is not None


def can_manage_organisations(user) -> bool:
    return _signed_in(user) and user.has_role(Role.SYSTEM_ADMIN)


def can_manage_accounts(user) -> bool:
    """Create accounts, change their organisation, e-mail and active flag."""
    return _signed_in(user) and user.has_role(Role.SYSTEM_ADMIN)


def can_manage_service_accounts(user) -> bool:
    """Create and deactivate systems' accounts, issue and revoke their tokens, set their
    webhooks (issue 17). Nothing of this shows a case record (三员分立)."""
    return _signed_in(user) and user.has_role(Role.SYSTEM_ADMIN)


def can_manage_settings(user) -> bool:
    return _signed_in(user) and user.has_role(Role.SYSTEM_ADMIN)


def can_manage_security(user) -> bool:
    """Roles, unlocking, password resets."""
    return _signed_in(user) and user.has_role(Role.SECURITY_ADMIN)


def can_read_all_audit(user) -> bool:
    return _signed_in(user) and user.has_role(Role.AUDIT_ADMIN)


def can_read_organisation_audit(user) -> bool:
    return _signed_in(user) and (user.has_role(Role.AUDIT_ADMIN) or user.has_role(Role.SUPERVISOR))


def can_work_on_cases(user) -> bool:
    """Holds a role that sees case records at all; administrators never do."""
    return _signed_in(user) and user.admin_role is None and bool(user.work_roles)


def visible_organisation_ids(user) -> frozenset[int]:
    """The user's organisation and every organisation below it."""
    if not _signed_in(user):
        return frozenset()
    cache_key = f"_visible_orgs_{user.id}"
    if has_request_context() and cache_key in g:
        return g.get(cache_key)
    ids = subtree_ids(user.organisation_id)
    if has_request_context():
        setattr(g, cache_key, ids)
    return ids


def can_see_organisation_records(user, organisation_id: int) -> bool:
    return can_work_on_cases(user) and organisation_id in visible_organisation_ids(user)
