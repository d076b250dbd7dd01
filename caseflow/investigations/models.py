"""Judicial aid cases (司法救助案件) and their joint investigations (联合调查).

A case belongs to a procuratorate. It may come from a registered referral (the referral's
formal reply then points to it) or directly. Its state moves only through the service
functions in ``services.py`` along ``TRANSITIONS``; each move writes a timeline event and
an audit row. The database keeps the invariants that matter whatever the code does:
amounts positive with two decimals, nobody reviews their own proposal, a decided case
has its amount and date, a paid case its payment.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseflow.core.attachments import StoredFile
from caseflow.core.db import TimestampMixin, UTCDateTime, check_in
from caseflow.core.enums import LabelledEnum
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people.models import Person, register_sealed_copy
from caseflow.extensions import db

#: Yuan with two decimals, stored exactly (NUMERIC; SQLite keeps the text form's value
#: through SQLAlchemy's Decimal conversion).
Money = sa.Numeric(12, 2, asdecimal=True)


class CaseState(LabelledEnum):
    INVESTIGATING = "investigating", _l("Being investigated")
    PROPOSED = "proposed", _l("Proposal awaiting approval")
    APPROVED = "approved", _l("Approved, awaiting decision")
    REJECTED = "rejected", _l("Rejected")
    DECIDED = "decided", _l("Decided, awaiting payment")
    PAID = "paid", _l("Paid")


CASE_STATE_LABELS = CaseState.labels()

#: The one map of allowed moves: (from, to) -> the service that makes it.
TRANSITIONS = {
    (CaseState.INVESTIGATING, CaseState.PROPOSED): "propose",
    (CaseState.PROPOSED, CaseState.APPROVED): "approve",
    (CaseState.PROPOSED, CaseState.REJECTED): "reject",
    (CaseState.PROPOSED, CaseState.INVESTIGATING): "return_proposal",
    (CaseState.APPROVED, CaseState.DECIDED): "decide",
    (CaseState.DECIDED, CaseState.PAID): "record_payment",
}


class PlaceKind(LabelledEnum):
    STREET_OFFICE = "street_office", _l("Street office")
    COMMUNITY = "community", _l("Community")
    HOME = "home", _l("The family's home")
    HOSPITAL = "hospital", _l("Hospital")
    SCHOOL = "school", _l("School")
    EMPLOYER = "employer", _l("Employer")
    OTHER = "other", _l("Other place")


PLACE_LABELS = PlaceKind.labels()


class MeasureKind(LabelledEnum):
    COUNSELLING = "counselling", _l("Psychological counselling")
    LEGAL_AID = "legal_aid", _l("Legal aid")
    JOB_TRAINING = "job_training", _l("Job training")
    SKILLS_TRAINING = "skills_training", _l("Skills training")
    SOCIAL_ASSISTANCE = "social_assistance", _l("Social assistance")
    FOLLOW_UP = "follow_up", _l("Follow-up")


MEASURE_LABELS = MeasureKind.labels()


class MeasureState(LabelledEnum):
    #: Part of a proposal not yet approved.
    RECOMMENDED = "recommended", _l("Recommended, awaiting approval")
    #: The decision was approved: waiting for the assistance module to take it over.
    READY = "ready", _l("Approved, for the assistance plan")
    #: An assistance item now carries it.
    TAKEN_OVER = "taken_over", _l("Taken into the assistance plan")
    #: The proposal was rejected (or returned, and proposed anew).
    DROPPED = "dropped", _l("Dropped")


class PaymentMethod(LabelledEnum):
    BANK_TRANSFER = "bank_transfer", _l("Bank transfer")
    CASH = "cash", _l("Cash")
    OTHER = "other", _l("Other")


PAYMENT_LABELS = PaymentMethod.labels()


class ReviewOutcome(LabelledEnum):
    APPROVE = "approve", _l("Approve")
    RETURN = "return", _l("Return for further investigation")
    REJECT = "reject", _l("Reject")


class CaseEventKind(LabelledEnum):
    OPENED = "opened", _l("Case opened")
    DOCUMENT_ADDED = "document_added", _l("Document added")
    INVESTIGATION_STARTED = "investigation_started", _l("Joint investigation started")
    TEAM_CHANGED = "team_changed", _l("Team changed")
    VISIT_RECORDED = "visit_recorded", _l("Visit recorded")
    VISIT_CORRECTED = "visit_corrected", _l("Visit corrected")
    VISIT_VOIDED = "visit_voided", _l("Visit marked void")
    HOUSEHOLD_SAVED = "household_saved", _l("Household assessment saved")
    MEMBER_SAVED = "member_saved", _l("Household member saved")
    PROPOSED = "proposed", _l("Aid proposed")
    APPROVED = "approved", _l("Proposal approved")
    REJECTED = "rejected", _l("Proposal rejected")
    RETURNED = "returned", _l("Proposal returned")
    DECIDED = "decided", _l("Decision recorded")
    PAID = "paid", _l("Payment recorded")


CASE_EVENT_LABELS = CaseEventKind.labels()


class AidCase(TimestampMixin, db.Model):
    __tablename__ = "aid_cases"
    __table_args__ = (
        sa.CheckConstraint(check_in("state", CaseState), name="state_known"),
        sa.CheckConstraint("proposed_amount IS NULL OR proposed_amount > 0", name="proposed_positive"),
        sa.CheckConstraint("granted_amount IS NULL OR granted_amount > 0", name="granted_positive"),
        sa.CheckConstraint("paid_amount IS NULL OR paid_amount > 0", name="paid_positive"),
        sa.CheckConstraint("state = 'investigating' OR proposed_amount IS NOT NULL",
                           name="proposal_has_amount"),
        # Nobody approves (or rejects) their own proposal.
        sa.CheckConstraint("reviewed_by_id IS NULL OR reviewed_by_id <> proposed_by_id",
                           name="reviewer_not_proposer"),
        sa.CheckConstraint("state NOT IN ('approved', 'rejected', 'decided', 'paid') "
                           "OR reviewed_by_id IS NOT NULL", name="reviewed_when_approved"),
        sa.CheckConstraint("state NOT IN ('decided', 'paid') "
                           "OR (granted_amount IS NOT NULL AND decided_on IS NOT NULL)",
                           name="decision_complete"),
        sa.CheckConstraint("state <> 'paid' OR (paid_amount IS NOT NULL AND paid_on IS NOT NULL "
                           "AND payment_method IS NOT NULL)", name="payment_complete"),
        sa.UniqueConstraint("numbering_org_id", "number_year", "number_seq", name="uq_aid_cases_number_seq"),
        # Brought in from an office's ledger (caseflow/imports, migration 0024): the file's
        # SHA-256 and its row, both or neither; a row of a file is imported once.
        sa.CheckConstraint("(imported_sha256 IS NULL) = (imported_row IS NULL)",
                           name="imported_with_row"),
        sa.Index("uq_aid_cases_imported_row", "imported_sha256", "imported_row", unique=True),
        sa.Index("ix_aid_cases_org_state", "organisation_id", "state"),
        sa.Index("ix_aid_cases_handler_state", "handler_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(60), unique=True)
    number_year: Mapped[int] = mapped_column()
    number_seq: Mapped[int] = mapped_column()
    numbering_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    #: The procuratorate (department) that handles the case.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    #: The registered referral it came from; at most one case per referral.
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), unique=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    handler_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(sa.String(16), default=CaseState.INVESTIGATING.value)

    criminal_case_number: Mapped[str | None] = mapped_column(sa.String(80))
    offence: Mapped[str | None] = mapped_column(sa.String(120))
    offence_on: Mapped[date | None] = mapped_column(sa.Date)
    application_received_on: Mapped[date] = mapped_column(sa.Date)
    summary: Mapped[str] = mapped_column(sa.Text)

    #: Findings and recommendation.
    findings: Mapped[str | None] = mapped_column(sa.Text)
    proposed_amount: Mapped[Decimal | None] = mapped_column(Money)
    proposal_reasons: Mapped[str | None] = mapped_column(sa.Text)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The supervisor's review: approval, rejection, or the last return.
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(sa.Text)

    granted_amount: Mapped[Decimal | None] = mapped_column(Money)
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    decision_text: Mapped[str | None] = mapped_column(sa.Text)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    payment_method: Mapped[str | None] = mapped_column(sa.String(20))
    payment_reference: Mapped[str | None] = mapped_column(sa.String(120))
    #: Imported from a ledger file (``caseflow.imports``): the file's SHA-256 and the row
    #: (1 is the headings), kept with the case's original number and dates.
    imported_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    imported_row: Mapped[int | None] = mapped_column()

    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id], lazy="joined")
    #: The organisation whose series gave ``number``: the decision's and the report's
    #: letterhead and signature.
    numbering_org: Mapped[Organisation] = relationship(foreign_keys=[numbering_org_id])
    applicant: Mapped[Person] = relationship(lazy="joined")
    handler: Mapped[User] = relationship(foreign_keys=[handler_id], lazy="joined")
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    referral = relationship("Referral", foreign_keys=[referral_id])
    investigation: Mapped[Investigation | None] = relationship(back_populates="case", uselist=False)
    assessment: Mapped[HouseholdAssessment | None] = relationship(back_populates="case", uselist=False)
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    measures: Mapped[list[RecommendedMeasure]] = relationship(
        back_populates="case", order_by="RecommendedMeasure.id", cascade="all, delete-orphan")
    documents: Mapped[list[CaseDocument]] = relationship(
        back_populates="case", order_by="CaseDocument.id",
        primaryjoin="and_(CaseDocument.case_id == AidCase.id, CaseDocument.visit_id.is_(None))",
        viewonly=True)

    @property
    def state_enum(self) -> CaseState:
        return CaseState(self.state)

    @property
    def is_imported(self) -> bool:
        return self.imported_sha256 is not None

    @property
    def current_measures(self) -> list[RecommendedMeasure]:
        """The measures of the current proposal (a returned proposal's are dropped); for a
        rejected case, what was rejected."""
        if self.state == CaseState.REJECTED.value:
            return list(self.measures)
        return [m for m in self.measures if m.state != MeasureState.DROPPED.value]

    def __repr__(self) -> str:
        return f"<AidCase {self.id} {self.number} {self.state}>"


class AidCaseCounter(db.Model):
    """The last aid case number of a procuratorate in a year (see ``core.numbering``)."""

    __tablename__ = "aid_case_counters"

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)


class CaseEvent(db.Model):
    """One line of a case's timeline."""

    __tablename__ = "aid_case_events"
    __table_args__ = (sa.CheckConstraint(check_in("kind", CaseEventKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_cases.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(100))
    actor_org_name: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(24))
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str | None] = mapped_column(sa.String(16))
    text: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)

    case: Mapped[AidCase] = relationship(back_populates="events")

    @property
    def kind_label(self) -> str:
        return str(CASE_EVENT_LABELS[CaseEventKind(self.kind)])


