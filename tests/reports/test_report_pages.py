"""The four-mechanisms report page and its print view (issue 7), on the demo data: who may
see it, the period switching, and figures whose list filters exactly leading to as many
rows."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.core.orgs.models import Organisation, User
from tests import factories
from tests.conftest import module_database, zh

TODAY = date(2026, 11, 27)
DEMO_PASSWORD = "Caseflow-demo-2026"


def _load_demo(*, app, **_):
    from tests.referrals.test_demo import load

    load(app, TODAY.isoformat())


#: The demo, loaded once per database for the module; each test in a SAVEPOINT.
shared, db, clock = module_database(_load_demo)


@pytest.fixture
def demo(db):
    return {o.code: o for o in db.session.scalars(sa.select(Organisation))}


def sign_in(client, username):
    response = client.submit("/login", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def figures(html: str) -> dict[str, list[tuple[str, str, str]]]:
    """{key: [(value, href, exact)]} of the page's figures."""
    found: dict[str, list] = {}
    for key, cell in re.findall(r'data-testid="figure" data-key="([^"]+)">.*?<td[^>]*>(.*?)</td>', html, re.S):
        link = re.search(r'href="([^"]+)" data-testid="figure-link" data-exact="(\w+)"(?: data-rows="\d+")?>([^<]*)<',
                         cell)
        found.setdefault(key, []).append((link.group(3), link.group(1).replace("&amp;", "&"), link.group(2))
                                         if link else (cell.strip(), None, None))
    return found


def test_the_report_shows_the_four_mechanisms_charts_and_definitions(client, demo):
    sign_in(client, "fed.head")
    response = client.get("/reports")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for key in ("referral", "feedback", "collaboration", "training"):
        assert f'data-testid="section-{key}"' in html
    for chart in ("chart-per-month", "chart-on-time", "chart-items"):
        assert re.search(rf'data-testid="{chart}".*?<svg[^>]*>.*?<rect', html, re.S), chart
    assert 'style="' not in html and "<script>" not in html  # the CSP allows neither
    assert 'data-testid="definition-replied_on_time"' in html and 'data-testid="definition-period"' in html
    assert f'data-testid="report-period">{zh("%(year)d", year=2026)}<' in html  # 2026年
    found = figures(html)
    assert [v for v, _h, _e in found["referrals"]] == ["12", "0", "0", "5"]
    assert found["women_helped"][0][0] == "2"  # 小雨 and 晓丽
    assert found["aid_granted"][0][0] == "80,000.00"  # 50,000 and 30,000


def test_the_period_switches(client, demo):
    sign_in(client, "proc.head")
    quarter = client.get("/reports?period=quarter&year=2026&quarter=3").get_data(as_text=True)
    assert "2026-07-01" in quarter and "2026-09-30" in quarter
    # July to September: referrals 1 to 5 were received by the department (3 to it, 2 from it)
    assert [v for v, _h, _e in figures(quarter)["referrals"]] == ["0", "2", "3", "0"]
    month = client.get("/reports?period=month&year=2026&month=8").get_data(as_text=True)
    assert [v for v, _h, _e in figures(month)["referrals"]] == ["0", "0", "1", "0"]
    custom = client.get("/reports?period=custom&start=2026-11-01&end=2026-11-30").get_data(as_text=True)
    assert [v for v, _h, _e in figures(custom)["referrals"]] == ["0", "1", "3", "0"]
    # a custom period ending before it starts is a year
    wrong = client.get("/reports?period=custom&start=2026-12-01&end=2026-11-30").get_data(as_text=True)
    assert "2026-01-01" in wrong
    # 2025 is the demo's story year (tests/reports/test_demo_story_year.py); the year before is empty
    earlier = client.get("/reports?year=2024").get_data(as_text=True)
    assert [v for v, _h, _e in figures(earlier)["referrals"]] == ["0", "0", "0", "0"]
    # the lists filter by the received day: a quarter's links are exact, and list its referrals
    assert {e for _v, _h, e in figures(quarter)["referrals"]} == {"yes"}
    for value, href, _e in figures(quarter)["referrals"]:
        assert "received_from=2026-07-01" in href and "received_to=2026-09-30" in href
        assert client.get(href).get_data(as_text=True).count('data-testid="referral-row"') == int(value)


