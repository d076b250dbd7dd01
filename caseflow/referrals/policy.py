"""Who may see and do what with a referral. Routes, templates and tests ask these."""
from __future__ import annotations

from caseflow.core.orgs.policy import can_work_on_cases, visible_organisation_ids
from caseflow.core.orgs.roles import OrganisationKind, Role
from caseflow.referrals.models import ReferralState

#: Who files referrals towards which kind of organisation.
FILING_ROLES = {
    OrganisationKind.FEDERATION.value: (Role.FEDERATION_OFFICER, Role.SUPERVISOR),
    OrganisationKind.PROCURATORATE.value: (Role.PROSECUTOR, Role.SUPERVISOR),
}
HANDLING_ROLES = (Role.PROSECUTOR, Role.FEDERATION_OFFICER, Role.SUPERVISOR)


def _referral_worker(user) -> bool:
    return can_work_on_cases(user) and user.has_role(*HANDLING_ROLES)


def on_sender_side(user, referral) -> bool:
    return _referral_worker(user) and referral.sender_org_id in visible_organisation_ids(user)


def on_receiver_side(user, referral) -> bool:
    """Of the receiving organisation (or above it), or its designated handler, who may
    sit in a unit below it (a street federation's officer handling for the district)."""
    if not _referral_worker(user) or referral.state == ReferralState.DRAFT:
        return False
    return (referral.receiver_org_id in visible_organisation_ids(user)
            or (referral.handler_id is not None and referral.handler_id == user.id))


def can_list_referrals(user) -> bool:
    """Partner agencies never see referrals; administrators see no case records."""
    return _referral_worker(user)


def can_file_referral(user) -> bool:
    return (_referral_worker(user) and user.organisation.kind in FILING_ROLES
            and user.has_role(*FILING_ROLES[user.organisation.kind]))


def can_view_referral(user, referral) -> bool:
    return on_sender_side(user, referral) or on_receiver_side(user, referral)


def can_edit_referral(user, referral) -> bool:
    return (referral.state in (ReferralState.DRAFT, ReferralState.RETURNED)
            and referral.discarded_at is None
            and on_sender_side(user, referral))


def can_discard(user, referral) -> bool:
    """A draft nobody will send: its author, or a colleague of her organisation (not the
    organisations above, which see the draft but did not write it), discards it."""
    return (referral.state == ReferralState.DRAFT and referral.discarded_at is None
            and _referral_worker(user)
            and (referral.created_by_id == user.id or referral.sender_org_id == user.organisation_id))


def opening_box(user, *, has_drafts: bool) -> tuple[str, str]:
    """(box, state) the referral menu opens on. A federation officer of a street federation
    (a federation below another one) mostly sends: the referrals she files go to the
    procuratorate, and what the procuratorate refers back is received and registered by
    the district federation. She opens on her outbox, or on her drafts while she has
    some (unsent work waiting for her). Everyone else who works on referrals receives them
    (prosecutors, the district's officers, supervisors): the inbox, where the one-month
    reply clock runs."""
    org = user.organisation
    street_officer = (org.kind == OrganisationKind.FEDERATION.value and org.parent is not None
                      and org.parent.kind == OrganisationKind.FEDERATION.value
                      and user.has_role(Role.FEDERATION_OFFICER) and not user.has_role(Role.SUPERVISOR))
    if not street_officer:
        return "inbox", ""
    return ("outbox", "draft") if has_drafts else ("outbox", "")


def can_send(user, referral) -> bool:
    return can_edit_referral(user, referral)


def can_withdraw(user, referral) -> bool:
    """Before registration. A draft has not gone anywhere: it simply stays a draft."""
    return (referral.state in (ReferralState.SENT, ReferralState.RETURNED)
            and on_sender_side(user, referral))


def can_register(user, referral) -> bool:
    return referral.state == ReferralState.SENT and on_receiver_side(user, referral)


def can_return(user, referral) -> bool:
    return (referral.state in (ReferralState.SENT, ReferralState.REGISTERED)
            and on_receiver_side(user, referral))


def can_assign_handler(user, referral) -> bool:
    """Reassigning is the receiving supervisor's."""
    return (referral.state == ReferralState.REGISTERED and on_receiver_side(user, referral)
            and user.has_role(Role.SUPERVISOR))


def can_extend(user, referral) -> bool:
    return (referral.state in (ReferralState.SENT, ReferralState.REGISTERED)
            and on_receiver_side(user, referral)
            and user.has_role(Role.SUPERVISOR))


def can_add_note(user, referral) -> bool:
    return referral.state == ReferralState.REGISTERED and on_receiver_side(user, referral)


def can_reply(user, referral) -> bool:
    """The handler, or a supervisor of the receiver."""
    return (referral.state == ReferralState.REGISTERED and on_receiver_side(user, referral)
            and (referral.handler_id == user.id or user.has_role(Role.SUPERVISOR)))


def can_close(user, referral) -> bool:
    return referral.state == ReferralState.REPLIED and on_sender_side(user, referral)


def can_comment(user, referral) -> bool:
    return referral.state != ReferralState.DRAFT and can_view_referral(user, referral)


def can_see_notes(user, referral) -> bool:
    return on_receiver_side(user, referral)


def can_see_all_referrals(user) -> bool:
    return _referral_worker(user) and user.has_role(Role.SUPERVISOR)


def shares_person(user, person) -> bool:
    """A referral about her, sent to or from the user's side, shares her record: the
    receiver needs her identity to help, and may refer her on (e.g. back to the
    federation after granting aid)."""
    import sqlalchemy as sa

    from caseflow.extensions import db
    from caseflow.referrals.models import Referral

    visible = visible_organisation_ids(user)
    return db.session.scalar(
        sa.select(Referral.id).where(
            Referral.person_id == person.id, Referral.state != ReferralState.DRAFT.value,
            sa.or_(Referral.receiver_org_id.in_(visible), Referral.sender_org_id.in_(visible),
                   Referral.handler_id == user.id)).limit(1)) is not None
