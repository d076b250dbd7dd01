"""Importing a referral ledger in a real browser: the federation's supervisor (fed.head,
陈红) opens the import from her home page, downloads the template, fills it in, uploads it
with one bad row and reads the error by its row and column in Chinese (and is offered no
import), uploads the corrected file, confirms, and finds the imported referrals in the
referral list.

The ledger holds two referrals closed in 2023, between the demo's federation and
procuratorate, with numbers of no organisation's series (no counter moves) and two women
the demo does not know: nothing another browser test reads (inboxes, reminders, this
year's report, the demo's people) changes.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.browser.test_referral_loop import app_text, in_app, path_of, sign_in

pytestmark = pytest.mark.browser

SUPERVISOR = "fed.head"
NUMBERS = ("浏览器导入〔2023〕1号", "浏览器导入〔2023〕2号")
PSEUDONYMS = ("导入甲", "导入乙")
IDS = ("420103198807230464", "420103199206110488")
#: The second woman's number with its last digit mistyped.
BAD_ID = "420103199206110481"
CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; "
               "please check for a mistyped digit.")


def _labels(live_server) -> dict:
    """The template's headings (as keys) and the drop-down values, in Chinese."""
    from flask_babel import force_locale

    from caseflow.imports.services import REFERRAL_COLUMNS
    from caseflow.referrals.models import ConsentMethod, HelpKind, LeadSource, ReplyOutcome

    with live_server.app.test_request_context(), force_locale("zh_CN"):
        return {"keys": {str(c.label): c.key for c in REFERRAL_COLUMNS},
                "source": str(LeadSource.PETITION_RECEPTION.label),
                "help": str(HelpKind.JUDICIAL_AID.label),
                "consent": str(ConsentMethod.WRITTEN.label),
                "outcome": str(ReplyOutcome.NOT_ELIGIBLE.label)}


def _row(labels: dict, i: int, resident_id: str) -> dict:
    return {
        "number": NUMBERS[i], "sender": "江汉区妇女联合会", "receiver": "江汉区人民检察院",
        "pseudonym": PSEUDONYMS[i], "real_name": f"浏览器{i}", "resident_id": resident_id,
        "source": labels["source"], "circumstances": "浏览器导入测试：丈夫因刑事案件去世，无固定收入。",
        "help_requested": labels["help"], "is_urgent": "否",
        "consent_on": date(2023, 3, 1), "consent_method": labels["consent"],
        "sent_on": date(2023, 3, 2), "received_on": date(2023, 3, 3),
        "registration_number": f"浏览器检登〔2023〕{i + 1}号", "registered_on": date(2023, 3, 6),
        "handler": "张明", "reply_on": date(2023, 3, 28), "reply_outcome": labels["outcome"],
        "reply_text": "经审查不符合司法救助条件。", "closed_on": date(2023, 4, 10),
    }


def _filled(template: bytes, labels: dict, rows: list[dict]) -> bytes:
    """The downloaded template with its example row replaced by ``rows``."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    keys = [labels["keys"].get(str(cell.value or "").rstrip("*")) for cell in sheet[1]]
    assert "number" in keys and "resident_id" in keys, keys
    sheet.delete_rows(2, sheet.max_row)
    for r, row in enumerate(rows, start=2):
        for c, key in enumerate(keys, start=1):
            if key in row:
                sheet.cell(row=r, column=c, value=row[key])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(page, path, data: bytes) -> None:
    form = page.locator("form[action='/imports/referrals']")
    form.locator("input[type=file]").set_input_files(
        {"name": path, "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "buffer": data})
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def _imported(live_server) -> list[tuple]:
    from caseflow.referrals.models import Referral

    return in_app(live_server, lambda s: s.execute(
        sa.select(Referral.number, Referral.state, Referral.imported_row)
        .where(Referral.number.in_(NUMBERS)).order_by(Referral.number)).all())


def test_a_supervisor_imports_a_ledger_from_the_template(new_tab, live_server):
    tab = new_tab(accept_downloads=True)
    page = tab.page
    sign_in(tab, SUPERVISOR)
    with page.expect_navigation():
        page.get_by_test_id("home-imports-index").click()
    assert path_of(page) == "/imports/"

    with page.expect_download() as info:
        page.locator("a[href='/imports/referrals/template.xlsx']").click()
    template = open(info.value.path(), "rb").read()
    labels = _labels(live_server)

    # One bad row: the error by its row and column, in Chinese; nothing offered.
    bad = _filled(template, labels, [_row(labels, 0, IDS[0]), _row(labels, 1, BAD_ID)])
    _upload(page, "浏览器台账.xlsx", bad)
    assert page.get_by_test_id("count-errors").inner_text() == "1"
    errors = page.get_by_test_id("error-row")
    assert errors.count() == 1
    cells = [c.strip() for c in errors.first.locator("td").all_inner_texts()]
    assert cells == ["3", app_text(live_server, "Resident ID number"), app_text(live_server, CHECK_DIGIT)]
    assert page.get_by_test_id("confirm").count() == 0
    assert _imported(live_server) == []
    tab.screenshot("import-refused-row")

    # The corrected file: two referrals to add, two women to record; confirmed.
    with page.expect_navigation():
        page.locator("a[href='/imports/']").last.click()
    good = _filled(template, labels, [_row(labels, 0, IDS[0]), _row(labels, 1, IDS[1])])
    _upload(page, "浏览器台账.xlsx", good)
    assert page.get_by_test_id("count-errors").inner_text() == "0"
    assert page.get_by_test_id("count-add").inner_text() == "2"
    assert page.get_by_test_id("count-people").inner_text() == "2"
    assert _imported(live_server) == []  # still nothing saved
    with page.expect_navigation():
        page.get_by_test_id("confirm").click()
    assert path_of(page) == "/imports/"
    assert page.get_by_test_id("batch-row").filter(has_text="浏览器台账.xlsx").count() == 1
    assert _imported(live_server) == [(NUMBERS[0], "closed", 2), (NUMBERS[1], "closed", 3)]

    # The referral list finds them by number.
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator("a[href='/referrals']").click()
    with page.expect_navigation():
        page.get_by_test_id("box-all").click()
    search = page.locator("form[role=search]")
    search.locator("input[name=q]").fill("浏览器导入")
    with page.expect_navigation():
        search.locator("button[type=submit]").click()
    rows = page.get_by_test_id("referral-row")
    assert rows.count() == 2
    listed = " ".join(rows.all_inner_texts())
    assert NUMBERS[0] in listed and NUMBERS[1] in listed and PSEUDONYMS[1] in listed
    tab.screenshot("import-referral-list")
    tab.assert_no_problems()
