"""Visits saved on a phone without a connection and sent when it is back (issue 18).

**The key.** Each user has a P-256 key pair that the server derives from the app's secret
key (HMAC-SHA-256 of the user's id): the private half never leaves the server; the visit
form page carries the public half (``phone_key``). On the phone, each visit is sealed for
the user's key: a fresh ECDH key pair, HKDF-SHA-256 of the shared secret to an AES-256-GCM
key, the case and the visit's token bound in as associated data
(static/js/offline-visits.js). The phone keeps the sealed visit and the fresh public key
only; nobody can open it there, neither the user herself nor the next user of the phone,
nor anyone who takes the phone. Only the server, for the user who saved it, opens it
(``open_draft``). Per user rather than per session: a worker in the field for an afternoon
outlasts the idle sign-out, and a visit sealed for an ended session would be lost.

**The send.** ``receive_visit`` opens the sealed visit, reads it as the visit form would,
and records it through ``record_visit`` (its checks, timeline event and audit row) with
the phone's token (``visits.client_token``, unique): the visit sent again after a lost
answer is found and answered as recorded, never recorded twice. Its photo is stored as a
document of the visit (``add_document``, with the attachments' type and size checks).

**Conflicts.** The form carries the case's ``version`` when the phone saved it (every
change of the case row moves it: a proposal, its review, the decision, the handler) and
the time it was loaded. If the case moved on, or visits can no longer be recorded (the
case is no longer investigated, or the user left its team), the visit is not recorded
and ``OfflineVisitConflict`` says why and what happened since; the phone keeps it for the
user to send again against the case as it is now, or to discard it herself.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import format_datetime, gettext as _
from sqlalchemy.exc import IntegrityError

from caseflow.core.errors import Checks, Conflict, ValidationFailed, field_errors
from caseflow.extensions import db
from caseflow.investigations import policy
from caseflow.investigations.models import (
    CASE_STATE_LABELS, PLACE_LABELS, AidCase, CaseEvent, CaseState, Visit,
)
from caseflow.investigations.services.cases import add_document
from caseflow.investigations.services.investigation import VisitInput, record_visit

#: The HKDF ``info`` of the phone's AES key: the same words in static/js/offline-visits.js.
KEY_INFO = b"caseflow offline visit v1"
#: The order of P-256's group: a private scalar lies in 1 … ORDER-1.
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
TOKEN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: What the visit form's fields hold at most (``forms.VisitForm``).
LIMITS = {"met": 2000, "notes": 10000, "other_visitors": 300}
#: The events listed in a conflict: what happened to the case since the form was saved.
CHANGES_SHOWN = 10


@dataclass(frozen=True)
class PhoneKey:
    #: The public key, uncompressed point (65 bytes), base64.
    public: str
    #: The first 16 hex digits of its SHA-256: which key sealed a visit.
    key_id: str


def _private_key(user_id: int) -> ec.EllipticCurvePrivateKey:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"caseflow offline visits|user {user_id}".encode(),
                      hashlib.sha256).digest()
    return ec.derive_private_key(int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1,
                                 ec.SECP256R1())


def phone_key(user) -> PhoneKey:
    """The public key a phone seals this user's visits for: not secret, it opens nothing."""
    raw = _private_key(user.id).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return PhoneKey(public=base64.b64encode(raw).decode(),
                    key_id=hashlib.sha256(raw).hexdigest()[:16])


