"""Importing an office's referral ledger, with the engine every ledger kind shares
(``engine.py``): the preview (every row checked, nothing written) and the import (the same
checks, then every row written in the caller's transaction, or none).

A row is added, or already in caseflow (its number is: the same file imported again, or
the same referral in another file, adds nothing), or refused with every error named by its
row and column. People are found by their resident ID number through the blind index
(never by decrypting), else recorded, once per number in the file.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from caseflow.core import numbering
from caseflow.core.calendar.services import load_calendar
from caseflow.core.orgs.models import Organisation
from caseflow.core.orgs.roles import OrganisationKind
from caseflow.extensions import db
from caseflow.imports import engine, policy
from caseflow.imports.engine import (  # noqa: F401  (CHUNK, SHOWN, sha256_of, Preview: the tests')
    CHUNK, SHOWN, LedgerKind, Lookups, Preview, RowPlan, Writer, check_number, check_person,
    labels_of, moment, ngettext_rows, recent_batches, refuse, refuse_before, refuse_unknown_org,
    sha256_of,
)
from caseflow.imports.models import ImportKind
from caseflow.imports.parse import Column
from caseflow.referrals import policy as referral_policy
from caseflow.referrals.models import (
    ConsentMethod, Direction, HelpKind, LeadSource, Referral, ReferralCounter, ReferralState,
    ReplyOutcome,
)
from caseflow.referrals import services as referral_services
from caseflow.referrals.services import Receiving, clock_dates

_labels = labels_of
REFERRAL_COLUMNS = [
    Column("number", _l("Number"), required=True, example="江汉妇移〔2024〕1号"),
    Column("direction", _l("Direction"), choices=_labels(Direction)),
    Column("sender", _l("Sending organisation"), required=True, example="江汉区妇女联合会"),
    Column("receiver", _l("Receiving organisation"), required=True, example="江汉区人民检察院"),
    Column("pseudonym", _l("Pseudonym"), required=True, example="小慧"),
    Column("real_name", _l("Real name")),
    Column("resident_id", _l("Resident ID number"), example="420103198503120020"),
    Column("phone", _l("Phone")),
    Column("source", _l("Where the lead came from"), required=True, choices=_labels(LeadSource)),
    Column("criminal_case_number", _l("Criminal case number")),
    Column("offence", _l("Offence")),
    Column("offence_on", _l("Date of the offence"), is_date=True),
    Column("circumstances", _l("Circumstances"), required=True,
           example="丈夫因刑事案件去世，无固定收入"),
    Column("help_requested", _l("Help asked for"), required=True, choices=_labels(HelpKind),
           several=True),
    Column("is_urgent", _l("Urgent"), is_flag=True),
    Column("consent_on", _l("Consent to share given on"), required=True, is_date=True,
           example="2024-03-02"),
    Column("consent_method", _l("How consent was given"), required=True,
           choices=_labels(ConsentMethod)),
    Column("sent_on", _l("Sent on"), required=True, is_date=True, example="2024-03-03"),
    Column("received_on", _l("Received on"), required=True, is_date=True, example="2024-03-04"),
    Column("registration_number", _l("Registration number"), example="江汉检登〔2024〕1号"),
    Column("registered_on", _l("Registered on"), is_date=True, example="2024-03-05"),
    Column("handler", _l("Handler"), example="张明"),
    Column("reply_on", _l("Reply date"), is_date=True, example="2024-03-28"),
    Column("reply_outcome", _l("Outcome"), choices=_labels(ReplyOutcome)),
    Column("reply_text", _l("Reply")),
    Column("closed_on", _l("Closed on"), is_date=True),
    # A ledger export's computed columns: read past, never imported.
    Column("state", _l("State"), ignored=True),
    Column("reply_due_on", _l("Reply due"), ignored=True),
]
COLUMN_BY_KEY = {c.key: c for c in REFERRAL_COLUMNS}
#: The example row's flag and choice cells, as the template shows them.
EXAMPLE_CHOICES = {"direction": Direction.TO_PROCURATORATE, "source": LeadSource.PETITION_RECEPTION,
                   "help_requested": HelpKind.JUDICIAL_AID, "consent_method": ConsentMethod.WRITTEN,
                   "reply_outcome": ReplyOutcome.AID_CASE_OPENED}


class _Lookups(Lookups):
    """Besides the organisations and people: the users who may handle referrals, read
    once; the chunk's numbers and registration numbers already used."""

    def __init__(self, actor):
        super().__init__(actor)
        self.handlers = self.users_by_name(*referral_policy.HANDLING_ROLES)
        self.numbers_taken: set[str] = set()
        self.registrations_taken: set[tuple[int, str]] = set()

    def load_rows(self, plans: list[RowPlan]) -> None:
        numbers = sorted({str(p.values["number"]) for p in plans if p.values.get("number")})
        self.numbers_taken = set(db.session.scalars(
            sa.select(Referral.number).where(Referral.number.in_(numbers)))) if numbers else set()
        registrations = sorted({str(p.values["registration_number"]) for p in plans
                                if p.values.get("registration_number")})
        self.registrations_taken = set(db.session.execute(
            sa.select(Referral.receiver_org_id, Referral.registration_number)
            .where(Referral.registration_number.in_(registrations))).tuples()) if registrations else set()


