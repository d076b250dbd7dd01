"""Attachment files: checked by their first bytes, stored outside the database under
their SHA-256 (so the same file is kept once and any change to it is detectable)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from caseflow.core.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    sha256: str
    size: int


def storage_root() -> Path:
    configured = current_app.config.get("CASEFLOW_ATTACHMENT_DIR")
    return Path(configured or Path(current_app.config["INSTANCE_PATH"]) / "attachments")


def path_for(sha256: str) -> Path:
    return storage_root() / sha256[:2] / sha256


def check(filename: str, data: bytes) -> CheckedFile:
    if not data:
        raise ValidationFailed(_("%(name)s is empty.", name=filename), field="attachment")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            _("%(name)s is %(size).1f MB; an attachment may be at most 10 MB.",
              name=filename, size=len(data) / 1024 / 1024), field="attachment")
    content_type = next((t for sig, t in SIGNATURES.items() if data.startswith(sig)), None)
    if content_type is None:
        raise ValidationFailed(
            _("%(name)s is not a PDF, JPEG or PNG file.", name=filename), field="attachment")
    return CheckedFile(content_type, hashlib.sha256(data).hexdigest(), len(data))


def store(data: bytes, sha256: str) -> Path:
    target = path_for(sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.part")
        temporary.write_bytes(data)
        os.replace(temporary, target)  # atomic: a half-written file never has the final name
    return target


def read(sha256: str) -> bytes:
    data = path_for(sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValidationFailed(_("The stored file does not match its checksum."))
    return data
