"""Who hears at once of an assistance item's hand-overs, and what they read (快转快反).

* An item sent to its provider: the provider's workers, i.e. the active users of the
  providing organisation who may answer it (``policy.is_provider_of``: a partner agency's
  workers, or the federation's officers and supervisors when it gives the help itself);
  when the organisation has none, those of the nearest organisation above it that has
  some, who may answer for it. A partner must not first hear of her item when it is late.
* The provider's answer (accepted or declined): the item's responsible officer (when her
  account was closed, the supervisors of the plan's organisation or those above it).

An agency with nobody in the system to answer for it is recorded as undeliverable for the
system administrator.

The services call these in their own transaction, after the audit row; the actor is never
told of his own act. Parameters are the kind of help, the pseudonym, names of
organisations and dates, never a protected identity field nor free text (a decline's
reason stays on the item's page)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from caseflow.assistance import policy
from caseflow.assistance.reminders import _kind_label, item_path
from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.alerts import alert, record_undeliverable
from caseflow.core.notifications.reminders import Directory

KIND_SENT = "assistance.item_sent"
KIND_ACCEPTED = "assistance.item_accepted"
KIND_DECLINED = "assistance.item_declined"


def _sent(p: dict) -> str:
    return _("%(org)s sent your agency the service item “%(kind)s” for %(pseudonym)s: accept or "
             "decline it by %(due)s.",
             org=p["org"], kind=_kind_label(p), pseudonym=p["pseudonym"], due=p["due"])


def _accepted(p: dict) -> str:
    return _("%(provider)s accepted the service item “%(kind)s” for %(pseudonym)s.",
             provider=p["provider"], kind=_kind_label(p), pseudonym=p["pseudonym"])


def _declined(p: dict) -> str:
    return _("%(provider)s declined the service item “%(kind)s” for %(pseudonym)s; the reason "
             "is on the item's page.",
             provider=p["provider"], kind=_kind_label(p), pseudonym=p["pseudonym"])


notifications.TEXTS[KIND_SENT] = _sent
notifications.TEXTS[KIND_ACCEPTED] = _accepted
notifications.TEXTS[KIND_DECLINED] = _declined


def _stamp(moment: datetime) -> str:
    # The moment names the hand-over: an item sent again after a decline is a new one.
    return moment.strftime("%Y%m%dT%H%M%S%f")


def provider_workers(item, directory: Directory) -> list:
    """The users who may answer ``item`` for its provider, nearest organisation first."""
    org_id = item.provider_org_id
    while org_id is not None:
        found = [u for u in directory.workers_by_org.get(org_id, ()) if policy.is_provider_of(u, item)]
        if found:
            return found
        org_id = directory.parent.get(org_id)
    return []


def _params(item) -> dict:
    return {"kind": item.kind, "pseudonym": item.beneficiary.pseudonym,
            "provider": item.provider.name, "org": item.plan.organisation.name}


def tell_sent(item, *, actor, now: datetime) -> list:
    workers = provider_workers(item, Directory())
    params = {**_params(item), "due": item.acceptance_due_on.isoformat()}
    dedupe = f"item:{item.id}:sent@{_stamp(now)}"
    # No fallback organisation: the workers already climb the tree, and alert's fallback
    # (the nearest supervisors) could be the sender herself, giving the help herself.
    told = alert([u for u in workers if u.id != actor.id], event="handover", kind=KIND_SENT,
                 params=params, path=item_path(item.id), dedupe=dedupe, now=now)
    if not workers:  # an agency nobody in the system works for
        record_undeliverable(dedupe_key=f"{dedupe}:{KIND_SENT}", organisation_id=item.provider_org_id,
                             kind=KIND_SENT, params=params, link=item_path(item.id), now=now)
    return told


def tell_answered(item, *, accepted: bool, actor, now: datetime) -> list:
    if item.officer_id == actor.id:
        return []
    answer = "accepted" if accepted else "declined"
    # The officer's account closed meanwhile: the plan's organisation's supervisors hear.
    return alert([item.officer], event="handover", kind=KIND_ACCEPTED if accepted else KIND_DECLINED,
                 params=_params(item), path=item_path(item.id),
                 dedupe=f"item:{item.id}:{answer}@{_stamp(now)}", now=now,
                 fallback_org_id=item.plan.organisation_id)
