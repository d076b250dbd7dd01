"""A streaming XLSX writer: the workbook leaves as a ZIP stream while the rows are read.

openpyxl's write-only workbook keeps memory flat but assembles the ZIP only when it is
saved, so the first byte of a 100,000-row ledger came after the whole workbook was written
(~100 s here), and its per-cell objects cost about a millisecond a row. A ledger needs one
sheet of plain cells and four styles, so this module writes the SpreadsheetML itself:
the fixed parts first, then the sheet's XML row by row into a deflated ZIP entry whose
sizes follow it in a data descriptor (``zipfile`` does that for a stream it cannot seek);
each chunk goes to the client as soon as it is ``CHUNK_BYTES`` long. openpyxl reads the
result in the tests, as Excel and LibreOffice read it.

What a cell can hold: ``str`` (an inline string), ``int``/``float``/``Decimal`` (a number;
an amount column gets the ``#,##0.00`` format: 50,000.00, as the pages write amounts), ``date``/``datetime`` (a serial day number with
the ``yyyy-mm-dd`` format) and ``None`` (no cell).
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

CHUNK_BYTES = 64 * 1024
DATE_FORMAT = "yyyy-mm-dd"
AMOUNT_FORMAT = "#,##0.00"  # 50,000.00: core/money.py's format, in Excel's words
#: Day 0 of Excel's 1900 date system as Excel counts it (its 1900 leap-year bug included).
EPOCH = datetime(1899, 12, 30)

#: The cell styles (``s`` attribute): indexes into ``cellXfs`` of ``STYLES``.
PLAIN, BOLD, TITLE, DATE_STYLE, AMOUNT_STYLE = range(5)
#: Characters XML 1.0 cannot carry at all (tab, line feed and carriage return it can).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = _HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '</Types>')
PACKAGE_RELS = _HEAD + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
    '</Relationships>')
WORKBOOK_RELS = _HEAD + (
    f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    '</Relationships>')
_FONT = '<sz val="{size}"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
STYLES = _HEAD + (
    f'<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{AMOUNT_FORMAT}"/></numFmts>'
    '<fonts count="3">'
    f'<font>{_FONT.format(size=11)}</font><font><b/>{_FONT.format(size=11)}</font>'
    f'<font><b/>{_FONT.format(size=14)}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


@dataclass(frozen=True)
class Sheet:
    """One sheet's frame: its name, column widths and the rows frozen at the top."""
    name: str
    widths: list[float]
    frozen_rows: int = 0


def column_letter(index: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def sheet_name(title: str) -> str:
    """A name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:31].strip() or "Sheet"


def text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value))


def cell_xml(reference: str, value, style: int = PLAIN) -> str:
    """One ``<c>`` element; the caller has dropped ``None``."""
    if isinstance(value, str):
        attributes = f' s="{style}"' if style else ""
        return (f'<c r="{reference}" t="inlineStr"{attributes}>'
                f'<is><t xml:space="preserve">{text(value)}</t></is></c>')
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - EPOCH).total_seconds() / 86400
        return f'<c r="{reference}" s="{DATE_STYLE}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        serial = (value - EPOCH.date()).days
        return f'<c r="{reference}" s="{DATE_STYLE}"><v>{serial}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        attributes = f' s="{style}"' if style else ""
        number = format(value, "f") if isinstance(value, Decimal) else repr(value)  # never 1E+3
        return f'<c r="{reference}"{attributes}><v>{number}</v></c>'
    raise TypeError(f"an XLSX cell cannot hold {type(value).__name__}")


class _Sink:
    """Where ``zipfile`` writes: kept until drained. It cannot seek, so ``zipfile`` writes
    each entry's sizes after its data (a data descriptor) instead of going back."""

    def __init__(self):
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is held back here: ``drain`` hands on whatever was written."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def _core_properties(title: str, created: datetime) -> str:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _HEAD + (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dc:title>{text(title)}</dc:title><dc:creator>caseflow</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        '</cp:coreProperties>')


def _workbook(name: str) -> str:
    return _HEAD + (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<sheets><sheet name={quoteattr(_ILLEGAL.sub("", name))} sheetId="1" r:id="rId1"/></sheets></workbook>')


def _sheet_start(sheet: Sheet) -> str:
    view = '<sheetView workbookViewId="0"/>'
    if sheet.frozen_rows:
        top = f"A{sheet.frozen_rows + 1}"
        view = (f'<sheetView workbookViewId="0"><pane ySplit="{sheet.frozen_rows}" topLeftCell="{top}" '
                f'activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="{top}" sqref="{top}"/></sheetView>')
    columns = "".join(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
                      for i, width in enumerate(sheet.widths, start=1))
    return (_HEAD + f'<worksheet xmlns="{_MAIN}"><sheetViews>{view}</sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{columns}</cols>" if columns else "")
            + "<sheetData>")


def stream(sheet: Sheet, rows: Iterable[list[tuple[object, int]]], *, title: str,
           created: datetime) -> Iterator[bytes]:
    """The workbook in chunks. Each row is a list of ``(value, style)``; the row numbers
    follow the order of ``rows``."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("docProps/core.xml", _core_properties(title, created))
        archive.writestr("xl/workbook.xml", _workbook(sheet.name))
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", STYLES)
        yield sink.drain()
        letters = [column_letter(i) for i in range(1, max(len(sheet.widths), 1) + 1)]
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(_sheet_start(sheet).encode("utf-8"))
            for number, row in enumerate(rows, start=1):
                while len(letters) < len(row):
                    letters.append(column_letter(len(letters) + 1))
                cells = "".join(cell_xml(f"{letters[i]}{number}", value, style)
                                for i, (value, style) in enumerate(row) if value is not None)
                part.write(f'<row r="{number}">{cells}</row>'.encode("utf-8"))
                if sink.size >= CHUNK_BYTES:
                    yield sink.drain()
            part.write(b"</sheetData></worksheet>")
    yield sink.drain()
