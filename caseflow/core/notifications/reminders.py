"""What every reminder sweep shares: who the supervisors are, how one reminder reaches one
user, and the daily digest.

A reminder reaches a user in the app at once (a ``Notification``) and by e-mail: at once,
or, for a supervisor who chose the daily digest (``User.email_preference``) and a stage
meant for supervisors, in that day's digest instead. The digest is one e-mail per
supervisor and day listing everything of their organisation that needs attention; each
domain adds its part with ``register_digest_section`` (referrals due or overdue,
proposals waiting for approval, ...). The ledgers of ``services`` make each of these
happen once whoever runs the sweep and however often."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask_babel import gettext as _, ngettext

from caseflow.core.notifications import services as notifications
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db


class Directory:
    """Users and the organisation tree, loaded once per sweep."""

    def __init__(self):
        self.parent = dict(db.session.execute(sa.select(Organisation.id, Organisation.parent_id)).all())
        self.supervisors_by_org: dict[int, list[User]] = {}
        #: Every active account that may see case records (no administrator), by organisation.
        self.workers_by_org: dict[int, list[User]] = {}
        self._users: dict[int, User] = {}
        # Their channel preferences with them: ``remind`` asks for each user's.
        for user in db.session.scalars(sa.select(User).where(User.is_active_account)
                                       .options(selectinload(User.alert_preferences))):
            self._users[user.id] = user
            if user.admin_role is not None or user.is_service_account:
                continue  # a service account is told through its webhook, not reminded
            self.workers_by_org.setdefault(user.organisation_id, []).append(user)
            if user.has_role(Role.SUPERVISOR):
                self.supervisors_by_org.setdefault(user.organisation_id, []).append(user)
        self._children: dict[int | None, list[int]] | None = None

    def supervisors_of(self, org_id: int, *, excluding: int | None = None) -> list[User]:
        """The supervisors of the organisation, or of the nearest one above that has some
        (other than the user ``excluding``, e.g. one who may not act on the matter)."""
        current = org_id
        while current is not None:
            found = [u for u in self.supervisors_by_org.get(current, ()) if u.id != excluding]
            if found:
                return found
            current = self.parent.get(current)
        return []

    def members_of(self, org_id: int, *roles: Role) -> list[User]:
        """The active users of the organisation itself (not those above or below it) who
        hold one of ``roles``; never an administrator."""
        return [u for u in self.workers_by_org.get(org_id, ()) if u.has_role(*roles)]

    def subtree(self, org_id: int) -> frozenset[int]:
        """The organisation and every one below it (``core.orgs.services.subtree_ids``
        without another query)."""
        if self._children is None:
            self._children = {}
            for child, parent in self.parent.items():
                self._children.setdefault(parent, []).append(child)
        found, stack = set(), [org_id]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self._children.get(current, ()))
        return frozenset(found)

    def all_supervisors(self) -> Iterable[User]:
        for users in self.supervisors_by_org.values():
            yield from users

    def user(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            self._users[user_id] = db.session.get(User, user_id)
        return self._users[user_id]


# -- one reminder to one user ----------------------------------------------------------------


def reminder_email(user: User, *, kind: str, params: dict, link: str,
                   open_line: Callable[[str], str]) -> tuple[str, str]:
    """Subject and body of a reminder e-mail, in the reader's locale: the notification's
    sentence (``services.TEXTS``), ``open_line(link)`` ("Open the referral: …") and the
    pseudonym notice."""
    def render() -> tuple[str, str]:
        sentence = notifications.notification_text(kind, params)
        subject = _("[caseflow] %(sentence)s", sentence=sentence)
        body = "\n\n".join([
            _("Dear %(name)s,", name=user.display_name), sentence, open_line(link),
            _("This message names the person only by pseudonym. Do not reply to it."),
        ])
        return subject[:290], body
    return notifications.in_locale(user, render)


#: Kinds of reminder that say a deadline has passed; sent to supervisors, they are
#: escalations (``alerts.EVENTS``), which by default also go by SMS.
LATE_KIND_ENDINGS = ("_late", "overdue", "not_answered", "_waiting")


def reminder_event(kind: str, *, digestable: bool) -> str:
    """The preferences row a reminder belongs to: a stage meant for supervisors after the
    deadline is an escalation, anything else a reminder."""
    return "escalation" if digestable and kind.endswith(LATE_KIND_ENDINGS) else "reminder"


def _organisation_key(dedupe_key: str, user: User) -> str:
    """The reminder's key without the user in it (``referral:12:due_today:7:kind`` →
    ``referral:12:due_today:kind``): the office chat hears each stage once, however many
    of its people the stage reaches."""
    head, found, tail = dedupe_key.rpartition(f":{user.id}:")
    return f"{head}:{tail}" if found else dedupe_key


def remind(user: User, *, kind: str, params: dict, path: str, base_url: str, dedupe_key: str,
           open_line: Callable[[str], str], digestable: bool, now: datetime,
           event: str | None = None, urgent: bool = False) -> bool:
    """Notify ``user`` in the app and queue what her preferences for the event
    (``reminder_event`` unless given) ask for: the e-mail, unless ``digestable`` (a stage
    for supervisors) and she chose the daily digest, which then carries it; the SMS (held
    in her quiet hours unless ``urgent``); and one message to her office chat's robot.
    True when an e-mail was queued by this call."""
    from caseflow.core.notifications import alerts, channels

    notifications.notify(user, kind=kind, params=params, link=path, now=now)
    wanted = alerts.channels_for(user, event or reminder_event(kind, digestable=digestable))
    link = f"{base_url}{path}"
    if "sms" in wanted:
        channels.queue_sms(user, dedupe_key=dedupe_key, kind=kind, params=params, link=link,
                           now=now, urgent=urgent)
    if user.organisation is not None:
        channels.queue_webhook(user.organisation, dedupe_key=_organisation_key(dedupe_key, user),
                               kind=kind, params=params, link=link, now=now)
    if "email" not in wanted:
        return False
    if digestable and user.email_preference == "digest":
        return False  # the daily digest carries it
    subject, body = reminder_email(user, kind=kind, params=params, link=link, open_line=open_line)
    return notifications.queue_email(dedupe_key=dedupe_key, user=user, subject=subject, body=body,
                                     now=now)


# -- the daily digest ------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSection:
    """One domain's part of the daily digest."""

    name: str
    #: (supervisor, ids of their organisation and those below it, today) -> the items that
    #: need the supervisor's attention, [] when none.
    collect: Callable[[User, frozenset[int], date], Sequence]
    #: The heading above the items, in the reader's locale.
    heading: Callable[[], str]
    #: (item, today, base_url) -> one line, in the reader's locale.
    line: Callable[[object, date, str], str]
    #: (number of items) -> the subject when this is the digest's only section.
    subject: Callable[[int], str]


