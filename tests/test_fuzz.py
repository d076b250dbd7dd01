"""Hostile input never gets a server error.

Every GET route of the app (read from ``app.url_map``, so a new route is fuzzed without
being listed here) is asked for with ids past the database's integer range and with query
parameters full of huge numbers, impossible dates, NUL and other control characters, very
long and unusual text, signed in as users who reach most pages and signed out. The main
forms are posted with NUL and control characters. No answer may be 500 or above, and a
refused form saves nothing. Hypothesis runs derandomized, so a failure comes back the
same on the next run; the records are those of the access table, built once per database.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from caseflow.core.orgs.roles import Role
from tests import factories
from tests.conftest import module_database
from tests.test_access import _build

shared, db, clock = module_database(_build)

INT_ARG = re.compile(r"<int:([a-z_]+)>")
#: Ids a database integer cannot hold, or that no row has.
HOSTILE_IDS = [0, -1, 2**31 - 1, 2**31, 2**32, 2**63, 2**64, 10**40]
#: Everything the pages read from a query string, and a few they do not.
PARAMS = ["page", "org", "handler", "year", "received_year", "due_within", "state", "box", "q",
          "from", "to", "start", "end", "period", "quarter", "month", "next", "status", "person",
          "referral", "parent", "awaiting", "channel", "lang", "actor", "action", "direction",
          "source", "urgent", "overdue", "kind", "provider", "day", "week"]
HOSTILE_VALUES = [
    "2147483648", "9223372036854775808", "1" + "0" * 40, "-1", "-2147483649", "0", "5", "13",
    "NaN", "inf", "-inf", "1e309", "0x10", "１２", "9999-12-31", "0000-00-00", "0001-01-01",
    "1899-12-31", "2026-02-30", "2026-13-01", "99999-01-01", "-2026-01-01", "\x00", "a\x00b",
    "\x01\x1b[31m", "\x7f", "\u0085", "\r\nSet-Cookie: x=1", "/\r\n/evil.example", "x" * 5000,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202eevil", "\u200b", "' OR 1=1 --", "%", "_", "\\", "//evil.example",
    "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "", " ", "all", "quarter",
    "month", "year", "custom", "messages", "sent", "failed",
]


def hostile_values():
    return st.one_of(st.sampled_from(HOSTILE_VALUES), st.integers().map(str),
                     st.text(max_size=40))


@pytest.fixture(autouse=True)
def server_errors_answer_500(app):
    """As in production: an exception is the 500 page (and a logged traceback), not
    an exception out of the test client, so the test reads what a user would get."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield
    app.config["PROPAGATE_EXCEPTIONS"] = None


@pytest.fixture
def targets(shared, db):
    return shared.built[1]


@pytest.fixture
def world(shared, db):
    return shared.built[0]


def _real_ids(targets) -> dict[str, int]:
    """A record each path id can name, so the query parameters reach real pages too."""
    return {
        "account_id": targets.service_account.id,
        "attachment_id": targets.attachment.id, "attendance_id": targets.training_attendance.id,
        "case_id": targets.open_case.id, "document_id": targets.case_document.id,
        "invitation_id": targets.training_invitation.id, "item_id": targets.item.id,
        "material_id": targets.training_material.id, "notification_id": targets.notification.id,
        "org_id": targets.org.id, "person_id": targets.person.id, "plan_id": targets.plan.id,
        "referral_id": targets.referral.id, "session_id": targets.training_session.id,
        "user_id": targets.user.id, "visit_id": targets.visit.id,
    }


def _get_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
                  key=lambda r: r.rule)


def _path(rule, ids: dict[str, int]) -> str:
    return INT_ARG.sub(lambda m: str(ids[m.group(1)]), rule.rule)


