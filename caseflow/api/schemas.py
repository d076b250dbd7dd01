"""What the API answers, as pydantic models: the responses are built through them and the
OpenAPI document takes its schemas from them (``model_json_schema``: JSON Schema 2020-12,
the dialect OpenAPI 3.1 uses). The person's identity (name, resident ID number, phone,
address) has no field here, so it cannot reach a response."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


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


class Problem(BaseModel):
    """An error (RFC 9457), its detail in the caller's language."""
    type: str
    title: str
    status: int
    detail: str


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
