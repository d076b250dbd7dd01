"""Rotating the data key: re-seal every protected field and stored file, lose nothing.

The whole rotation is one transaction, and every value is checked to open under the new
key before the commit; if anything fails, the database is as it was.

Files (``core.files``) are sealed again first, each written beside its old copy (the name
on disk is keyed, so the two differ) and checked to open under the new key; the old copies
are deleted only after the commit. If the rotation fails the new copies are deleted; if the
process dies, both copies are there and each opens with the keys configured at the time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import Flask

from caseflow.core import files
from caseflow.core.crypto import FieldCipher, KeyError_, parse_key
from caseflow.core.people.models import PROTECTED_FIELDS, SEALED_COPIES, Person, SealedCopy
from caseflow.core.people.services import Identity, read_identity, seal_identity
from caseflow.extensions import db


@dataclass(frozen=True)
class SealedSecret:
    """A sealed column that is nobody's identity (a service account's webhook secret),
    re-sealed by the rotation as the sealed copies are; its context is the column's name."""

    table: str
    column: str

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"


#: The sealed secrets (``core.notifications.delivery.HOOK_SECRET_CONTEXT`` opens the first).
SEALED_SECRETS = (SealedSecret("users", "hook_secret"),)


def rotate(app: Flask, new_key: str, *, batch: int = 500, progress: Callable = print) -> int:
    try:
        new_raw = parse_key(new_key)
    except KeyError_ as error:
        raise ValueError(str(error)) from None
    old = FieldCipher.from_config(app.config["CASEFLOW_DATA_KEY"],
                                  app.config.get("CASEFLOW_DATA_KEY_PREVIOUS", ""))
    if new_raw == old.current:
        raise ValueError("the new key is the key in use")
    new = FieldCipher(new_raw, (old.current, *old.previous))
    sealed_files = files.reencrypt(files.referenced(db.session), old, new_raw,
                                   root=files.storage_root(app), progress=progress, batch=batch)
    persons = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
    total = len(persons)
    try:
        for done, person in enumerate(persons, start=1):
            identity = read_identity(person, old)
            seal_identity(person, identity, new)
            check = read_identity(person, FieldCipher(new_raw))
            if check != identity:
                raise ValueError(f"person {person.id} did not read back the same")
            if done % batch == 0 or done == total:
                progress(f"  {done}/{total} persons re-encrypted")
        db.session.flush()
        for copy in (*SEALED_COPIES, *SEALED_SECRETS):
            _reseal_copies(copy, old, new, FieldCipher(new_raw), batch=batch, progress=progress)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        files.discard(sealed_files.written)
        raise
    files.discard(sealed_files.replaced)
    app.extensions.pop("caseflow_cipher", None)
    return total


def _reseal_copies(copy: SealedCopy | SealedSecret, old: FieldCipher, new: FieldCipher,
                   check: FieldCipher, *, batch: int, progress: Callable) -> None:
    """A domain's sealed column (e.g. the visits' addresses) or a sealed secret, row by row
    by its id, in the rotation's transaction; each value must open under the new key alone."""
    table = sa.table(copy.table, sa.column("id", sa.Integer), sa.column(copy.column, sa.Text))
    column = table.c[copy.column]
    rows = db.session.execute(sa.select(table.c.id, column).where(column.is_not(None))
                              .order_by(table.c.id)).all()
    for done, (row_id, sealed) in enumerate(rows, start=1):
        value = old.decrypt(sealed, context=copy.context)
        resealed = new.encrypt(value, context=copy.context)
        if check.decrypt(resealed, context=copy.context) != value:
            raise ValueError(f"{copy.table} {row_id} did not read back the same")
        db.session.execute(table.update().where(table.c.id == row_id).values({copy.column: resealed}))
        if done % batch == 0 or done == len(rows):
            progress(f"  {done}/{len(rows)} {copy.context} re-encrypted")
    # The ORM's copies of these rows (if any) are stale now.
    db.session.expire_all()


__all__ = ["rotate", "Identity", "PROTECTED_FIELDS"]
