"""What the API answers, as pydantic models: the responses are built through them and the
OpenAPI document takes its schemas from them (``model_json_schema``: JSON Schema 2020-12,
the dialect OpenAPI 3.1 uses). The person's identity (name, resident ID number, phone,
address) has no field here, so it cannot reach a response."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


#: Record ids are 32-bit integers in the database: an id past this names nothing.
MAX_ID = 2**31 - 1
RECORD_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class Organisation(BaseModel):
    id: int
    name: str


class Person(BaseModel):
    """The woman as the lists show her: her pseudonym, never her identity."""
    id: int
    pseudonym: str


class ReferralSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str | None = Field(description="The sender's letter number (none for a draft).")
    state: str = Field(description="draft, sent, registered, replied, closed, returned, withdrawn …")
    direction: str
    source: str
    is_urgent: bool
    sender: Organisation
    receiver: Organisation
    person: Person
    sent_at: datetime | None
    received_on: date | None
    registration_due_on: date | None
    reply_due_on: date | None
    replied_at: datetime | None
    version: int


class Referral(ReferralSummary):
    help_requested: list[str]
    criminal_case_number: str | None
    offence: str | None
    offence_on: date | None
    circumstances: str
    registration_number: str | None
    handler: str | None = Field(description="The handler's name.")
    reply_on: date | None
    reply_outcome: str | None
    reply_text: str | None
    closed_at: datetime | None


class ReferralPage(BaseModel):
    items: list[ReferralSummary]
    next: str | None = Field(description="The next page's URL (its opaque cursor), or null on the last.")


class WebhookDelivery(BaseModel):
    """What a service account's webhook receives: one event, signed (Caseflow-Signature)."""
    id: str = Field(description="The delivery's id, the same on every retry: drop a repeat.")
    event: str = Field(description="referral.sent, item.accepted …")
    occurred_at: datetime
    data: dict = Field(description="The record as the event left it: numbers, states, dates, "
                                   "the woman's pseudonym; never her identity.")


class FieldError(BaseModel):
    field: str = Field(description="The body's field, dotted for a nested one (new_person.phone).")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457), its detail in the caller's language."""
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="Each bad field, when there are some.")


# -- request bodies: unknown fields are refused, so a misspelt one is not silently dropped ----

_BODY = ConfigDict(extra="forbid")


class NewPerson(BaseModel):
    """The woman recorded with the referral. Her identity goes in, never comes out."""
    model_config = _BODY

    pseudonym: str | None = Field(default=None, max_length=60)
    real_name: str | None = Field(default=None, max_length=100)
    resident_id: str | None = Field(default=None, max_length=40, description="18-digit resident ID number.")
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class NewReferral(BaseModel):
    """A draft: for a person already recorded (``person_id``) or one recorded with it
    (``new_person``)."""
    model_config = _BODY

    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    new_person: NewPerson | None = None
    receiver_id: int = Field(ge=1, le=MAX_ID, description="The receiving organisation.")
    source: str = Field(max_length=40, description="Where the lead came from (the form's choices).")
    circumstances: str = Field(max_length=20000)
    help_requested: list[str] = Field(default_factory=list, max_length=20)
    is_urgent: bool = False
    criminal_case_number: str | None = Field(default=None, max_length=100)
    offence: str | None = Field(default=None, max_length=100)
    offence_on: date | None = None
    consent_on: date | None = None
    consent_method: str | None = Field(default=None, max_length=40)


class Registration(BaseModel):
    model_config = _BODY

    registration_number: str = Field(max_length=60)
    received_on: date
    handler_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The designated handler; "
                                   "none: the caller, when she may handle it.")


class Reply(BaseModel):
    model_config = _BODY

    outcome: str = Field(max_length=40)
    text: str = Field(max_length=20000)
    reply_on: date
    case_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The judicial aid case opened, for that outcome.")


class Text(BaseModel):
    model_config = _BODY

    text: str = Field(max_length=20000)


class Reason(BaseModel):
    model_config = _BODY

    reason: str = Field(max_length=2000)


class RevealRequest(BaseModel):
    model_config = _BODY

    purpose: str = Field(max_length=500, description="Why you need her identity; logged with the view.")


class Comment(BaseModel):
    id: int
    referral_id: int
    at: datetime
    author: str
    text: str


class Identity(BaseModel):
    """A person's identity in the clear: only ever the answer to a reveal, which is logged."""
    person_id: int
    pseudonym: str
    real_name: str | None
    gender: str | None
    birth_date: date | None
    resident_id: str | None
    phone: str | None
    address: str | None


def _summary_fields(ref) -> dict:
    return dict(
        id=ref.id, number=ref.number, state=ref.state, direction=ref.direction, source=ref.source,
        is_urgent=ref.is_urgent, sender=Organisation(id=ref.sender_org.id, name=ref.sender_org.name),
        receiver=Organisation(id=ref.receiver_org.id, name=ref.receiver_org.name),
        person=Person(id=ref.person.id, pseudonym=ref.person.pseudonym), sent_at=ref.sent_at,
        received_on=ref.received_on, registration_due_on=ref.registration_due_on,
        reply_due_on=ref.reply_due_on, replied_at=ref.replied_at, version=ref.version)


def referral_summary(ref) -> ReferralSummary:
    return ReferralSummary(**_summary_fields(ref))


def referral_detail(ref) -> Referral:
    return Referral(
        **_summary_fields(ref), help_requested=list(ref.help_requested or []),
        criminal_case_number=ref.criminal_case_number, offence=ref.offence, offence_on=ref.offence_on,
        circumstances=ref.circumstances, registration_number=ref.registration_number,
        handler=ref.handler.display_name if ref.handler else None, reply_on=ref.reply_on,
        reply_outcome=ref.reply_outcome, reply_text=ref.reply_text, closed_at=ref.closed_at)
