"""The roles a user can hold, and which of them are administrator roles (三员分立)."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(str, enum.Enum):
    FEDERATION_OFFICER = "federation_officer"
    PROSECUTOR = "prosecutor"
    SUPERVISOR = "supervisor"
    PARTNER_WORKER = "partner_worker"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"

    @property
    def is_admin(self) -> bool:
        return self in ADMIN_ROLES

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
WORK_ROLES = frozenset(Role) - ADMIN_ROLES
#: The two agencies' workers: who may reach the referral, case and training pages and the
#: ledgers (the assistance pages add the partner agencies' workers).
WORKERS = (Role.FEDERATION_OFFICER, Role.PROSECUTOR, Role.SUPERVISOR)

ROLE_LABELS = {
    Role.FEDERATION_OFFICER: _l("Federation officer"),
    Role.PROSECUTOR: _l("Prosecutor"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.PARTNER_WORKER: _l("Partner worker"),
    Role.SYSTEM_ADMIN: _l("System administrator"),
    Role.SECURITY_ADMIN: _l("Security administrator"),
    Role.AUDIT_ADMIN: _l("Audit administrator"),
}

ROLE_DESCRIPTIONS = {
    Role.FEDERATION_OFFICER: _l("Files referrals, follows their answers, runs assistance and training."),
    Role.PROSECUTOR: _l("Registers received referrals, handles them and runs judicial aid cases."),
    Role.SUPERVISOR: _l("Assigns handlers, approves aid decisions, hears about late replies."),
    Role.PARTNER_WORKER: _l("Sees the service items sent to their agency and records sessions."),
    Role.SYSTEM_ADMIN: _l("Manages organisations, user accounts, settings and the calendar."),
    Role.SECURITY_ADMIN: _l("Assigns roles, unlocks accounts and resets passwords."),
    Role.AUDIT_ADMIN: _l("Reads the audit and access logs."),
}


class OrganisationKind(str, enum.Enum):
    FEDERATION = "federation"
    PROCURATORATE = "procuratorate"
    PARTNER = "partner"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    OrganisationKind.FEDERATION: _l("Women's federation"),
    OrganisationKind.PROCURATORATE: _l("Procuratorate"),
    OrganisationKind.PARTNER: _l("Partner agency"),
}