#: Sections in the order they appear in the digest.
DIGEST_SECTIONS: dict[str, DigestSection] = {}


def register_digest_section(section: DigestSection) -> DigestSection:
    DIGEST_SECTIONS[section.name] = section
    return section


# -- the sweeps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderSweep:
    """A domain's reminder sweep as ``caseflow reminders run`` runs it: ``run(now)`` makes
    one pass and returns what it queued, as its part of the command's one line."""

    name: str
    run: Callable[[datetime], str]
    #: The command runs the sweeps by this, lowest first (and commits after each).
    order: int


SWEEPS: dict[str, ReminderSweep] = {}


def reminder_sweep(name: str, *, order: int):
    """Register a domain's sweep for ``caseflow reminders run``, as jobs are registered
    with ``scheduler.registry.scheduled`` (the core imports no domain)."""
    def decorate(run: Callable[[datetime], str]):
        SWEEPS[name] = ReminderSweep(name=name, run=run, order=order)
        return run

    return decorate


def sweeps_in_order() -> list[ReminderSweep]:
    return sorted(SWEEPS.values(), key=lambda registered: registered.order)


def send_digests(*, directory: Directory, today: date, now: datetime, base_url: str) -> int:
    """One e-mail today for each supervisor who chose the digest and has something in
    some section; returns how many were queued by this call."""
    queued = 0
    for user in directory.all_supervisors():
        if user.email_preference != "digest":
            continue
        org_ids = directory.subtree(user.organisation_id)
        parts = [(section, items) for section in DIGEST_SECTIONS.values()
                 if (items := section.collect(user, org_ids, today))]
        total = sum(len(items) for _, items in parts)
        if not parts or not notifications.claim_digest(recipient_id=user.id, day=today,
                                                       items=total, now=now):
            continue

        def render(parts=parts, total=total, user=user) -> tuple[str, str]:
            subject = (parts[0][0].subject(total) if len(parts) == 1 else
                       ngettext("[caseflow] Daily digest: %(num)d item needs attention",
                                "[caseflow] Daily digest: %(num)d items need attention", total))
            blocks = [_("Dear %(name)s,", name=user.display_name)]
            for section, items in parts:
                blocks += [section.heading(),
                           "\n".join(section.line(item, today, base_url) for item in items)]
            blocks.append(_("This message names the person only by pseudonym. Do not reply to it."))
            return subject, "\n\n".join(blocks)
        subject, body = notifications.in_locale(user, render)
        if notifications.queue_email(dedupe_key=f"digest:{user.id}:{today.isoformat()}", user=user,
                                     subject=subject, body=body, now=now):
            queued += 1
    return queued
