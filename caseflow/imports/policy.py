"""Who may import ledgers: a supervisor of the federation or the procuratorate (the head of
a department answers for what its ledger brings in). Administrators see no case records,
so they import none; officers, prosecutors and partner agencies neither."""
from __future__ import annotations

from caseflow.core.orgs.policy import can_work_on_cases
from caseflow.core.orgs.roles import OrganisationKind, Role

IMPORTING_KINDS = (OrganisationKind.FEDERATION.value, OrganisationKind.PROCURATORATE.value)


def can_import(user) -> bool:
    return (can_work_on_cases(user) and user.has_role(Role.SUPERVISOR)
            and user.organisation.kind in IMPORTING_KINDS)


def can_import_cases(user) -> bool:
    """Judicial aid cases are the procuratorate's: its supervisors import their ledgers."""
    return can_import(user) and user.organisation.kind == OrganisationKind.PROCURATORATE.value


def can_import_assistance(user) -> bool:
    """Assistance plans are the federation's: its supervisors import their ledgers."""
    return can_import(user) and user.organisation.kind == OrganisationKind.FEDERATION.value
