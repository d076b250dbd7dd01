"""The import's scheduled work: the files of previews never confirmed, removed."""
from __future__ import annotations

from datetime import datetime

from caseflow.core.scheduler.registry import scheduled
from caseflow.imports.previews import discard_unconfirmed


@scheduled("import_preview_cleanup", every_seconds=900)
def discard_unconfirmed_previews(now: datetime) -> str:
    removed = discard_unconfirmed(now=now)
    return f"{len(removed)} unconfirmed preview files removed"
