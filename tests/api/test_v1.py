"""/api/v1: bearer tokens (and nothing else) authenticate; the referrals through the pages'
own policy and queries; errors as problem+json in the caller's language; the OpenAPI
document lists every route."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.api.services import create_token
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from tests import factories
from tests.api.test_tokens import create as create_through_page
from tests.conftest import zh
from tests.referrals.helpers import Cast

PROBLEM = "application/problem+json"


def bearer(token: str, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def token_for(user, clock, *, scopes="read", days=30) -> str:
    return create_token(actor=user, now=clock.now, name="测试", scopes=scopes, days=days)[1]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert set(body) == {"type", "title", "status", "detail"} and body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def cast(world):
    return Cast(world)


# -- authentication -----------------------------------------------------------------------


def test_token_from_the_page_opens_the_api_until_revoked(client, login_as, cast, clock):
    ref = cast.sent(clock.now)
    login_as(cast.officer)
    token = create_through_page(client)
    client.submit("/logout", page="/account")  # nothing of the browser's session below
    answer = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json()["number"] == ref.number
    from caseflow.api.models import ApiToken

    row = _db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == cast.officer.id)).one()
    assert row.last_used_at == clock.now
    login_as(cast.officer)
    client.submit(f"/account/tokens/{row.id}/revoke", page="/account/tokens")
    body = assert_problem(client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)), 401)
    assert body["detail"] == zh("This token has been revoked.")  # the owner reads Chinese


def test_expired_unknown_and_missing_tokens_get_401(client, cast, clock):
    ref = cast.sent(clock.now)
    token = token_for(cast.officer, clock, days=7)
    assert client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)).status_code == 200
    clock.advance(days=7)
    expired = assert_problem(client.get(f"/api/v1/referrals/{ref.id}",
                                        headers=bearer(token, **{"Accept-Language": "en"})), 401)
    unknown = assert_problem(client.get(f"/api/v1/referrals/{ref.id}",
                                        headers=bearer("cf_" + "x" * 43, **{"Accept-Language": "en"})), 401)
    missing = client.get(f"/api/v1/referrals/{ref.id}", headers={"Accept-Language": "en"})
    assert_problem(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert len({expired["detail"], unknown["detail"], missing.get_json(force=True)["detail"]}) == 3


def test_a_session_cookie_alone_does_not_authenticate(client, login_as, cast, clock):
    ref = cast.sent(clock.now)
    login_as(cast.officer)
    assert client.get(f"/referrals/{ref.id}").status_code == 200  # the page: yes
    response = client.get(f"/api/v1/referrals/{ref.id}")
    assert_problem(response, 401)
    assert "Set-Cookie" not in response.headers


def test_problem_detail_in_the_owners_language_else_accept_language(client, world, cast, clock):
    english = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation, locale="en")
    chinese = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    absent = "/api/v1/referrals/2147483647"
    in_english = assert_problem(client.get(absent, headers=bearer(token_for(english, clock),
                                                                  **{"Accept-Language": "zh-CN"})), 404)
    in_chinese = assert_problem(client.get(absent, headers=bearer(token_for(chinese, clock),
                                                                  **{"Accept-Language": "en"})), 404)
    assert in_english["detail"] == "There is no such page or record."
    assert in_chinese["detail"] == zh("There is no such page or record.")
    anonymous_en = client.get(absent, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert assert_problem(anonymous_en, 401)["detail"].startswith("Send a personal access token")
    assert anonymous_en.headers["Content-Language"] == "en"
    anonymous_zh = client.get(absent, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert anonymous_zh.headers["Content-Language"] == "zh-CN"
    assert client.get(absent).headers["Content-Language"] == "zh-CN"  # the district's language


def test_a_post_is_not_refused_for_want_of_a_csrf_token(client, cast, clock):
    """No write route yet: a POST gets the 405 problem (no such method), not the CSRF
    refusal's 400."""
    ref = cast.sent(clock.now)
    response = client.post(f"/api/v1/referrals/{ref.id}",
                           headers=bearer(token_for(cast.officer, clock), **{"Accept-Language": "en"}))
    assert assert_problem(response, 405)["detail"] == "This method is not allowed here."


