"""The district's joint report (issue 15): both sides' figures together, as the offices
publish them, for the supervisors of both sides; on the demo's story year, the story's
5 referrals between the sides, 6 judicial aid cases and 6 women helped."""
from __future__ import annotations

import re

import pytest

from caseflow.core.db import local_date

from tests.conftest import module_database
from tests.reports.test_demo_story_year import STORY, TODAY
from tests.reports.test_report_pages import figures, sign_in


def _load_demo(*, app, **_):
    from tests.referrals.test_demo import load

    load(app, TODAY.isoformat())


shared, db, clock = module_database(_load_demo)


@pytest.mark.parametrize("username", ["proc.head", "fed.head"])
def test_both_sides_supervisors_see_the_storys_joint_figures(client, db, username):
    sign_in(client, username)
    for path in ("/reports/joint", "/reports/joint/print"):
        response = client.get(f"{path}?period=year&year={STORY}")
        assert response.status_code == 200, path
    html = client.get(f"/reports/joint?period=year&year={STORY}").get_data(as_text=True)
    assert "江汉区妇女联合会" in html and "江汉区人民检察院" in html
    found = figures(html)
    # Two referrals to the procuratorate, three back, five in all: each counted once.
    assert [v for v, _h, _e in found["between_sides"]] == ["2", "3", "5"]
    assert found["cases_opened"][0][0] == found["cases_decided"][0][0] == found["women_helped"][0][0] == "6"
    assert found["aid_granted"][0][0] == found["aid_paid"][0][0] == "220,000.00"
    # No figure links to a list: each side's lists show only its own records.
    assert 'data-testid="figure-link"' not in html
    assert 'data-key="referrals"' not in html
    # The own report links to the joint one.
    assert 'href="/reports/joint"' in client.get("/reports").get_data(as_text=True)


def test_the_joint_report_is_the_same_for_both_sides(client, db):
    seen = []
    for username in ("proc.head", "fed.head"):
        sign_in(client, username)
        found = figures(client.get(f"/reports/joint?period=year&year={STORY}").get_data(as_text=True))
        seen.append({key: [v for v, _h, _e in values] for key, values in found.items()})
        client.submit("/logout", page="/")
    assert seen[0] == seen[1]


@pytest.mark.parametrize("username", ["fed.officer", "justice.worker"])
def test_a_non_supervisor_is_refused(client, db, username):
    sign_in(client, username)
    assert client.get(f"/reports/joint?period=year&year={STORY}").status_code == 403
    assert client.get("/reports/joint/print").status_code == 403


def header(html: str) -> dict[str, str]:
    """{label: value} of the statistics form header of a printed report."""
    block = re.search(r'data-testid="form-header">(.*?)</table>', html, re.S).group(1)
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td[^>]*>([^<]*)</td>', block))


def test_the_printed_report_carries_the_statistics_form_header(client, db, clock):
    today = local_date(clock.now).strftime("%Y年%-m月%-d日")
    sign_in(client, "fed.head")
    own = header(client.get(f"/reports/print?period=year&year={STORY}").get_data(as_text=True))
    assert list(own) == ["填报单位", "单位负责人", "统计负责人", "填表人", "报出日期"]
    assert own == {"填报单位": "江汉区妇女联合会", "单位负责人": "陈红", "统计负责人": "陈红", "填表人": "陈红",
                   "报出日期": today}
    client.submit("/logout", page="/")
    # The 5th department's supervisor: the joint report names both organisations, and each
    # side's head (the procuratorate's through the department that acts for it).
    sign_in(client, "proc.head")
    joint = header(client.get(f"/reports/joint/print?period=year&year={STORY}").get_data(as_text=True))
    assert joint["填报单位"] == "江汉区妇女联合会、江汉区人民检察院"
    assert joint["单位负责人"] == "江汉区妇联：陈红；江汉区检察院：刘强"
    assert joint["统计负责人"] == joint["填表人"] == "刘强" and joint["报出日期"] == today
