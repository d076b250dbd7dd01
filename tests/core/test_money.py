"""One format for money: 50,000.00 on every page, in the letters, the e-mails and the exports
(core/money.py's ``format_amount``, the templates' ``|amount``)."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from caseflow.core.money import format_amount
from caseflow.investigations import services
from caseflow.reports.ledgers import CASE_COLUMNS
from tests.conftest import page_text
from tests.investigations.helpers import CaseCast

SHOWN = "50,000.00"
#: An amount written any other way: 50000, 50000.00, 50,000 (no decimals), 50000.0.
OTHER_WAYS = re.compile(r"(?<![\d,.])50,?000(?!,000\.00)(?:\.\d+)?(?![\d,])")


@pytest.mark.parametrize("value, shown", [
    (Decimal("50000"), "50,000.00"), (Decimal("50000.00"), "50,000.00"), (50000, "50,000.00"),
    ("50000.00", "50,000.00"), ("30000.5", "30,000.50"), (Decimal("0.01"), "0.01"),
    (Decimal("1234567.89"), "1,234,567.89"), (Decimal("-1800"), "-1,800.00"),
    (Decimal("2.005"), "2.01"), ("2,000.00", "2,000.00"), (None, ""), ("", ""),
])
def test_format_amount(value, shown):
    assert format_amount(value) == shown


@pytest.fixture
def cast(world, db):
    return CaseCast(world)


def _shown_the_one_way(text: str) -> None:
    assert SHOWN in text
    assert not OTHER_WAYS.findall(text.replace(SHOWN, "")), OTHER_WAYS.findall(text.replace(SHOWN, ""))


def test_pages_letter_and_exports_show_50_000_00(client, login_as, cast, clock):
    case = cast.decided(clock.now, amount="50000", granted="50000")
    services.record_payment(case, actor=cast.prosecutor, now=clock.now, amount="50000",
                            paid_on=date(2026, 11, 27), method="bank_transfer")
    login_as(cast.prosecutor)

    page = page_text(client.get(f"/cases/{case.id}"))  # proposal, decision, payment, timeline
    assert page.count(SHOWN) >= 6, page
    _shown_the_one_way(page)
    _shown_the_one_way(page_text(client.get("/cases")))
    _shown_the_one_way(page_text(client.get(f"/cases/{case.id}/decision-letter")))

    response = client.get("/exports/cases.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    headings = [str(c.heading) for c in CASE_COLUMNS]
    row = next(r for r in sheet.iter_rows() if r[0].value == case.number)
    amounts = [cell for cell, column in zip(row, CASE_COLUMNS) if column.kind == "amount"]
    assert len(amounts) == 3, headings
    for cell in amounts:  # a number, which Excel and LibreOffice show as 50,000.00
        assert cell.value == 50000 and cell.number_format == "#,##0.00"