def _b64(value, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValidationFailed(_("The visit sent from the phone is damaged (%(what)s); nothing "
                                 "was recorded.", what=what)) from None


def open_draft(user, *, case_id: int, token: str, sealed) -> dict:
    """The visit the phone sealed for ``user``, as the phone's form had it."""
    if not isinstance(sealed, dict):
        raise ValidationFailed(_("The visit sent from the phone is damaged (%(what)s); nothing "
                                 "was recorded.", what="sealed"))
    key = phone_key(user)
    if sealed.get("kid") != key.key_id:
        raise ValidationFailed(_("This visit was saved on this phone by another account, and only "
                                 "that account can send it; nothing was recorded."))
    ephemeral, nonce, data = (_b64(sealed.get(name), name) for name in ("epk", "iv", "data"))
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral)
        shared = _private_key(user.id).exchange(ec.ECDH(), public)
        aes_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=key.key_id.encode(),
                       info=KEY_INFO).derive(shared)
        plain = AESGCM(aes_key).decrypt(nonce, data, f"{token}|{case_id}".encode())
        payload = json.loads(plain.decode("utf-8"))
    except (ValueError, InvalidTag, UnicodeDecodeError):
        raise ValidationFailed(_("The visit sent from the phone could not be opened (it is "
                                 "damaged, or was saved for another case); nothing was "
                                 "recorded.")) from None
    if not isinstance(payload, dict):
        raise ValidationFailed(_("The visit sent from the phone is damaged (%(what)s); nothing "
                                 "was recorded.", what="payload"))
    return payload


@dataclass
class Photo:
    filename: str
    data: bytes


def _text(payload: dict, name: str) -> str:
    value = payload.get(name)
    return value if isinstance(value, str) else ""


def read_draft(payload: dict) -> tuple[VisitInput, Photo | None]:
    """The opened visit as the visit form reads its fields: a date that is no date is no
    date (the service then asks for one), a text too long is refused beside its field."""
    checks = Checks()
    try:
        visited_on = date.fromisoformat(_text(payload, "visited_on"))
    except ValueError:
        visited_on = None
    for name, limit in LIMITS.items():
        with checks:
            if len(_text(payload, name)) > limit:
                raise ValidationFailed(_("At most %(n)d characters.", n=limit), field=name)
    ids = payload.get("visitor_ids")
    visitor_ids = [int(v) for v in ids if isinstance(v, (int, str)) and str(v).isdigit()
                   and 0 < int(v) < 2**31] if isinstance(ids, list) else []
    photo = None
    sent = payload.get("photo")
    if sent:
        with checks:
            if not isinstance(sent, dict) or not isinstance(sent.get("data"), str):
                raise ValidationFailed(_("The photo could not be read; take it again."),
                                       field="attachment")
            try:
                photo = Photo(filename=_text(sent, "name") or "photo.jpg",
                              data=base64.b64decode(sent["data"], validate=True))
            except (binascii.Error, ValueError):
                raise ValidationFailed(_("The photo could not be read; take it again."),
                                       field="attachment") from None
    checks.done()
    data = VisitInput(visited_on=visited_on, place_kind=_text(payload, "place_kind"),
                      address=_text(payload, "address"), visitor_ids=visitor_ids,
                      other_visitors=_text(payload, "other_visitors"), met=_text(payload, "met"),
                      notes=_text(payload, "notes"))
    return data, photo


class OfflineVisitConflict(Conflict):
    """The visit was not recorded: the case changed, or visits cannot be recorded now.
    ``changes``: what happened to the case since the form was saved on the phone."""

    def __init__(self, message, *, current_version: int, changes: list[str], summary: dict):
        super().__init__(str(message))
        self.current_version, self.changes, self.summary = current_version, changes, summary


def _changes_since(case: AidCase, since: datetime | None) -> list[str]:
    query = sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
    if since is not None:
        query = query.where(CaseEvent.occurred_at > since)
    events = db.session.scalars(query.order_by(CaseEvent.id.desc()).limit(CHANGES_SHOWN)).all()
    return [f"{format_datetime(e.occurred_at, 'yyyy-MM-dd HH:mm')} {e.kind_label}（{e.actor_name}）"
            for e in reversed(events)]


def _summary(data: VisitInput) -> dict:
    """What the page shows of a visit in conflict (its address, protected, is not shown)."""
    place = PLACE_LABELS.get(data.place_kind) if data.place_kind else None
    return {"visited_on": data.visited_on.isoformat() if data.visited_on else "",
            "place": str(place) if place else "", "met": data.met or "",
            "notes": (data.notes or "")[:300]}


def visit_with_token(token: str) -> Visit | None:
    return db.session.scalar(sa.select(Visit).where(Visit.client_token == token))


@dataclass
class Received:
    visit: Visit
    #: Recorded by an earlier send of the same visit (its answer was lost): nothing new.
    already: bool


