"""GET /api/v1/cases and /api/v1/cases/{id}: the case list page's filters and order through
its own functions, the case page's policy (another organisation's case is the 404 of none,
partners and administrators 403), the applicant by pseudonym only, money exact."""
from __future__ import annotations

import re

import pytest

from caseflow.core.orgs.roles import OrganisationKind, Role
from tests import factories
from tests.api.test_v1 import assert_problem, bearer, token_for
from tests.conftest import zh
from tests.investigations.helpers import CaseCast


@pytest.fixture
def cast(world):
    return CaseCast(world)


def _get(client, token: str, path: str, **headers):
    return client.get(f"/api/v1{path}", headers=bearer(token, **headers))


# -- one case -------------------------------------------------------------------------------


def test_a_decided_case_as_its_page_shows_it_amounts_exact(client, cast, clock):
    case = cast.decided(clock.now, amount="30000.5", granted="28888.88")
    response = _get(client, token_for(cast.prosecutor, clock), f"/cases/{case.id}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert (body["id"], body["number"], body["state"]) == (case.id, case.number, "decided")
    assert body["proposed_amount"] == "30000.50" and body["granted_amount"] == "28888.88"
    assert body["paid_amount"] is None and body["decided_on"] == case.decided_on.isoformat()
    assert body["applicant"] == {"id": cast.person.id, "pseudonym": cast.person.pseudonym}
    assert body["organisation"]["id"] == cast.world.department5.id
    assert body["handler"] == cast.prosecutor.display_name
    assert body["referral_id"] == case.referral_id and body["referral_number"] == case.referral.number
    assert {m["name"] for m in body["investigation"]["team"]} == {cast.prosecutor.display_name,
                                                                  cast.officer.display_name}
    assert body["reviewed_by"] == cast.proc_supervisor.display_name
    assert body["decision_text"] == "决定给予司法救助金。" and body["version"] == case.version


def test_no_identity_of_the_woman_in_any_answer(client, cast, clock):
    case = cast.investigating(clock.now)
    token = token_for(cast.prosecutor, clock)
    texts = [_get(client, token, f"/cases/{case.id}").get_data(as_text=True),
             _get(client, token, "/cases").get_data(as_text=True)]
    for text in texts:
        assert cast.person.pseudonym in text
        for secret in (factories.VALID_IDS[0], "陈雨婷", "13871234567", "武汉市江汉区某社区"):
            assert secret not in text
        for name in ("real_name", "resident_id", "phone", "address", "birth_date"):
            assert f'"{name}"' not in text


def test_household_by_its_counts_measures_and_visits_without_identities(client, cast, clock):
    from caseflow.investigations import services
    from tests.investigations.helpers import visit_input

    case = cast.investigating(clock.now)
    services.save_household(case, actor=cast.prosecutor, now=clock.now, expected_version=None,
                            data=services.HouseholdInput(medical_costs="1500.00"))
    services.save_member(case, actor=cast.prosecutor, now=clock.now, data=services.MemberInput(
        pseudonym="婆婆", relation="婆婆", real_name="王桂兰", resident_id=factories.VALID_IDS[2],
        monthly_income="2000"))
    services.save_member(case, actor=cast.prosecutor, now=clock.now, data=services.MemberInput(
        pseudonym="小宝", relation="儿子", real_name="陈小宝", age_years=9))
    services.record_visit(case, actor=cast.prosecutor, now=clock.now, data=visit_input(cast))
    services.propose(case, actor=cast.prosecutor, now=clock.now, data=services.ProposalInput(
        findings="家庭收入中断。", amount="12000", reasons="医疗支出大。", measures=[
            services.MeasureInput(kind="counselling", agency=cast.world.justice_bureau,
                                  details="每周一次")]))
    response = _get(client, token_for(cast.prosecutor, clock), f"/cases/{case.id}")
    body, text = response.get_json(), response.get_data(as_text=True)
    assert body["household"] == {"members": 2, "minors": 1}
    assert body["investigation"]["visits"] == 1
    assert body["measures"] == [{"kind": "counselling", "state": "recommended", "details": "每周一次",
                                 "agency": {"id": cast.world.justice_bureau.id,
                                            "name": cast.world.justice_bureau.name}}]
    assert body["proposed_amount"] == "12000.00" and body["proposed_by"] == cast.prosecutor.display_name
    for secret in ("王桂兰", "陈小宝", factories.VALID_IDS[2], "小宝", "婆婆", "江汉区某社区3栋"):
        assert secret not in text


def test_the_federation_that_referred_the_case_and_its_team_see_it(client, world, cast, clock):
    case = cast.investigating(clock.now)
    sender_supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
    for user in (cast.officer, sender_supervisor, cast.proc_supervisor):
        response = _get(client, token_for(user, clock), f"/cases/{case.id}")
        assert response.status_code == 200, user
        listed = _get(client, token_for(user, clock), "/cases").get_json()["items"]
        assert case.id in [item["id"] for item in listed]


def test_another_organisations_case_is_the_404_of_none(client, world, cast, clock):
    case = cast.investigating(clock.now)
    other_procuratorate = factories.make_org("另一区人民检察院", OrganisationKind.PROCURATORATE,
                                             now=clock.now)
    outsiders = [factories.make_user(world, roles={Role.FEDERATION_OFFICER, Role.SUPERVISOR},
                                     org=world.street_b),
                 factories.make_user(world, roles={Role.PROSECUTOR, Role.SUPERVISOR}, org=other_procuratorate)]
    for outsider in outsiders:
        token = token_for(outsider, clock)
        theirs = assert_problem(_get(client, token, f"/cases/{case.id}"), 404)
        nothing = assert_problem(_get(client, token, "/cases/2147483647"), 404)
        assert theirs == nothing
        assert _get(client, token, "/cases").get_json() == {"items": [], "next": None}


@pytest.mark.parametrize("role", [Role.PARTNER_WORKER, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN,
                                  Role.AUDIT_ADMIN])
def test_partners_and_administrators_are_refused_as_on_the_pages(client, login_as, cast, clock, role):
    case = cast.investigating(clock.now)
    user = login_as(role.value)
    assert client.get("/cases").status_code == 403  # the page
    token = token_for(user, clock)
    listed = _get(client, token, "/cases")
    assert assert_problem(listed, 403) == assert_problem(_get(client, token, f"/cases/{case.id}"), 403)
    assert listed.headers["Content-Language"] == "zh-CN"  # the owner's language
    english = factories.make_user(cast.world, roles={role}, locale="en")
    for path in ("/cases", f"/cases/{case.id}"):
        refused = assert_problem(_get(client, token_for(english, clock), path), 403)
        assert refused["detail"] == "Your roles do not give you the judicial aid cases."


def test_expired_and_revoked_tokens_get_401(client, cast, clock):
    from caseflow.api.services import find_token, revoke_token

    case = cast.investigating(clock.now)
    expiring, revoked = token_for(cast.prosecutor, clock, days=7), token_for(cast.prosecutor, clock)
    assert _get(client, revoked, f"/cases/{case.id}").status_code == 200
    revoke_token(find_token(revoked), actor=cast.prosecutor, now=clock.now)
    body = assert_problem(_get(client, revoked, f"/cases/{case.id}"), 401)
    assert body["detail"] == zh("This token has been revoked.")
    clock.advance(days=7)
    for path in ("/cases", f"/cases/{case.id}"):
        assert assert_problem(_get(client, expiring, path), 401)["detail"] == zh("This token has expired.")


def test_an_id_no_record_can_have_is_a_404(client, cast, clock):
    token = token_for(cast.prosecutor, clock)
    for case_id in ("0", "2147483648", "99999999999999999999999"):
        assert_problem(_get(client, token, f"/cases/{case_id}"), 404)


# -- the list -------------------------------------------------------------------------------


PAGE_LINK = re.compile(r'href="/cases/(\d+)"')


def _page_ids(client, query: str) -> list[int]:
    html = client.get(f"/cases?{query}").get_data(as_text=True)
    return list(dict.fromkeys(int(i) for i in PAGE_LINK.findall(html)))


def _api_pages(client, token: str, query: str) -> tuple[list[list[int]], list[str]]:
    pages, links, url = [], [], f"/api/v1/cases?{query}"
    while url:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        body = response.get_json()
        pages.append([item["id"] for item in body["items"]])
        url = body["next"]
        if url:
            links.append(url)
    return pages, links


def test_list_pages_and_filters_match_the_case_list_page(client, login_as, cast, clock):
    cases = [cast.open(clock.now) for _ in range(24)]
    proposed = [cast.proposed(clock.now, amount="1000.00") for _ in range(2)]
    login_as(cast.prosecutor)
    token = token_for(cast.prosecutor, clock)
    pages, links = _api_pages(client, token, "")
    assert [len(p) for p in pages] == [25, 1]
    assert pages[0] == _page_ids(client, "") and pages[1] == _page_ids(client, "page=2")
    assert all("cursor=" in link and "page=" not in link for link in links)
    assert sorted(sum(pages, [])) == sorted(c.id for c in cases + proposed)
    for query in ("state=proposed", "awaiting=1", f"q={cases[3].number}",
                  f"dated=received&date_from=2026-11-25&date_to=2026-11-25&year={clock.now.year}",
                  "year=1999&state=nonsense&handler=abc"):
        api, _links = _api_pages(client, token, query)
        assert api == [_page_ids(client, f"{query}&page={n}") for n in range(1, len(api) + 1)], query
    assert _api_pages(client, token, "state=proposed")[0] == [sorted((c.id for c in proposed), reverse=True)]
    assert _api_pages(client, token, f"q={cases[3].number}")[0] == [[cases[3].id]]
    summary = _get(client, token, "/cases?state=proposed").get_json()["items"][0]
    assert summary["proposed_amount"] == "1000.00" and summary["applicant"]["pseudonym"]


def test_a_next_link_keeps_the_filters(client, cast, clock):
    for _ in range(26):
        cast.open(clock.now)
    token = token_for(cast.prosecutor, clock)
    first = _get(client, token, "/cases?state=investigating").get_json()
    assert "state=investigating" in first["next"]
    assert len(client.get(first["next"], headers=bearer(token)).get_json()["items"]) == 1


def test_a_cursor_caseflow_did_not_give_is_refused(client, cast, clock):
    token = token_for(cast.prosecutor, clock)
    for cursor in ("eyJwYWdlIjoyfQ", "abc", ""):
        response = _get(client, token, f"/cases?cursor={cursor}", **{"Accept-Language": "en"})
        if cursor:
            assert assert_problem(response, 400)["type"].endswith("cursor")
        else:
            assert response.status_code == 200  # no cursor: the first page


def test_control_characters_are_refused_as_a_problem_under_the_api(client, login_as, cast, clock):
    """The app refuses NUL and other control characters before any route reads them: under
    /api/v1 as application/problem+json, on the pages with the error page as before."""
    token = token_for(cast.prosecutor, clock)
    for query in ("q=a%00b", "state=%1A", "cursor=U%19", "%0B=x"):
        body = assert_problem(_get(client, token, f"/cases?{query}", **{"Accept-Language": "en"}), 400)
        assert body["detail"].startswith("What was sent contains control characters (such as NUL)")
    login_as(cast.prosecutor)
    page = client.get("/cases?q=a%00b")
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert zh("What was sent contains control characters (such as NUL) that no form or link of caseflow "
              "produces, so nothing was done. Remove them and try again.") in page.get_data(as_text=True)
