"""Every change to a referral: one function per action, each checking permission,
moving state only along ``TRANSITIONS``, and writing its timeline event and audit row
in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.core.audit.services import changes, record
from caseflow.core import numbering, versions
from caseflow.core.documents import services as documents
from caseflow.core.documents.models import LetterKind
from caseflow.core.calendar.rules import DueDate, WorkingCalendar
from caseflow.core.calendar.services import CHANGE_LISTENERS, DueMove, load_calendar
from caseflow.core.db import local_date, to_local
from caseflow.core.errors import (
    Checks, Conflict, InvalidTransition, NotAllowed, ValidationFailed, require,
)
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.core.orgs.services import (
    LETTER_SERIES_LISTENERS, RECEIVING_DEPARTMENT_LISTENERS, RECEIVING_GAPS, subtree_ids,
)
from caseflow.core.people.models import Person
from caseflow.core.people import policy as people_policy, services as people_services
from caseflow.core.settings.services import SettingSpec, get_setting, register
from caseflow.extensions import db
from caseflow.core import events, files, hooks
from caseflow.core.text import required_text
from caseflow.referrals import alerts, policy
from caseflow.referrals.models import (
    TRANSITIONS, ConsentMethod, Direction, EventKind, HelpKind, LeadSource, Referral,
    ReferralAttachment, ReferralCounter, ReferralEvent, ReferralState, ReplyOutcome,
)

register(SettingSpec(
    key="registration_working_days",
    label=_l("Registration due within (working days)"),
    help=_l("A received referral should be registered within this many working days."),
    minimum=1, maximum=20, config_default="CASEFLOW_REGISTRATION_WORKING_DAYS",
))
register(SettingSpec(
    key="urgent_registration_working_days",
    label=_l("Urgent referrals: registration due within (working days)"),
    help=_l("An urgent referral should be registered this many working days after receipt."),
    minimum=1, maximum=20, config_default="CASEFLOW_URGENT_REGISTRATION_WORKING_DAYS", fallback=1,
))
register(SettingSpec(
    key="urgent_reply_target_working_days",
    label=_l("Urgent referrals: internal reply target (working days)"),
    help=_l("An urgent referral should be answered within this many working days of receipt; "
            "it has reminders of its own, and the statutory one-month date still stands."),
    minimum=1, maximum=20, config_default="CASEFLOW_URGENT_REPLY_TARGET_WORKING_DAYS", fallback=10,
))


@dataclass
class ReferralInput:
    """What the sender fills in; validated by ``check_input``."""

    source: str
    circumstances: str
    help_requested: list[str] = field(default_factory=list)
    is_urgent: bool = False
    criminal_case_number: str | None = None
    offence: str | None = None
    offence_on: date | None = None
    consent_on: date | None = None
    consent_method: str | None = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# -- helpers -------------------------------------------------------------------------


def _event(ref: Referral, kind: EventKind, *, actor, now: datetime, from_state=None,
           to_state=None, text=None, data=None, shared=True) -> ReferralEvent:
    event = ReferralEvent(
        referral_id=ref.id, occurred_at=now, actor_id=actor.id if actor else None,
        actor_name=actor.display_name if actor else _("caseflow"),
        actor_org_name=actor.organisation.name if actor else None, kind=kind.value,
        from_state=from_state, to_state=to_state, text=text, data=data, is_shared=shared,
    )
    db.session.add(event)
    return event


def _audit(action: str, ref: Referral, *, actor, now: datetime, before=None, after=None, reason=None):
    record(action, actor=actor, now=now, obj=ref, object_label=ref.number or f"#{ref.id}",
           organisation_id=ref.sender_org_id, before=before, after=after, reason=reason)


def _move(ref: Referral, to: ReferralState, *, actor, now: datetime, kind: EventKind,
          text: str | None = None, data: dict | None = None) -> None:
    current = ref.state_enum
    if (current, to) not in TRANSITIONS:
        raise InvalidTransition(
            _("A referral that is “%(state)s” cannot become “%(target)s”.",
              state=current.label, target=to.label))
    ref.state = to.value
    ref.updated_at = now
    _event(ref, kind, actor=actor, now=now, from_state=current.value, to_state=to.value,
           text=text, data=data)
    _audit(f"referral.{kind.value}", ref, actor=actor, now=now,
           before={"state": current.value}, after={"state": to.value, **(data or {})}, reason=text)
    events.publish(events.Event(
        name=f"referral.{kind.value}", subject_type="referral", subject_id=ref.id, occurred_at=now,
        data={"referral": referral_event_data(ref), "from_state": current.value,
              "to_state": to.value},
        visible_to=lambda user: policy.can_view_referral(user, ref)))


def _org(org: Organisation) -> dict:
    return {"id": org.id, "code": org.code, "name": org.name}


def referral_event_data(ref: Referral) -> dict:
    """What an event tells of a referral outside caseflow (``core.events``): its number,
    state, the two organisations, dates, and the person by pseudonym only."""
    return {"id": ref.id, "number": ref.number, "state": ref.state, "direction": ref.direction,
            "is_urgent": ref.is_urgent, "sender": _org(ref.sender_org),
            "receiver": _org(ref.receiver_org),
            "person": {"pseudonym": ref.person.pseudonym},
            "received_on": _iso(ref.received_on), "reply_due_on": _iso(ref.reply_due_on),
            "registration_number": ref.registration_number, "reply_outcome": ref.reply_outcome}


CONFLICT_MESSAGE = _l("Someone else changed this referral while you were editing it. Your "
                      "changes are still in the form below: compare them with the current "
                      "version (reload the page in another tab) and save again.")
#: A transition, then the versioned flush (``core.versions``): a concurrent writer is a
#: Conflict with this message, not a server error at commit.
_state_change = versions.state_change(message=CONFLICT_MESSAGE)


def direction_for(sender: Organisation) -> Direction:
    if sender.kind == OrganisationKind.FEDERATION.value:
        return Direction.TO_PROCURATORATE
    if sender.kind == OrganisationKind.PROCURATORATE.value:
        return Direction.TO_FEDERATION
    raise ValidationFailed(_("Only the federation and the procuratorate send referrals."))


class Receiving:
    """Who would hold a referral sent to an organisation, from one read of the active
    accounts. Nobody is never an answer: an organisation is a receiver only if someone may
    register what is sent there (asked of ``policy.can_register``), itself or through its
    receiving department."""

    def __init__(self):
        self.people: dict[int, list[User]] = {}
        # A system registers nothing on its own: a referral needs a person to hold it.
        for user in db.session.scalars(sa.select(User).where(User.is_active_account,
                                                             User.is_service_account.is_(False))):
            self.people.setdefault(user.organisation_id, []).append(user)
        self._registers: dict[int, bool] = {}

    def registers(self, org: Organisation) -> bool:
        """Someone active may register a referral sent to ``org``. Receivers see downwards,
        so only people of ``org`` and of the organisations above it can."""
        if org.id not in self._registers:
            sent_there = Referral(state=ReferralState.SENT.value, receiver_org_id=org.id)
            chain, current = [], org
            while current is not None:
                chain.append(current.id)
                current = current.parent
            self._registers[org.id] = any(
                policy.can_register(user, sent_there)
                for org_id in chain for user in self.people.get(org_id, ()))
        return self._registers[org.id]

    @staticmethod
    def department_of(org: Organisation) -> Organisation | None:
        """Its receiving department while that is active and still below it."""
        unit = (db.session.get(Organisation, org.receiving_department_id)
                if org.receiving_department_id else None)
        if unit is None or not unit.is_active:
            return None
        above = unit.parent
        while above is not None and above.id != org.id:
            above = above.parent
        return unit if above is not None else None

    def holder(self, org: Organisation) -> Organisation | None:
        """The organisation that holds a referral sent to ``org`` (its receiving department,
        followed as far down as one can act, else ``org`` itself), or None for nobody."""
        if not org.is_active:
            return None
        unit = self.department_of(org)
        if unit is not None:
            held = self.holder(unit)  # a unit is below its organisation: no cycle
            if held is not None:
                return held
        return org if self.registers(org) else None

    def gap(self, org: Organisation) -> str | None:
        """Why a referral sent to ``org`` would not reach anyone, or would not reach the
        receiving department it names; None when it reaches whom it should."""
        if not org.is_active or org.kind not in policy.FILING_ROLES:
            return None
        named = (db.session.get(Organisation, org.receiving_department_id)
                 if org.receiving_department_id else None)
        unit = self.department_of(org)
        if named is not None and unit is None:
            problem = _("its receiving department %(unit)s is inactive or no longer below it",
                        unit=named.name)
        elif unit is not None and self.holder(unit) is None:
            problem = _("nobody in its receiving department %(unit)s may register referrals",
                        unit=unit.name)
        elif unit is None and not self.registers(org):
            return _("Not offered as a receiver of referrals: nobody here or above may register "
                     "them (an active federation officer, prosecutor or supervisor), and it has "
                     "no receiving department.")
        else:
            return None
        if self.registers(org):
            return _("Referrals sent here stay here: %(problem)s.", problem=problem)
        return _("Not offered as a receiver of referrals: %(problem)s, and nobody here or above "
                 "may register them.", problem=problem)


def _receiving_gaps(orgs: list[Organisation]) -> dict[int, str]:
    receiving = Receiving()
    gaps = {org.id: receiving.gap(org) for org in orgs}
    return {org_id: reason for org_id, reason in gaps.items() if reason}


RECEIVING_GAPS.append(_receiving_gaps)


def receiver_choices(sender: Organisation) -> list[tuple[Organisation, Organisation]]:
    """(organisation, who holds what is sent there) for every organisation on the other
    side that can act on a referral from ``sender``."""
    kind = (OrganisationKind.PROCURATORATE if sender.kind == OrganisationKind.FEDERATION.value
            else OrganisationKind.FEDERATION)
    receiving = Receiving()
    candidates = db.session.scalars(
        sa.select(Organisation).where(Organisation.kind == kind.value, Organisation.is_active)
        .order_by(Organisation.code)).all()
    held = [(org, receiving.holder(org)) for org in candidates]
    return [(org, holder) for org, holder in held if holder is not None]


def receivers_for(sender: Organisation) -> list[Organisation]:
    """The organisations a referral from ``sender`` may go to: the other side's that can act."""
    return [org for org, _holder in receiver_choices(sender)]


