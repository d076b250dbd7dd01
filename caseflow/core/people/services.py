"""Recording persons, and reading their identity masked or (logged) unmasked."""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from pypinyin import lazy_pinyin

from caseflow.core.audit.services import record, record_access
from caseflow.core.crypto import FieldCipher, cipher_for_app
from caseflow.core.db import local_date
from caseflow.core.errors import Checks, Conflict, NotAllowed, ValidationFailed
from caseflow.core.orgs.models import Organisation
from caseflow.core.people import policy
from caseflow.core.people.masking import mask
from caseflow.core.people.models import PROTECTED_FIELDS, Person, SealedCopy
from caseflow.core.people.validation import (
    birth_date_from_resident_id, clean_purpose, gender_from_resident_id, normalise_phone,
    normalise_resident_id,
)
from caseflow.extensions import db

GENDERS = ("female", "male")
ADULT_AGE = 18


@dataclass
class Identity:
    """The protected fields in the clear; only ever held in memory."""

    real_name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    resident_id: str | None = None
    phone: str | None = None
    address: str | None = None

    def as_text(self) -> dict[str, str | None]:
        out = {}
        for f in dataclass_fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, date) else value
        return out


def pinyin_of(text: str) -> str:
    """``小雨`` → ``xiaoyu``: what a search box compares against."""
    return "".join(lazy_pinyin(text)).lower().replace(" ", "")


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def clean_identity(identity: Identity, *, today: date, checks: Checks | None = None) -> Identity:
    """Validated and normalised identity. Every field is checked; the refusal
    (``FieldErrors``) names each bad field. With ``checks`` the errors join the caller's
    (who then calls ``checks.done()``)."""
    own = checks is None
    checks = checks if checks is not None else Checks()
    cleaned = Identity(
        real_name=(identity.real_name or "").strip() or None,
        gender=identity.gender or None,
        birth_date=identity.birth_date,
        address=(identity.address or "").strip() or None,
    )
    with checks:
        if cleaned.gender is not None and cleaned.gender not in GENDERS:
            raise ValidationFailed(_("Choose a gender from the list."), field="gender")
    with checks:
        if cleaned.birth_date is not None:
            if cleaned.birth_date > today:
                raise ValidationFailed(_("A birth date cannot be in the future."), field="birth_date")
            if age_on(cleaned.birth_date, today) > 120:
                raise ValidationFailed(_("This birth date would make the person older than 120."),
                                       field="birth_date")
    with checks:
        if identity.resident_id:
            resident_id = normalise_resident_id(identity.resident_id)
            from_id = birth_date_from_resident_id(resident_id)
            if from_id > today:
                raise ValidationFailed(
                    _("The birth date inside this resident ID number is in the future."),
                    field="resident_id",
                )
            cleaned.resident_id = resident_id
            if cleaned.birth_date is None:
                cleaned.birth_date = from_id
            elif cleaned.birth_date != from_id and not checks.failed("birth_date"):
                raise ValidationFailed(
                    _("The birth date differs from the one in the resident ID number (%(day)s).",
                      day=from_id.isoformat()),
                    field="birth_date",
                )
            if cleaned.gender is None:
                cleaned.gender = gender_from_resident_id(resident_id)
    with checks:
        if identity.phone:
            cleaned.phone = normalise_phone(identity.phone)
    if own:
        checks.done()
    return cleaned


def seal_identity(person: Person, identity: Identity, cipher: FieldCipher | None = None) -> None:
    """The one way a person's protected fields are written: each sealed under its own
    context, and the blind index of her resident ID number beside them."""
    cipher = cipher or cipher_for_app()
    for name, value in identity.as_text().items():
        setattr(person, f"{name}_sealed", cipher.encrypt(value, context=f"persons.{name}"))
    person.resident_id_index = resident_id_index(identity.resident_id, cipher)


def resident_id_index(resident_id: str | None, cipher: FieldCipher | None = None) -> str | None:
    """The blind index of a normalised resident ID number (``normalise_resident_id``)."""
    return (cipher or cipher_for_app()).blind_index(resident_id, context="persons.resident_id")


def read_identity(person: Person, cipher: FieldCipher | None = None) -> Identity:
    """Decrypt without logging: for masking and for key rotation only, never for display."""
    cipher = cipher or cipher_for_app()
    values = {
        name: cipher.decrypt(getattr(person, f"{name}_sealed"), context=f"persons.{name}")
        for name in PROTECTED_FIELDS
    }
    birth = values.pop("birth_date")
    return Identity(birth_date=date.fromisoformat(birth) if birth else None, **values)


def find_by_resident_id(resident_id: str) -> Person | None:
    resident_id = normalise_resident_id(resident_id)
    return find_by_resident_ids([resident_id]).get(resident_id)


