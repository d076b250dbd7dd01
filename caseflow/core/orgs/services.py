"""Organisations and user accounts: every change here is one function with its audit row."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core.audit.services import changes, record
from caseflow.core.auth.passwords import check_password_rules, hash_password
from caseflow.core.auth.sessions import end_all_sessions
from caseflow.core.errors import Conflict, NotAllowed, ValidationFailed
from caseflow.core.orgs import policy
from caseflow.core.orgs.models import Organisation, User, UserRole
from caseflow.core.orgs.roles import ADMIN_ROLES, OrganisationKind, Role
from caseflow.extensions import db

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")


# -- organisations -------------------------------------------------------------------


def subtree_ids(organisation_id: int) -> frozenset[int]:
    rows = db.session.execute(sa.select(Organisation.id, Organisation.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for org_id, parent_id in rows:
        children.setdefault(parent_id, []).append(org_id)
    found, stack = set(), [organisation_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return frozenset(found)


def organisation_tree() -> list[tuple[Organisation, int]]:
    """All organisations in tree order with their depth, for lists and pickers."""
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.code)).all()
    by_parent: dict[int | None, list[Organisation]] = {}
    for org in orgs:
        by_parent.setdefault(org.parent_id, []).append(org)
    out: list[tuple[Organisation, int]] = []

    def walk(parent_id, depth):
        for org in by_parent.get(parent_id, []):
            out.append((org, depth))
            walk(org.id, depth + 1)

    walk(None, 0)
    return out


#: Domains that route work to an organisation say here why one cannot act on it (the
#: referrals: nobody there may register one); the administrator's organisations page
#: shows the reasons. Each hook takes the organisations and returns {id: reason}; the
#: core only holds the list, so it imports no domain.
RECEIVING_GAPS: list[Callable[[list[Organisation]], dict[int, str]]] = []


def receiving_gaps(orgs: list[Organisation]) -> dict[int, list[str]]:
    gaps: dict[int, list[str]] = {}
    for hook in RECEIVING_GAPS:
        for org_id, reason in hook(orgs).items():
            gaps.setdefault(org_id, []).append(reason)
    return gaps


def receiving_department_choices(org: Organisation) -> list[tuple[Organisation, int]]:
    """The units an organisation may name as its receiving department: active, below it."""
    below = subtree_ids(org.id) - {org.id}
    return [(unit, depth) for unit, depth in organisation_tree()
            if unit.id in below and unit.is_active]


#: Called as ``listener(org, actor=, now=)`` in the same transaction when an organisation's
#: receiving department changes: the referrals move there what waits unregistered.
RECEIVING_DEPARTMENT_LISTENERS: list[Callable] = []

#: ``update_organisation`` leaves the receiving department alone unless given one.
KEEP = object()


def _check_receiving_department(org: Organisation, department: Organisation | None) -> None:
    if department is None:
        return
    if department.id == org.id or department.id not in subtree_ids(org.id):
        raise ValidationFailed(
            _("The receiving department must be a unit below %(org)s.", org=org.name),
            field="receiving_department_id")
    if not department.is_active:
        raise ValidationFailed(
            _("%(unit)s is inactive; choose an active unit.", unit=department.name),
            field="receiving_department_id")


def _check_still_receiving(org: Organisation, *, parent: Organisation | None, is_active: bool) -> None:
    """An organisation that acts for one above it stays active and below it, or referrals
    sent there would reach nobody; the administrator changes the designation first."""
    designators = db.session.scalars(sa.select(Organisation).where(
        Organisation.receiving_department_id == org.id, Organisation.id != org.id)).all()
    for designator in designators:
        if not is_active:
            raise ValidationFailed(
                _("%(unit)s is the receiving department of %(org)s; choose another one there "
                  "before deactivating it.", unit=org.name, org=designator.name),
                field="is_active")
        if parent is None or (parent.id != designator.id
                              and parent.id not in subtree_ids(designator.id)):
            raise ValidationFailed(
                _("%(unit)s is the receiving department of %(org)s and must stay below it; "
                  "choose another one there first.", unit=org.name, org=designator.name),
                field="parent_id")


def _org_snapshot(org: Organisation) -> dict:
    return {
        "code": org.code,
        "name": org.name,
        "short_name": org.short_name,
        "kind": org.kind,
        "parent_id": org.parent_id,
        "referral_prefix": org.referral_prefix,
        "aid_case_prefix": org.aid_case_prefix,
        "is_active": org.is_active,
        "receiving_department_id": org.receiving_department_id,
    }


def _check_org_fields(*, code, name, kind, parent, org=None):
    if kind not in {k.value for k in OrganisationKind}:
        raise ValidationFailed(_("Choose a kind of organisation."), field="kind")
    if parent is not None and org is not None:
        if parent.id in subtree_ids(org.id):
            raise ValidationFailed(
                _("An organisation cannot be placed below itself or below one of its own units."),
                field="parent_id",
            )
    if parent is not None and parent.kind != kind:
        raise ValidationFailed(
            _("A unit belongs to an organisation of the same kind (%(kind)s).",
              kind=OrganisationKind(parent.kind).label),
            field="kind",
        )
    for column, value, field, message in (
        (Organisation.code, code, "code", _("Another organisation already uses this code.")),
        (Organisation.name, name, "name", _("Another organisation already has this name.")),
    ):
        query = sa.select(Organisation.id).where(column == value)
        if org is not None:
            query = query.where(Organisation.id != org.id)
        if db.session.scalar(query) is not None:
            raise Conflict(message, field=field)


def create_organisation(
    *, actor, now: datetime, code: str, name: str, short_name: str, kind: str,
    parent: Organisation | None, referral_prefix: str | None, aid_case_prefix: str | None = None,
) -> Organisation:
    if not policy.can_manage_organisations(actor):
        raise NotAllowed(_("Only the system administrator manages organisations."))
    _check_org_fields(code=code, name=name, kind=kind, parent=parent)
    org = Organisation(
        code=code, name=name, short_name=short_name, kind=kind,
        parent_id=parent.id if parent else None, referral_prefix=referral_prefix or None,
        aid_case_prefix=aid_case_prefix or None, is_active=True, created_at=now, updated_at=now,
    )
    db.session.add(org)
    db.session.flush()
    record("organisation.create", actor=actor, now=now, obj=org, object_label=org.name,
           organisation_id=org.id, after=_org_snapshot(org))
    return org


def update_organisation(
    org: Organisation, *, actor, now: datetime, code: str, name: str, short_name: str,
    kind: str, parent: Organisation | None, referral_prefix: str | None, is_active: bool,
    aid_case_prefix: str | None = None, receiving_department: Organisation | None | object = KEEP,
) -> Organisation:
    if not policy.can_manage_organisations(actor):
        raise NotAllowed(_("Only the system administrator manages organisations."))
    _check_org_fields(code=code, name=name, kind=kind, parent=parent, org=org)
    _check_still_receiving(org, parent=parent, is_active=is_active)
    if receiving_department is not KEEP:
        _check_receiving_department(org, receiving_department)
    before = _org_snapshot(org)
    if receiving_department is not KEEP:
        org.receiving_department_id = receiving_department.id if receiving_department else None
    org.code, org.name, org.short_name, org.kind = code, name, short_name, kind
    org.parent_id = parent.id if parent else None
    org.referral_prefix = referral_prefix or None
    org.aid_case_prefix = aid_case_prefix or None
    org.is_active = is_active
    org.updated_at = now
    old, new = changes(before, _org_snapshot(org))
    if new:
        record("organisation.update", actor=actor, now=now, obj=org, object_label=org.name,
               organisation_id=org.id, before=old, after=new)
    if "receiving_department_id" in new:
        for listener in RECEIVING_DEPARTMENT_LISTENERS:
            listener(org, actor=actor, now=now)
    return org


# -- accounts ------------------------------------------------------------------------


def _user_snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "organisation_id": user.organisation_id,
        "is_active": user.is_active_account,
    }


def _check_account_fields(*, username: str, email: str, user: User | None = None) -> None:
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailed(
            _("A username is 3 to 60 lower-case letters, digits, dots, dashes or underscores."),
            field="username",
        )
    for column, value, field, message in (
        (User.username, username, "username", _("This username is taken.")),
        (User.email, email, "email", _("Another account already uses this e-mail address.")),
    ):
        query = sa.select(User.id).where(column == value)
        if user is not None:
            query = query.where(User.id != user.id)
        if db.session.scalar(query) is not None:
            raise Conflict(message, field=field)


def create_account(
    *, actor, now: datetime, username: str, display_name: str, email: str,
    organisation: Organisation, password: str, roles: frozenset[Role] = frozenset(),
    is_demo: bool = False, password_hash: str | None = None,
) -> User:
    """A new account. The password is temporary: the user changes it at first sign-in.

    ``actor`` is None only for the command line (``caseflow users create`` and the demo),
    which stands in for the operator with shell access to the server. ``password_hash``:
    ``hash_password(password)`` made once by a caller creating many accounts with one
    password (the demo's public one), since each hash costs a tenth of a second.
    """
    if actor is not None and not policy.can_manage_accounts(actor):
        raise NotAllowed(_("Only the system administrator creates accounts."))
    username = username.strip().lower()
    email = email.strip().lower()
    _check_account_fields(username=username, email=email)
    check_password_rules(password)
    user = User(
        username=username, display_name=display_name.strip(), email=email,
        organisation_id=organisation.id, password_hash=password_hash or hash_password(password),
        locale="zh_CN", is_active_account=True, is_demo=is_demo,
        must_change_password=not is_demo, failed_login_count=0,
        created_at=now, updated_at=now,
    )
    db.session.add(user)
    db.session.flush()
    if roles:
        _apply_roles(user, roles)
    record("user.create", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=organisation.id,
           actor_name=None if actor else "command line",
           after={**_user_snapshot(user), "roles": sorted(r.value for r in roles)})
    return user


def update_account(
    user: User, *, actor, now: datetime, display_name: str, email: str,
    organisation: Organisation, is_active: bool,
) -> User:
    if not policy.can_manage_accounts(actor):
        raise NotAllowed(_("Only the system administrator changes accounts."))
    if user.id == actor.id and not is_active:
        raise ValidationFailed(_("You cannot deactivate your own account."), field="is_active")
    email = email.strip().lower()
    _check_account_fields(username=user.username, email=email, user=user)
    before = _user_snapshot(user)
    user.display_name = display_name.strip()
    user.email = email
    user.organisation_id = organisation.id
    user.is_active_account = is_active
    user.updated_at = now
    if not is_active:
        end_all_sessions(user, now=now, reason="deactivated", actor=actor)
    old, new = changes(before, _user_snapshot(user))
    if new:
        action = "user.update"
        if set(new) == {"is_active"}:
            action = "user.activate" if is_active else "user.deactivate"
        record(action, actor=actor, now=now, obj=user, object_label=user.username,
               organisation_id=user.organisation_id, before=old, after=new)
    return user


def check_role_combination(roles: frozenset[Role]) -> None:
    admin = roles & ADMIN_ROLES
    if len(admin) > 1:
        raise ValidationFailed(
            _("One person cannot hold two administrator roles (separation of duties)."),
            field="roles",
        )
    if admin and roles - ADMIN_ROLES:
        raise ValidationFailed(
            _("An administrator cannot also hold a case-work role: administrators see no case records."),
            field="roles",
        )


def _apply_roles(user: User, roles: frozenset[Role]) -> None:
    check_role_combination(roles)
    current = {row.role: row for row in user.role_rows}
    for value, row in current.items():
        if Role(value) not in roles:
            user.role_rows.remove(row)
    for role in roles:
        if role.value not in current:
            user.role_rows.append(UserRole(role=role.value, is_admin_role=role.is_admin))


def set_roles(user: User, *, actor, now: datetime, roles: frozenset[Role]) -> User:
    if not policy.can_manage_security(actor):
        raise NotAllowed(_("Only the security administrator assigns roles."))
    if user.id == actor.id:
        raise NotAllowed(_("Nobody changes their own roles; ask another security administrator."))
    before = sorted(r.value for r in user.roles)
    _apply_roles(user, roles)
    user.updated_at = now
    after = sorted(r.value for r in roles)
    if before != after:
        record("user.roles", actor=actor, now=now, obj=user, object_label=user.username,
               organisation_id=user.organisation_id,
               before={"roles": before}, after={"roles": after})
    return user


def unlock_account(user: User, *, actor, now: datetime) -> User:
    if not policy.can_manage_security(actor):
        raise NotAllowed(_("Only the security administrator unlocks accounts."))
    before = {"failed_login_count": user.failed_login_count, "locked_until": user.locked_until}
    user.failed_login_count = 0
    user.locked_until = None
    user.updated_at = now
    record("user.unlock", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=user.organisation_id, before=before,
           after={"failed_login_count": 0, "locked_until": None})
    return user


def reset_password(user: User, *, actor, now: datetime, temporary_password: str) -> User:
    if not policy.can_manage_security(actor):
        raise NotAllowed(_("Only the security administrator resets passwords."))
    if user.id == actor.id:
        raise NotAllowed(_("Change your own password on your account page."))
    check_password_rules(temporary_password)
    user.password_hash = hash_password(temporary_password)
    user.must_change_password = True
    user.failed_login_count = 0
    user.locked_until = None
    user.updated_at = now
    record("user.password_reset", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=user.organisation_id, after={"must_change_password": True})
    return user


def lockout_remaining(user: User, now: datetime) -> timedelta | None:
    if user.is_locked(now):
        return user.locked_until - now
    return None