def _holder_of(receiver: Organisation | None, sender: Organisation) -> Organisation:
    """Who holds a referral the sender addresses to ``receiver``; refused, with the reason,
    when that is nobody (a stale form, a crafted request, staff gone since)."""
    kind = (OrganisationKind.PROCURATORATE if sender.kind == OrganisationKind.FEDERATION.value
            else OrganisationKind.FEDERATION)
    if receiver is None or receiver.kind != kind.value:
        raise ValidationFailed(_("Choose a receiving organisation on the other side."),
                               field="receiver_org_id")
    holder = Receiving().holder(receiver)
    if holder is None:
        raise ValidationFailed(
            _("%(org)s cannot act on a referral: nobody there may register it and it has no "
              "receiving department that could. Choose another organisation; the system "
              "administrator can name its receiving department.", org=receiver.name),
            field="receiver_org_id")
    return holder


def forward_unregistered(org: Organisation, *, actor, now: datetime) -> int:
    """The organisation's receiving department has changed: what was sent to it and is not
    yet registered goes to whoever holds it now (a referral sent to 江汉区人民检察院 before
    the 5th department was named reached nobody until then). Registered ones stay with
    their handler. Returns how many moved."""
    holder = Receiving().holder(org)
    if holder is None or holder.id == org.id:
        return 0
    waiting = db.session.scalars(sa.select(Referral).where(
        Referral.receiver_org_id == org.id, Referral.state == ReferralState.SENT.value)
        .order_by(Referral.id)).all()
    for ref in waiting:
        _audit("referral.forward", ref, actor=actor, now=now,
               before={"receiver_org_id": org.id}, after={"receiver_org_id": holder.id})
        ref.receiver_org_id, ref.receiver_org = holder.id, holder
    versions.flush_versioned(CONFLICT_MESSAGE)
    return len(waiting)