@pytest.mark.parametrize("username", ["fed.head", "proc.head"])
def test_an_exact_figure_leads_to_a_list_with_that_many_rows(client, demo, username):
    sign_in(client, username)
    found = figures(client.get("/reports?year=2026").get_data(as_text=True))
    checked = 0
    for key in ("referrals", "overdue_now"):
        for value, href, exact in found[key]:
            assert exact == "yes", (key, href)
            rows = client.get(href).get_data(as_text=True).count('data-testid="referral-row"')
            assert rows == int(value), (key, href)
            checked += 1
    assert checked == 6
    # The table by source: each row's list, filtered by that source, has as many rows.
    table = re.search(r'data-testid="table-by_source".*?</table>', html := client.get(
        "/reports?year=2026").get_data(as_text=True), re.S).group(0)
    rows = re.findall(r'href="([^"]+)" data-testid="table-link" data-exact="(\w+)">([^<]*)<', table)
    assert len(rows) == 5 and sum(int(v) for _h, _e, v in rows) > 0
    for href, exact, value in rows:
        assert exact == "yes" and "source=" in href
        listed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert listed.count('data-testid="referral-row"') == int(value), href


def test_a_street_federation_is_reported_alone(client, demo):
    sign_in(client, "fed.head")
    minzu = demo["jh-fed-minzu"]
    html = client.get(f"/reports?org={minzu.id}").get_data(as_text=True)
    found = figures(html)
    assert [v for v, _h, _e in found["referrals"]] == ["5", "0", "0", "0"]
    value, href, exact = found["referrals"][0]
    assert exact == "yes" and f"org={minzu.id}" in href
    assert client.get(href).get_data(as_text=True).count('data-testid="referral-row"') == 5


def test_who_may_see_the_report(client, demo, db):
    for username in ("fed.officer", "prosecutor", "justice.worker", "sysadmin", "auditadmin"):
        sign_in(client, username)
        assert client.get("/reports").status_code == 403, username
        assert client.get("/reports/print").status_code == 403, username
        client.submit("/logout", page="/account/password")
    sign_in(client, "proc.head")
    # an organisation that is not the user's nor below it
    assert client.get(f"/reports?org={demo['jh-fed'].id}").status_code == 403
    assert client.get(f"/reports?org={demo['jh-proc-5'].id}").status_code == 200
    # a street federation's supervisor reports on hers, not on the district's
    chair = factories.make_user(factories.World(None, *[demo[c] for c in (
        "jh-fed", "jh-fed-minzu", "jh-fed-hualou", "jh-proc", "jh-proc-5", "jh-justice")]),
        roles={"supervisor", "federation_officer"}, org=demo["jh-fed-hualou"], now=demo["jh-fed"].created_at)
    client.submit("/logout", page="/account/password")
    assert client.submit("/login", {"username": chair.username, "password": factories.PASSWORD}).status_code == 302
    assert client.get("/reports").status_code == 200
    assert client.get(f"/reports?org={demo['jh-fed'].id}").status_code == 403


def test_the_print_view_is_an_a4_sheet_with_the_figures(client, demo):
    sign_in(client, "fed.head")
    response = client.get("/reports/print?period=quarter&year=2026&quarter=4")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "css/letter.css" in html
    assert 'data-testid="report-print"' in html and "<svg" in html and 'style="' not in html
    assert "2026-10-01" in html and "2026-12-31" in html
    assert "江汉区妇女联合会" in html


def test_the_menu_shows_the_report_to_supervisors_only(client, demo):
    sign_in(client, "fed.head")
    assert 'href="/reports"' in client.get("/").get_data(as_text=True)
    client.submit("/logout", page="/account/password")
    sign_in(client, "fed.officer")
    assert 'href="/reports"' not in client.get("/").get_data(as_text=True)