def find_by_resident_ids(resident_ids, cipher: FieldCipher | None = None) -> dict[str, Person]:
    """The people recorded with these resident ID numbers (normalised ones: a number that
    is not finds nobody), found through the blind index in one query, never by
    decrypting: ``{number: person}``, the earliest record when a number has two."""
    cipher = cipher or cipher_for_app()
    by_index = {resident_id_index(number, cipher): number for number in set(resident_ids) if number}
    if not by_index:
        return {}
    found: dict[str, Person] = {}
    for person in db.session.scalars(sa.select(Person).where(
            Person.resident_id_index.in_(sorted(by_index))).order_by(Person.id)):
        found.setdefault(by_index[person.resident_id_index], person)
    return found


def new_person(*, actor, now: datetime, pseudonym: str, identity: Identity,
               organisation: Organisation, today: date | None = None,
               cipher: FieldCipher | None = None) -> Person:
    """A person from a checked identity (``check_person``, or ``clean_identity`` and a
    duplicate check of the caller's), added to the session, not flushed and not audited:
    ``record_person`` records one this way, an import many (one flush a chunk, one audit
    row a file). A minor when her birth date makes her under 18 on ``today`` (``now``'s
    local date unless given)."""
    today = today or local_date(now)
    person = Person(
        pseudonym=pseudonym, pseudonym_pinyin=pinyin_of(pseudonym),
        organisation_id=organisation.id, created_by_id=actor.id,
        is_minor=bool(identity.birth_date and age_on(identity.birth_date, today) < ADULT_AGE),
        created_at=now, updated_at=now,
    )
    seal_identity(person, identity, cipher)
    db.session.add(person)
    return person


def _refuse_duplicate(identity: Identity, *, actor, exclude_id: int | None = None) -> None:
    if not identity.resident_id:
        return
    existing = find_by_resident_id(identity.resident_id)
    if existing is None or existing.id == exclude_id:
        return
    if policy.can_view_person(actor, existing):
        message = _("This resident ID number is already recorded for %(pseudonym)s (no. %(id)d); "
                    "open that record instead of making a second one.",
                    pseudonym=existing.pseudonym, id=existing.id)
    else:
        message = _("This resident ID number is already recorded by %(org)s; ask them to work "
                    "on the person with you instead of making a second record.",
                    org=existing.organisation.name)
    raise Conflict(message, field="resident_id")


def required_pseudonym(pseudonym: str | None) -> str:
    pseudonym = (pseudonym or "").strip()
    if not pseudonym:
        raise ValidationFailed(_("A pseudonym is required: lists show only the pseudonym."),
                               field="pseudonym")
    return pseudonym


@dataclass
class CheckedPerson:
    """A person's fields as ``check_person`` accepted them, ready to be written."""

    pseudonym: str
    identity: Identity
    is_minor: bool


def check_person(*, actor, now: datetime, pseudonym: str | None, identity: Identity,
                 person: Person | None = None, reason: str | None = None) -> CheckedPerson:
    """The person form's fields, every one checked and nothing written: as recording a new
    person takes them, or (``person``) as correcting her takes them, with ``reason`` for
    lifting a minor's protection. The refusal (``FieldErrors``) names each bad field, so
    the form shows them all in one round; ``record_person`` and ``update_person`` refuse
    by the same checks."""
    today = local_date(now)
    checks = Checks()
    with checks:
        pseudonym = required_pseudonym(pseudonym)
    cleaned = clean_identity(identity, today=today, checks=checks)
    if not checks.failed("resident_id"):
        with checks:
            _refuse_duplicate(cleaned, actor=actor, exclude_id=person.id if person else None)
    is_minor = bool(cleaned.birth_date and age_on(cleaned.birth_date, today) < ADULT_AGE)
    if person is not None and not checks.failed("birth_date") and not checks.failed("resident_id"):
        with checks:
            is_minor = minor_after(person, cleaned, today=today, reason=reason)
    checks.done()
    return CheckedPerson(pseudonym=pseudonym, identity=cleaned, is_minor=is_minor)


def record_person(
    *, actor, now: datetime, pseudonym: str, identity: Identity, organisation: Organisation | None = None,
) -> Person:
    if not policy.can_record_person(actor):
        raise NotAllowed(_("Your roles do not allow recording persons."))
    organisation = organisation or actor.organisation
    checked = check_person(actor=actor, now=now, pseudonym=pseudonym, identity=identity)
    pseudonym, cleaned = checked.pseudonym, checked.identity
    person = new_person(actor=actor, now=now, pseudonym=pseudonym, identity=cleaned,
                        organisation=organisation)
    db.session.flush()
    record("person.create", actor=actor, now=now, obj=person, object_label=pseudonym,
           organisation_id=organisation.id,
           after={"pseudonym": pseudonym, "is_minor": person.is_minor,
                  "protected_fields": [k for k, v in cleaned.as_text().items() if v]})
    return person


def refuse_edit(actor, person: Person) -> None:
    """Raise ``NotAllowed`` with the reason unless ``actor`` may change the identity."""
    if policy.can_edit_person(actor, person):
        return
    if policy.can_view_person(actor, person) and not policy.recorded_by_users_side(actor, person):
        raise NotAllowed(_("%(org)s recorded this person: only it and the organisations above "
                           "it change her identity. Tell them what should be corrected.",
                           org=person.organisation.name))
    raise NotAllowed(_("Your roles do not allow changing this person's record."))


