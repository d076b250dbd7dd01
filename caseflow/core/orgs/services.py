"""Organisations and user accounts: every change here is one function with its audit row."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l

from caseflow.core import hooks
from caseflow.core.audit.services import changes, record
from caseflow.core.auth.passwords import check_password_rules, hash_password
from caseflow.core.auth.sessions import end_all_sessions
from caseflow.core.errors import Checks, Conflict, DomainError, NotAllowed, ValidationFailed
from caseflow.core.orgs import policy
from caseflow.core.db import local_zone
from caseflow.core.orgs.models import Organisation, PasswordReset, User, UserRole
from caseflow.core.orgs.roles import ADMIN_ROLES, OrganisationKind, Role
from caseflow.core.orgs.tree import subtree_ids  # noqa: F401  (also imported from here)
from caseflow.core.people.masking import mask_phone
from caseflow.core.settings.services import SettingSpec, get_setting, register as register_setting
from caseflow.extensions import db

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")


# -- organisations -------------------------------------------------------------------


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


#: Why an organisation cannot act on the work routed to it (``core.hooks``).
RECEIVING_GAPS = hooks.RECEIVING_GAPS


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


#: Told when an organisation's receiving department changes (``core.hooks``).
RECEIVING_DEPARTMENT_LISTENERS = hooks.RECEIVING_DEPARTMENT_LISTENERS

#: Told when a change may have given organisations a letter series (``core.hooks``).
LETTER_SERIES_LISTENERS = hooks.LETTER_SERIES_LISTENERS

#: The kinds of number an office phone may be: a landline with its area code or a mobile.
OFFICE_PHONE_KINDS = ("FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE")


def normalise_office_phone(text: str | None) -> str | None:
    """The office phone as stored (E.164), or None for an empty field; refused beside the
    field unless it is a Chinese landline (027-85551234) or mobile number."""
    import phonenumbers

    from caseflow.core.people.validation import normalise_phone

    text = (text or "").strip()
    if not text:
        return None
    try:
        number = normalise_phone(text)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, field="office_phone") from None
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    if kind not in {getattr(phonenumbers.PhoneNumberType, name) for name in OFFICE_PHONE_KINDS}:
        raise ValidationFailed(
            _("An office phone is a landline with its area code (e.g. 027-85551234) or a "
              "mobile number."), field="office_phone")
    return number


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


def _check_documents_issued_as(org: Organisation, issuer: Organisation | None) -> None:
    """One step: the issuer is another active organisation that issues in its own name."""
    if issuer is None:
        return
    if issuer.id == org.id:
        raise ValidationFailed(_("An organisation issuing in its own name leaves this empty."),
                               field="documents_issued_as_id")
    if not issuer.is_active:
        raise ValidationFailed(_("%(org)s is inactive; choose an active organisation.",
                                 org=issuer.name), field="documents_issued_as_id")
    if issuer.documents_issued_as_id is not None:
        raise ValidationFailed(
            _("%(org)s itself issues documents as %(other)s; choose that one.",
              org=issuer.name, other=issuer.documents_issued_as.name),
            field="documents_issued_as_id")


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
        "documents_issued_as_id": org.documents_issued_as_id,
        "letter_prefix": org.letter_prefix,
        "office_phone": org.office_phone,
    }


def _check_org_fields(*, code, name, kind, parent, org=None, checks: Checks):
    with checks:
        if kind not in {k.value for k in OrganisationKind}:
            raise ValidationFailed(_("Choose a kind of organisation."), field="kind")
        if parent is not None and parent.kind != kind:
            raise ValidationFailed(
                _("A unit belongs to an organisation of the same kind (%(kind)s).",
                  kind=OrganisationKind(parent.kind).label),
                field="kind",
            )
    with checks:
        if parent is not None and org is not None and parent.id in subtree_ids(org.id):
            raise ValidationFailed(
                _("An organisation cannot be placed below itself or below one of its own units."),
                field="parent_id",
            )
    for column, value, field, message in (
        (Organisation.code, code, "code", _("Another organisation already uses this code.")),
        (Organisation.name, name, "name", _("Another organisation already has this name.")),
    ):
        if not value:
            continue  # nothing to compare: the form says the field is required
        query = sa.select(Organisation.id).where(column == value)
        if org is not None:
            query = query.where(Organisation.id != org.id)
        with checks:
            if db.session.scalar(query) is not None:
                raise Conflict(message, field=field)


def check_organisation(*, code: str, name: str, kind: str, parent: Organisation | None,
                       org: Organisation | None = None, is_active: bool = True,
                       receiving_department: Organisation | None | object = KEEP,
                       documents_issued_as: Organisation | None | object = KEEP,
                       office_phone: str | None | object = KEEP) -> str | None | object:
    """An organisation's fields (``org``: the one being changed), every one checked and
    none written; the refusal (``FieldErrors``) names each bad field. Returns the office
    phone as stored (or KEEP)."""
    checks = Checks()
    _check_org_fields(code=code, name=name, kind=kind, parent=parent, org=org, checks=checks)
    if org is not None:
        with checks:
            _check_still_receiving(org, parent=parent, is_active=is_active)
        if receiving_department is not KEEP:
            with checks:
                _check_receiving_department(org, receiving_department)
        if documents_issued_as is not KEEP:
            with checks:
                _check_documents_issued_as(org, documents_issued_as)
    if office_phone is not KEEP:
        with checks:
            office_phone = normalise_office_phone(office_phone)
    checks.done()
    return office_phone


def create_organisation(
    *, actor, now: datetime, code: str, name: str, short_name: str, kind: str,
    parent: Organisation | None, referral_prefix: str | None, aid_case_prefix: str | None = None,
    letter_prefix: str | None = None, office_phone: str | None = None,
) -> Organisation:
    """``actor`` is None only for the command line (``caseflow orgs create``: a new
    deployment's first organisation, before anyone can sign in)."""
    if actor is not None and not policy.can_manage_organisations(actor):
        raise NotAllowed(_("Only the system administrator manages organisations."))
    office_phone = check_organisation(code=code, name=name, kind=kind, parent=parent,
                                      office_phone=office_phone)
    org = Organisation(
        code=code, name=name, short_name=short_name, kind=kind,
        parent_id=parent.id if parent else None, referral_prefix=referral_prefix or None,
        aid_case_prefix=aid_case_prefix or None, letter_prefix=letter_prefix or None,
        office_phone=office_phone,
        is_active=True, created_at=now, updated_at=now,
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
    letter_prefix: str | None | object = KEEP, documents_issued_as: Organisation | None | object = KEEP,
    office_phone: str | None | object = KEEP,
) -> Organisation:
    if not policy.can_manage_organisations(actor):
        raise NotAllowed(_("Only the system administrator manages organisations."))
    office_phone = check_organisation(
        code=code, name=name, kind=kind, parent=parent, org=org, is_active=is_active,
        receiving_department=receiving_department, documents_issued_as=documents_issued_as,
        office_phone=office_phone)
    before = _org_snapshot(org)
    if office_phone is not KEEP:
        org.office_phone = office_phone
    if documents_issued_as is not KEEP:
        org.documents_issued_as_id = documents_issued_as.id if documents_issued_as else None
    if letter_prefix is not KEEP:
        org.letter_prefix = letter_prefix or None
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
    if {"letter_prefix", "documents_issued_as_id", "parent_id"} & set(new):
        db.session.flush()
        db.session.expire(org, ["documents_issued_as", "parent"])  # set by their ids above
        for listener in LETTER_SERIES_LISTENERS:
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


def check_account(*, username: str, email: str, user: User | None = None, actor=None,
                  is_active: bool = True) -> None:
    """An account's fields (``user``: the one being changed, by ``actor``), every one
    checked and none written; the refusal (``FieldErrors``) names each bad field. The
    username and the e-mail address are compared as stored (stripped, lower-case)."""
    checks = Checks()
    username = (username or "").strip().lower()
    email = (email or "").strip().lower()
    with checks:
        if user is not None and actor is not None and user.id == actor.id and not is_active:
            raise ValidationFailed(_("You cannot deactivate your own account."), field="is_active")
    with checks:
        if not USERNAME_PATTERN.match(username):
            raise ValidationFailed(
                _("A username is 3 to 60 lower-case letters, digits, dots, dashes or underscores."),
                field="username",
            )
    for column, value, field, message in (
        (User.username, username, "username", _("This username is taken.")),
        (User.email, email, "email", _("Another account already uses this e-mail address.")),
    ):
        if not value or checks.failed(field):
            continue
        query = sa.select(User.id).where(column == value)
        if user is not None:
            query = query.where(User.id != user.id)
        with checks:
            if db.session.scalar(query) is not None:
                raise Conflict(message, field=field)
    checks.done()


def create_account(
    *, actor, now: datetime, username: str, display_name: str, email: str,
    organisation: Organisation, password: str | None, roles: frozenset[Role] = frozenset(),
    is_demo: bool = False, password_hash: str | None = None,
) -> User:
    """A new account. The password is temporary: the user changes it at first sign-in.

    ``actor`` is None only for the command line (``caseflow users create`` and the demo),
    which stands in for the operator with shell access to the server and gives the
    ``password``. The system administrator gives none (``password=None``): caseflow makes
    a one-time password and sends it to the new owner alone, as for a reset, so that no
    administrator ever knows a password that opens the account. ``password_hash``:
    ``hash_password(password)`` made once by a caller creating many accounts with one
    password (the demo's public one), since each hash costs a tenth of a second.
    """
    if actor is not None and not policy.can_manage_accounts(actor):
        raise NotAllowed(_("Only the system administrator creates accounts."))
    if actor is not None and password is not None:
        raise NotAllowed(_("caseflow makes the first password of an account and sends it to "
                           "its owner; an administrator does not choose it."))
    username = username.strip().lower()
    email = email.strip().lower()
    check_account(username=username, email=email)
    if password is None:
        if actor is None:
            raise ValidationFailed(_("Enter a temporary password."), field="password")
        # Never usable: replaced at once by the one-time password below.
        password_hash = hash_password(secrets.token_urlsafe(32))
    else:
        check_password_rules(password, username=username, allow_demo=is_demo)
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
    sent_to = None
    if password is None:
        _reset, sent_to = _issue_one_time_password(user, actor=actor, now=now, new_account=True)
    record("user.create", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=organisation.id,
           actor_name=None if actor else "command line",
           after={**_user_snapshot(user), "roles": sorted(r.value for r in roles),
                  **({"one_time_password_sent_to": sent_to} if sent_to else {})})
    return user


def _not_a_service_account(user: User) -> None:
    """A service account is changed only on its own page (its role, organisation and state
    are the system administrator's; it has no password to reset)."""
    if user.is_service_account:
        raise NotAllowed(_("%(username)s is a service account: the system administrator "
                           "manages it on the service accounts page.", username=user.username))


def update_account(
    user: User, *, actor, now: datetime, display_name: str, email: str,
    organisation: Organisation, is_active: bool,
) -> User:
    if not policy.can_manage_accounts(actor):
        raise NotAllowed(_("Only the system administrator changes accounts."))
    _not_a_service_account(user)
    email = email.strip().lower()
    check_account(username=user.username, email=email, user=user, actor=actor, is_active=is_active)
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


# -- service accounts (issue 17) ---------------------------------------------------------

#: A service account's password hash: no hash at all, so no password ever matches it.
NO_PASSWORD = "!service-account"
#: The roles a service account may act as: case work, never an administrator's.
SERVICE_ACCOUNT_ROLES = tuple(role for role in Role if not role.is_admin)


def service_account_email(username: str) -> str:
    """A service account reads no mail: an address of the reserved ``.invalid`` domain
    (RFC 2606) keeps the column's uniqueness and reaches nobody."""
    return f"{username}@service-account.invalid"


def check_service_account(*, username: str, display_name: str, organisation: Organisation | None,
                          role: str | None) -> None:
    """A new service account's fields, every one checked and none written."""
    checks = Checks()
    username = (username or "").strip().lower()
    with checks:
        check_account(username=username, email=service_account_email(username))
    with checks:
        if not (display_name or "").strip():
            raise ValidationFailed(_("Name the system that will use it."), field="display_name")
        if len(display_name.strip()) > 100:
            raise ValidationFailed(_("At most %(n)d characters.", n=100), field="display_name")
    with checks:
        if organisation is None or not organisation.is_active:
            raise ValidationFailed(_("Choose an active organisation."), field="organisation_id")
    with checks:
        if role not in {r.value for r in SERVICE_ACCOUNT_ROLES}:
            raise ValidationFailed(_("Choose the role it acts as."), field="role")
    checks.done()


def create_service_account(*, actor, now: datetime, username: str, display_name: str,
                           organisation: Organisation | None, role: str | None) -> User:
    """A system's account: one organisation, one case-work role, no usable password."""
    if not policy.can_manage_service_accounts(actor):
        raise NotAllowed(_("Only the system administrator creates service accounts."))
    check_service_account(username=username, display_name=display_name, organisation=organisation,
                          role=role)
    username = username.strip().lower()
    user = User(username=username, display_name=display_name.strip(),
                email=service_account_email(username), password_hash=NO_PASSWORD,
                organisation_id=organisation.id, locale="zh_CN", is_active_account=True,
                is_demo=False, must_change_password=False, failed_login_count=0,
                is_service_account=True, sms_quiet_from=None, sms_quiet_until=None,
                created_at=now, updated_at=now)
    db.session.add(user)
    db.session.flush()
    _apply_roles(user, frozenset({Role(role)}))
    record("service_account.create", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=organisation.id,
           after={"username": user.username, "display_name": user.display_name,
                  "organisation_id": organisation.id, "role": role})
    return user


def deactivate_service_account(user: User, *, actor, now: datetime) -> User:
    """Its tokens open nothing from now on (the API refuses an inactive account's token)
    and its webhook is told nothing more: the deliveries still waiting in the outbox are
    dropped (the audit row counts them). The account and its tokens stay."""
    from caseflow.core.notifications.channels import drop_hooks

    if not policy.can_manage_service_accounts(actor):
        raise NotAllowed(_("Only the system administrator deactivates service accounts."))
    if not user.is_service_account:
        raise NotAllowed(_("This is not a service account."))
    if not user.is_active_account:
        return user
    user.is_active_account = False
    user.updated_at = now
    record("service_account.deactivate", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=user.organisation_id, before={"is_active": True},
           after={"is_active": False, "deliveries_dropped": drop_hooks(user)})
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


def _kind_of(roles: frozenset[Role]) -> str | None:
    if roles & ADMIN_ROLES:
        return "admin"
    return "case" if roles else None


def account_kind(user: User) -> str | None:
    """``admin`` or ``case`` once the account has had a role, else None. Accounts made
    before the kind was kept (and the tests' factories) take the kind of their roles."""
    return user.account_kind or _kind_of(user.roles)


def _apply_roles(user: User, roles: frozenset[Role]) -> None:
    check_role_combination(roles)
    kind_before = account_kind(user)
    current = {row.role: row for row in user.role_rows}
    for value, row in current.items():
        if Role(value) not in roles:
            user.role_rows.remove(row)
    for role in roles:
        if role.value not in current:
            user.role_rows.append(UserRole(role=role.value, is_admin_role=role.is_admin))
    user.account_kind = kind_before or _kind_of(roles)


class RoleGrantRefused(ValidationFailed):
    """A role change that would break the separation of duties (三员分立)."""


def check_role_grant(user: User, *, actor, roles: frozenset[Role]) -> None:
    """Raise ``RoleGrantRefused`` (field ``roles``) when ``actor`` may not give ``user``
    exactly ``roles``. The rules (README, Roles): nobody changes their own roles; the
    security administrator role is neither given nor taken in caseflow's pages (only from
    the server's shell), so that no security administrator makes another who could change
    his roles; an administrator account never gets a case role and an account that has
    had a case role never gets an administrator role (the kind is fixed by the first grant
    and stays when roles are taken away)."""
    if user.id == actor.id:
        raise RoleGrantRefused(
            _("Nobody changes their own roles; ask another security administrator."),
            field="roles")
    if user.is_service_account:
        raise RoleGrantRefused(
            _("%(username)s is a service account: the system administrator manages it on the "
              "service accounts page.", username=user.username), field="roles")
    check_role_combination(roles)
    held = user.roles
    if Role.SECURITY_ADMIN in (held ^ roles):
        raise RoleGrantRefused(
            _("The security administrator role is given and taken only from the server's "
              "shell (caseflow users create), never by a security administrator: the one "
              "who gives it could then change his own roles through that account."),
            field="roles")
    kind = account_kind(user)
    wanted = _kind_of(roles)
    if kind == "case" and wanted == "admin":
        raise RoleGrantRefused(
            _("%(username)s has held a case-work role, so it cannot become an administrator "
              "account; an administrator needs an account of their own, created for it.",
              username=user.username), field="roles")
    if kind == "admin" and wanted == "case":
        raise RoleGrantRefused(
            _("%(username)s is an administrator account, so it cannot be given a case-work "
              "role; case work needs an account of its own.", username=user.username),
            field="roles")


def set_roles(user: User, *, actor, now: datetime, roles: frozenset[Role]) -> User:
    if not policy.can_manage_security(actor):
        raise NotAllowed(_("Only the security administrator assigns roles."))
    check_role_grant(user, actor=actor, roles=roles)
    before = sorted(r.value for r in user.roles)
    _apply_roles(user, roles)
    user.updated_at = now
    after = sorted(r.value for r in roles)
    if before != after:
        record("user.roles", actor=actor, now=now, obj=user, object_label=user.username,
               organisation_id=user.organisation_id,
               before={"roles": before}, after={"roles": after})
    return user


def record_refusal(action: str, user: User, *, actor, now: datetime, error: DomainError,
                   after: dict | None = None) -> None:
    """The audit row of a refused security action, written beside (not inside) the
    refused change, which leaves nothing else behind."""
    record(action, actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=user.organisation_id, reason=error.message[:500], after=after)


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


#: Characters of a one-time password: none of 0/O, 1/l/I, which are misread from an SMS.
_ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

PASSWORD_RESET_HOURS = register_setting(SettingSpec(
    key="password_reset_hours",
    label=_l("One-time password validity (hours)"),
    help=_l("The one-time password of a password reset signs in once within this many hours."),
    minimum=1, maximum=72, config_default="CASEFLOW_PASSWORD_RESET_HOURS", fallback=24,
))


def _one_time_password() -> str:
    """Three groups of four random characters joined by dashes (about 68 bits): easy to
    type from a phone, all three kinds of character."""
    while True:
        groups = ["".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(3)]
        candidate = "-".join(groups)
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def mask_email(address: str) -> str:
    local, _at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def reset_destinations(user: User) -> list[str]:
    """Where a reset's one-time password would go, masked, in the reader's language:
    the account's e-mail address, and its mobile number when SMS can be sent."""
    from caseflow.core.notifications.channels import sms_enabled

    shown = []
    if user.email:
        shown.append(_("e-mail %(address)s", address=mask_email(user.email)))
    if user.phone and sms_enabled():
        shown.append(_("SMS %(phone)s", phone=mask_phone(user.phone)))
    return shown


def _reset_texts(params: dict) -> str:
    return _("Your caseflow one-time password is %(password)s. It signs in once, until "
             "%(expires)s; you then choose your own password. Nobody will ask you for it.",
             **params)


def _queue_one_time_password(user: User, reset: PasswordReset, password: str, *, now: datetime,
                             new_account: bool = False) -> None:
    from caseflow.core.notifications import channels, services as notifications

    notifications.TEXTS.setdefault("password_reset", _reset_texts)
    base_url = current_app.config["CASEFLOW_BASE_URL"].rstrip("/")
    link = f"{base_url}/login"
    expires = reset.expires_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    params = {"password": password, "expires": expires}

    def email() -> tuple[str, str]:
        body = "\n\n".join([
            _("An account in caseflow was made for you: your username is %(username)s.",
              username=user.username) if new_account
            else _("The security administrator has reset your caseflow password."),
            _reset_texts(params),
            _("Sign in at %(link)s", link=link),
            _("If you did not ask for this, tell the security administrator."),
        ])
        return _("caseflow: your one-time password"), body

    subject, body = notifications.in_locale(user, email)
    notifications.queue_email(dedupe_key=f"password-reset:{reset.id}", user=user,
                              subject=subject, body=body, now=now)
    channels.queue_sms(user, dedupe_key=f"password-reset:{reset.id}", kind="password_reset",
                       params=params, link=link, now=now, urgent=True)


def _issue_one_time_password(user: User, *, actor, now: datetime,
                             new_account: bool = False) -> tuple[PasswordReset, str]:
    """The account's password becomes a one-time password made here and queued to the
    owner alone; returns the reset row and where it went (masked, in Chinese)."""
    password = _one_time_password()
    password_hash = hash_password(password)
    with force_locale("zh_CN"):
        sent_to = "、".join(reset_destinations(user))
    reset = PasswordReset(
        user_id=user.id, requested_by_id=actor.id, created_at=now,
        expires_at=now + timedelta(hours=get_setting(PASSWORD_RESET_HOURS.key)),
        password_hash=password_hash, sent_to=sent_to[:200])
    db.session.add(reset)
    db.session.flush()
    user.password_hash = password_hash
    user.must_change_password = True
    # A demo account no longer has the public password, so it must choose its own too.
    user.is_demo = False
    user.failed_login_count = 0
    user.locked_until = None
    user.updated_at = now
    _queue_one_time_password(user, reset, password, now=now, new_account=new_account)
    return reset, sent_to


def reset_password(user: User, *, actor, now: datetime) -> PasswordReset:
    """Replace the account's password with a one-time password that caseflow makes and
    sends to the owner only (e-mail, and SMS when the account has a mobile number); the
    administrator never sees it. It signs in once before it expires, and the owner must
    then choose a password. Only its hash is kept."""
    if not policy.can_manage_security(actor):
        raise NotAllowed(_("Only the security administrator resets passwords."))
    if user.id == actor.id:
        raise ValidationFailed(_("Change your own password on your account page."))
    _not_a_service_account(user)
    destinations = reset_destinations(user)
    if not destinations:
        raise ValidationFailed(
            _("%(username)s has neither an e-mail address nor a mobile number caseflow can "
              "send to, so the one-time password could reach nobody. Ask the system "
              "administrator to add one first.", username=user.username))
    reset, sent_to = _issue_one_time_password(user, actor=actor, now=now)
    end_all_sessions(user, now=now, reason="password_reset", actor=actor)
    record("user.password_reset", actor=actor, now=now, obj=user, object_label=user.username,
           organisation_id=user.organisation_id,
           after={"must_change_password": True, "sent_to": sent_to,
                  "expires_at": reset.expires_at})
    return reset


def one_time_password_refusal(user: User, *, now: datetime) -> str | None:
    """At sign-in, once the password matched: why it no longer works when it is a reset's
    one-time password used before or expired; None otherwise, after marking this as its
    one use (one UPDATE, so two sign-ins at once cannot both have it)."""
    reset = db.session.scalar(
        sa.select(PasswordReset).where(PasswordReset.user_id == user.id,
                                       PasswordReset.password_hash == user.password_hash)
        .order_by(PasswordReset.id.desc()).limit(1))
    if reset is None:
        return None
    if reset.expires_at <= now:
        refusal, reason = _("This one-time password has expired. Ask the security "
                            "administrator for a new one."), "one-time password expired"
    elif db.session.execute(
            sa.update(PasswordReset).where(PasswordReset.id == reset.id,
                                           PasswordReset.used_at.is_(None))
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1:
        return None
    else:
        refusal, reason = _("This one-time password has been used already. Sign in with the "
                            "password you chose, or ask the security administrator for a new "
                            "one-time password."), "one-time password used before"
    record("auth.login_refused_one_time", actor=None, now=now, obj=user,
           object_label=user.username, actor_name=user.display_name,
           organisation_id=user.organisation_id, reason=reason)
    return refusal


def lockout_remaining(user: User, now: datetime) -> timedelta | None:
    if user.is_locked(now):
        return user.locked_until - now
    return None
