"""The district's joint report (issue 15): both sides' figures together, as the offices
publish them, for the supervisors of both sides; on the demo's story year, the story's
5 referrals between the sides, 6 judicial aid cases and 6 women helped."""
from __future__ import annotations

import pytest

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
