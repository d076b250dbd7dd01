"""Who hears of a referral's hand-overs at once (快转快反), and what they read.

| event | who is told |
|---|---|
| sent | the receiving organisation's supervisors (or the nearest above); urgent: also the supervisors above them |
| registered | the sender's officer; the designated handler |
| handler changed | the new handler |
| comment | the other side's people on the referral (the sender's officer, the handler) |
| returned, extended, replied | the sender's officer and the sender's supervisors |

Nobody hears of their own act. Notifications carry the number and the pseudonym, never
a protected field nor free text (a reason may name people); the referral page has the
rest. ``services`` calls these in the transaction of the change."""
from __future__ import annotations

from datetime import datetime
from functools import partial

from flask_babel import gettext as _

from caseflow.core.notifications import services as notifications
from caseflow.core.notifications.alerts import alert, nearest_supervisors
from caseflow.core.orgs.models import User
from caseflow.extensions import db


def _sentence(kind: str, p: dict) -> str:
    number, pseudonym = p["number"], p["pseudonym"]
    if kind == "referral.sent":
        return _("%(org)s sent referral %(number)s (%(pseudonym)s) to %(receiver)s: register it and "
                 "designate a handler.", org=p["sender"], number=number, pseudonym=pseudonym,
                 receiver=p["receiver"])
    if kind == "referral.sent_urgent":
        return _("Urgent: %(org)s sent referral %(number)s (%(pseudonym)s) to %(receiver)s; "
                 "registration is due by %(day)s.", org=p["sender"], number=number,
                 pseudonym=pseudonym, receiver=p["receiver"], day=p["registration_due"])
    if kind == "referral.registered":
        return _("%(receiver)s registered referral %(number)s (%(pseudonym)s); the designated "
                 "handler is %(handler)s and the reply is due on %(due)s.", receiver=p["receiver"],
                 number=number, pseudonym=pseudonym, handler=p["handler"], due=p["due"])
    if kind == "referral.assigned":
        return _("You are the designated handler of referral %(number)s (%(pseudonym)s); the reply "
                 "is due on %(due)s.", number=number, pseudonym=pseudonym, due=p["due"])
    if kind == "referral.comment":
        return _("%(name)s (%(org)s) commented on referral %(number)s (%(pseudonym)s).",
                 name=p["actor_name"], org=p["actor_org"], number=number, pseudonym=pseudonym)
    if kind == "referral.returned":
        return _("%(receiver)s returned referral %(number)s (%(pseudonym)s) as outside its remit; "
                 "the reason is on the referral.", receiver=p["receiver"], number=number,
                 pseudonym=pseudonym)
    if kind == "referral.extended":
        return _("%(receiver)s extended the reply to referral %(number)s (%(pseudonym)s) to "
                 "%(due)s (statutory date %(statutory)s).", receiver=p["receiver"], number=number,
                 pseudonym=pseudonym, due=p["due"], statutory=p["statutory"])
    if kind == "referral.replied":
        return _("%(receiver)s replied to referral %(number)s (%(pseudonym)s).",
                 receiver=p["receiver"], number=number, pseudonym=pseudonym)
    return kind


KINDS = ("referral.sent", "referral.sent_urgent", "referral.registered", "referral.assigned",
         "referral.comment", "referral.returned", "referral.extended", "referral.replied")
for _kind in KINDS:
    notifications.TEXTS[_kind] = partial(_sentence, _kind)


def _params(ref, **extra) -> dict:
    return {"number": ref.number or "", "pseudonym": ref.person.pseudonym,
            "sender": ref.sender_org.name, "receiver": ref.receiver_org.name,
            "due": ref.reply_due_on.isoformat() if ref.reply_due_on else "", **extra}


def _tell(ref, recipients, *, actor, kind: str, now: datetime, event: str = "handover",
          fallback_org_id: int | None = None, **extra) -> list[User]:
    others = [u for u in recipients if u is not None and u.id != actor.id]
    if not others and any(u is not None for u in recipients):
        return []  # only the actor was meant: nobody hears of their own act
    return alert(others, event=event,
                 kind=kind, params=_params(ref, **extra), path=f"/referrals/{ref.id}",
                 dedupe=f"referral:{ref.id}:{kind}@{now.isoformat()}", now=now,
                 fallback_org_id=fallback_org_id, excluding=actor.id)


def sent(ref, *, actor, now: datetime) -> list[User]:
    """The receiving organisation's supervisors (who register it and name the handler),
    or the nearest above; an urgent one also reaches the supervisors above those."""
    receivers = nearest_supervisors(ref.receiver_org_id)
    if not ref.is_urgent:
        return _tell(ref, receivers, actor=actor, kind="referral.sent", now=now,
                     fallback_org_id=ref.receiver_org_id)
    above = []
    if receivers:
        parent = db.session.get(type(ref.receiver_org), receivers[0].organisation_id).parent_id
        above = nearest_supervisors(parent) if parent is not None else []
    return _tell(ref, [*receivers, *above], actor=actor, kind="referral.sent_urgent", now=now,
                 event="urgent_referral", fallback_org_id=ref.receiver_org_id,
                 registration_due=ref.registration_due_on.isoformat())


def registered(ref, *, handler: User, actor, now: datetime) -> list[User]:
    return _tell(ref, [ref.created_by, handler], actor=actor, kind="referral.registered",
                 now=now, handler=handler.display_name, fallback_org_id=ref.sender_org_id)


def handler_changed(ref, *, handler: User, actor, now: datetime) -> list[User]:
    return _tell(ref, [handler], actor=actor, kind="referral.assigned", now=now,
                 fallback_org_id=ref.receiver_org_id)


def commented(ref, *, actor, now: datetime) -> list[User]:
    """The people of the other side: a comment from the sending side reaches the handler
    (before registration, the receiving supervisors); one from the receiving side reaches
    the sender's officer."""
    from caseflow.referrals import policy

    if policy.on_sender_side(actor, ref):
        other = [ref.handler] if ref.handler else nearest_supervisors(ref.receiver_org_id)
        org_id = ref.receiver_org_id
    else:
        other, org_id = [ref.created_by], ref.sender_org_id
    return _tell(ref, other, actor=actor, kind="referral.comment", now=now, fallback_org_id=org_id,
                 actor_name=actor.display_name, actor_org=actor.organisation.name)


def answered(ref, *, actor, kind: str, now: datetime, **extra) -> list[User]:
    """Returned, extended or replied: the sender's officer and the sender's supervisors."""
    return _tell(ref, [ref.created_by, *nearest_supervisors(ref.sender_org_id)], actor=actor,
                 kind=kind, now=now, fallback_org_id=ref.sender_org_id, **extra)
