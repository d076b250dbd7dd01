"""Who hears at once of a judicial aid case's hand-overs, and what they read (快转快反).

* A case opened from a referral: the federation that sent it, i.e. the referral's sender
  officer and the supervisors of the sending organisation (or of the nearest one above it
  that has some), so that the federation need not open its list to learn it was taken up.
* A proposal submitted: the procuratorate's supervisors, who approve it, at once (the
  reminders of ``reminders.py`` follow only if it waits); never the proposer himself.
* A proposal approved, rejected or returned: the proposer.

The services call these in their own transaction, after the audit row; the actor is never
told of his own act. A hand-over nobody can hear of (no supervisor left to approve, the
proposer's account closed) is recorded as undeliverable for the system administrator. Parameters are plain values the sentence needs: numbers, the
pseudonym and the names of staff and organisations, never a protected identity field nor
free text (a reviewer's comment may name anyone; it stays on the case page)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from caseflow.core.money import format_amount
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.alerts import alert, nearest_supervisors, record_undeliverable
from caseflow.investigations.reminders import case_path

KIND_OPENED = "aid_case.opened_from_referral"
KIND_PROPOSED = "aid_case.proposal_submitted"
KIND_APPROVED = "aid_case.proposal_approved"
KIND_REJECTED = "aid_case.proposal_rejected"
KIND_RETURNED = "aid_case.proposal_returned"


def _opened(p: dict) -> str:
    return _("%(org)s opened judicial aid case %(number)s for %(pseudonym)s from referral "
             "%(referral)s; the handler is %(handler)s.",
             org=p["org"], number=p["number"], pseudonym=p["pseudonym"], referral=p["referral"],
             handler=p["handler"])


def _proposed(p: dict) -> str:
    return _("%(proposer)s proposed %(amount)s yuan of judicial aid in case %(number)s "
             "(%(pseudonym)s): it awaits your approval.",
             proposer=p["proposer"], amount=p["amount"], number=p["number"],
             pseudonym=p["pseudonym"])


def _approved(p: dict) -> str:
    return _("%(reviewer)s approved your proposal for judicial aid case %(number)s "
             "(%(pseudonym)s): %(amount)s yuan.",
             reviewer=p["reviewer"], number=p["number"], pseudonym=p["pseudonym"],
             amount=p["amount"])


def _rejected(p: dict) -> str:
    return _("%(reviewer)s rejected your proposal for judicial aid case %(number)s "
             "(%(pseudonym)s); the reason is on the case's page.",
             reviewer=p["reviewer"], number=p["number"], pseudonym=p["pseudonym"])


def _returned(p: dict) -> str:
    return _("%(reviewer)s returned your proposal for judicial aid case %(number)s "
             "(%(pseudonym)s) for more investigation; the comment is on the case's page.",
             reviewer=p["reviewer"], number=p["number"], pseudonym=p["pseudonym"])


notifications.TEXTS[KIND_OPENED] = _opened
notifications.TEXTS[KIND_PROPOSED] = _proposed
notifications.TEXTS[KIND_APPROVED] = _approved
notifications.TEXTS[KIND_REJECTED] = _rejected
notifications.TEXTS[KIND_RETURNED] = _returned

REVIEW_KINDS = {"approve": KIND_APPROVED, "reject": KIND_REJECTED, "return": KIND_RETURNED}


def _stamp(moment: datetime) -> str:
    # The moment names the hand-over: a proposal returned and proposed again is a new one.
    return moment.strftime("%Y%m%dT%H%M%S%f")


def _others(users, actor) -> list:
    return [u for u in users if u is not None and u.id != actor.id]


def tell_case_opened(case, referral, *, actor, now: datetime) -> list:
    """The referral's sender officer and the sending organisation's supervisors."""
    recipients = [referral.created_by, *nearest_supervisors(referral.sender_org_id)]
    return alert(_others(recipients, actor), event="handover", kind=KIND_OPENED,
                 params={"org": case.organisation.name, "number": case.number,
                         "pseudonym": case.applicant.pseudonym, "referral": referral.number,
                         "handler": case.handler.display_name},
                 path=case_path(case.id), dedupe=f"aidcase:{case.id}:opened", now=now,
                 fallback_org_id=referral.sender_org_id)


def tell_proposed(case, *, actor, now: datetime) -> list:
    """The supervisors who may approve: the procuratorate's, or those above it, except
    the proposer (as for the approval reminders)."""
    recipients = nearest_supervisors(case.organisation_id, excluding=case.proposed_by_id)
    params = {"proposer": actor.display_name, "amount": format_amount(case.proposed_amount),
              "number": case.number, "pseudonym": case.applicant.pseudonym}
    dedupe = f"aidcase:{case.id}:proposed@{_stamp(case.proposed_at)}"
    # No fallback organisation: the recipients already climb the tree, and alert's
    # fallback would not spare the proposer when he is the only supervisor left.
    told = alert(_others(recipients, actor), event="handover", kind=KIND_PROPOSED, params=params,
                 path=case_path(case.id), dedupe=dedupe, now=now)
    if not told:
        record_undeliverable(dedupe_key=f"{dedupe}:{KIND_PROPOSED}", organisation_id=case.organisation_id,
                             kind=KIND_PROPOSED, params=params, link=case_path(case.id), now=now)
    return told


def tell_reviewed(case, *, outcome: str, actor, now: datetime) -> list:
    """The proposer hears the supervisor's answer."""
    kind = REVIEW_KINDS[outcome]
    params = {"reviewer": actor.display_name, "amount": format_amount(case.proposed_amount),
              "number": case.number, "pseudonym": case.applicant.pseudonym}
    dedupe = f"aidcase:{case.id}:{outcome}@{_stamp(case.proposed_at)}"
    # No fallback organisation: its nearest supervisors include the reviewer himself.
    told = alert(_others([case.proposed_by], actor), event="handover", kind=kind, params=params,
                 path=case_path(case.id), dedupe=dedupe, now=now)
    if not told:  # the proposer's account was closed meanwhile
        record_undeliverable(dedupe_key=f"{dedupe}:{kind}", organisation_id=case.organisation_id,
                             kind=kind, params=params, link=case_path(case.id), now=now)
    return told