def _check_row(plan: RowPlan, v: dict, look: _Lookups, *, today: date, seen: dict) -> None:
    """The row's own rules, each broken one an error of its column."""
    if not check_number(plan, v, look, seen):
        return
    sender = receiver = None
    if "sender" in v:
        sender = look.org(v["sender"])
        if sender is None:
            refuse_unknown_org(plan, "sender", v["sender"])
    if "receiver" in v:
        receiver = look.org(v["receiver"])
        if receiver is None:
            refuse_unknown_org(plan, "receiver", v["receiver"])
    sides = {OrganisationKind.FEDERATION.value, OrganisationKind.PROCURATORATE.value}
    if sender is not None and receiver is not None:
        if sender.kind not in sides or receiver.kind not in sides or sender.kind == receiver.kind:
            refuse(plan, "receiver", _("A referral goes from the federation to the procuratorate "
                                        "or back: %(sender)s and %(receiver)s are not one of each.",
                                        sender=sender.name, receiver=receiver.name))
            sender = receiver = None
        elif sender.id not in look.reach and receiver.id not in look.reach:
            refuse(plan, "sender", _("Neither %(sender)s nor %(receiver)s is your organisation or "
                                      "one below it.", sender=sender.name, receiver=receiver.name))
            sender = receiver = None
    if sender is not None and receiver is not None:
        direction = (Direction.TO_PROCURATORATE if sender.kind == OrganisationKind.FEDERATION.value
                     else Direction.TO_FEDERATION)
        if v.get("direction") and v["direction"] != direction.value:
            refuse(plan, "direction", _("The direction does not match the sending organisation "
                                         "(%(direction)s).", direction=direction.label))
        v["direction"] = direction.value
        v["sender_org"], v["receiver_org"] = sender, receiver
    check_person(plan, v, look, today=today, seen=seen)
    _check_dates(plan, v)
    _check_progress(plan, v, look, receiver, seen)


def _check_dates(plan: RowPlan, v: dict) -> None:
    def before(later: str, earlier: str, message) -> None:
        refuse_before(plan, v, later, earlier, message)

    before("received_on", "sent_on", _l("The received date is before the sent date."))
    before("registered_on", "received_on", _l("The registration date is before the received date."))
    before("reply_on", "received_on", _l("The reply date is before the received date."))
    before("reply_on", "registered_on", _l("The reply date is before the registration date."))
    before("closed_on", "reply_on", _l("The closing date is before the reply date."))
    before("sent_on", "consent_on", _l("The referral was sent before the person's consent."))


