"""The people of an imported ledger, recorded many at once.

``core.people.services.record_person`` records one person per call, with a duplicate
check by query, a flush and an audit row each: about 12 ms a person here, two minutes for
a 10,000-row ledger. An import has already checked every identity (``clean_identity``) and
looked every resident ID number up through the blind index in bulk, and writes one audit
row for the whole file; so this records the people as ``record_person`` would (same
sealing, pinyin, minor flag), without its per-person round trips.

To move to ``core.people.services``: ``_seal`` made public (``seal_identity``) and a
``new_person(...)`` that both ``record_person`` and this function use.
"""
from __future__ import annotations

from datetime import date, datetime

from caseflow.core.crypto import FieldCipher, cipher_for_app
from caseflow.core.orgs.models import Organisation
from caseflow.core.people import services as people
from caseflow.core.people.models import Person
from caseflow.extensions import db


def new_person(*, actor, now: datetime, today: date, pseudonym: str, identity: people.Identity,
               organisation: Organisation, cipher: FieldCipher | None = None) -> Person:
    """A person from an identity ``clean_identity`` accepted, added to the session (flushed
    with the others)."""
    person = Person(
        pseudonym=pseudonym, pseudonym_pinyin=people.pinyin_of(pseudonym),
        organisation_id=organisation.id, created_by_id=actor.id,
        is_minor=bool(identity.birth_date
                      and people.age_on(identity.birth_date, today) < people.ADULT_AGE),
        created_at=now, updated_at=now,
    )
    people._seal(person, identity, cipher or cipher_for_app())  # the one way fields are sealed
    db.session.add(person)
    return person
