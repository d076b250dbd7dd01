"""The four-mechanisms report and the district's joint report as XLSX (issue 15), read
back with openpyxl on the demo's story year: the statistics form header on top, every
figure with its definition, counts and amounts as numbers, formula text neutralised, the
audit row."""
from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.orgs.models import Organisation, User
from caseflow.reports.report_xlsx import HEADER_ROW
from tests.conftest import module_database
from tests.reports.test_demo_story_year import STORY, TODAY
from tests.reports.test_report_pages import sign_in


def _load_demo(*, app, **_):
    from tests.referrals.test_demo import load

    load(app, TODAY.isoformat())


shared, db, clock = module_database(_load_demo)


def english(db, username):
    db.session.scalar(sa.select(User).where(User.username == username)).locale = "en"


def sheet_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]


def header(sheet) -> dict:
    return {sheet.cell(row, 1).value: sheet.cell(row, 2).value for row in range(3, 8)}


def figures(sheet) -> dict[str, list]:
    """{figure label: [value cell]} of the rows below the headings."""
    found = {}
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        found.setdefault(row[1].value, []).append(row[2])
        assert row[3].value, f"no definition for {row[1].value}"
    return found


def test_the_own_report_as_xlsx(client, db, clock):
    english(db, "proc.head")
    sign_in(client, "proc.head")
    response = client.get(f"/reports/report.xlsx?period=year&year={STORY}")
    sheet = sheet_of(response)
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"{STORY}-01-01_{STORY}-12-31" in unquote(response.headers["Content-Disposition"])
    assert "Four-mechanisms report" in sheet["A1"].value and f"{STORY}-01-01" in sheet["A2"].value
    today = local_date(clock.now)
    assert header(sheet) == {"填报单位": "江汉区人民检察院第五检察部",
                             "单位负责人": "刘强", "统计负责人": "刘强", "填表人": "刘强",
                             "报出日期": f"{today.year}年{today.month}月{today.day}日"}
    assert list(header(sheet)) == ["填报单位", "单位负责人", "统计负责人", "填表人", "报出日期"]
    assert [c.value for c in sheet[HEADER_ROW]] == ["Mechanism", "Figure", "Value", "Definition"]
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    found = figures(sheet)
    assert found["Judicial aid cases opened"][0].value == 6 and found["Women helped"][0].value == 6
    granted = found["Aid granted"][0]
    assert Decimal(str(granted.value)) == Decimal("220000") and granted.number_format == "#,##0.00"
    received = [cells[0].value for label, cells in found.items() if label.startswith("Received · ")]
    assert sum(received) == 2
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.report")).all()
    assert len(audit) == 1 and audit[0].after["joint"] is False and audit[0].after["start"] == f"{STORY}-01-01"


@pytest.mark.parametrize("username", ["fed.head", "proc.head"])
def test_the_joint_report_as_xlsx(client, db, username):
    english(db, username)
    sign_in(client, username)
    sheet = sheet_of(client.get(f"/reports/joint.xlsx?period=year&year={STORY}"))
    assert "Joint report of the district" in sheet["A1"].value
    assert header(sheet)["填报单位"] == "江汉区妇女联合会、江汉区人民检察院"
    assert header(sheet)["单位负责人"] == "江汉区妇联：陈红；江汉区检察院：刘强"
    found = figures(sheet)
    between = [cells[0].value for label, cells in found.items() if label.startswith("Referrals between the two sides")]
    assert between == [2, 3, 5]
    assert found["Judicial aid cases opened"][0].value == found["Women helped"][0].value == 6


def test_text_that_would_be_a_formula_is_neutralised(client, db):
    organisation = db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-fed"))
    organisation.name = "=HYPERLINK(\"http://example.com\")"
    sign_in(client, "fed.head")
    sheet = sheet_of(client.get(f"/reports/report.xlsx?period=year&year={STORY}"))
    assert header(sheet)["填报单位"] == "'=HYPERLINK(\"http://example.com\")"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_non_supervisor_gets_no_xlsx(client, db):
    sign_in(client, "fed.officer")
    assert client.get("/reports/report.xlsx").status_code == 403
    assert client.get("/reports/joint.xlsx").status_code == 403
