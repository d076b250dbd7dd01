"""Multi-channel assistance (多元帮扶): a plan per woman, with service items given by
agencies (counselling, legal aid, job and skills training, social assistance, schooling
support, follow-up), each with its sessions.

An item moves through ``ITEM_TRANSITIONS`` only by the functions in ``services.py``; each
move writes a timeline event and an audit row. Follow-up (持续关注) is an item of kind
``follow_up`` whose sessions are the follow-up contacts: its next due date follows from
its frequency like any other item's, and a missed one reaches the responsible officer.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l, lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import TimestampMixin, UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people.models import Person
from caseflow.extensions import db


class PlanState(LabelledEnum):
    OPEN = "open", _l("In progress")
    CLOSED = "closed", _l("Closed")


PLAN_STATE_LABELS = PlanState.labels()


class ItemKind(LabelledEnum):
    COUNSELLING = "counselling", _l("Psychological counselling")
    LEGAL_AID = "legal_aid", _l("Legal aid")
    JOB_TRAINING = "job_training", _l("Job training")
    SKILLS_TRAINING = "skills_training", _l("Skills training")
    SOCIAL_ASSISTANCE = "social_assistance", _l("Social assistance")
    SCHOOLING_SUPPORT = "schooling_support", _l("Schooling support")
    FOLLOW_UP = "follow_up", _l("Follow-up")
    OTHER = "other", _l("Other help")


ITEM_KIND_LABELS = ItemKind.labels()

#: Kinds whose provider needs the person's identity (a lawyer files a lawsuit in her name).
IDENTITY_KINDS = frozenset({ItemKind.LEGAL_AID.value})


class Frequency(LabelledEnum):
    ONCE = "once", _l("Once")
    WEEKLY = "weekly", _l("Weekly")
    BIWEEKLY = "biweekly", _l("Every two weeks")
    MONTHLY = "monthly", _l("Monthly")


FREQUENCY_LABELS = Frequency.labels()


class ItemState(LabelledEnum):
    PLANNED = "planned", _l("Planned")
    SENT = "sent", _l("Sent to the provider")
    ACCEPTED = "accepted", _l("Accepted")
    # Its own context: an account's "Active" (enabled) reads differently in Chinese.
    ACTIVE = "active", lazy_pgettext("service item state", "Active")
    COMPLETED = "completed", _l("Completed")
    DECLINED = "declined", _l("Declined")
    CANCELLED = "cancelled", _l("Cancelled")


ITEM_STATE_LABELS = ItemState.labels()

#: The one map of allowed moves: (from, to) -> the service that makes it.
ITEM_TRANSITIONS = {
    (ItemState.PLANNED, ItemState.SENT): "send_to_provider",
    (ItemState.SENT, ItemState.ACCEPTED): "accept",
    (ItemState.SENT, ItemState.DECLINED): "decline",
    (ItemState.ACCEPTED, ItemState.ACTIVE): "record_session",
    (ItemState.ACCEPTED, ItemState.COMPLETED): "complete",
    (ItemState.ACTIVE, ItemState.COMPLETED): "complete",
    (ItemState.PLANNED, ItemState.CANCELLED): "cancel",
    (ItemState.SENT, ItemState.CANCELLED): "cancel",
    (ItemState.ACCEPTED, ItemState.CANCELLED): "cancel",
    (ItemState.ACTIVE, ItemState.CANCELLED): "cancel",
}

#: States in which sessions are due.
RUNNING_STATES = (ItemState.ACCEPTED, ItemState.ACTIVE)
FINISHED_STATES = (ItemState.COMPLETED, ItemState.DECLINED, ItemState.CANCELLED)


class EventKind(LabelledEnum):
    PLAN_OPENED = "plan_opened", _l("Plan opened")
    PLAN_CLOSED = "plan_closed", _l("Plan closed")
    MEMBER_ADDED = "member_added", _l("Family member added")
    ITEM_ADDED = "item_added", _l("Service item added")
    SENT = "sent", _l("Sent to the provider")
    ACCEPTED = "accepted", _l("Accepted by the provider")
    DECLINED = "declined", _l("Declined by the provider")
    SESSION = "session", _l("Session recorded")
    FREQUENCY_CHANGED = "frequency_changed", _l("Frequency changed")
    LEGAL_MATTER = "legal_matter", _l("Legal matter updated")
    COMPLETED = "completed", _l("Completed")
    CANCELLED = "cancelled", _l("Cancelled")


EVENT_LABELS = EventKind.labels()


class AssistancePlan(TimestampMixin, db.Model):
    """The help one woman (and her children) receives, across agencies."""

    __tablename__ = "assistance_plans"
    __table_args__ = (
        sa.CheckConstraint(check_in("state", PlanState), name="state_known"),
        sa.CheckConstraint("state <> 'closed' OR (closing_summary IS NOT NULL AND closed_at IS NOT NULL)",
                           name="closed_has_summary"),
        # One open plan per woman: a second would split her help in two.
        sa.Index("uq_assistance_plans_open_person", "person_id", unique=True,
                 postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    #: The federation organisation that runs the plan; visibility follows it.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    aid_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("aid_cases.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(10), default=PlanState.OPEN.value)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closing_summary: Mapped[str | None] = mapped_column(sa.Text)

    person: Mapped[Person] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    officer: Mapped[User] = relationship(lazy="joined")
    aid_case = relationship("AidCase")
    items: Mapped[list[ServiceItem]] = relationship(back_populates="plan", order_by="ServiceItem.id")
    members: Mapped[list[PlanMember]] = relationship(back_populates="plan", order_by="PlanMember.id")
    events: Mapped[list[AssistanceEvent]] = relationship(back_populates="plan", order_by="AssistanceEvent.id")

    @property
    def is_open(self) -> bool:
        return self.state == PlanState.OPEN.value


class PlanMember(db.Model):
    """A member of the woman's family the plan also helps (a child), with the relation."""

    __tablename__ = "assistance_plan_members"
    __table_args__ = (sa.UniqueConstraint("plan_id", "person_id", name="uq_assistance_plan_members_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_plans.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    relation: Mapped[str] = mapped_column(sa.String(40))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    plan: Mapped[AssistancePlan] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class ServiceItem(TimestampMixin, db.Model):
    """One kind of help, given by one agency, for one beneficiary."""

    __tablename__ = "assistance_items"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", ItemKind), name="kind_known"),
        sa.CheckConstraint(check_in("state", ItemState), name="state_known"),
        sa.CheckConstraint(check_in("frequency", Frequency), name="frequency_known"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        sa.CheckConstraint("(state = 'declined') = (decline_reason IS NOT NULL)", name="declined_has_reason"),
        sa.CheckConstraint("(state = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancelled_has_reason"),
        sa.CheckConstraint("state NOT IN ('sent', 'accepted', 'active') OR sent_on IS NOT NULL",
                           name="sent_has_date"),
        # Brought in from an office's ledger (caseflow/imports, migration 0024): the file's
        # SHA-256 and its row, both or neither; a row of a file is imported once.
        sa.CheckConstraint("(imported_sha256 IS NULL) = (imported_row IS NULL)",
                           name="imported_with_row"),
        sa.Index("uq_assistance_items_imported_row", "imported_sha256", "imported_row", unique=True),
        sa.Index("ix_assistance_items_provider_state", "provider_org_id", "state"),
        # The reminder sweep reads only the items that are running or waiting for an
        # answer; SQLite uses these only when the query names the states as literals.
        sa.Index("ix_assistance_items_running_due", "next_session_due_on",
                 postgresql_where=sa.text("state IN ('accepted', 'active')"),
                 sqlite_where=sa.text("state IN ('accepted', 'active')")),
        sa.Index("ix_assistance_items_sent_acceptance_due", "acceptance_due_on",
                 postgresql_where=sa.text("state = 'sent'"), sqlite_where=sa.text("state = 'sent'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_plans.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: Who benefits: the woman herself or one of her children (a ``Person`` each).
    beneficiary_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    provider_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    frequency: Mapped[str] = mapped_column(sa.String(10))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    state: Mapped[str] = mapped_column(sa.String(10), default=ItemState.PLANNED.value)
    details: Mapped[str | None] = mapped_column(sa.Text)
    #: The provider sees the identity only when the help needs it (legal aid).
    needs_identity: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    sent_on: Mapped[date | None] = mapped_column(sa.Date)
    acceptance_due_on: Mapped[date | None] = mapped_column(sa.Date)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    #: When the next session (or follow-up contact) is due, from the frequency.
    next_session_due_on: Mapped[date | None] = mapped_column(sa.Date)
    #: Legal aid: the matter (e.g. the car ownership dispute) and the lawsuit's outcome.
    legal_matter: Mapped[str | None] = mapped_column(sa.Text)
    lawsuit_outcome: Mapped[str | None] = mapped_column(sa.Text)
    #: The aid decision's recommended measure this item took over, if any.
    measure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recommended_measures.id"), unique=True)
    #: Imported from a ledger file (``caseflow.imports``): the file's SHA-256 and the row
    #: (1 is the headings), kept with the item's original dates.
    imported_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    imported_row: Mapped[int | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    plan: Mapped[AssistancePlan] = relationship(back_populates="items")
    beneficiary: Mapped[Person] = relationship(lazy="joined")
    provider: Mapped[Organisation] = relationship(lazy="joined")
    officer: Mapped[User] = relationship(foreign_keys=[officer_id], lazy="joined")
    sessions: Mapped[list[ServiceSession]] = relationship(
        back_populates="item", order_by="(ServiceSession.held_on, ServiceSession.id)")

    @property
    def state_enum(self) -> ItemState:
        return ItemState(self.state)

    @property
    def is_imported(self) -> bool:
        return self.imported_sha256 is not None

    @property
    def is_running(self) -> bool:
        return self.state_enum in RUNNING_STATES

    @property
    def kind_label(self) -> str:
        return str(ITEM_KIND_LABELS[ItemKind(self.kind)])

    def is_overdue(self, today: date) -> bool:
        """A session (or follow-up contact) is late, or the provider has not answered."""
        if self.is_running and self.next_session_due_on is not None:
            return self.next_session_due_on < today
        return self.state == ItemState.SENT.value and self.acceptance_due_on is not None \
            and self.acceptance_due_on < today


class ServiceSession(db.Model):
    """One session of an item (or one follow-up contact)."""

    __tablename__ = "assistance_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_items.id"), index=True)
    held_on: Mapped[date] = mapped_column(sa.Date)
    attended: Mapped[str] = mapped_column(sa.String(300))
    #: Whether adults and minors were seen separately (None: not applicable).
    seen_separately: Mapped[bool | None] = mapped_column()
    notes: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    item: Mapped[ServiceItem] = relationship(back_populates="sessions")
    recorded_by: Mapped[User] = relationship(lazy="joined")


class AssistanceEvent(db.Model):
    """One line of a plan's timeline (``item_id`` when it concerns one item)."""

    __tablename__ = "assistance_events"
    __table_args__ = (sa.CheckConstraint(check_in("kind", EventKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_plans.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assistance_items.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    actor_org_name: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str | None] = mapped_column(sa.String(10))
    to_state: Mapped[str | None] = mapped_column(sa.String(10))
    text: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    plan: Mapped[AssistancePlan] = relationship(back_populates="events")

    @property
    def kind_label(self) -> str:
        return str(EVENT_LABELS[EventKind(self.kind)])
