"""Reading a ledger file (XLSX or CSV) into rows of cells by column, and writing the
template to fill in. Pure: no database; the columns' meaning is in ``columns.py``."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Iterable, Iterator

from flask_babel import force_locale, gettext as _

from caseflow.core.errors import ValidationFailed

#: The languages a heading may be written in: the template's, whichever the user chose.
HEADING_LOCALES = ("zh_CN", "en")
#: The most rows one file may hold (a district's ledgers since the cooperation began are a
#: few thousand rows; bench/imports.py measures 10,000).
MAX_ROWS = 50_000
XLSX_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # a lazy string: the heading
    required: bool = False
    #: () -> {label or value as written: stored value}: the allowed values (a drop-down list
    #: in the template).
    choices: Callable[[], dict[str, str]] | None = None
    #: Several values in one cell, separated by 、 , ; (help asked for).
    several: bool = False
    is_date: bool = False
    #: Several dates in one cell, separated by 、 , ; or a new line (the sessions held).
    dates: bool = False
    is_flag: bool = False
    example: str = ""
    #: How to fill the column in, a comment on the template's heading (a lazy string).
    note: object = None
    #: Read if present, never required, not in the template (a ledger export's computed
    #: columns: the state, the reply due date).
    ignored: bool = False


def headings_of(column: Column) -> set[str]:
    names = {column.key.lower()}
    for locale in HEADING_LOCALES:
        with force_locale(locale):
            names.add(_clean_heading(str(column.label)))
    return names


def _clean_heading(text) -> str:
    return re.sub(r"[\s*＊:：]+", "", str(text or "")).lower()


def _read_xlsx(data: bytes) -> tuple[int | None, Iterator[tuple]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
        raise ValidationFailed(_("This file cannot be read as an Excel workbook (XLSX)."),
                               field="file") from None

    def rows():
        try:
            yield from sheet.iter_rows(values_only=True)
        finally:
            book.close()

    return sheet.max_row, rows()


def _read_csv(data: bytes) -> tuple[int | None, Iterator[list]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(_("This CSV file is neither UTF-8 nor GB18030 text."), field="file")
    return text.count("\n") + 1, csv.reader(io.StringIO(text, newline=""))


@dataclass
class Sheet:
    """A file's rows by column key, read as they are asked for (memory stays flat however
    long the ledger): ``rows`` yields (row number, {key: value}) with row 1 the headings,
    blank rows left out; ``estimate`` is about how many there are (for a progress bar)."""

    columns: list[Column]
    rows: Iterator[tuple[int, dict[str, object]]]
    estimate: int


def read_sheet(data: bytes, filename: str, columns: list[Column]) -> Sheet:
    """The file's rows by column. Refuses at once a file that is no spreadsheet or has no
    row of headings naming the required columns; the rows refuse too many rows."""
    if not data:
        raise ValidationFailed(_("The file is empty."), field="file")
    size, raw = _read_xlsx(data) if data.startswith(XLSX_SIGNATURE) else _read_csv(data)
    header = next(raw, None)
    if header is None:
        raise ValidationFailed(_("The file is empty."), field="file")
    by_heading = {}
    for column in columns:
        for name in headings_of(column):
            by_heading[name] = column
    positions: dict[int, Column] = {}
    for index, heading in enumerate(header):
        column = by_heading.get(_clean_heading(heading))
        if column is not None and column not in positions.values():
            positions[index] = column
    missing = [c for c in columns if c.required and c not in positions.values()]
    if missing:
        raise ValidationFailed(
            _("The first row must hold the template's headings; missing: %(columns)s. Download "
              "the template and copy the ledger into it.",
              columns=_(", ").join(str(c.label) for c in missing)), field="file")

    def rows():
        count = 0
        for number, values in enumerate(raw, start=2):
            cells = {}
            for index, column in positions.items():
                value = values[index] if index < len(values) else None
                if isinstance(value, str):
                    value = value.strip()
                if value not in (None, ""):
                    cells[column.key] = value
            if not cells:
                continue
            count += 1
            if count > MAX_ROWS:
                raise ValidationFailed(
                    _("A file may hold at most %(count)d rows; split the ledger into several "
                      "files.", count=MAX_ROWS), field="file")
            yield number, cells

    return Sheet(columns=columns, rows=rows(), estimate=max(0, (size or 1) - 1))


# -- the cells' values -----------------------------------------------------------------------

DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
YES = {"是", "y", "yes", "true", "1", "紧急", "x", "√"}
NO = {"否", "n", "no", "false", "0", ""}
SEPARATORS = re.compile(r"[、,，;；/\n]+")


def as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise ValueError(text)


DATE_SEPARATORS = re.compile(r"[、,，;；\s]+")


def as_dates(value) -> list[date]:
    """Several dates in one cell (or one date cell); a part that is no date raises
    ``ValueError`` with that part."""
    if isinstance(value, (date, datetime)):
        return [as_date(value)]
    return [as_date(part) for part in DATE_SEPARATORS.split(str(value).strip()) if part]


def as_flag(value) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(text)


def as_choices(value, choices: dict[str, str], *, several: bool) -> list[str]:
    parts = SEPARATORS.split(str(value)) if several else [str(value)]
    found = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        stored = choices.get(part) or choices.get(part.lower())
        if stored is None:
            raise ValueError(part)
        if stored not in found:
            found.append(stored)
    return found


def choice_table(labels_by_value: Iterable[tuple[str, object]]) -> dict[str, str]:
    """{what may be written: stored value}: the value itself and its label in every
    language a heading may be in."""
    table = {}
    for value, label in labels_by_value:
        table[value] = value
        for locale in HEADING_LOCALES:
            with force_locale(locale):
                table[str(label)] = value
                table[str(label).lower()] = value
    return table


# -- the template ------------------------------------------------------------------------------


def template_xlsx(columns: list[Column], *, title: str, choice_labels: dict[str, list[str]]) -> bytes:
    """The template to fill in: one sheet with the headings (required ones marked *), one
    example row and a drop-down list on every column of allowed values (from a hidden
    sheet, as a list may be longer than a validation formula holds)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    shown = [c for c in columns if not c.ignored]
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(shown, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=str(column.label) + ("*" if column.required else ""))
        cell.font = bold
        if column.note:
            cell.comment = Comment(str(column.note), "caseflow", width=260, height=90)
        if column.required:
            cell.fill = required_fill
        sheet.cell(row=2, column=index, value=column.example or None)
        sheet.column_dimensions[letter].width = max(12, min(40, len(str(column.label)) * 2 + 4))
        values = choice_labels.get(column.key)
        if values:
            for row, value in enumerate(values, start=1):
                lists.cell(row=row, column=index, value=value)
            validation = DataValidation(
                type="list", formula1=f"lists!${letter}$1:${letter}${len(values)}",
                allow_blank=not column.required, showErrorMessage=not column.several)
            validation.error = _("Choose a value from the list.")
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{MAX_ROWS}")
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