def _check_progress(plan: RowPlan, v: dict, look: _Lookups, receiver: Organisation | None,
                    seen: dict) -> None:
    """How far the referral got, from the columns filled in: sent, registered, replied,
    closed; each step needs the columns of the steps before it."""
    if v.get("closed_on"):
        state = ReferralState.CLOSED
    elif v.get("reply_on") or v.get("reply_outcome") or v.get("reply_text"):
        state = ReferralState.REPLIED
    elif v.get("registration_number") or v.get("handler") or v.get("registered_on"):
        state = ReferralState.REGISTERED
    else:
        state = ReferralState.SENT
    plan.state = v["state"] = state.value
    if state == ReferralState.SENT:
        return
    if not v.get("registration_number"):
        refuse(plan, "registration_number", _("A registered referral needs its registration number."))
    elif receiver is not None:
        key = (receiver.id, v["registration_number"])
        if key in look.registrations_taken or key in seen["registrations"]:
            refuse(plan, "registration_number", _(
                "Registration number %(number)s is already used in %(org)s.",
                number=v["registration_number"], org=receiver.name))
        seen["registrations"].add(key)
    if not v.get("handler"):
        refuse(plan, "handler", _("A registered referral needs its designated handler."))
    elif receiver is not None:
        reach = look.subtree(receiver.id)
        found = [u for u in look.handlers.get(str(v["handler"]).strip().lower(), ())
                 if u.organisation_id in reach and (u.is_active_account or state not in (
                     ReferralState.REGISTERED,))]
        if not found:
            refuse(plan, "handler", _("Nobody called “%(name)s” handles referrals in %(org)s (write "
                                       "the account's name or user name).",
                                       name=v["handler"], org=receiver.name))
        else:
            v["handler_user"] = found[0]
    if state in (ReferralState.REPLIED, ReferralState.CLOSED):
        if not v.get("reply_on"):
            refuse(plan, "reply_on", _("A replied referral needs its reply date."))
        if not v.get("reply_outcome"):
            refuse(plan, "reply_outcome", _("A replied referral needs its outcome."))


# -- the import ---------------------------------------------------------------------------------


def _series(ref: Referral, sender: Organisation, counters: dict) -> None:
    """A number of the sender's own series (江汉妇移〔2025〕3号) takes its place in that
    series; ``counters`` collects the highest of each series and year."""
    if sender.id not in counters.setdefault("owners", {}):
        counters["owners"][sender.id] = numbering.series_owner(sender, "referral_prefix")
    owner = counters["owners"][sender.id]
    if owner is None:
        return
    match = re.fullmatch(re.escape(owner.referral_prefix) + r"〔(\d{4})〕(\d+)号", ref.number)
    if match is None:
        return
    year, seq = int(match.group(1)), int(match.group(2))
    ref.number_year, ref.number_seq, ref.numbering_org_id = year, seq, owner.id
    counters[(owner.id, year)] = max(seq, counters.get((owner.id, year), 0))


def _move_counters(counters: dict) -> None:
    """Each series' counter past the numbers imported into it: the next referral sent
    never gets one of them."""
    counters.pop("owners", None)
    for (org_id, year), seq in counters.items():
        counter = db.session.get(ReferralCounter, (org_id, year))
        if counter is None:
            db.session.add(ReferralCounter(organisation_id=org_id, year=year, last_seq=seq))
        elif counter.last_seq < seq:
            counter.last_seq = seq