def minor_after(person: Person, cleaned: Identity, *, today: date, reason: str | None) -> bool:
    """Whether the person is a minor after an edit. The birth date decides (the one in
    the resident ID number when there is one); with none, what was recorded stands, so
    clearing a child's dates keeps the protection. Lifting it takes a birth date that
    makes the person 18 or older and a reason, which the audit row keeps."""
    if cleaned.birth_date is None:
        return person.is_minor
    minor = age_on(cleaned.birth_date, today) < ADULT_AGE
    if person.is_minor and not minor and not (reason or "").strip():
        raise ValidationFailed(
            _("This person is recorded as a minor and the birth date now makes her or him an "
              "adult: say why (for example, the resident ID number was mistyped). The reason "
              "is kept in the audit log."), field="minor_reason")
    return minor


def update_person(person: Person, *, actor, now: datetime, pseudonym: str, identity: Identity,
                  reason: str | None = None) -> Person:
    refuse_edit(actor, person)
    checked = check_person(actor=actor, now=now, pseudonym=pseudonym, identity=identity,
                           person=person, reason=reason)
    pseudonym, cleaned, is_minor = checked.pseudonym, checked.identity, checked.is_minor
    old = read_identity(person).as_text()
    new = cleaned.as_text()
    # The audit row names the protected fields that changed, never their values.
    changed = sorted(k for k in new if old.get(k) != new.get(k))
    before = {"pseudonym": person.pseudonym, "is_minor": person.is_minor}
    lifted = person.is_minor and not is_minor
    person.pseudonym = pseudonym
    person.pseudonym_pinyin = pinyin_of(pseudonym)
    person.is_minor = is_minor
    seal_identity(person, cleaned)
    person.updated_at = now
    after = {"pseudonym": person.pseudonym, "is_minor": person.is_minor}
    if changed or before != after:
        record("person.update", actor=actor, now=now, obj=person, object_label=pseudonym,
               organisation_id=person.organisation_id, before=before,
               after={**after, "protected_fields_changed": changed},
               reason=reason.strip() if lifted else None)
    return person


def masked_identity(person: Person) -> dict[str, str]:
    identity = read_identity(person).as_text()
    return {name: mask(name, value) for name, value in identity.items()}


def _refuse_reveal(actor, person: Person) -> None:
    if not policy.can_view_identity(actor, person):
        if person.is_minor:
            raise NotAllowed(_("A minor's identity is shown only to supervisors and to the "
                               "person who recorded it."))
        raise NotAllowed(_("Your roles do not allow seeing this person's identity."))


def reveal_identity(person: Person, *, actor, now: datetime, purpose: str | None) -> Identity:
    """The identity in the clear, for someone allowed to see it; the view is logged.
    A purpose a user gave must be words (``clean_purpose``); ``None`` is for callers that
    log a purpose of their own making."""
    _refuse_reveal(actor, person)
    if purpose is not None:
        purpose = clean_purpose(purpose)
    identity = read_identity(person)
    shown = [k for k, v in identity.as_text().items() if v]
    record_access(actor=actor, person=person, fields=shown, now=now, purpose=purpose)
    return identity


# -- protected values kept outside ``persons`` (``models.SealedCopy``) ---------------------


def seal_copy(copy: SealedCopy, value: str | None, cipher: FieldCipher | None = None) -> str | None:
    return (cipher or cipher_for_app()).encrypt(value, context=copy.context)


def open_copy(copy: SealedCopy, sealed: str | None, cipher: FieldCipher | None = None) -> str | None:
    """Decrypt without logging: for masking, comparing and key rotation, never for display."""
    return (cipher or cipher_for_app()).decrypt(sealed, context=copy.context)


def masked_copy(copy: SealedCopy, sealed: str | None) -> str:
    return mask(copy.field, open_copy(copy, sealed))


def reveal_copies(copy: SealedCopy, sealed: list[str | None], *, person: Person, actor,
                  now: datetime, purpose: str) -> list[str | None]:
    """Copies of ``person``'s protected data in the clear, for someone who may see her
    identity, after a purpose in words; one access log row names ``copy.logged_as``."""
    _refuse_reveal(actor, person)
    purpose = clean_purpose(purpose)
    values = [open_copy(copy, value) for value in sealed]
    record_access(actor=actor, person=person, fields=[copy.logged_as], now=now, purpose=purpose)
    return values


def search_people(query, text: str):
    """Narrow a Person query by pseudonym, its pinyin, or an exact resident ID number."""
    text = (text or "").strip()
    if not text:
        return query
    conditions = [Person.pseudonym.like(f"%{text}%"),
                  Person.pseudonym_pinyin.like(f"%{pinyin_of(text)}%")]
    try:
        conditions.append(Person.resident_id_index == resident_id_index(normalise_resident_id(text)))
    except ValidationFailed:
        pass
    return query.where(sa.or_(*conditions))