def _already(existing: Visit, case: AidCase, actor) -> Received:
    if existing.recorded_by_id != actor.id or existing.investigation.case_id != case.id:
        raise Conflict(_("Another visit was recorded with this visit's token; nothing was "
                         "recorded. Discard this copy and record the visit again."))
    return Received(visit=existing, already=True)


def sync_visit(case: AidCase, *, actor, now: datetime, token: str, data: VisitInput,
               photo: Photo | None, base_version: int | None,
               form_at: datetime | None) -> Received:
    """Record a visit the phone saved offline, once: see the module's text."""
    existing = visit_with_token(token)
    if existing is not None:
        return _already(existing, case, actor)
    if case.investigation is None or not policy.can_record_findings(actor, case):
        if case.state != CaseState.INVESTIGATING.value:
            reason = _("The case is now “%(state)s”: visits are recorded only while it is "
                       "investigated. The visit stays on this phone: send it again once the case "
                       "is investigated again, or discard it.",
                       state=CASE_STATE_LABELS[case.state_enum])
        else:
            reason = _("You are no longer on this case's investigation team, so the visit cannot "
                       "be recorded in your name. It stays on this phone until you discard it.")
        raise OfflineVisitConflict(reason, current_version=case.version,
                                   changes=_changes_since(case, form_at), summary=_summary(data))
    if base_version is not None and base_version != case.version:
        raise OfflineVisitConflict(
            _("The case changed after this visit form was saved on your phone. Check that the "
              "visit still fits the case as it is now, then send it again, or discard it."),
            current_version=case.version, changes=_changes_since(case, form_at),
            summary=_summary(data))
    try:
        with db.session.begin_nested():
            visit = record_visit(case, actor=actor, now=now, data=data, client_token=token)
            if photo is not None:
                add_document(case, actor=actor, now=now, filename=photo.filename, data=photo.data,
                             visit=visit)
    except IntegrityError:
        # The same visit sent twice at once: the other send's insert won the unique token.
        existing = visit_with_token(token)
        if existing is None:
            raise
        return _already(existing, case, actor)
    return Received(visit=visit, already=False)


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class OfflineVisitRefused(ValidationFailed):
    """The opened visit's fields (or its photo) are refused as the visit form would refuse
    them (``errors``); ``fields`` is the visit as the phone sealed it, for the user who saved
    it to correct in the form (the phone holds no key that opens it)."""

    def __init__(self, refusal: ValidationFailed, *, fields: dict):
        super().__init__(refusal.message, field=refusal.field)
        self.errors = field_errors(refusal)
        self.fields = fields


def _editable(payload: dict) -> dict:
    fields = {name: _text(payload, name) for name in (
        "visited_on", "place_kind", "address", "other_visitors", "met", "notes")}
    ids = payload.get("visitor_ids")
    fields["visitor_ids"] = [v for v in ids if isinstance(v, int)] if isinstance(ids, list) else []
    photo = payload.get("photo")
    fields["photo"] = photo if isinstance(photo, dict) else None
    return fields


def receive_visit(case: AidCase, *, actor, now: datetime, body: dict) -> Received:
    """What the phone sent (``{token, base_version, form_at, sealed}``): opened, read and
    recorded once (``sync_visit``); a refusal records nothing."""
    token = body.get("token")
    if not isinstance(token, str) or not TOKEN.match(token):
        raise ValidationFailed(_("The visit sent from the phone has no valid token; nothing was "
                                 "recorded."))
    base_version = body.get("base_version")
    if not isinstance(base_version, int) or isinstance(base_version, bool) or base_version < 1:
        base_version = None
    payload = open_draft(actor, case_id=case.id, token=token, sealed=body.get("sealed"))
    try:
        data, photo = read_draft(payload)
        return sync_visit(case, actor=actor, now=now, token=token, data=data, photo=photo,
                          base_version=base_version, form_at=_parse_time(body.get("form_at")))
    except ValidationFailed as refusal:
        raise OfflineVisitRefused(refusal, fields=_editable(payload)) from refusal