class _Writer(Writer):
    """The referrals of the checked rows (their people first, by ``Writer``); each number of
    a sender's own series moves that series' counter (``finish``)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calendar = load_calendar()
        self.counters: dict = {}
        self.clocks: dict[tuple[bool, date], object] = {}
        self.receiving: Receiving | None = None

    def holder(self, receiver: Organisation) -> Organisation:
        """Who holds a referral sent to ``receiver`` and not yet registered: its receiving
        department when it has one that can act (as sending decides), else ``receiver``."""
        if self.receiving is None:
            self.receiving = Receiving()
        return self.receiving.holder(receiver) or receiver

    def person_org(self, plan: RowPlan) -> Organisation:
        sender, receiver = plan.values["sender_org"], plan.values["receiver_org"]
        return sender if sender.id in self.reach else receiver

    def record(self, plan: RowPlan, person_id: int) -> Referral:
        return self._referral(plan, person_id)

    def history(self, plan: RowPlan, ref: Referral) -> list:
        return [referral_services.note_imported(ref, actor=self.actor, now=self.now,
                                                filename=self.filename, row=plan.row)]

    def finish(self) -> None:
        _move_counters(self.counters)

    def _referral(self, plan: RowPlan, person_id: int) -> Referral:
        v = plan.values
        sender, receiver = v["sender_org"], v["receiver_org"]
        key = (bool(v.get("is_urgent")), v["received_on"])
        if key not in self.clocks:  # the same clock for the same day: settings read once a day
            self.clocks[key] = clock_dates(is_urgent=key[0], received_on=key[1], calendar=self.calendar)
        dates = self.clocks[key]
        state = v["state"]
        registered = state != ReferralState.SENT.value
        replied = state in (ReferralState.REPLIED.value, ReferralState.CLOSED.value)
        handler = v.get("handler_user")
        if not registered:  # waiting for registration: in the inbox and sweep of its holder
            receiver = self.holder(receiver)
        ref = Referral(
            state=state, direction=v["direction"], sender_org_id=sender.id, receiver_org_id=receiver.id,
            created_by_id=self.actor.id, person_id=person_id,
            submission_token=f"import:{self.sha256[:24]}:{plan.row}",
            number=v["number"], source=v["source"],
            criminal_case_number=v.get("criminal_case_number"), offence=v.get("offence"),
            offence_on=v.get("offence_on"), circumstances=v["circumstances"],
            help_requested=v["help_requested"], is_urgent=v.get("is_urgent", False),
            consent_on=v["consent_on"], consent_method=v["consent_method"],
            sent_at=moment(v["sent_on"]), received_on=v["received_on"],
            registration_due_on=dates.registration_due, target_due_on=dates.target_due,
            statutory_due_on=dates.due.day, due_is_provisional=dates.due.is_provisional,
            reply_due_on=dates.due.day,
            registration_number=v.get("registration_number") if registered else None,
            registered_at=moment(v.get("registered_on") or v["received_on"]) if registered else None,
            handler_id=handler.id if registered and handler else None,
            replied_at=moment(v.get("reply_on")) if replied else None,
            reply_on=v.get("reply_on") if replied else None,
            reply_outcome=v.get("reply_outcome") if replied else None,
            reply_text=v.get("reply_text") if replied else None,
            closed_at=moment(v.get("closed_on")) if state == ReferralState.CLOSED.value else None,
            imported_sha256=self.sha256, imported_row=plan.row,
            created_at=self.now, updated_at=self.now,
        )
        _series(ref, sender, self.counters)
        return ref


REFERRALS = LedgerKind(
    kind=ImportKind.REFERRALS, columns=REFERRAL_COLUMNS,
    enums={"direction": Direction, "source": LeadSource, "help_requested": HelpKind,
           "consent_method": ConsentMethod, "reply_outcome": ReplyOutcome},
    states=ReferralState, can_import=policy.can_import,
    refusal=_l("Only a supervisor of the federation or the procuratorate imports ledgers."),
    lookups=_Lookups, check_row=_check_row, writer=_Writer,
    to_add_label=_l("Referrals to add"),
    confirm_label=lambda n: ngettext("Import %(num)d referral", "Import %(num)d referrals", n),
    done_message=lambda **kw: _(
        "%(file)s imported: %(added)d referrals added, %(already)d already in caseflow; "
        "%(matched)d people found by their resident ID number, %(new)d recorded.", **kw),
)


def preview_referrals(data: bytes, filename: str, *, actor, now: datetime,
                      progress: Callable[[int, int], None] | None = None) -> Preview:
    """Every row of the file checked; nothing written."""
    return engine.preview(REFERRALS, data, filename, actor=actor, now=now, progress=progress)


def import_referrals(data: bytes, filename: str, *, actor, now: datetime,
                     progress: Callable[[int, int], None] | None = None) -> Preview:
    """The file's referrals and people written in the caller's transaction, all or
    nothing: refused while any row has an error (the caller then rolls back what was
    written). Rows already in caseflow are skipped. One audit row names the file and the
    counts."""
    return engine.import_ledger(REFERRALS, data, filename, actor=actor, now=now, progress=progress)


def referral_template() -> bytes:
    return engine.template(REFERRALS, title=_("Referrals"),
                           examples={**EXAMPLE_CHOICES, "is_urgent": _("No")})
