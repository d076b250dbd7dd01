"""Organisations and the people who sign in to caseflow."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.db import TimestampMixin, UTCDateTime, check_in
from caseflow.core.orgs.roles import ADMIN_ROLES, WORK_ROLES, OrganisationKind, Role
from caseflow.extensions import db


class Organisation(TimestampMixin, db.Model):
    """A federation, a procuratorate or a partner agency, or a unit below one.

    The tree (``parent``) is what visibility follows: a user sees the records of their
    own organisation and of every organisation below it.
    """

    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", OrganisationKind), name="kind_known"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        sa.CheckConstraint("webhook_url IS NULL OR substr(webhook_url, 1, 7) = 'http://' "
                           "OR substr(webhook_url, 1, 8) = 'https://'", name="webhook_url_http"),
        sa.CheckConstraint("receiving_department_id IS NULL OR receiving_department_id <> id",
                           name="not_own_receiving_department"),
        sa.CheckConstraint("documents_issued_as_id IS NULL OR documents_issued_as_id <> id",
                           name="not_own_issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    #: The prefix of this organisation's referral letter numbers, e.g. 江汉妇移.
    referral_prefix: Mapped[str | None] = mapped_column(sa.String(20))
    #: The prefix of a procuratorate's judicial aid case numbers, e.g. 江汉检救.
    aid_case_prefix: Mapped[str | None] = mapped_column(sa.String(20))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: The group-chat robot (WeCom format) of the office's chat, set by the system
    #: administrator; alerts to the organisation's people are posted there once each.
    webhook_url: Mapped[str | None] = mapped_column(sa.String(500))
    #: The unit below that acts for this organisation on referrals sent to it (江汉区人民检察院
    #: → 第五检察部); letters still go out in this organisation's name. The services keep it
    #: an active unit below; the database keeps it from pointing at itself.
    receiving_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    #: The organisation whose name this one's official documents carry (letterhead and
    #: signature), set by the system administrator: 第五检察部 → 江汉区人民检察院. Empty: the
    #: organisation issues in its own name (or its designator's, ``issuing_organisation``).
    documents_issued_as_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    #: The prefix of this organisation's letters (回告函 …), e.g. 江汉检函 gives 江汉检函〔2026〕1号.
    letter_prefix: Mapped[str | None] = mapped_column(sa.String(20))
    #: The office's phone (E.164, a landline such as +862785551234 or a mobile), printed on
    #: its letters' contact line when the handler has no phone of their own.
    office_phone: Mapped[str | None] = mapped_column(sa.String(20))

    parent: Mapped[Organisation | None] = relationship(
        remote_side=[id], back_populates="children", foreign_keys=[parent_id])
    children: Mapped[list[Organisation]] = relationship(
        back_populates="parent", order_by="Organisation.code", foreign_keys=[parent_id]
    )
    receiving_department: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[receiving_department_id])
    documents_issued_as: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[documents_issued_as_id])

    @property
    def kind_enum(self) -> OrganisationKind:
        return OrganisationKind(self.kind)

    @property
    def issuing_organisation(self) -> Organisation:
        """The organisation in whose name this one's letters go out: the one the system
        administrator set as "documents issued as", else the one above that made it
        (directly or through another unit) its receiving department, else itself. A
        procuratorate acts through its departments but never signs as one (docs/domain.md)."""
        if self.documents_issued_as is not None:
            return self.documents_issued_as
        issuer, ancestor = self, self.parent
        while ancestor is not None:
            if ancestor.receiving_department_id == issuer.id:
                issuer = ancestor
            ancestor = ancestor.parent
        return issuer

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class UserRole(db.Model):
    """One role held by one user. A user holds at most one administrator role, and an
    administrator holds no other role (三员分立); the partial unique index keeps the first
    rule in the database, the service keeps both."""

    __tablename__ = "user_roles"
    __table_args__ = (
        sa.CheckConstraint(check_in("role", Role), name="role_known"),
        sa.CheckConstraint(
            "is_admin_role = (role IN ('system_admin', 'security_admin', 'audit_admin'))",
            name="admin_flag_matches_role",
        ),
        sa.Index(
            "uq_user_roles_one_admin_role",
            "user_id",
            unique=True,
            sqlite_where=sa.text("is_admin_role"),
            postgresql_where=sa.text("is_admin_role"),
        ),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    is_admin_role: Mapped[bool] = mapped_column()


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("locale IN ('zh_CN', 'en')", name="locale_known"),
        sa.CheckConstraint("failed_login_count >= 0", name="failed_logins_not_negative"),
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
        sa.CheckConstraint("email_preference IN ('immediate', 'digest')", name="email_preference_known"),
        sa.CheckConstraint("(sms_quiet_from IS NULL) = (sms_quiet_until IS NULL) AND "
                           "(sms_quiet_from IS NULL OR sms_quiet_from BETWEEN 0 AND 23) AND "
                           "(sms_quiet_until IS NULL OR sms_quiet_until BETWEEN 0 AND 23)",
                           name="sms_quiet_hours_valid"),
        sa.CheckConstraint("account_kind IN ('admin', 'case')", name="account_kind_known"),
        sa.CheckConstraint("hook_url IS NULL OR is_service_account",
                           name="hook_only_for_service_accounts"),
        sa.CheckConstraint("(hook_url IS NULL) = (hook_secret IS NULL)", name="hook_has_secret"),
        sa.CheckConstraint("hook_url IS NULL OR substr(hook_url, 1, 7) = 'http://' "
                           "OR substr(hook_url, 1, 8) = 'https://'", name="hook_url_http"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_CN", server_default="zh_CN")
    is_active_account: Mapped[bool] = mapped_column(
        "is_active", default=True, server_default=sa.true()
    )
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    must_change_password: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Reminders for supervisors by e-mail one by one, or in one daily digest.
    email_preference: Mapped[str] = mapped_column(sa.String(10), default="immediate",
                                                  server_default="immediate")
    #: A mobile number for SMS alerts, E.164 (+8613812345678); none: SMS cannot reach them.
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    #: Quiet hours for SMS, local hours from (inclusive) and until (exclusive), e.g. 22 → 7;
    #: both none: no quiet hours. An SMS queued in them waits (urgent ones excepted).
    sms_quiet_from: Mapped[int | None] = mapped_column(default=22, server_default="22")
    sms_quiet_until: Mapped[int | None] = mapped_column(default=7, server_default="7")
    #: An administrator account or a case-work account, fixed by its first role grant and
    #: never changed after (三员分立: one who did case work never becomes an administrator);
    #: none until then.
    account_kind: Mapped[str | None] = mapped_column(sa.String(10))
    #: A system's account (issue 17), made by the system administrator with one
    #: organisation and one role: it never signs in on the pages (its password hash is no
    #: hash) and acts only through its API tokens.
    is_service_account: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: A service account's webhook: where its events are posted (``caseflow.api.webhooks``)
    #: and the secret that signs them, sealed (SM4-GCM, ``core.crypto``); both or neither.
    hook_url: Mapped[str | None] = mapped_column(sa.String(500))
    hook_secret: Mapped[str | None] = mapped_column(sa.String(200))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    #: The channels chosen per kind of event (``notifications.alerts.channels_for``).
    alert_preferences: Mapped[list["AlertPreference"]] = relationship(  # noqa: F821
        cascade="all, delete-orphan", lazy="select")

    # Flask-Login asks ``is_active``; an inactive account cannot keep a session.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def admin_role(self) -> Role | None:
        held = self.roles & ADMIN_ROLES
        return next(iter(held)) if held else None

    @property
    def work_roles(self) -> frozenset[Role]:
        return self.roles & WORK_ROLES

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class PasswordReset(db.Model):
    """One reset by the security administrator: a one-time password made by caseflow and
    sent to the account's owner only. Only its hash is kept (here and as the account's
    password until the owner chooses one); it signs in once, before ``expires_at``."""

    __tablename__ = "password_resets"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("used_at IS NULL OR used_at >= created_at", name="used_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The one sign-in it allowed; a second one is refused.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: Where it went, masked (``电子邮件 z***@example.org、短信 139****5678``).
    sent_to: Mapped[str] = mapped_column(sa.String(200))
