"""Referrals (线索移送) between the federation and the procuratorate, both ways.

A referral moves through the states of ``TRANSITIONS`` only by the service functions in
``services.py``; each move writes a timeline event and an audit row in one transaction.
The database keeps the invariants that matter whatever the code does (CHECK and UNIQUE
constraints below).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.attachments import StoredFile
from caseflow.core.db import TimestampMixin, UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people.models import Person
from caseflow.extensions import db


class ReferralState(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    SENT = "sent", _l("Sent, awaiting registration")
    REGISTERED = "registered", _l("Registered, being handled")
    REPLIED = "replied", _l("Replied")
    CLOSED = "closed", _l("Closed")
    RETURNED = "returned", _l("Returned to sender")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


STATE_LABELS = ReferralState.labels()

#: The one map of allowed moves: (from, to) -> the service that makes it.
TRANSITIONS = {
    (ReferralState.DRAFT, ReferralState.SENT): "send",
    (ReferralState.SENT, ReferralState.REGISTERED): "register",
    (ReferralState.SENT, ReferralState.RETURNED): "return",
    (ReferralState.SENT, ReferralState.WITHDRAWN): "withdraw",
    (ReferralState.REGISTERED, ReferralState.RETURNED): "return",
    (ReferralState.REGISTERED, ReferralState.REPLIED): "reply",
    (ReferralState.RETURNED, ReferralState.SENT): "send",
    (ReferralState.RETURNED, ReferralState.WITHDRAWN): "withdraw",
    (ReferralState.REPLIED, ReferralState.CLOSED): "close",
}

#: States in which the reply clock runs.
OPEN_STATES = (ReferralState.SENT, ReferralState.REGISTERED)


class Direction(LabelledEnum):
    TO_PROCURATORATE = "to_procuratorate", _l("Federation → procuratorate")
    TO_FEDERATION = "to_federation", _l("Procuratorate → federation")


DIRECTION_LABELS = Direction.labels()


class LeadSource(LabelledEnum):
    PETITION_RECEPTION = "petition_reception", _l("Petition reception")
    HOTLINE = "hotline", _l("Hotline")
    COMMUNITY_VISIT = "community_visit", _l("Community visit")
    CASE_HANDLING = "case_handling", _l("Case handling")
    OTHER = "other", _l("Other")


SOURCE_LABELS = LeadSource.labels()


class HelpKind(LabelledEnum):
    JUDICIAL_AID = "judicial_aid", _l("Judicial aid")
    COUNSELLING = "counselling", _l("Psychological counselling")
    LEGAL_AID = "legal_aid", _l("Legal aid")
    JOB_TRAINING = "job_training", _l("Job training")
    SKILLS_TRAINING = "skills_training", _l("Skills training")
    SOCIAL_ASSISTANCE = "social_assistance", _l("Social assistance")
    OTHER = "other", _l("Other help")


HELP_LABELS = HelpKind.labels()


class ConsentMethod(LabelledEnum):
    WRITTEN = "written", _l("Signed in writing")
    ORAL_RECORDED = "oral_recorded", _l("Oral, recorded")
    GUARDIAN = "guardian", _l("By the guardian")
    OTHER = "other", _l("Other")


CONSENT_LABELS = ConsentMethod.labels()


class ReplyOutcome(LabelledEnum):
    AID_CASE_OPENED = "aid_case_opened", _l("Judicial aid case opened")
    NOT_ELIGIBLE = "not_eligible", _l("Not eligible")
    REFERRED_ELSEWHERE = "referred_elsewhere", _l("Referred to another channel")
    OTHER = "other", _l("Other")


OUTCOME_LABELS = ReplyOutcome.labels()


class EventKind(LabelledEnum):
    CREATED = "created", _l("Draft created")
    AMENDED = "amended", _l("Amended")
    SENT = "sent", _l("Sent")
    REGISTERED = "registered", _l("Registered")
    HANDLER_ASSIGNED = "handler_assigned", _l("Handler designated")
    NOTE = "note", _l("Progress note")
    COMMENT = "comment", _l("Comment")
    REPLIED = "replied", _l("Formal reply")
    CLOSED = "closed", _l("Closed")
    RETURNED = "returned", _l("Returned")
    WITHDRAWN = "withdrawn", _l("Withdrawn")
    EXTENDED = "extended", _l("Deadline extended")
    DUE_MOVED = "due_moved", _l("Due date moved by the calendar")
    ATTACHMENT_ADDED = "attachment_added", _l("Attachment added")
    DISCARDED = "discarded", _l("Draft discarded")


EVENT_LABELS = EventKind.labels()
#: The label of the ``created`` entry of a referral imported from a ledger (``data.imported``).
IMPORTED_LABEL = _l("Imported from a ledger")


#: The referral columns the report's aggregates read, after the organisation of a side and
#: the received date (``ix_referrals_*_report`` below).
REPORT_INDEX_COLUMNS = ("received_on", "state", "direction", "source", "reply_on", "reply_due_on",
                        "registered_at", "registration_due_on", "extended_due_on", "sent_at")


class Referral(TimestampMixin, db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint(check_in("state", ReferralState), name="state_known"),
        sa.CheckConstraint(check_in("direction", Direction), name="direction_known"),
        sa.CheckConstraint(check_in("source", LeadSource), name="source_known"),
        sa.CheckConstraint("sender_org_id <> receiver_org_id", name="not_to_itself"),
        # A number exactly when it has left the sender's drafts.
        sa.CheckConstraint("(number IS NULL) = (state = 'draft')", name="numbered_when_sent"),
        sa.CheckConstraint("(sent_at IS NULL) = (state = 'draft')", name="sent_at_when_sent"),
        sa.CheckConstraint(
            "(registered_at IS NOT NULL) = (state IN ('registered', 'replied', 'closed'))",
            name="registered_when_registered"),
        sa.CheckConstraint(
            "(replied_at IS NOT NULL) = (state IN ('replied', 'closed'))", name="replied_when_replied"),
        sa.CheckConstraint("state <> 'draft' OR consent_on IS NULL OR consent_method IS NOT NULL",
                           name="consent_has_method"),
        sa.CheckConstraint("state = 'draft' OR consent_on IS NOT NULL", name="consent_before_send"),
        sa.CheckConstraint("state NOT IN ('registered', 'replied', 'closed') OR handler_id IS NOT NULL",
                           name="handler_when_registered"),
        sa.CheckConstraint("(state = 'returned') = (return_reason IS NOT NULL)",
                           name="return_has_reason"),
        sa.CheckConstraint("extended_due_on IS NULL OR extension_reason IS NOT NULL",
                           name="extension_has_reason"),
        sa.CheckConstraint("target_due_on IS NULL OR is_urgent", name="target_only_when_urgent"),
        # A discarded draft was never sent: it stays a draft (every "state <> 'draft'" in
        # the lists, the report and the receiver's rights goes on meaning "was sent"),
        # out of use, with the reason (migration 0022).
        sa.CheckConstraint("(discarded_at IS NULL) = (discard_reason IS NULL)",
                           name="discarded_with_reason"),
        sa.CheckConstraint("discarded_at IS NULL OR state = 'draft'", name="discarded_only_drafts"),
        # Brought in from an office's Excel ledger (caseflow/imports, migration 0023): the
        # file's SHA-256 and its row, both or neither; a row of a file is imported once.
        sa.CheckConstraint("(imported_sha256 IS NULL) = (imported_row IS NULL)",
                           name="imported_with_row"),
        sa.Index("uq_referrals_imported_row", "imported_sha256", "imported_row", unique=True),
        # One sequence number per series and year: a street federation given its own prefix
        # mid-year starts at 1 after numbers of its district's series (migration 0021).
        sa.UniqueConstraint("numbering_org_id", "number_year", "number_seq",
                            name="uq_referrals_numbering_seq"),
        sa.UniqueConstraint("receiver_org_id", "registration_number", name="uq_referrals_registration"),
        sa.UniqueConstraint("created_by_id", "submission_token", name="uq_referrals_submission"),
        # The order of every referral list (queries.LIST_ORDER: urgent first, then by due
        # date, newest first), after the column each box selects on, and after that column
        # and the state: a page is then the first rows of a few index ranges instead of a
        # sort of every referral the organisation ever received (migrations 0004 and 0007,
        # queries.referral_page, bench/referrals.py). On both databases; SQLAlchemy cannot
        # reflect SQLite's expression indexes and says so with an SAWarning, which
        # setup.cfg lets through for these indexes only.
        *(sa.Index(f"ix_referrals_{column}_list_order", column, sa.text("is_urgent DESC"),
                   sa.text("(reply_due_on IS NULL)"), "reply_due_on", sa.text("id DESC"))
          for column in ("receiver_org_id", "sender_org_id", "handler_id")),
        *(sa.Index(f"ix_referrals_{column}_state_list_order", column, "state", sa.text("is_urgent DESC"),
                   sa.text("(reply_due_on IS NULL)"), "reply_due_on", sa.text("id DESC"))
          for column in ("receiver_org_id", "sender_org_id", "handler_id")),
        # The reminder sweep and the daily digest: only the open referrals, so that their
        # cost follows the work that is open, not the archive (migration 0006,
        # bench/sweep.py). SQLite uses them only when the query names the states as
        # literals.
        sa.Index("ix_referrals_open_reply_due", "reply_due_on",
                 postgresql_where=sa.text("state IN ('sent', 'registered')"),
                 sqlite_where=sa.text("state IN ('sent', 'registered')")),
        sa.Index("ix_referrals_sent_registration_due", "registration_due_on",
                 postgresql_where=sa.text("state = 'sent'"), sqlite_where=sa.text("state = 'sent'")),
        # The report's covering indexes, one per side (sent, received): the organisation of
        # the side, the received date, the other side's organisation, then every column the
        # report's aggregates read (REPORT_INDEX_COLUMNS). reports.definitions'
        # referral_figures and days_to_reply read each side of a subtree's period as index
        # ranges of these, never the table; without them SQLite looks up the table row of
        # every referral of the period and PostgreSQL scans the table (bench/reports.py;
        # migrations 0011 and 0012, which added sent_at for the hours to registration).
        *(sa.Index(f"ix_referrals_{side}_report", side, "received_on", other,
                   *REPORT_INDEX_COLUMNS[1:])
          for side, other in (("sender_org_id", "receiver_org_id"),
                              ("receiver_org_id", "sender_org_id"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(12), default=ReferralState.DRAFT.value)
    direction: Mapped[str] = mapped_column(sa.String(20))
    sender_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    receiver_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    #: Guards against a double-clicked "save": one draft per form shown.
    submission_token: Mapped[str] = mapped_column(sa.String(40))

    number: Mapped[str | None] = mapped_column(sa.String(60), unique=True)
    number_year: Mapped[int | None] = mapped_column()
    number_seq: Mapped[int | None] = mapped_column()
    #: The organisation whose referral series gave ``number``: the letterhead and signature
    #: of the 移送函, fixed with the number (a later change of prefixes or issuers moves
    #: neither).
    numbering_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))

    source: Mapped[str] = mapped_column(sa.String(30))
    criminal_case_number: Mapped[str | None] = mapped_column(sa.String(80))
    offence: Mapped[str | None] = mapped_column(sa.String(120))
    offence_on: Mapped[date | None] = mapped_column(sa.Date)
    circumstances: Mapped[str] = mapped_column(sa.Text)
    help_requested: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_urgent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    consent_on: Mapped[date | None] = mapped_column(sa.Date)
    consent_method: Mapped[str | None] = mapped_column(sa.String(20))

    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    registration_due_on: Mapped[date | None] = mapped_column(sa.Date)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_number: Mapped[str | None] = mapped_column(sa.String(60))
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    #: The statutory due date (one month, official calendar) and whether it is provisional.
    statutory_due_on: Mapped[date | None] = mapped_column(sa.Date)
    due_is_provisional: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    extended_due_on: Mapped[date | None] = mapped_column(sa.Date)
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: The date that counts: the extension when there is one, else the statutory date.
    reply_due_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    #: Urgent referrals: the internal reply target (a number of working days after receipt,
    #: a setting), with reminders of its own; the statutory date still stands.
    target_due_on: Mapped[date | None] = mapped_column(sa.Date)

    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_on: Mapped[date | None] = mapped_column(sa.Date)
    reply_outcome: Mapped[str | None] = mapped_column(sa.String(30))
    reply_text: Mapped[str | None] = mapped_column(sa.Text)
    #: The reply letter's (回告函) own number in the issuer's letter series (江汉检函〔2026〕1号),
    #: assigned when the reply is recorded; the registration number stays a registration number.
    reply_number: Mapped[str | None] = mapped_column(sa.String(60))
    #: The organisation whose letter series gave ``reply_number``: the 回告函's letterhead.
    reply_numbering_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    withdraw_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: A draft its sender discarded (``services.discard_draft``): gone from the lists, never
    #: sent; the reason is in the timeline too.
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discard_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: Imported from a ledger file (``caseflow.imports``): the file's SHA-256 and the row
    #: (1 is the headings), kept with the referral's original number and dates.
    imported_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    imported_row: Mapped[int | None] = mapped_column()

    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    sender_org: Mapped[Organisation] = relationship(foreign_keys=[sender_org_id], lazy="joined")
    receiver_org: Mapped[Organisation] = relationship(foreign_keys=[receiver_org_id], lazy="joined")
    numbering_org: Mapped[Organisation | None] = relationship(foreign_keys=[numbering_org_id])
    reply_numbering_org: Mapped[Organisation | None] = relationship(
        foreign_keys=[reply_numbering_org_id])
    person: Mapped[Person] = relationship(lazy="joined")
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id], lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.id", lazy="select")
    attachments: Mapped[list[ReferralAttachment]] = relationship(
        back_populates="referral", order_by="ReferralAttachment.id", lazy="select")

    @property
    def state_enum(self) -> ReferralState:
        return ReferralState(self.state)

    @property
    def direction_enum(self) -> Direction:
        return Direction(self.direction)

    @property
    def organisation(self) -> Organisation:
        """The organisation the record belongs to, for messages: its sender."""
        return self.sender_org

    @property
    def is_discarded(self) -> bool:
        return self.discarded_at is not None

    @property
    def is_imported(self) -> bool:
        return self.imported_sha256 is not None

    @property
    def is_open(self) -> bool:
        return self.state_enum in OPEN_STATES

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.number or 'draft'} {self.state}>"


class ReferralEvent(db.Model):
    """One line of a referral's timeline. ``is_shared`` events (everything but the
    receiver's progress notes) are seen by both sides."""

    __tablename__ = "referral_events"
    __table_args__ = (sa.CheckConstraint(check_in("kind", EventKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    actor_org_name: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str | None] = mapped_column(sa.String(12))
    to_state: Mapped[str | None] = mapped_column(sa.String(12))
    text: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    is_shared: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    referral: Mapped[Referral] = relationship(back_populates="events")

    @property
    def kind_label(self) -> str:
        if self.kind == EventKind.CREATED.value and self.data and "imported" in self.data:
            return str(IMPORTED_LABEL)  # created by a ledger import, never a draft
        return str(EVENT_LABELS[EventKind(self.kind)])


class ReferralAttachment(StoredFile, db.Model):
    """A file attached to a referral, stored outside the database, encrypted, by its SHA-256
    (``core.files``)."""

    __tablename__ = "referral_attachments"
    owner_column = "referral_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)

    referral: Mapped[Referral] = relationship(back_populates="attachments")


class ReferralCounter(db.Model):
    """The last referral number of an organisation in a year. Incremented in the
    sending transaction, so concurrent sends queue on its row and never share a number."""

    __tablename__ = "referral_counters"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)
