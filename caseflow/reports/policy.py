"""Who may see the reports and export the ledgers. Routes, templates and tests ask these.

(Sections by topic; each module of ``reports`` keeps to its own.)"""
from __future__ import annotations

# -- ledger exports ------------------------------------------------------------------------
# An export shows what the list page shows: whoever may list referrals (cases, assistance)
# may export that ledger, and the query decides which rows. Partner agencies never list
# referrals or cases, so never export them; their assistance ledger holds only the items
# sent to their agency. Administrators see no case records and export nothing.


def can_export_referrals(user) -> bool:
    from caseflow.referrals import policy

    return policy.can_list_referrals(user)


def can_export_cases(user) -> bool:
    from caseflow.investigations import policy

    return policy.can_list_cases(user)


def can_export_assistance(user) -> bool:
    from caseflow.assistance import policy

    return policy.can_list_assistance(user)


# -- the four-mechanisms report --------------------------------------------------------------
# Supervisors of a federation or a procuratorate read the report for their organisation or
# one below it. Officers, prosecutors and partner workers do not; administrators never do.


def can_see_report(user) -> bool:
    from caseflow.core.orgs.policy import can_work_on_cases
    from caseflow.core.orgs.roles import OrganisationKind, Role

    return (can_work_on_cases(user) and user.has_role(Role.SUPERVISOR)
            and user.organisation.kind in (OrganisationKind.FEDERATION.value,
                                           OrganisationKind.PROCURATORATE.value))


def can_report_on(user, organisation_id: int) -> bool:
    """The user's own organisation or one below it."""
    from caseflow.core.orgs.policy import visible_organisation_ids

    return can_see_report(user) and organisation_id in visible_organisation_ids(user)


# -- the district's joint report -------------------------------------------------------------
# Both sides' figures together, as the offices publish them: every supervisor who reads the
# four-mechanisms report (of a federation or a procuratorate, at any level) reads it. It
# holds only counts and sums, and its figures link to no list.


def can_view_joint_report(user) -> bool:
    return can_see_report(user)