def test_a_path_no_route_has_is_a_problem_under_the_api_only(client):
    missing = client.get("/api/v1/no-such-resource", headers={"Accept-Language": "en"})
    assert assert_problem(missing, 404)["detail"] == "There is no such page or record."
    assert "<html" in client.get("/nowhere").get_data(as_text=True).lower()  # the pages' own 404
    assert client.get("/nowhere").status_code == 404


# -- referrals ----------------------------------------------------------------------------


def test_detail_404_for_another_organisation_as_for_no_record(client, world, cast, clock):
    ref = cast.sent(clock.now)
    outsider = factories.make_user(world, roles={Role.FEDERATION_OFFICER, Role.SUPERVISOR}, org=world.street_b)
    token = token_for(outsider, clock)
    theirs = assert_problem(client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)), 404)
    nothing = assert_problem(client.get("/api/v1/referrals/2147483647", headers=bearer(token)), 404)
    assert theirs == nothing


@pytest.mark.parametrize("role", [Role.PARTNER_WORKER, Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN])
def test_partner_and_administrators_refused_as_on_the_pages(client, login_as, world, cast, clock, role):
    ref = cast.sent(clock.now)
    user = login_as(role.value)
    page = client.get("/referrals")
    assert page.status_code == 403
    token = token_for(user, clock)
    assert_problem(client.get("/api/v1/referrals", headers=bearer(token)), 403)
    assert_problem(client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)), 403)


def test_no_identity_in_responses(client, cast, clock):
    ref = cast.sent(clock.now)
    token = token_for(cast.officer, clock)
    text = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)).get_data(as_text=True)
    listed = client.get("/api/v1/referrals?box=outbox", headers=bearer(token)).get_data(as_text=True)
    assert factories.VALID_IDS[0] not in text and factories.VALID_IDS[0] not in listed
    for name in ("real_name", "resident_id", "phone", "address", "birth_date"):
        assert f'"{name}"' not in text and f'"{name}"' not in listed
    assert cast.person.pseudonym in text


PAGE_LINK = re.compile(r'href="/referrals/(\d+)"')


def _page_ids(client, query: str) -> list[int]:
    html = client.get(f"/referrals?{query}").get_data(as_text=True)
    return list(dict.fromkeys(int(i) for i in PAGE_LINK.findall(html)))


def _api_ids(client, token: str, query: str) -> tuple[list[list[int]], list[str]]:
    pages, links, url = [], [], f"/api/v1/referrals?{query}"
    while url:
        body = client.get(url, headers=bearer(token)).get_json()
        pages.append([item["id"] for item in body["items"]])
        url = body["next"]
        if url:
            links.append(url)
    return pages, links


def test_list_filters_and_cursor_pages_match_the_list_page(client, login_as, cast, clock):
    urgent = [cast.sent(clock.now, is_urgent=True) for _ in range(27)]
    for _ in range(3):
        cast.sent(clock.now)
    login_as(cast.officer)
    token = token_for(cast.officer, clock)
    for query in ("box=outbox", "box=outbox&urgent=y"):
        pages, links = _api_ids(client, token, query)
        assert len(pages) == 2 and len(pages[0]) == 25
        assert pages[0] == _page_ids(client, query) and pages[1] == _page_ids(client, query + "&page=2")
        assert all("cursor=" in link and "page=" not in link for link in links)
    urgent_pages, _links = _api_ids(client, token, "box=outbox&urgent=y")
    assert sorted(sum(urgent_pages, [])) == sorted(r.id for r in urgent)


def test_a_cursor_caseflow_did_not_give_is_refused(client, cast, clock):
    body = assert_problem(client.get("/api/v1/referrals?cursor=eyJwYWdlIjoyfQ",
                                     headers=bearer(token_for(cast.officer, clock))), 400)
    assert body["type"].endswith("cursor")


# -- the document -------------------------------------------------------------------------


def test_openapi_document_is_valid_and_lists_every_api_route(app, client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and documented == routes
    listing = document["paths"]["/referrals"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"box", "q", "state", "urgent", "overdue", "org", "handler", "received_from", "cursor"} <= names
    referral = document["components"]["schemas"]["Referral"]["properties"]
    assert "person" in referral and not {"real_name", "resident_id", "phone", "address"} & set(referral)


def test_documentation_page_is_rendered_from_the_document(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/referrals/{referral_id}" in html and 'id="schema-ReferralSummary"' in html
    assert "cdn" not in html.lower() and "swagger" not in html.lower()
