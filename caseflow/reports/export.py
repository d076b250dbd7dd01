"""Writing a ledger as XLSX or CSV with flat memory, whatever its length.

XLSX: openpyxl's write-only workbook keeps no rows in memory (they go to a temporary XML
file as they are appended); the finished workbook is written to a spooled temporary file
(memory up to ``SPOOL_BYTES``, disk beyond) and sent in chunks. Three lines at the top say
which ledger, who exported it and when, and the filter used; then the headings; dates are
real dates (``yyyy-mm-dd``), amounts numbers (``0.00``).

CSV: a generator of chunks, a UTF-8 byte order mark first (so that Excel reads the
Chinese), then the headings and the rows; dates ISO, amounts with two decimals. A CSV is a
plain table: the preamble is only in the XLSX.

Both neutralise text cells that a spreadsheet would read as a formula (CSV injection):
see ``neutralise``.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from tempfile import SpooledTemporaryFile
from typing import IO, Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from caseflow.reports.ledgers import AMOUNT, DATE, INTEGER, Export

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
DATE_FORMAT = "yyyy-mm-dd"
AMOUNT_FORMAT = "0.00"
#: The headings' row in the XLSX (after the title, who/when and the filter).
HEADER_ROW = 4
SPOOL_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024
BOM = "\ufeff"
#: What a spreadsheet reads as the start of a formula (tab and CR too: some strip them first).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that would start a formula gets a leading single quote, so that Excel,
    LibreOffice and the rest show it as text (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``).
    Anything but text is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def preamble(export: Export, *, exported_by: str, exported_at: str) -> list[str]:
    from flask_babel import gettext as _

    return [export.title,
            _("Exported by %(name)s at %(time)s", name=exported_by, time=exported_at),
            export.filter_text]


# -- XLSX ----------------------------------------------------------------------------------


def write_xlsx(export: Export, rows: Iterable[tuple], target: IO[bytes], *, lines: list[str]) -> int:
    """Write the workbook to ``target``; returns the number of ledger rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(export.title))
    for index, column in enumerate(export.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    bold = Font(bold=True)
    title = WriteOnlyCell(sheet, value=neutralise(lines[0]))
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    for line in lines[1:HEADER_ROW - 1]:
        sheet.append([neutralise(line)])
    headings = []
    for heading in export.headings:
        cell = WriteOnlyCell(sheet, value=neutralise(heading))
        cell.font = bold
        headings.append(cell)
    sheet.append(headings)
    kinds = export.kinds
    dated = [i for i, kind in enumerate(kinds) if kind == DATE]
    amounts = [i for i, kind in enumerate(kinds) if kind == AMOUNT]
    texts = [i for i, kind in enumerate(kinds) if kind not in (DATE, AMOUNT, INTEGER)]
    count = 0
    for row in rows:
        values: list = list(row)
        for i in texts:
            values[i] = neutralise(values[i])
        for i in dated:
            if values[i] is not None:
                cell = WriteOnlyCell(sheet, value=values[i])
                cell.number_format = DATE_FORMAT
                values[i] = cell
        for i in amounts:
            if values[i] is not None:
                cell = WriteOnlyCell(sheet, value=Decimal(values[i]))
                cell.number_format = AMOUNT_FORMAT
                values[i] = cell
        sheet.append(values)
        count += 1
    workbook.save(target)
    return count


def _sheet_title(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:31] or "Sheet"


def xlsx_file(export: Export, rows: Iterable[tuple], *, lines: list[str]) -> tuple[IO[bytes], int]:
    """The workbook in a spooled temporary file, rewound; and its size in bytes."""
    target = SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        write_xlsx(export, rows, target, lines=lines)
        size = target.tell()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    return target, size


def file_chunks(source: IO[bytes]) -> Iterator[bytes]:
    """The file in chunks, closed at the end (or when the client goes away)."""
    try:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk
    finally:
        source.close()


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