RECEIVING_DEPARTMENT_LISTENERS.append(forward_unregistered)


def check_input(data: ReferralInput, *, today: date, checks: Checks | None = None) -> ReferralInput:
    """The sender's input, every field checked; the refusal (``FieldErrors``) names each
    bad field. With ``checks`` the errors join the caller's (who calls ``checks.done()``)."""
    own = checks is None
    checks = checks if checks is not None else Checks()
    with checks:
        if data.source not in {s.value for s in LeadSource}:
            raise ValidationFailed(_("Choose where the lead came from."), field="source")
    with checks:
        data.circumstances = required_text(
            data.circumstances, "circumstances", _("Describe the circumstances."))
    with checks:
        unknown = set(data.help_requested) - {h.value for h in HelpKind}
        if not data.help_requested or unknown:
            raise ValidationFailed(_("Choose at least one kind of help asked for."),
                                   field="help_requested")
    with checks:
        if data.offence_on and data.offence_on > today:
            raise ValidationFailed(_("The date of the offence cannot be in the future."),
                                   field="offence_on")
    with checks:
        if data.consent_on and data.consent_on > today:
            raise ValidationFailed(_("The consent date cannot be in the future."), field="consent_on")
    with checks:
        if data.consent_method and data.consent_method not in {c.value for c in ConsentMethod}:
            raise ValidationFailed(_("Choose how consent was given."), field="consent_method")
        if data.consent_on and not data.consent_method:
            raise ValidationFailed(_("Say how consent was given."), field="consent_method")
    for name in ("criminal_case_number", "offence"):
        setattr(data, name, (getattr(data, name) or "").strip() or None)
    if own:
        checks.done()
    return data


def _apply_input(ref: Referral, data: ReferralInput) -> None:
    for key, value in data.as_dict().items():
        setattr(ref, key, value)


# -- drafting ------------------------------------------------------------------------


def check_draft(*, actor, receiver: Organisation | None, data: ReferralInput, today: date,
                checks: Checks | None = None) -> tuple[Organisation, ReferralInput]:
    """The receiver and the input of a draft, all checked at once; returns who holds it
    (addressed to the procuratorate, held by its receiving department: the department's
    inbox, reminders and overdue list see it; its letters still name the procuratorate)."""
    own = checks is None
    checks = checks if checks is not None else Checks()
    holder = None
    with checks:
        holder = _holder_of(receiver, actor.organisation)
    data = check_input(data, today=today, checks=checks)
    if own:
        checks.done()
    return holder, data


def _submitted(actor, submission_token: str) -> Referral | None:
    """The draft this user already made from the same form (its submission token)."""
    return db.session.scalar(sa.select(Referral).where(
        Referral.created_by_id == actor.id, Referral.submission_token == submission_token))


@dataclass
class NewPerson:
    """The person a new referral records with it, as the sender typed her in."""

    pseudonym: str | None
    identity: people_services.Identity


