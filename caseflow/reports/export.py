"""Writing a ledger as XLSX or CSV with flat memory, whatever its length.

XLSX: streamed by ``reports.xlsx`` as the rows are read, like the CSV (no row is kept).
Three lines at the top say which ledger, who exported it and when, and the filter used;
then the headings; dates are real dates (``yyyy-mm-dd``), amounts numbers shown as 50,000.00 (``#,##0.00``).

CSV: a generator of chunks, a UTF-8 byte order mark first (so that Excel reads the
Chinese), then the headings and the rows; dates ISO, amounts as plain numbers with two decimals (50000.00, no thousands
separator: a CSV is data for another program to read). A CSV is a
plain table: the preamble is only in the XLSX.

Both neutralise text cells that a spreadsheet would read as a formula (CSV injection):
see ``neutralise``.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Iterator

from caseflow.reports import xlsx
from caseflow.reports.ledgers import AMOUNT, DATE, INTEGER, Export

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
DATE_FORMAT = xlsx.DATE_FORMAT
AMOUNT_FORMAT = xlsx.AMOUNT_FORMAT
#: The headings' row in the XLSX (after the title, who/when and the filter).
HEADER_ROW = 4
CHUNK_BYTES = 64 * 1024
BOM = "\ufeff"
#: What a spreadsheet reads as the start of a formula (tab and CR too: some strip them first;
#: ``|`` starts a DDE call in older Excel, ``=cmd|' /C calc'!A0`` without its ``=``).
FORMULA_STARTS = ("=", "+", "-", "@", "|", "\t", "\r")
#: Look-alikes that NFKC does not fold into the ASCII characters above (the minus sign).
_LOOKALIKES = {"\u2212": "-"}


def _first_visible(text: str) -> str:
    """The first character a spreadsheet would act on: invisible characters (format
    characters such as the zero-width space and the BOM, controls, any whitespace) are
    skipped, as some applications and clipboards drop them, and fullwidth or small forms
    (``＝``, ``＋``, ``－``, ``＠``, ``｜``, ``﹦``) are folded to ASCII, as an IME types them and
    some spreadsheets accept them as operators."""
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp"):
            continue
        return _LOOKALIKES.get(char) or unicodedata.normalize("NFKC", char)[:1]
    return ""


def neutralise(value):
    """A text cell that would start a formula gets a leading single quote, so that Excel,
    LibreOffice and the rest show it as text (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``),
    also when the formula character is fullwidth or hidden behind invisible characters.
    Anything but text is returned as it is."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS)
                                   or _first_visible(value) in FORMULA_STARTS[:5]):
        return "'" + value
    return value


def preamble(export: Export, *, exported_by: str, exported_at: str) -> list[str]:
    from flask_babel import gettext as _

    return [export.title,
            _("Exported by %(name)s at %(time)s", name=exported_by, time=exported_at),
            export.filter_text]


# -- XLSX ----------------------------------------------------------------------------------


def xlsx_chunks(export: Export, rows: Iterable[tuple], *, lines: list[str],
                created: datetime) -> Iterator[bytes]:
    """The workbook in chunks, written while the rows are read (``reports.xlsx``): the
    title, who/when and the filter, the bold headings (frozen), then one row per record."""
    kinds = export.kinds
    styles = [xlsx.AMOUNT_STYLE if kind == AMOUNT else xlsx.PLAIN for kind in kinds]
    texts = [kind not in (DATE, AMOUNT, INTEGER) for kind in kinds]

    def sheet_rows():
        yield [(neutralise(lines[0]), xlsx.TITLE)]
        for line in lines[1:HEADER_ROW - 1]:
            yield [(neutralise(line), xlsx.PLAIN)]
        yield [(neutralise(heading), xlsx.BOLD) for heading in export.headings]
        for row in rows:
            yield [(_xlsx_value(value, kind, is_text), style)
                   for value, kind, is_text, style in zip(row, kinds, texts, styles)]

    sheet = xlsx.Sheet(name=xlsx.sheet_name(export.title), widths=[c.width for c in export.columns],
                       frozen_rows=HEADER_ROW)
    return xlsx.stream(sheet, sheet_rows(), title=export.title, created=created)


def _xlsx_value(value, kind: str, is_text: bool):
    if value is None:
        return None
    if kind == AMOUNT:
        return Decimal(value)
    if is_text:
        return neutralise(value if isinstance(value, str) else str(value))
    return value


# -- CSV -----------------------------------------------------------------------------------


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == DATE and isinstance(value, date):
        return value.isoformat()
    if kind == AMOUNT:
        return f"{Decimal(value):.2f}"
    if kind == INTEGER:
        return str(value)
    return neutralise(str(value))


def csv_chunks(export: Export, rows: Iterable[tuple]) -> Iterator[bytes]:
    """The CSV in chunks of about ``CHUNK_BYTES``: the BOM, the headings, the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([neutralise(h) for h in export.headings])
    kinds = export.kinds
    for row in rows:
        writer.writerow([_csv_value(value, kind) for value, kind in zip(row, kinds)])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
