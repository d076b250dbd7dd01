"""Hostile input, one case at a time (tests/test_fuzz.py throws it at every route):
control characters refused with a page in the user's language, ids past the integer
range "not found", bad numbers and dates in a query ignored, a bad ``next`` dropped,
and HSTS exactly when cookies are secure."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import page_text


def test_nul_in_the_sign_in_form_is_refused_in_chinese_before_anything_is_looked_up(client, world):
    user = factories.make_user(world, roles={Role.PROSECUTOR})
    response = client.submit("/login", {"username": user.username + "\x00", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "控制字符" in page_text(response)
    assert client.get("/account").status_code == 302  # nobody signed in


def test_control_characters_in_a_query_are_refused_in_the_users_language(client, login_as, world):
    user = factories.make_user(world, roles={Role.SUPERVISOR}, locale="en")
    login_as(user)
    for query in ({"q": "a\x00b"}, {"q": "\x1b[2J"}, {"page": "1\r\n"}, {"q\x00": "x"}):
        response = client.get("/people", query_string=query)
        assert response.status_code == 400, query
        assert "control characters (such as NUL)" in page_text(response)


def test_line_breaks_and_tabs_are_kept_in_form_text(client, login_as, world):
    """Multi-line fields have them; only the other control characters are refused."""
    from caseflow.core.people.models import Person

    login_as(Role.FEDERATION_OFFICER)
    response = client.submit("/people/new", {"pseudonym": "小\t兰", "address": "第一行\r\n第二行"},
                             page="/people/new")
    assert response.status_code in (200, 302, 400)
    assert "控制字符" not in page_text(response)  # a refusal there is the form's own
    response = client.submit("/people/new", {"pseudonym": "小\x0b兰"}, page="/people/new")
    assert response.status_code == 400 and "控制字符" in page_text(response)
    assert not [p for p in _people(Person) if "\x0b" in p.pseudonym]


def _people(model):
    from caseflow.extensions import db

    return db.session.scalars(sa.select(model)).all()


@pytest.mark.parametrize("path", ["/people/2147483648", "/people/0", "/people/99999999999999999999999",
                                  "/referrals/9223372036854775808/letter"])
def test_ids_past_the_integer_range_are_not_found(client, login_as, path):
    login_as(Role.SUPERVISOR)
    response = client.get(path)
    assert response.status_code == 404
    assert 'data-testid="error"' in response.get_data(as_text=True)


def test_the_largest_id_is_still_a_route(client, login_as):
    login_as(Role.SUPERVISOR)
    assert client.get(f"/people/{2**31 - 1}").status_code == 404  # no such person, same page
    assert client.get("/people/1").status_code in (200, 404)


@pytest.mark.parametrize("query", [{"page": "99999999999999999999"}, {"page": "-3"}, {"page": "x"}])
def test_a_page_number_out_of_range_is_the_first_page(client, login_as, query):
    login_as(Role.SUPERVISOR)
    assert client.get("/people", query_string=query).status_code == 200
    assert client.get("/audit", query_string=query).status_code == 200


@pytest.mark.parametrize("query", [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "1999-12-31"}])
def test_audit_dates_outside_the_records_years_are_no_filter(client, login_as, query):
    login_as(Role.SUPERVISOR)
    response = client.get("/audit", query_string=query)
    assert response.status_code == 200
    assert page_text(response) == page_text(client.get("/audit"))


@pytest.mark.parametrize("query", ["period=quarter&quarter=5", "period=month&month=13",
                                   "period=custom&start=0001-01-01&end=9999-12-31",
                                   "org=99999999999999999999", "year=99999"])
def test_a_report_period_that_cannot_be_is_the_year(client, login_as, world, query):
    login_as(Role.SUPERVISOR)
    response = client.get(f"/reports?{query}")
    assert response.status_code in (200, 403)
    if response.status_code == 200:
        assert "2026" in page_text(response)


@pytest.mark.parametrize("query", ["handler=2147483648", "org=9223372036854775808", "due_within=99999999999",
                                   "year=2147483648", "received_year=-99999999999"])
def test_referral_filters_out_of_range_are_ignored(client, login_as, query):
    login_as(Role.SUPERVISOR)
    assert client.get(f"/referrals?{query}").status_code == 200
    assert client.get(f"/exports/referrals.csv?{query}").status_code == 200


@pytest.mark.parametrize("target", ["/\r\n/evil.example", "/ok\r\nSet-Cookie: a=b", "//evil.example",
                                    "/\\evil.example", "https://evil.example", "javascript:alert(1)",
                                    "/a\u2028b", "/\u202e"])
def test_safe_next_drops_anything_but_a_plain_local_path(app, target):
    from caseflow.core.web import safe_next

    with app.test_request_context("/login", query_string={"next": target}):
        assert safe_next() == "/"


def test_safe_next_keeps_a_local_path_with_its_query(app):
    from caseflow.core.web import safe_next

    with app.test_request_context("/login", query_string={"next": "/referrals?box=all&page=2"}):
        assert safe_next() == "/referrals?box=all&page=2"


def test_hsts_when_cookies_are_secure(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "SESSION_COOKIE_SECURE", True)
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_no_hsts_when_cookies_are_not_secure(client, monkeypatch):
    """Plain HTTP on a laptop: a pinned HSTS would lock the browser out of localhost."""
    monkeypatch.setitem(client.application.config, "SESSION_COOKIE_SECURE", False)
    assert "Strict-Transport-Security" not in client.get("/login").headers
