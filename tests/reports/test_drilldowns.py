"""The report's drill-downs (issue 15): every figure marked exact leads to a list with as many
rows as the figure, on the demo, for both sides' supervisors and several periods; the case
list filters by a date (received, decided, paid) and the training list by a period."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import module_database
from tests.reports.test_demo_story_year import STORY, TODAY
from tests.reports.test_report_pages import sign_in


def _load_demo(*, app, **_):
    from tests.referrals.test_demo import load

    load(app, TODAY.isoformat())


shared, db, clock = module_database(_load_demo)

#: The row marker of each list a figure links to.
ROWS = {"/referrals": "referral-row", "/cases": "case-row", "/training": "session-row",
        "/training/report": "silent-organisation", "/assistance": "plan-row", "/assistance/items": "item-row"}
PERIODS = [f"period=year&year={STORY}", f"period=year&year={TODAY.year}",
           f"period=quarter&year={TODAY.year}&quarter=3", f"period=month&year={TODAY.year}&month=10",
           f"period=custom&start={TODAY.year}-02-10&end={TODAY.year}-09-20"]


def links(html: str) -> list[tuple[str, str, str, str]]:
    """(key, rows, href, exact) of every linked figure and table row of the page: ``rows``
    is the figure itself, or what an exact link says its list holds (a share's whole, the
    referrals a median is read from, the cases an amount adds up)."""
    found = []
    for key, cell in re.findall(r'data-testid="figure" data-key="([^"]+)">.*?<td[^>]*>(.*?)</td>', html, re.S):
        link = re.search(r'href="([^"]+)" data-testid="figure-link" data-exact="(\w+)"(?: data-rows="(\d+)")?>'
                         r'([^<]*)<', cell)
        if link:
            found.append((key, link.group(3) or link.group(4), link.group(1).replace("&amp;", "&"), link.group(2)))
    for table, rows in re.findall(r'data-testid="table-(\w+)">(.*?)</table>', html, re.S):
        for href, exact, value in re.findall(
                r'href="([^"]+)" data-testid="table-link" data-exact="(\w+)">([^<]*)<', rows):
            found.append((table, value, href.replace("&amp;", "&"), exact))
    return found


def count_rows(client, href: str) -> int:
    path, marker = urlsplit(href).path, ROWS[urlsplit(href).path]
    total = 0
    for page in range(1, 40):
        html = client.get(f"{href}&page={page}" if path != "/training/report" else href).get_data(as_text=True)
        shown = html.count(f'data-testid="{marker}"')
        total += shown
        if path == "/training/report" or shown < 25:
            return total
    raise AssertionError(f"too many pages: {href}")


@pytest.mark.parametrize("username", ["proc.head", "fed.head"])
def test_every_exact_link_leads_to_as_many_rows_as_its_figure(client, db, username):
    sign_in(client, username)
    exact_keys, approximate_keys = set(), set()
    for period in PERIODS:
        found = links(client.get(f"/reports?{period}").get_data(as_text=True))
        assert found
        for key, value, href, exact in found:
            if exact != "yes":
                approximate_keys.add(key)
                continue
            exact_keys.add(key)
            assert count_rows(client, href) == int(value.replace(",", "")), (period, key, href)
    # The case figures, the training sessions and the items table are exact now, on any period;
    # the referral lists filter by the received day and by what a share or a median counts.
    feedback = {"registered_on_time", "hours_to_registration", "replied_on_time", "days_to_reply", "extensions"}
    always = {"cases_opened", "cases_decided", "aid_granted", "aid_paid", "investigations", "training_sessions",
              "referrals", "overdue_now", "by_source"} | feedback
    assert always <= exact_keys
    assert not always & approximate_keys
    assert username != "fed.head" or "items" in exact_keys  # the federation runs the demo's plans
    assert not {"cases_opened", "cases_decided", "training_sessions", "items"} & approximate_keys


def test_the_case_list_filters_by_a_date(client, db):
    sign_in(client, "proc.head")
    year = f"date_from={STORY}-01-01&date_to={STORY}-12-31"
    for dated in ("received", "decided", "paid"):
        assert count_rows(client, f"/cases?dated={dated}&{year}") == 6
    # the story's cases, decided between 1 January and 30 June only some of them
    first_half = count_rows(client, f"/cases?dated=decided&date_from={STORY}-01-01&date_to={STORY}-06-30")
    assert 0 < first_half < 6 or first_half == 6
    # dates without their kind, or a date out of the records' years, are no filter
    everything = count_rows(client, "/cases?state=")
    assert count_rows(client, f"/cases?{year}") == everything
    assert count_rows(client, "/cases?dated=decided&date_from=1900-01-01&date_to=") == count_rows(
        client, "/cases?dated=decided")
    # the ledger export applies the same filter
    from io import BytesIO

    import openpyxl

    response = client.get(f"/exports/cases.xlsx?dated=decided&{year}")
    sheet = openpyxl.load_workbook(BytesIO(response.get_data())).worksheets[0]
    assert sheet.max_row - 4 == 6


def test_the_training_list_filters_by_a_period(client, db):
    sign_in(client, "fed.head")
    whole = count_rows(client, f"/training?state=&start={TODAY.year}-01-01&end={TODAY.year}-12-31")
    halves = (count_rows(client, f"/training?state=&start={TODAY.year}-01-01&end={TODAY.year}-06-30")
              + count_rows(client, f"/training?state=&start={TODAY.year}-07-01&end={TODAY.year}-12-31"))
    assert whole == halves == count_rows(client, f"/training?state=&year={TODAY.year}") > 0
    report = client.get(f"/reports?period=year&year={STORY}").get_data(as_text=True)
    href = next(h for k, _v, h, _e in links(report) if k == "training_sessions")
    assert parse_qs(urlsplit(href).query)["start"] == [f"{STORY}-01-01"]


def test_the_item_list_filters_by_kind_state_and_period(client, db):
    sign_in(client, "fed.head")
    everything = count_rows(client, "/assistance/items?kind=")
    assert everything > 0
    assert count_rows(client, "/assistance/items?start=2000-01-01&end=2000-12-31") == 0
    assert count_rows(client, f"/assistance/items?start={TODAY.year}-01-01&end={TODAY.year}-12-31") == everything
    from caseflow.assistance.models import ItemKind

    assert sum(count_rows(client, f"/assistance/items?kind={kind.value}") for kind in ItemKind) == everything
    client.submit("/logout", page="/")
    sign_in(client, "justice.worker")
    assert client.get("/assistance/items").status_code == 403


def test_the_referral_list_says_what_a_report_link_counts(client, db):
    """A share's link lists the referrals it is taken over, says so above the list, and can
    be cleared; a value no link makes is no filter; the ledger export applies the same."""
    from io import BytesIO

    import openpyxl

    sign_in(client, "proc.head")
    found = links(client.get(f"/reports?period=year&year={STORY}").get_data(as_text=True))
    rows, href = next((int(r), h) for k, r, h, e in found if k == "replied_on_time" and "box=inbox" in h)
    assert rows > 0 and "counted=reply" in href
    page = client.get(href).get_data(as_text=True)
    notice = re.search(r'data-testid="counted-filter">(.*?)</div>', page, re.S).group(1)
    assert "期限" in notice or "deadline" in notice
    show_all = re.search(r'href="([^"]+)">[^<]+</a>\s*$', notice.strip()).group(1).replace("&amp;", "&")
    assert "counted=" not in show_all and "received_from=" in show_all
    assert count_rows(client, show_all) >= rows == count_rows(client, href)
    # the filter form keeps it when the user narrows the list further
    assert 'name="counted" type="hidden" value="reply"' in page
    assert count_rows(client, "/referrals?box=inbox&counted=bogus") == count_rows(client, "/referrals?box=inbox")
    response = client.get("/exports/referrals.xlsx?" + urlsplit(href).query)
    sheet = openpyxl.load_workbook(BytesIO(response.get_data())).worksheets[0]
    assert sheet.max_row - 4 == rows
