"""The roles a user can hold, and which of them are administrator roles (三员分立)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from caseflow.core.enums import LabelledEnum


class Role(LabelledEnum):
    FEDERATION_OFFICER = "federation_officer", _l("Federation officer")
    PROSECUTOR = "prosecutor", _l("Prosecutor")
    SUPERVISOR = "supervisor", _l("Supervisor")
    PARTNER_WORKER = "partner_worker", _l("Partner worker")
    SYSTEM_ADMIN = "system_admin", _l("System administrator")
    SECURITY_ADMIN = "security_admin", _l("Security administrator")
    AUDIT_ADMIN = "audit_admin", _l("Audit administrator")

    @property
    def is_admin(self) -> bool:
        return self in ADMIN_ROLES


ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})
WORK_ROLES = frozenset(Role) - ADMIN_ROLES
#: The two agencies' workers: who may reach the referral, case and training pages and the
#: ledgers (the assistance pages add the partner agencies' workers).
WORKERS = (Role.FEDERATION_OFFICER, Role.PROSECUTOR, Role.SUPERVISOR)

ROLE_LABELS = Role.labels()

ROLE_DESCRIPTIONS = {
    Role.FEDERATION_OFFICER: _l("Files referrals, follows their answers, runs assistance and training."),
    Role.PROSECUTOR: _l("Registers received referrals, handles them and runs judicial aid cases."),
    Role.SUPERVISOR: _l("Assigns handlers, approves aid decisions, hears about late replies."),
    Role.PARTNER_WORKER: _l("Sees the service items sent to their agency and records sessions."),
    Role.SYSTEM_ADMIN: _l("Manages organisations, user accounts, settings and the calendar."),
    Role.SECURITY_ADMIN: _l("Assigns roles, unlocks accounts and resets passwords."),
    Role.AUDIT_ADMIN: _l("Reads the audit and access logs."),
}


class OrganisationKind(LabelledEnum):
    FEDERATION = "federation", _l("Women's federation")
    PROCURATORATE = "procuratorate", _l("Procuratorate")
    PARTNER = "partner", _l("Partner agency")


KIND_LABELS = OrganisationKind.labels()