def check_new_referral(*, actor, now: datetime, new_person: NewPerson | None,
                       receiver: Organisation | None, data: ReferralInput) -> None:
    """The new-referral form, every field checked at once and nothing written: her record's
    (when she is recorded with it, ``new_person``) and the draft's. The refusal
    (``FieldErrors``) names each bad field; ``file_referral`` refuses by the same checks."""
    checks = Checks()
    if new_person is not None:
        with checks:
            people_services.check_person(actor=actor, now=now, pseudonym=new_person.pseudonym,
                                         identity=new_person.identity)
    check_draft(actor=actor, receiver=receiver, data=data, today=local_date(now), checks=checks)
    checks.done()


def file_referral(*, actor, now: datetime, person: Person | None, new_person: NewPerson | None,
                  receiver: Organisation | None, data: ReferralInput,
                  submission_token: str) -> Referral:
    """A new draft for a person already recorded (``person``) or one recorded with it
    (``new_person``). Her record and the draft are refused together, with every field's
    error, before either is written."""
    require(policy.can_file_referral(actor), _("Your roles do not allow filing referrals."))
    existing = _submitted(actor, submission_token)
    if existing is not None:  # the same form again: her record is not made a second time
        return existing
    if person is None:
        new_person = new_person or NewPerson(pseudonym=None, identity=people_services.Identity())
        check_new_referral(actor=actor, now=now, new_person=new_person, receiver=receiver,
                           data=data)
        person = people_services.record_person(actor=actor, now=now, pseudonym=new_person.pseudonym,
                                               identity=new_person.identity)
    return save_draft(actor=actor, now=now, person=person, receiver=receiver, data=data,
                      submission_token=submission_token)


def save_draft(*, actor, now: datetime, person: Person, receiver: Organisation, data: ReferralInput,
               submission_token: str) -> Referral:
    """A new draft. A second submit of the same form returns the first draft."""
    require(policy.can_file_referral(actor), _("Your roles do not allow filing referrals."))
    existing = _submitted(actor, submission_token)
    if existing is not None:
        return existing
    if not people_policy.can_view_person(actor, person):
        raise NotAllowed(_("You cannot refer a person your organisation does not hold."))
    direction = direction_for(actor.organisation)
    receiver, data = check_draft(actor=actor, receiver=receiver, data=data, today=local_date(now))
    ref = Referral(
        state=ReferralState.DRAFT.value, direction=direction.value,
        sender_org_id=actor.organisation_id, receiver_org_id=receiver.id, created_by_id=actor.id,
        person_id=person.id, submission_token=submission_token, created_at=now, updated_at=now,
    )
    _apply_input(ref, data)
    db.session.add(ref)
    db.session.flush()
    _event(ref, EventKind.CREATED, actor=actor, now=now, to_state=ReferralState.DRAFT.value)
    _audit("referral.create", ref, actor=actor, now=now,
           after={"state": "draft", "receiver_org_id": receiver.id, **data.as_dict()})
    return ref


def update_referral(ref: Referral, *, actor, now: datetime, expected_version: int,
                    receiver: Organisation, data: ReferralInput) -> Referral:
    require(policy.can_edit_referral(actor, ref),
            _("Only the sender changes a referral, and only while it is a draft or returned."))
    versions.check_version(ref.version, expected_version, CONFLICT_MESSAGE)
    receiver, data = check_draft(actor=actor, receiver=receiver, data=data, today=local_date(now))
    before = {**{k: getattr(ref, k) for k in data.as_dict()}, "receiver_org_id": ref.receiver_org_id}
    _apply_input(ref, data)
    ref.receiver_org_id = receiver.id
    ref.updated_at = now
    old, new = changes(before, {**data.as_dict(), "receiver_org_id": receiver.id})
    if new:
        _event(ref, EventKind.AMENDED, actor=actor, now=now, data={"fields": sorted(new)})
        _audit("referral.amend", ref, actor=actor, now=now, before=old, after=new)
    versions.flush_versioned(CONFLICT_MESSAGE)  # the version check, against concurrent writers
    return ref


files.register(ReferralAttachment.sha256)  # so that `caseflow keys rotate` re-encrypts them


