"""Joint training (联合培训): sessions the federation and the procuratorate run together,
who was invited, who came, and the materials handed out.

A session is organised by one or more organisations of either side (主办单位). It is
``scheduled`` until its attendance is first recorded, which makes it ``held``; a scheduled
session may be ``cancelled`` with a reason. Nothing is deleted: an invitation is
withdrawn, an attendance corrected. The database keeps what matters whatever the code
does: a session ends after it starts, one attendance row per user per session and one per
outside attendee's name and organisation, one invitation per session and user or
organisation.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.attachments import StoredFile
from caseflow.core.db import TimestampMixin, UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import Organisation, User
from caseflow.extensions import db


class SessionState(LabelledEnum):
    SCHEDULED = "scheduled", _l("Scheduled")
    HELD = "held", _l("Held")
    CANCELLED = "cancelled", _l("Cancelled")


SESSION_STATE_LABELS = SessionState.labels()

#: The one map of allowed moves: (from, to) -> the service that makes it.
TRANSITIONS = {
    (SessionState.SCHEDULED, SessionState.HELD): "record_attendance",
    (SessionState.SCHEDULED, SessionState.CANCELLED): "cancel_session",
}


class Topic(LabelledEnum):
    SPOTTING_LEADS = "spotting_leads", _l("How to spot a lead")
    REFERRING_LEADS = "referring_leads", _l("Referring a lead and the one-month reply")
    STARTING_A_CASE = "starting_a_case", _l("How a judicial aid case starts")
    AID_COVERAGE = "aid_coverage", _l("What judicial aid covers")
    JOINT_INVESTIGATION = "joint_investigation", _l("Joint investigation and visits")
    ASSISTANCE = "assistance", _l("Multi-channel assistance")
    PRIVACY = "privacy", _l("Protecting the privacy of women and children")
    OTHER = "other", _l("Other topics")


TOPIC_LABELS = Topic.labels()


class AttendanceStatus(LabelledEnum):
    PRESENT = "present", _l("Present")
    ABSENT = "absent", _l("Absent")
    EXCUSED = "excused", _l("Excused")


ATTENDANCE_LABELS = AttendanceStatus.labels()


class TrainingSession(TimestampMixin, db.Model):
    __tablename__ = "training_sessions"
    __table_args__ = (
        sa.CheckConstraint(check_in("state", SessionState), name="state_known"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # Cancelled exactly when it says when and why.
        sa.CheckConstraint("(state = 'cancelled') = (cancelled_at IS NOT NULL AND cancel_reason IS NOT NULL)",
                           name="cancel_has_reason"),
        sa.Index("ix_training_sessions_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(sa.String(200))
    #: Who teaches, by name (and where they come from), as the notice prints them.
    trainers: Mapped[str] = mapped_column(sa.String(300))
    #: What the session covers beyond its topics: the outline, the cases discussed.
    content: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(12), default=SessionState.SCHEDULED.value)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    organisers: Mapped[list[TrainingOrganiser]] = relationship(
        back_populates="session", lazy="selectin", cascade="all, delete-orphan",
        order_by="TrainingOrganiser.organisation_id")
    topic_rows: Mapped[list[TrainingTopic]] = relationship(
        back_populates="session", lazy="selectin", cascade="all, delete-orphan",
        order_by="TrainingTopic.topic")
    invitations: Mapped[list[TrainingInvitation]] = relationship(
        back_populates="session", order_by="TrainingInvitation.id")
    attendances: Mapped[list[TrainingAttendance]] = relationship(
        back_populates="session", order_by="TrainingAttendance.id")
    materials: Mapped[list[TrainingMaterial]] = relationship(
        back_populates="session", order_by="TrainingMaterial.id")

    @property
    def state_enum(self) -> SessionState:
        return SessionState(self.state)

    @property
    def organiser_ids(self) -> list[int]:
        return [row.organisation_id for row in self.organisers]

    @property
    def topics(self) -> list[Topic]:
        order = list(Topic)
        return sorted((Topic(row.topic) for row in self.topic_rows), key=order.index)

    @property
    def active_invitations(self) -> list[TrainingInvitation]:
        return [i for i in self.invitations if i.withdrawn_at is None]

    def __repr__(self) -> str:
        return f"<TrainingSession {self.id} {self.state}>"


class TrainingOrganiser(db.Model):
    """An organisation that organises (主办) a session; its people and those above it
    run the session."""

    __tablename__ = "training_organisers"

    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True,
                                                 index=True)

    session: Mapped[TrainingSession] = relationship(back_populates="organisers")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class TrainingTopic(db.Model):
    __tablename__ = "training_topics"
    __table_args__ = (sa.CheckConstraint(check_in("topic", Topic), name="topic_known"),)

    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(24), primary_key=True)

    session: Mapped[TrainingSession] = relationship(back_populates="topic_rows")


class TrainingInvitation(db.Model):
    """An invitation to one user or to a whole organisation (e.g. a street federation,
    which sends whom it chooses). Withdrawn, never deleted; inviting again renews it."""

    __tablename__ = "training_invitations"
    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (organisation_id IS NULL)", name="one_invitee"),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by_id IS NULL)", name="withdrawal_complete"),
        sa.UniqueConstraint("session_id", "user_id", name="uq_training_invitations_user"),
        sa.UniqueConstraint("session_id", "organisation_id", name="uq_training_invitations_organisation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    session: Mapped[TrainingSession] = relationship(back_populates="invitations")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def invitee_name(self) -> str:
        if self.user is not None:
            return f"{self.user.display_name}（{self.user.organisation.short_name}）"
        return self.organisation.name


class TrainingAttendance(db.Model):
    """Whether someone came: a user (with the organisation they belonged to that day) or
    someone without an account, by name and organisation (a partner agency's worker, a
    community cadre). An outside attendee's organisation points to the organisation
    when the name given is one the system knows."""

    __tablename__ = "training_attendances"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", AttendanceStatus), name="status_known"),
        sa.CheckConstraint("(user_id IS NULL) = (external_name IS NOT NULL)", name="user_or_name"),
        sa.CheckConstraint("user_id IS NULL OR organisation_id IS NOT NULL", name="user_has_organisation"),
        sa.CheckConstraint("external_name IS NULL OR external_organisation IS NOT NULL",
                           name="name_has_organisation"),
        sa.UniqueConstraint("session_id", "user_id", name="uq_training_attendances_user"),
        sa.UniqueConstraint("session_id", "external_name", "external_organisation",
                            name="uq_training_attendances_external"),
        sa.Index("ix_training_attendances_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    external_name: Mapped[str | None] = mapped_column(sa.String(60))
    external_organisation: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10))
    note: Mapped[str | None] = mapped_column(sa.String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    session: Mapped[TrainingSession] = relationship(back_populates="attendances")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def status_enum(self) -> AttendanceStatus:
        return AttendanceStatus(self.status)

    @property
    def name(self) -> str:
        return self.user.display_name if self.user is not None else self.external_name

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation is not None else self.external_organisation

    @property
    def is_external(self) -> bool:
        return self.user_id is None


class TrainingMaterial(StoredFile, db.Model):
    """A file handed out at a session (slides, the notice, the sign-in sheet), stored
    outside the database, encrypted, by its SHA-256 (``core.files``)."""

    __tablename__ = "training_materials"
    owner_column = "session_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)

    session: Mapped[TrainingSession] = relationship(back_populates="materials")
