"""The four-mechanisms report (an organisation's or the district's joint one) as XLSX,
written by the project's streaming writer (``reports.xlsx``).

On top: the title, the period, then the statistics form header (填报单位, 单位负责人,
统计负责人, 填表人, 报出日期: ``reports.header``), a blank row, the headings (frozen); then one
row per figure: its mechanism, its label, its value and its definition (the text of the
report's help). Counts are numbers, amounts numbers in the ``#,##0.00`` format (50,000.00); shares and
medians stay as the page writes them ("93.3%（14/15）", "—"). Every text cell goes through
``export.neutralise`` (formula injection), as the ledgers' cells do."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Iterator

from flask_babel import gettext as _

from caseflow.reports import definitions as d, xlsx
from caseflow.reports.export import neutralise
from caseflow.reports.figures import Report

#: The table rows' definitions, by the key of the table.
TABLE_DEFINITIONS = {"by_source": "referrals", "by_organisation": "referrals", "items": "items"}
_AMOUNT = re.compile(r"^-?[\d,]+\.\d\d$")
WIDTHS = [18, 46, 16, 90]


def title_of(report: Report) -> str:
    return _("Joint report of the district") if report.joint else _("Four-mechanisms report")


def _definition(key: str) -> str:
    entry = d.DEFINITIONS.get(key)
    return str(entry[1]) if entry else ""


def _value(value):
    """A count as a number, an amount ("220,000.00") as a number, the rest as text."""
    if value is None:
        return None, xlsx.PLAIN
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value, xlsx.PLAIN
    text = str(value)
    if _AMOUNT.match(text):
        return Decimal(text.replace(",", "")), xlsx.AMOUNT_STYLE
    if text.isdigit():
        return int(text), xlsx.PLAIN
    return neutralise(text), xlsx.PLAIN


def rows(report: Report) -> list[list[tuple[object, int]]]:
    """The sheet's rows, as ``(value, style)`` cells."""
    period = _("From %(start)s to %(end)s", start=report.period.start.isoformat(),
               end=report.period.end.isoformat())
    out = [[(neutralise(f"{title_of(report)} · {report.organisation.short_name}"), xlsx.TITLE)],
           [(neutralise(f"{period} ({report.period.label})"), xlsx.PLAIN)]]
    out += [[(label, xlsx.BOLD), (neutralise(value), xlsx.PLAIN)] for label, value in report.header.rows()]
    out.append([])
    out.append([(heading, xlsx.BOLD) for heading in (_("Mechanism"), _("Figure"), _("Value"), _("Definition"))])
    for section in report.sections:
        for figure in section.figures:
            out.append([(neutralise(section.title), xlsx.PLAIN), (neutralise(figure.label), xlsx.PLAIN),
                        _value(figure.value), (neutralise(figure.definition), xlsx.PLAIN)])
        for key, title, table in section.tables:
            for label, value, _link in table:
                out.append([(neutralise(section.title), xlsx.PLAIN), (neutralise(f"{title} · {label}"), xlsx.PLAIN),
                            _value(value), (neutralise(_definition(TABLE_DEFINITIONS.get(key, ""))), xlsx.PLAIN)])
    return out


#: The headings' row (after the title, the period, the five header lines and a blank row).
HEADER_ROW = 9


def chunks(report: Report, *, created: datetime) -> Iterator[bytes]:
    title = title_of(report)
    sheet = xlsx.Sheet(name=xlsx.sheet_name(title), widths=WIDTHS, frozen_rows=HEADER_ROW)
    return xlsx.stream(sheet, rows(report), title=title, created=created)