def add_attachment(ref: Referral, *, actor, now: datetime, filename: str, data: bytes) -> ReferralAttachment:
    require(policy.can_edit_referral(actor, ref) or policy.can_comment(actor, ref),
            _("Your roles do not allow adding files to this referral."))
    checked = files.check(filename, data)
    files.store(data, checked.sha256)
    row = ReferralAttachment(
        referral_id=ref.id, filename=checked.filename, content_type=checked.content_type,
        size_bytes=checked.size, sha256=checked.sha256, uploaded_at=now, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _event(ref, EventKind.ATTACHMENT_ADDED, actor=actor, now=now, text=checked.filename,
           data={"sha256": checked.sha256, "size": checked.size})
    _audit("referral.attachment", ref, actor=actor, now=now,
           after={"filename": checked.filename, "sha256": checked.sha256, "size": checked.size})
    return row


# -- numbering and deadlines ----------------------------------------------------------


def next_number(sender: Organisation, year: int) -> tuple[str, int, Organisation]:
    """The next number in the sender's series for ``year``: ``江汉妇移〔2026〕3号``; two
    concurrent sends never share one (``core.numbering``). The series' owner heads and
    signs the 移送函 (``core.documents``: a street federation without a prefix of its own
    sends as its district federation)."""
    series = documents.letter_issuer(sender, "referral_prefix")
    if series is None:
        raise ValidationFailed(
            _("%(org)s has no referral number prefix; the system administrator sets one on the "
              "organisation page.", org=sender.name))
    seq = numbering.next_in_series(ReferralCounter, series.id, year)
    return numbering.official_number(series.referral_prefix, year, seq), seq, series


@dataclass(frozen=True)
class ClockDates:
    due: DueDate
    registration_due: date
    target_due: date | None


def clock_dates(*, is_urgent: bool, received_on: date, calendar: WorkingCalendar) -> ClockDates:
    """The dates a referral received on ``received_on`` runs to, the one place that says
    so (sending, registering with another received date, the calendar moving). Urgent
    means faster: registration due sooner, and an internal reply target before the
    statutory date (settings); the statutory date is the same for all."""
    registration_days = get_setting("urgent_registration_working_days" if is_urgent
                                    else "registration_working_days")
    return ClockDates(
        due=calendar.reply_due(received_on),
        registration_due=calendar.add_working_days(received_on, registration_days).day,
        target_due=calendar.add_working_days(
            received_on, get_setting("urgent_reply_target_working_days")).day if is_urgent else None)


def _set_clock(ref: Referral, received_on: date, calendar: WorkingCalendar) -> None:
    dates = clock_dates(is_urgent=ref.is_urgent, received_on=received_on, calendar=calendar)
    ref.received_on = received_on
    ref.registration_due_on = dates.registration_due
    ref.target_due_on = dates.target_due
    due = dates.due
    ref.statutory_due_on, ref.due_is_provisional = due.day, due.is_provisional
    ref.extended_due_on, ref.extension_reason = None, None
    ref.reply_due_on = due.day


# -- the transitions ---------------------------------------------------------------------


@_state_change
def send(ref: Referral, *, actor, now: datetime) -> Referral:
    require(policy.can_send(actor, ref), _("Only the sender sends a referral."))
    if ref.consent_on is None or not ref.consent_method:
        raise ValidationFailed(
            _("Record the person's consent to share (date and how it was given) before sending."),
            field="consent_on")
    # Staff may have left, or a receiving department been named, since the draft was saved.
    holder = _holder_of(ref.receiver_org, ref.sender_org)
    if holder.id != ref.receiver_org_id:
        _audit("referral.forward", ref, actor=actor, now=now,
               before={"receiver_org_id": ref.receiver_org_id}, after={"receiver_org_id": holder.id})
        ref.receiver_org_id, ref.receiver_org = holder.id, holder
    today = local_date(now)
    first_time = ref.number is None
    if first_time:
        ref.number, ref.number_seq, series = next_number(ref.sender_org, today.year)
        ref.number_year, ref.numbering_org_id = today.year, series.id
    ref.sent_at = now
    ref.return_reason = None
    _set_clock(ref, today, load_calendar())
    _move(ref, ReferralState.SENT, actor=actor, now=now, kind=EventKind.SENT,
          data={"number": ref.number, "received_on": today.isoformat(),
                "reply_due_on": ref.reply_due_on.isoformat(), "resent": not first_time})
    alerts.sent(ref, actor=actor, now=now)
    return ref


@_state_change
def withdraw(ref: Referral, *, actor, now: datetime, reason: str) -> Referral:
    require(policy.can_withdraw(actor, ref),
            _("Only the sender withdraws a referral, and only before it is registered."))
    reason = required_text(reason, "reason", _("Say why the referral is withdrawn."))
    ref.withdraw_reason = reason
    ref.return_reason = None
    _move(ref, ReferralState.WITHDRAWN, actor=actor, now=now, kind=EventKind.WITHDRAWN, text=reason)
    return ref


def discard_draft(ref: Referral, *, actor, now: datetime, reason: str) -> Referral:
    """A draft nobody will send, out of use: gone from the lists, never numbered or sent,
    kept with its reason (the timeline shows it, the audit row keeps it). It stays a draft
    in ``state``: it never was sent, and nothing that counts sent referrals may count it."""
    require(policy.can_discard(actor, ref),
            _("Only the draft's author or her organisation discards a draft, and only while "
               "it is an unsent draft."))
    reason = required_text(reason, "reason", _("Say why the draft is discarded."))
    ref.discarded_at, ref.discard_reason = now, reason
    ref.updated_at = now
    _event(ref, EventKind.DISCARDED, actor=actor, now=now, text=reason)
    _audit("referral.discard", ref, actor=actor, now=now, before={"discarded": False},
           after={"discarded": True}, reason=reason)
    return ref


def has_drafts(user) -> bool:
    """Whether ``user`` has drafts of her own waiting to be sent (not discarded)."""
    return db.session.scalar(sa.select(Referral.id).where(
        Referral.created_by_id == user.id, Referral.state == ReferralState.DRAFT.value,
        Referral.discarded_at.is_(None)).limit(1)) is not None


def _check_handler(ref: Referral, handler: User | None) -> User:
    if handler is None:
        raise ValidationFailed(_("Designate a handler."), field="handler_id")
    if handler.organisation_id not in subtree_ids(ref.receiver_org_id):
        raise ValidationFailed(
            _("%(name)s is not in %(org)s; the handler must belong to the receiving organisation.",
              name=handler.display_name, org=ref.receiver_org.name), field="handler_id")
    if not handler.is_active_account or not handler.has_role(*policy.HANDLING_ROLES):
        raise ValidationFailed(_("%(name)s cannot handle referrals.", name=handler.display_name),
                               field="handler_id")
    return handler


def handlers_for(ref: Referral) -> list[User]:
    orgs = subtree_ids(ref.receiver_org_id)
    users = db.session.scalars(sa.select(User).where(
        User.organisation_id.in_(orgs), User.is_active_account,
        User.is_service_account.is_(False),  # a system handles nothing
    ).order_by(User.display_name)).all()
    return [u for u in users if u.has_role(*policy.HANDLING_ROLES) and u.admin_role is None]


@_state_change
def register(ref: Referral, *, actor, now: datetime, registration_number: str,
             received_on: date, handler: User | None, expected_version: int | None = None) -> Referral:
    if ref.registered_at is not None and policy.on_receiver_side(actor, ref):
        # Registered meanwhile (in another tab, or by a colleague): say so, not "only the
        # receiving organisation registers", which is true but not why.
        raise InvalidTransition(_("This referral was already registered, as %(number)s on %(time)s.",
                                  number=ref.registration_number,
                                  time=to_local(ref.registered_at).strftime("%Y-%m-%d %H:%M")))
    require(policy.can_register(actor, ref),
            _("Only the receiving organisation registers a referral."))
    versions.check_version(ref.version, expected_version, CONFLICT_MESSAGE)
    registration_number = required_text(registration_number, "registration_number",
                                          _("Enter the registration number."))
    today = local_date(now)
    if received_on > today:
        raise ValidationFailed(_("The received date cannot be in the future."), field="received_on")
    if received_on < today - timedelta(days=366):
        raise ValidationFailed(_("The received date is more than a year ago."), field="received_on")
    taken = db.session.scalar(sa.select(Referral.id).where(
        Referral.receiver_org_id == ref.receiver_org_id,
        Referral.registration_number == registration_number, Referral.id != ref.id))
    if taken is not None:
        raise Conflict(_("Registration number %(number)s is already used in %(org)s.",
                         number=registration_number, org=ref.receiver_org.name),
                       field="registration_number")
    handler = _check_handler(ref, handler)
    ref.registration_number = registration_number
    ref.registered_at = now
    ref.handler_id = handler.id
    if received_on != ref.received_on:
        _set_clock(ref, received_on, load_calendar())
    _move(ref, ReferralState.REGISTERED, actor=actor, now=now, kind=EventKind.REGISTERED,
          data={"registration_number": registration_number, "received_on": received_on.isoformat(),
                "handler": handler.display_name, "reply_due_on": ref.reply_due_on.isoformat()})
    alerts.registered(ref, handler=handler, actor=actor, now=now)
    return ref


@_state_change
def assign_handler(ref: Referral, *, actor, now: datetime, handler: User | None,
                   reason: str | None = None) -> Referral:
    require(policy.can_assign_handler(actor, ref),
            _("Only a supervisor of the receiving organisation reassigns a referral."))
    handler = _check_handler(ref, handler)
    if handler.id == ref.handler_id:
        return ref
    before = ref.handler.display_name if ref.handler else None
    ref.handler_id = handler.id
    ref.updated_at = now
    _event(ref, EventKind.HANDLER_ASSIGNED, actor=actor, now=now, text=reason,
           data={"from": before, "to": handler.display_name})
    _audit("referral.handler", ref, actor=actor, now=now, before={"handler": before},
           after={"handler": handler.display_name}, reason=reason)
    alerts.handler_changed(ref, handler=handler, actor=actor, now=now)
    return ref


def add_note(ref: Referral, *, actor, now: datetime, text: str) -> ReferralEvent:
    require(policy.can_add_note(actor, ref),
            _("Progress notes are for the receiving organisation while it handles the referral."))
    text = required_text(text, "text", _("Write the note."))
    event = _event(ref, EventKind.NOTE, actor=actor, now=now, text=text, shared=False)
    _audit("referral.note", ref, actor=actor, now=now)
    return event


def comment(ref: Referral, *, actor, now: datetime, text: str) -> ReferralEvent:
    require(policy.can_comment(actor, ref), _("Your roles do not allow commenting here."))
    text = required_text(text, "text", _("Write the comment."))
    event = _event(ref, EventKind.COMMENT, actor=actor, now=now, text=text)
    _audit("referral.comment", ref, actor=actor, now=now)
    alerts.commented(ref, actor=actor, now=now)
    return event


def _reply_case(ref: Referral, *, actor, outcome: str, case_id: int | None):
    """The case a reply "judicial aid case opened" names: one of the choices offered, and
    there must be one. Other outcomes name none."""
    if outcome != ReplyOutcome.AID_CASE_OPENED.value:
        return None
    choices = hooks.REPLY_CASE_CANDIDATES(actor, ref)
    if not choices:
        raise ValidationFailed(
            _("No judicial aid case has been opened from this referral or for this person: "
              "open the case first, then reply."), field="case_id")
    case = next((c for c in choices if c.id == case_id), None)
    if case is None:
        raise ValidationFailed(_("Choose the judicial aid case that was opened."), field="case_id")
    return case


@_state_change
def reply(ref: Referral, *, actor, now: datetime, outcome: str, text: str, reply_on: date,
          case_id: int | None = None) -> Referral:
    require(policy.can_reply(actor, ref),
            _("The formal reply is the handler's or a supervisor's of the receiving organisation."))
    if outcome not in {o.value for o in ReplyOutcome}:
        raise ValidationFailed(_("Choose the outcome."), field="outcome")
    case = _reply_case(ref, actor=actor, outcome=outcome, case_id=case_id)
    text = required_text(text, "text", _("Write the reply."))
    if reply_on > local_date(now):
        raise ValidationFailed(_("The reply date cannot be in the future."), field="reply_on")
    if ref.received_on and reply_on < ref.received_on:
        raise ValidationFailed(_("The reply date cannot be before the referral was received."),
                               field="reply_on")
    ref.reply_outcome, ref.reply_text, ref.reply_on, ref.replied_at = outcome, text, reply_on, now
    _number_reply_letter(ref)
    if case is not None:
        hooks.REPLY_CASE_LINK(case, ref, actor=actor, now=now)
    _move(ref, ReferralState.REPLIED, actor=actor, now=now, kind=EventKind.REPLIED, text=text,
          data={"outcome": outcome, "reply_on": reply_on.isoformat(),
                "on_time": reply_on <= ref.reply_due_on,
                **({"case": case.number, "case_id": case.id} if case is not None else {})})
    alerts.answered(ref, actor=actor, kind="referral.replied", now=now)
    return ref


def _number_reply_letter(ref: Referral) -> bool:
    """Give the reply's 回告函 its number in the letter series of the receiver's issuer (or
    of the nearest organisation above it with a letter prefix, which then heads and signs
    it: ``core.documents``). False when there is no such series: the reply stands, and its
    letter waits for a prefix (``number_waiting_replies``)."""
    if ref.reply_number is not None:
        return True
    taken = documents.next_letter_number(ref.receiver_org, LetterKind.REPLY, ref.reply_on.year)
    if taken is None:
        return False
    ref.reply_number, series = taken
    ref.reply_numbering_org_id, ref.reply_numbering_org = series.id, series
    return True


def number_waiting_replies(org: Organisation, *, actor, now: datetime) -> int:
    """A letter series has been set or moved (a letter prefix, an issuer, a parent): the
    replies recorded while their receiver had no series take their numbers now, in the
    order of their reply dates, each audited. Returns how many were numbered."""
    below = subtree_ids(org.id)
    # Whose series may have moved: the organisation, its units, and those issuing as one.
    affected = below | set(db.session.scalars(sa.select(Organisation.id).where(
        Organisation.documents_issued_as_id.in_(below))))
    waiting = db.session.scalars(sa.select(Referral).where(
        Referral.replied_at.is_not(None), Referral.reply_number.is_(None),
        Referral.receiver_org_id.in_(affected))
        .order_by(Referral.reply_on, Referral.id)).all()
    numbered = 0
    for ref in waiting:
        if _number_reply_letter(ref):
            _audit("referral.reply_numbered", ref, actor=actor, now=now,
                   before={"reply_number": None}, after={"reply_number": ref.reply_number})
            numbered += 1
    return numbered


LETTER_SERIES_LISTENERS.append(number_waiting_replies)


@_state_change
def close(ref: Referral, *, actor, now: datetime) -> Referral:
    require(policy.can_close(actor, ref), _("The sender closes a referral after its reply."))
    ref.closed_at = now
    _move(ref, ReferralState.CLOSED, actor=actor, now=now, kind=EventKind.CLOSED)
    return ref


@_state_change
def return_referral(ref: Referral, *, actor, now: datetime, reason: str) -> Referral:
    require(policy.can_return(actor, ref),
            _("Only the receiving organisation returns a referral, before replying."))
    reason = required_text(reason, "reason", _("Say why the referral is outside your remit."))
    ref.return_reason = reason
    ref.registered_at = None
    ref.registration_number = None
    ref.handler_id = None
    ref.target_due_on = None  # the sender may edit urgency; sending again sets a new clock
    _move(ref, ReferralState.RETURNED, actor=actor, now=now, kind=EventKind.RETURNED, text=reason)
    alerts.answered(ref, actor=actor, kind="referral.returned", now=now)
    return ref


@_state_change
def extend_deadline(ref: Referral, *, actor, now: datetime, new_due_on: date, reason: str) -> Referral:
    require(policy.can_extend(actor, ref),
            _("Only a supervisor of the receiving organisation extends the deadline."))
    reason = required_text(reason, "reason", _("Say why the deadline is extended."))
    if new_due_on <= ref.reply_due_on:
        raise ValidationFailed(
            _("An extension must be later than the current due date (%(day)s).",
              day=ref.reply_due_on.isoformat()), field="new_due_on")
    before = ref.reply_due_on
    ref.extended_due_on, ref.extension_reason = new_due_on, reason
    ref.reply_due_on = new_due_on
    ref.updated_at = now
    _event(ref, EventKind.EXTENDED, actor=actor, now=now, text=reason,
           data={"from": before.isoformat(), "to": new_due_on.isoformat(),
                 "statutory": ref.statutory_due_on.isoformat()})
    _audit("referral.extend", ref, actor=actor, now=now, before={"reply_due_on": before},
           after={"reply_due_on": new_due_on}, reason=reason)
    alerts.answered(ref, actor=actor, kind="referral.extended", now=now,
                    statutory=ref.statutory_due_on.isoformat())
    return ref


# -- the calendar moved -----------------------------------------------------------------


def recompute_due_dates(calendar: WorkingCalendar, *, actor, now: datetime,
                        reason: str) -> list[DueMove]:
    """Open referrals' statutory and registration dates under the changed calendar; each
    move (or a date that became official) is recorded in the timeline and the audit log,
    and returned, so that a preview of a calendar change shows exactly these."""
    moves = []
    open_refs = db.session.scalars(sa.select(Referral).where(
        Referral.state.in_([s.value for s in (ReferralState.SENT, ReferralState.REGISTERED)]),
        Referral.received_on.is_not(None)).order_by(Referral.id)).all()
    for ref in open_refs:
        dates = clock_dates(is_urgent=ref.is_urgent, received_on=ref.received_on, calendar=calendar)
        due, registration_due = dates.due, dates.registration_due
        if (due.day, due.is_provisional, registration_due, dates.target_due) == (
                ref.statutory_due_on, ref.due_is_provisional, ref.registration_due_on,
                ref.target_due_on):
            continue
        move = DueMove(label=ref.number or f"#{ref.id}", subject=ref.person.pseudonym,
                       due_from=ref.statutory_due_on, due_to=due.day,
                       was_provisional=ref.due_is_provisional, is_provisional=due.is_provisional,
                       registration_from=ref.registration_due_on, registration_to=registration_due)
        before = {"statutory_due_on": ref.statutory_due_on, "provisional": ref.due_is_provisional,
                  "registration_due_on": ref.registration_due_on, "target_due_on": ref.target_due_on}
        ref.statutory_due_on, ref.due_is_provisional = due.day, due.is_provisional
        ref.registration_due_on = registration_due
        ref.target_due_on = dates.target_due
        if ref.extended_due_on is None:
            ref.reply_due_on = due.day
        ref.updated_at = now
        text = reason
        if move.registration_moved and move.registration_from is not None:
            text = "\n".join([reason, _("Registration due %(before)s → %(after)s.",
                                        before=move.registration_from.isoformat(),
                                        after=registration_due.isoformat())])
        _event(ref, EventKind.DUE_MOVED, actor=actor, now=now, text=text,
               data={"from": before["statutory_due_on"].isoformat() if before["statutory_due_on"] else None,
                     "to": due.day.isoformat(), "provisional": due.is_provisional,
                     "was_provisional": move.was_provisional,
                     "registration_from": _iso(move.registration_from),
                     "registration_to": registration_due.isoformat()})
        _audit("referral.due_moved", ref, actor=actor, now=now, before=before,
               after={"statutory_due_on": due.day, "provisional": due.is_provisional,
                      "registration_due_on": registration_due, "target_due_on": dates.target_due},
               reason=reason)
        moves.append(move)
    versions.flush_versioned(CONFLICT_MESSAGE)
    return moves


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


CHANGE_LISTENERS.append(recompute_due_dates)


def note_imported(ref: Referral, *, actor, now: datetime, filename: str, row: int) -> ReferralEvent:
    """The timeline's entry of a referral brought in from an office's ledger
    (``caseflow.imports``): who imported it, when, from which file and row. Its original
    dates are the referral's own columns."""
    return _event(ref, EventKind.CREATED, actor=actor, now=now, to_state=ref.state,
                  text=_("Imported from %(file)s, row %(row)d.", file=filename, row=row),
                  data={"imported": {"file": filename, "row": row}})


# -- reading -------------------------------------------------------------------------------


def visible_events(ref: Referral, user) -> list[ReferralEvent]:
    notes = policy.can_see_notes(user, ref)
    return [e for e in ref.events if e.is_shared or notes]


def days_left(ref: Referral, today: date) -> int | None:
    if not ref.is_open or ref.reply_due_on is None:
        return None
    return (ref.reply_due_on - today).days