def _sign_in(client, world, targets, who: str):
    if who == "anonymous":
        return None
    if who == "district":
        user = factories.make_user(world, roles={Role.FEDERATION_OFFICER, Role.SUPERVISOR},
                                   org=world.federation)
    elif who == "procuratorate":
        user = factories.make_user(world, roles={Role.PROSECUTOR, Role.SUPERVISOR},
                                   org=world.procuratorate)
    else:
        user = factories.make_user(world, roles={Role(who)})
    response = client.submit("/login", {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302
    return user


def _check(response, what: str) -> None:
    assert response.status_code < 500, f"{response.status_code} for {what!r}"


WHO = ["district", "procuratorate", Role.SYSTEM_ADMIN.value, Role.AUDIT_ADMIN.value, "anonymous"]


@pytest.mark.parametrize("who", ["district", "anonymous"])
def test_ids_out_of_range_are_not_found(app, client, world, targets, who):
    _sign_in(client, world, targets, who)
    real = _real_ids(targets)
    for rule in _get_rules(app):
        args = INT_ARG.findall(rule.rule)
        for name in args:
            for value in HOSTILE_IDS:
                path = _path(rule, {**real, name: value})
                response = client.get(path)
                _check(response, path)
                if who == "district" and (value <= 0 or value >= 2**31):
                    # A page the role may never use is refused first (403), whatever the id.
                    assert response.status_code in (403, 404), f"{response.status_code} for {path}"


@pytest.mark.parametrize("who", WHO)
@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_query_strings_get_no_server_error(app, client, world, targets, who, data):
    if not getattr(client, "fuzz_signed_in", False):
        _sign_in(client, world, targets, who)
        client.fuzz_signed_in = True
    rules = _get_rules(app)
    rule = data.draw(st.sampled_from(rules), label="route")
    ids = {name: data.draw(st.one_of(st.just(value), st.sampled_from(HOSTILE_IDS)), label=name)
           for name, value in _real_ids(targets).items() if f"<int:{name}>" in rule.rule}
    query = data.draw(st.dictionaries(st.sampled_from(PARAMS), hostile_values(), min_size=1,
                                      max_size=5), label="query")
    path = _path(rule, ids)
    response = client.get(path, query_string=query)
    _check(response, f"{path} {query}")


CONTROL = ["\x00", "a\x00b", "\x01", "\x1b[2J", "\x7f", "\u0085", "\x0b", "\x0c"]


def _saved(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(username=st.sampled_from(CONTROL).map(lambda c: f"admin{c}"),
       password=st.sampled_from(CONTROL + ["Test-password-1"]),
       next_=st.sampled_from(["/\r\n/evil.example", "/account\x00", "//evil.example", "\r\n", "/cases"]))
def test_sign_in_with_control_characters(app, client, world, targets, username, password, next_):
    response = client.submit("/login", {"username": username, "password": password, "next": next_})
    _check(response, f"login {username!r} {next_!r}")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("next_", ["/\r\n/evil.example", "/cases\r\nSet-Cookie: x=1", "/\t/evil.example",
                                   "//evil.example", "/\\evil.example", "https://evil.example/",
                                   "/account\x00", "/account\x7f"])
def test_a_bad_next_is_ignored_after_sign_in(client, world, targets, next_):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    response = client.submit(f"/login", {"username": user.username, "password": factories.PASSWORD,
                                         "next": next_})
    if response.status_code == 302:
        assert response.location == "/", response.location
    else:  # refused whole as control characters: a 400 page, nobody signed in
        assert response.status_code == 400
        assert client.get("/account").status_code == 302


def test_a_good_next_is_followed(client, world, targets):
    user = factories.make_user(world, roles={Role.FEDERATION_OFFICER})
    response = client.submit("/login", {"username": user.username, "password": factories.PASSWORD,
                                        "next": "/referrals?box=inbox"})
    assert response.location == "/referrals?box=inbox"


def _forms(targets):
    """(url, page the form is on, fields, model whose rows must not grow)."""
    from caseflow.investigations.models import AidCase, Visit
    from caseflow.referrals.models import Referral, ReferralEvent

    case = targets.open_case
    return [
        ("/referrals/new", "/referrals/new", {
            "pseudonym": "小{c}红", "real_name": "王{c}", "address": "汉口{c}路", "source": "police",
            "offence": "故意伤害{c}", "circumstances": "情况{c}说明", "consent_method": "written",
            "consent_on": "2026-11-20", "help_requested": "legal_aid"}, Referral),
        (f"/referrals/{targets.referral.id}/comment", f"/referrals/{targets.referral.id}",
         {"comment-text": "意见{c}", "text": "意见{c}"}, ReferralEvent),
        (f"/cases/{case.id}/visits", f"/cases/{case.id}", {
            "visited_on": "2026-11-20", "place_kind": "home", "address": "武昌{c}区",
            "findings": "走访{c}情况", "interviewed": "本人{c}"}, Visit),
        (f"/cases/{case.id}/household", f"/cases/{case.id}/household", {
            "income": "1000", "notes": "家庭{c}情况", "housing": "租房{c}"}, AidCase),
    ]


@pytest.mark.parametrize("control", CONTROL)
def test_forms_with_control_characters_save_nothing(app, client, db, world, targets, control):
    from caseflow.investigations.models import AidCase

    client.submit("/login", {"username": targets.proc_supervisor.username, "password": factories.PASSWORD})
    for signed_in_as in (targets.sender, targets.receiver):
        client.post("/logout", data={"csrf_token": client.csrf_token("/account")})
        assert client.submit("/login", {"username": signed_in_as.username,
                                        "password": factories.PASSWORD}).status_code == 302
        for url, page, fields, model in _forms(targets):
            before = _saved(db, model)
            household = db.session.get(AidCase, targets.open_case.id).updated_at
            response = client.submit(url, {k: v.format(c=control) for k, v in fields.items()}, page=page)
            _check(response, f"POST {url} with {control!r}")
            assert response.status_code in (400, 403, 404), f"{response.status_code} for {url} {control!r}"
            assert _saved(db, model) == before
            if model is AidCase:
                assert db.session.get(AidCase, targets.open_case.id).updated_at == household


BAD_NUMBERS = ["abc", "-1", "1e9", "2147483648", "9223372036854775808", "1" * 400, " "]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_hidden_numbers_a_page_never_wrote_get_no_server_error(client, db, targets, bad):
    """Record versions and ids travel in hidden fields; a hand-made post puts anything there."""
    from caseflow.investigations.models import HouseholdMember, Visit

    client.submit("/login", {"username": targets.receiver.username, "password": factories.PASSWORD})
    case, visit = targets.open_case, targets.visit
    posts = [
        (f"/cases/{case.id}/household/members", f"/cases/{case.id}/household",
         {"member_id": bad, "relation": "女儿", "pseudonym": "小花"}),
        (f"/cases/{case.id}/visits/{visit.id}/correct", f"/cases/{case.id}/visits/{visit.id}/correct",
         {"version": bad, "visited_on": "2026-11-20", "place_kind": "home", "reason": "更正"}),
        (f"/referrals/{targets.draft.id}/edit", f"/referrals/{targets.draft.id}/edit",
         {"version": bad, "pseudonym": "小红"}),
        ("/referrals/new", "/referrals/new", {"submission_token": bad * 3, "pseudonym": "小红"}),
    ]
    members, visits = _saved(db, HouseholdMember), _saved(db, Visit)
    for url, page, fields in posts:
        response = client.submit(url, fields, page=page)
        _check(response, f"POST {url} {bad!r}")
    assert (_saved(db, HouseholdMember), _saved(db, Visit)) == (members, visits)
