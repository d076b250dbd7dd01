"""Files attached to a record (a referral's attachments, an aid case's documents, a training
session's materials): one set of columns and one download.

The file itself is kept by ``core.files`` (encrypted, by its SHA-256); a row says what it
is, who uploaded it and when. Each domain's model adds its id, the key of the record it
belongs to (named in ``owner_column``) and its relationships.
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from flask import Response, abort, send_file
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from caseflow.core import files
from caseflow.core.db import UTCDateTime
from caseflow.extensions import db

#: What may be uploaded; ``core.files.check`` tells by the first bytes.
CONTENT_TYPES = tuple(files.EXTENSIONS)


class StoredFile:
    """The columns of a stored file's row, and the table's checks. Mixed into a model
    before ``db.Model``; the model declares ``id``, its owner's key and relationships."""

    #: The column holding the id of the record the file belongs to.
    owner_column: ClassVar[str]

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        # Made per table: a constraint object belongs to one table.
        allowed = ", ".join(f"'{content_type}'" for content_type in CONTENT_TYPES)
        return (
            sa.CheckConstraint("size_bytes > 0", name="not_empty"),
            sa.CheckConstraint(f"content_type IN ({allowed})", name="type_allowed"),
        )

    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


def download(model: type[StoredFile], file_id: int, *, owner) -> Response:
    """The file ``file_id`` of ``owner`` (a record the route has loaded and checked), sent
    as an attachment: decrypted and verified, under its cleaned name (``filename*`` in
    UTF-8, an ASCII fallback), never sniffed. 404 when there is no such file, or it
    belongs to another record."""
    row = db.session.get(model, file_id)
    if row is None or getattr(row, model.owner_column) != owner.id:
        abort(404)
    response = send_file(io.BytesIO(files.read(row.sha256)), mimetype=row.content_type,
                         as_attachment=True, download_name=files.clean_filename(row.filename),
                         conditional=False, etag=False)
    # Ours rather than Werkzeug's: its ASCII fallback of a Chinese name is the bare extension.
    response.headers["Content-Disposition"] = files.content_disposition(row.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Werkzeug says "no-cache"; a file of a case is not kept by the browser at all.
    response.headers["Cache-Control"] = "no-store"
    return response
