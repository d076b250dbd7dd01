"""Who may see and do what with an assistance plan and its items.

The plan belongs to the federation organisation that runs it (and those above). The
procuratorate sees the plans opened from its aid cases. A partner agency's workers see
only the items sent to their agency, with the pseudonym only, unless the item needs the
identity (legal aid). Administrators see none of it."""
from __future__ import annotations

from caseflow.assistance.models import ItemKind, ItemState
from caseflow.core.orgs.policy import can_work_on_cases, visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind, Role

OFFICER_ROLES = (Role.FEDERATION_OFFICER, Role.SUPERVISOR)
CASE_ROLES = (Role.FEDERATION_OFFICER, Role.PROSECUTOR, Role.SUPERVISOR)


def _case_worker(user) -> bool:
    return can_work_on_cases(user) and user.has_role(*CASE_ROLES)


def _partner_worker(user) -> bool:
    return can_work_on_cases(user) and user.has_role(Role.PARTNER_WORKER)


def can_list_assistance(user) -> bool:
    return _case_worker(user) or _partner_worker(user)


def sees_items_sent_to_agency(user) -> bool:
    """A partner agency's worker (and no case worker): her assistance list is the items sent
    to her agency (``queries.provider_items``), not the plans."""
    return _partner_worker(user) and not user.has_role(*CASE_ROLES)


def can_list_items(user) -> bool:
    """The item list of the plans one may see: case workers (partners have their own)."""
    return _case_worker(user)


def can_open_plan(user) -> bool:
    return (_case_worker(user) and user.has_role(*OFFICER_ROLES)
            and user.organisation.kind == OrganisationKind.FEDERATION.value)


def runs_plan(user, plan) -> bool:
    """Of the organisation running the plan (or above), or its officer."""
    return _case_worker(user) and (plan.organisation_id in visible_organisation_ids(user)
                                   or plan.officer_id == user.id)


def sees_through_aid_case(user, plan) -> bool:
    """The procuratorate of the aid case the plan came from."""
    return (_case_worker(user) and plan.aid_case is not None
            and plan.aid_case.organisation_id in visible_organisation_ids(user))


def can_view_plan(user, plan) -> bool:
    return runs_plan(user, plan) or sees_through_aid_case(user, plan)


def can_manage_plan(user, plan) -> bool:
    """Add items, send them, change them, close the plan: those running it."""
    return plan.is_open and runs_plan(user, plan) and user.has_role(*OFFICER_ROLES)


def is_provider_of(user, item) -> bool:
    """A worker of the agency the item was sent to (a partner, or the federation itself
    when it gives the help)."""
    return (can_work_on_cases(user) and item.state != ItemState.PLANNED
            and item.provider_org_id in visible_organisation_ids(user)
            and user.has_role(Role.PARTNER_WORKER, *OFFICER_ROLES))


def is_item_officer(user, item) -> bool:
    """The officer responsible for the item: she may be of a street federation below the
    plan's organisation, and hears the item's reminders."""
    return _case_worker(user) and item.officer_id == user.id


def can_view_item(user, item) -> bool:
    return is_provider_of(user, item) or is_item_officer(user, item) or can_view_plan(user, item.plan)


def can_manage_item(user, item) -> bool:
    return can_manage_plan(user, item.plan) or (is_item_officer(user, item) and item.plan.is_open)


def can_respond(user, item) -> bool:
    """Accept or decline: the provider's workers, while the item waits for them."""
    return item.state == ItemState.SENT and is_provider_of(user, item)


def can_record_session(user, item) -> bool:
    return item.state in (ItemState.ACCEPTED, ItemState.ACTIVE) and (
        is_provider_of(user, item) or can_manage_item(user, item))


def can_update_legal_matter(user, item) -> bool:
    return (item.kind == ItemKind.LEGAL_AID
            and item.state not in (ItemState.DECLINED, ItemState.CANCELLED)) and (
        is_provider_of(user, item) or can_manage_item(user, item))


def can_see_identity_for_item(user, item) -> bool:
    """A provider sees the identity of the beneficiary only when the item needs it, and
    never a child's: minors' identities stay with the case team and the supervisors
    (``people.policy.can_view_identity``); the responsible officer hands what a lawyer
    needs over in person."""
    return item.needs_identity \
        and item.state in (ItemState.ACCEPTED, ItemState.ACTIVE, ItemState.COMPLETED) \
        and is_provider_of(user, item) and not item.beneficiary.is_minor


def is_withheld_minor(user, item) -> bool:
    """The provider of an item that needs the identity, whose beneficiary is a child."""
    return item.needs_identity and item.beneficiary.is_minor and is_provider_of(user, item)
