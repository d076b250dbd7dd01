"""The file a preview keeps until it is confirmed, and its removal when it never is.

A preview without errors keeps the uploaded file in the encrypted file store
(``core.files``), so the confirmation imports exactly what was previewed. The preview
writes an audit row (``ledger.preview``: the file's SHA-256, kind and name, never its
content), which is how the clean-up (``jobs.discard_unconfirmed_previews``) later finds
the file: one whose last preview is older than the confirmation's validity and that no
import (nor anything else registered with ``files.register``) refers to is deleted, with
an audit row (``ledger.preview_discarded``) for each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.core import files
from caseflow.core.audit.models import AuditEvent
from caseflow.core.audit.services import record
from caseflow.core.crypto import cipher_for_app
from caseflow.extensions import db

#: How long a preview can be confirmed: others may record the same referrals meanwhile.
VALIDITY = timedelta(hours=1)


def keep_preview(data: bytes, sha256: str, filename: str, *, kind: str, actor, now: datetime) -> None:
    """Keep the previewed file, encrypted, until it is confirmed or discarded."""
    files.store(data, sha256)
    record("ledger.preview", actor=actor, now=now, object_type="ledger_file",
           object_label=filename[:200], after={"kind": kind, "sha256": sha256})


@dataclass(frozen=True)
class Discarded:
    sha256: str
    filename: str
    kind: str
    organisation_id: int | None


def _referenced(sha256s: list[str]) -> set[str]:
    """Which of these files a row refers to (an import's batch, an attachment...)."""
    found: set[str] = set()
    for column in files.REFERENCES:
        found.update(db.session.scalars(sa.select(column).where(column.in_(sha256s)).distinct()))
    return found


def discard_unconfirmed(*, now: datetime) -> list[Discarded]:
    """Delete the stored files of previews older than ``VALIDITY`` that were never
    confirmed; one audit row for each file deleted. Safe to run twice, and from two
    schedulers at once: removing a file succeeds once (the file system decides), and only
    the run that removed it records it. A file previewed again since keeps its place until
    that preview too is older than ``VALIDITY``."""
    cutoff = now - VALIDITY
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.occurred_at, AuditEvent.after,
                  AuditEvent.object_label, AuditEvent.organisation_id)
        .where(AuditEvent.action.in_(("ledger.preview", "ledger.preview_discarded")))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    last_kept: dict[str, tuple] = {}
    last_discarded: dict[str, datetime] = {}
    for action, at, after, label, org_id in events:
        sha256 = (after or {}).get("sha256")
        if not sha256:
            continue
        if action == "ledger.preview":
            last_kept[sha256] = (at, label, (after or {}).get("kind"), org_id)
        else:
            last_discarded[sha256] = at
    due = sorted(sha for sha, (at, *_rest) in last_kept.items()
                 if at < cutoff and (sha not in last_discarded or last_discarded[sha] < at))
    if not due:
        return []
    confirmed = _referenced(due)
    cipher = cipher_for_app()
    removed = []
    for sha256 in due:
        if sha256 in confirmed:
            continue
        at, label, kind, org_id = last_kept[sha256]
        deleted = False
        while (path := files.find(sha256, cipher)) is not None:  # under each key it is kept
            try:
                path.unlink()
            except FileNotFoundError:
                break  # another run removed it first: that run records it
            deleted = True
        if not deleted:
            continue
        record("ledger.preview_discarded", actor=None, now=now, object_type="ledger_file",
               object_label=label, organisation_id=org_id,
               after={"kind": kind, "sha256": sha256, "previewed_at": at.isoformat()})
        removed.append(Discarded(sha256=sha256, filename=label or "", kind=kind or "",
                                 organisation_id=org_id))
    return removed