class Investigation(TimestampMixin, db.Model):
    """The joint investigation of a case: a team from both sides, and a plan."""

    __tablename__ = "investigations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_cases.id"), unique=True)
    plan: Mapped[str] = mapped_column(sa.Text)
    started_on: Mapped[date] = mapped_column(sa.Date)
    started_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    case: Mapped[AidCase] = relationship(back_populates="investigation")
    members: Mapped[list[InvestigationMember]] = relationship(
        back_populates="investigation", order_by="InvestigationMember.id", lazy="selectin",
        cascade="all, delete-orphan")
    visits: Mapped[list[Visit]] = relationship(back_populates="investigation",
                                               order_by="(Visit.visited_on, Visit.id)")


class InvestigationMember(db.Model):
    __tablename__ = "investigation_members"
    __table_args__ = (sa.UniqueConstraint("investigation_id", "user_id", name="uq_investigation_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    investigation_id: Mapped[int] = mapped_column(sa.ForeignKey("investigations.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: "federation" or "procuratorate", from the member's organisation when added.
    side: Mapped[str] = mapped_column(sa.String(20))

    investigation: Mapped[Investigation] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


#: The address visited is usually the woman's home: sealed, masked and revealed like her
#: own address (``core.people``), in the column ``visits.address_sealed``.
VISIT_ADDRESS = register_sealed_copy("visits", "address_sealed", field="address",
                                     logged_as="visit_address")


class Visit(TimestampMixin, db.Model):
    """A visit (走访). Never deleted: corrected with a reason, or marked void with one."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.CheckConstraint(check_in("place_kind", PlaceKind), name="place_known"),
        sa.CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_has_reason"),
        # Nothing in clear: whatever writes the row, only a sealed value is accepted.
        sa.CheckConstraint("address_sealed LIKE 'sm4gcm$%'", name="address_is_sealed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    investigation_id: Mapped[int] = mapped_column(sa.ForeignKey("investigations.id"), index=True)
    visited_on: Mapped[date] = mapped_column(sa.Date)
    place_kind: Mapped[str] = mapped_column(sa.String(20))
    #: The address visited, sealed (``VISIT_ADDRESS``); 300 characters at most in clear.
    address_sealed: Mapped[str] = mapped_column(sa.Text)
    #: The team members who went (user ids), and anyone else by name.
    visitor_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    other_visitors: Mapped[str | None] = mapped_column(sa.String(300))
    met: Mapped[str] = mapped_column(sa.Text)
    notes: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: A visit saved on a phone without a connection and sent later (``services.offline``):
    #: the token the phone gave it, unique, so that sending it again records nothing twice.
    client_token: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    investigation: Mapped[Investigation] = relationship(back_populates="visits")
    documents: Mapped[list[CaseDocument]] = relationship(back_populates="visit", order_by="CaseDocument.id")

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class CaseDocument(StoredFile, db.Model):
    """A file of the case (the application and its documents) or of one of its visits,
    stored outside the database, encrypted, by its SHA-256 (``core.files``)."""

    __tablename__ = "aid_case_documents"
    owner_column = "case_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_cases.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)

    case: Mapped[AidCase] = relationship(foreign_keys=[case_id])
    visit: Mapped[Visit | None] = relationship(back_populates="documents")


class HouseholdAssessment(TimestampMixin, db.Model):
    """The household's means, recorded during the visits: one per case."""

    __tablename__ = "household_assessments"
    __table_args__ = tuple(
        sa.CheckConstraint(f"{name} IS NULL OR {name} >= 0", name=f"{name}_not_negative")
        for name in ("medical_costs", "schooling_costs", "housing_costs", "other_costs",
                     "income_lost"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_cases.id"), unique=True)
    medical_costs: Mapped[Decimal | None] = mapped_column(Money)
    schooling_costs: Mapped[Decimal | None] = mapped_column(Money)
    housing_costs: Mapped[Decimal | None] = mapped_column(Money)
    other_costs: Mapped[Decimal | None] = mapped_column(Money)
    #: Monthly income the household lost because of the crime.
    income_lost: Mapped[Decimal | None] = mapped_column(Money)
    qualifies_minimum_allowance: Mapped[bool | None] = mapped_column()
    minimum_allowance_reason: Mapped[str | None] = mapped_column(sa.Text)
    other_help: Mapped[str | None] = mapped_column(sa.Text)
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    case: Mapped[AidCase] = relationship(back_populates="assessment")
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="assessment", order_by="HouseholdMember.id", lazy="selectin")

    @property
    def monthly_costs(self) -> Decimal:
        return sum((c or Decimal("0") for c in (self.medical_costs, self.schooling_costs,
                                                self.housing_costs, self.other_costs)), Decimal("0"))

    @property
    def monthly_income(self) -> Decimal:
        return sum((m.monthly_income or Decimal("0") for m in self.members), Decimal("0"))

    @property
    def monthly_gap(self) -> Decimal:
        """Income less costs: negative when the household cannot cover its costs."""
        return self.monthly_income - self.monthly_costs

    @property
    def minors(self) -> list[HouseholdMember]:
        return [m for m in self.members if m.is_minor]


class HouseholdMember(TimestampMixin, db.Model):
    """A member of the household. Identity (name, birth date, ID number) lives in the
    linked ``Person``, sealed and masked like everyone's; a minor's is restricted to the
    case's team and supervisors (``policy.on_case_team`` widens the people policy)."""

    __tablename__ = "household_members"
    __table_args__ = (
        sa.CheckConstraint("age_years IS NULL OR (age_years >= 0 AND age_years <= 120)",
                           name="age_possible"),
        sa.CheckConstraint("monthly_income IS NULL OR monthly_income >= 0", name="income_not_negative"),
        sa.CheckConstraint("NOT is_minor OR age_years < 18", name="minor_under_18"),
        sa.UniqueConstraint("assessment_id", "person_id", name="uq_household_members_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("household_assessments.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    relation: Mapped[str] = mapped_column(sa.String(40))
    #: Age when the assessment recorded it (from the birth date when known).
    age_years: Mapped[int | None] = mapped_column()
    is_minor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    schooling: Mapped[str | None] = mapped_column(sa.String(120))
    work: Mapped[str | None] = mapped_column(sa.String(120))
    monthly_income: Mapped[Decimal | None] = mapped_column(Money)
    income_source: Mapped[str | None] = mapped_column(sa.String(60))
    health: Mapped[str | None] = mapped_column(sa.String(200))
    disability: Mapped[str | None] = mapped_column(sa.String(200))

    assessment: Mapped[HouseholdAssessment] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class RecommendedMeasure(db.Model):
    """A measure recommended with the aid amount (counselling, skills training, ...), with
    the agency proposed to give it. Once the decision is approved it waits, ``ready``,
    for the assistance module to take it over as a service item without re-typing."""

    __tablename__ = "recommended_measures"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", MeasureKind), name="kind_known"),
        sa.CheckConstraint(check_in("state", MeasureState), name="state_known"),
        sa.Index("ix_recommended_measures_ready", "state", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("aid_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    details: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(12), default=MeasureState.RECOMMENDED.value)
    #: Filled by the assistance module when it takes the measure over.
    taken_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assistance_ref: Mapped[str | None] = mapped_column(sa.String(60))

    case: Mapped[AidCase] = relationship(back_populates="measures")
    agency: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return str(MEASURE_LABELS[MeasureKind(self.kind)])

    @property
    def state_label(self) -> str:
        return MeasureState(self.state).label
