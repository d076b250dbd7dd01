"""The upload and the confirmation of a ledger import."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField


class UploadForm(FlaskForm):
    ledger = FileField(_l("Ledger file"), validators=[
        FileRequired(_l("Choose the ledger file.")),
        FileAllowed(["xlsx", "csv"], _l("An Excel workbook (.xlsx) or a CSV file."))],
        description=_l("The template's columns, in Excel (.xlsx) or CSV; the first row holds the "
                       "headings."))


class ConfirmImportForm(FlaskForm):
    """The previewed file, signed: what is imported is exactly what was previewed (and
    checked again on the way in)."""

    previewed = HiddenField()