def test_the_feedback_section_shows_the_hours_from_sending_to_registration(client, demo, db):
    from caseflow.core.orgs.services import subtree_ids
    from caseflow.reports import definitions as d

    sign_in(client, "proc.head")
    head = db.session.scalars(sa.select(User).where(User.username == "proc.head")).one()
    ids = subtree_ids(head.organisation_id)
    html = client.get("/reports?year=2026").get_data(as_text=True)
    shown = [value for value, _href, _exact in figures(html)["hours_to_registration"]]
    expected = []
    for side in (d.RECEIVED, d.SENT):
        spread = d.hours_to_registration(ids, date(2026, 1, 1), date(2026, 12, 31), side)
        assert spread.count, side  # the demo registers referrals both ways
        expected += [f"{spread.median.normalize():f}", f"{spread.p90.normalize():f}"]
    assert shown == expected
    section = re.search(r'data-testid="section-feedback".*?</section>', html, re.S).group(0)
    for label in ("Median hours from sending to registration",
                  "90th percentile of hours from sending to registration"):
        assert zh(label) in section
    assert 'data-testid="definition-hours_to_registration"' in html
    assert zh("Hours from sending to registration: median and 90th percentile") in html
    # a year without referrals: nothing to measure, a dash rather than a zero
    empty = figures(client.get("/reports?year=2024").get_data(as_text=True))
    assert [v for v, _h, _e in empty["hours_to_registration"]] == ["—"] * 4


def test_the_report_reads_the_referrals_in_five_statements(client, demo, db):
    """The referral figures of the period in one statement, the days to reply and the hours to
    registration together one per side, overdue now one per side; every figure of the page in
    13 aggregate statements (29 before)."""
    from tests.reports.test_dashboards import statements

    sign_in(client, "proc.head")
    with statements(db) as seen:
        assert client.get("/reports?period=year&year=2026").status_code == 200
    # (the case figures look up each case's referral by its id: not a read of the period's)
    reads = [s for s in seen if re.search(r"\bFROM referrals\b", s) and "aid_cases" not in s]
    assert len(reads) == 5, reads
    assert len([s for s in seen if re.search(r"\b(count|sum|max)\(", s, re.I)]) <= 16, seen


def test_a_letter_sent_on_31_december_and_received_in_january_is_counted_and_listed_in_january(
        client, demo, db):
    """The report places a referral by the day it was received; the figure's list filters
    on that day too, not on the year of the letter's number."""
    import uuid
    from datetime import datetime, timezone

    from caseflow.core.people.models import Person
    from caseflow.referrals import services
    from caseflow.referrals.models import Referral
    from tests.referrals.helpers import referral_input

    officer = db.session.scalars(sa.select(User).where(User.username == "fed.officer")).one()
    prosecutor = db.session.scalars(sa.select(User).where(User.username == "prosecutor")).one()
    person = db.session.scalars(sa.select(Person).where(Person.pseudonym == "小雨")).one()
    sent_at = datetime(2025, 12, 31, 8, 0, tzinfo=timezone.utc)
    ref = services.save_draft(actor=officer, now=sent_at, person=person, receiver=demo["jh-proc-5"],
                              data=referral_input(consent_on=date(2025, 12, 30)),
                              submission_token=uuid.uuid4().hex)
    services.send(ref, actor=officer, now=sent_at)
    services.register(ref, actor=prosecutor, now=datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc),
                      registration_number="跨年-1", received_on=date(2026, 1, 4), handler=prosecutor)
    db.session.flush()
    assert ref.number_year == 2025
    number = ref.number

    sign_in(client, "proc.head")
    found = figures(client.get("/reports?year=2026").get_data(as_text=True))
    [(value, href)] = [(v, h) for v, h, _e in found["referrals"]
                       if "box=inbox" in h and f"direction={ref.direction}" in h]
    assert "received_from=2026-01-01" in href and "received_to=2026-12-31" in href
    listed = client.get(href).get_data(as_text=True)
    assert number in listed and listed.count('data-testid="referral-row"') == int(value)
    # The letter's number is of 2025: the list by the number's year does not have it.
    assert number not in client.get("/referrals?box=inbox&year=2026").get_data(as_text=True)
    assert number in client.get("/referrals?box=inbox&received_year=2026").get_data(as_text=True)
    assert number not in client.get("/referrals?box=inbox&received_year=2025").get_data(as_text=True)
    # by the received day: a link of the month of January has it, one ending on 3 January not
    assert number in client.get("/referrals?box=inbox&received_from=2026-01-01&received_to=2026-01-31").get_data(
        as_text=True)
    assert number not in client.get("/referrals?box=inbox&received_from=2025-12-01&received_to=2026-01-03").get_data(
        as_text=True)
    assert db.session.get(Referral, ref.id).received_on == date(2026, 1, 4)
