"""/api/v1/items: the assistance items a partner agency's worker (or a case worker) sees,
through the pages' own query and policy; accepting, declining and recording a session
through the services the item page calls, with the page's timeline, audit row and
notification. Another agency's item is the 404 of none, administrators are refused, no
identity leaves, a stale If-Match or a bad body changes nothing, a retried POST records
nothing twice."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from caseflow.api import paging
from caseflow.api.services import find_token, revoke_token
from caseflow.assistance import services as assistance
from caseflow.assistance.models import AssistanceEvent, ServiceItem, ServiceSession
from caseflow.core.audit.models import AuditEvent
from caseflow.core.notifications.models import Notification
from caseflow.core.orgs.roles import Role
from caseflow.core.people.services import Identity
from caseflow.extensions import db as _db
from tests import factories
from tests.api.test_v1 import bearer, token_for
from tests.api.test_writes import count, post, problem_of
from tests.assistance.helpers import STARTS_ON, AssistCast
from tests.conftest import zh

#: What 小雨's record holds in the clear (factories.make_person): none of it may leave.
IDENTITY = ("陈雨婷", factories.VALID_IDS[0], "13871234567", "武汉市江汉区某社区")


@pytest.fixture
def cast(world):
    return AssistCast(world)


@pytest.fixture
def plan(cast, clock):
    return cast.plan(clock.now)


def etag_of(item) -> str:
    return f'"item-{item.id}-v{item.version}"'


def get(client, path, token, **headers):
    return client.get(f"/api/v1{path}", headers=bearer(token, **headers))


def reload(item) -> ServiceItem:
    _db.session.expire_all()
    return _db.session.get(ServiceItem, item.id)


def assert_no_identity(response) -> None:
    text = response.get_data(as_text=True)
    assert not [value for value in IDENTITY if value in text], text[:400]


def api_audit(item, action: str) -> AuditEvent:
    return _db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "assistance_items", AuditEvent.object_id == str(item.id),
        AuditEvent.action == action)).one()


# -- the list -------------------------------------------------------------------------------


def test_a_partner_lists_only_the_items_sent_to_her_agency(client, cast, plan, clock):
    counselling = cast.sent_item(plan, clock.now)
    cast.legal_aid(plan, clock.now)  # planned, for the justice bureau: nobody outside sees it yet
    legal = assistance.send_to_provider(cast.legal_aid(plan, clock.now, frequency="monthly"),
                                        actor=cast.officer, now=clock.now)
    cast.item(plan, clock.now)  # counselling, still planned: not sent to the agency
    token = token_for(cast.counsellor, clock)
    answer = get(client, "/items", token)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert [i["id"] for i in body["items"]] == [counselling.id] and body["next"] is None
    [row] = body["items"]
    assert row["state"] == "sent" and row["beneficiary"] == {"pseudonym": "小雨", "is_minor": False}
    assert row["provider"]["id"] == cast.counselling.id and row["version"] == counselling.version
    assert row["acceptance_due_on"] == counselling.acceptance_due_on.isoformat()
    assert row["plan_id"] is None  # the plan is not the agency's to see, as on its pages
    assert_no_identity(answer)
    justice = get(client, "/items?state=sent", token_for(cast.justice_worker, clock)).get_json()
    assert [i["id"] for i in justice["items"]] == [legal.id]
    assert get(client, "/items?state=accepted", token).get_json()["items"] == []


def test_a_case_worker_lists_the_items_of_her_plans_with_the_items_pages_filters(client, cast, plan, clock):
    sent = cast.sent_item(plan, clock.now)
    planned = cast.legal_aid(plan, clock.now)
    token = token_for(cast.officer, clock)
    every = get(client, "/items", token).get_json()["items"]
    assert sorted(i["id"] for i in every) == sorted([sent.id, planned.id])
    assert {i["plan_id"] for i in every} == {plan.id}
    assert [i["id"] for i in get(client, "/items?kind=legal_aid", token).get_json()["items"]] == [planned.id]
    both = get(client, "/items?state=sent&kind=counselling", token).get_json()["items"]
    assert [i["id"] for i in both] == [sent.id]
    before = (STARTS_ON - timedelta(days=1)).isoformat()
    assert get(client, f"/items?end={before}", token).get_json()["items"] == []
    # Another federation's officer sees none of this plan's items.
    assert get(client, "/items", token_for(cast.street_b_officer, clock)).get_json()["items"] == []


def test_bad_filters_are_named_and_a_partner_list_has_no_kind(client, cast, plan, clock):
    cast.sent_item(plan, clock.now)
    officer = token_for(cast.officer, clock)
    body = problem_of(get(client, "/items?state=lost&start=2026-13-01&kind=x", officer), 400)
    assert {e["field"] for e in body["errors"]} == {"state", "start", "kind"}
    assert body["type"].endswith("validation")
    partner = token_for(cast.counsellor, clock)
    body = problem_of(get(client, "/items?kind=counselling", partner, **{"Accept-Language": "en"}), 400)
    assert [e["field"] for e in body["errors"]] == ["kind"]


def test_the_list_pages_with_a_signed_cursor_of_its_own(client, cast, plan, clock, app):
    made = [cast.sent_item(plan, clock.now, details=f"第{n}次") for n in range(26)]
    token = token_for(cast.counsellor, clock)
    first = get(client, "/items", token).get_json()
    assert len(first["items"]) == 25 and "cursor=" in first["next"]
    second = client.get(first["next"], headers=bearer(token)).get_json()
    assert second["next"] is None
    assert sorted(i["id"] for i in first["items"] + second["items"]) == sorted(i.id for i in made)
    # The case list's cursor (signed by caseflow, for another list), or a made-up one, is not this list's.
    case_cursor = URLSafeSerializer(app.secret_key, salt=paging.SALT).dumps({"page": 2})
    for cursor in ("abc", case_cursor, first["next"].split("cursor=")[1][:-2]):
        problem_of(get(client, f"/items?cursor={cursor}", token), 400)


# -- one item -------------------------------------------------------------------------------


def test_an_item_as_its_page_shows_it_with_its_etag(client, cast, plan, clock):
    item = cast.active_item(plan, clock.now)
    token = token_for(cast.counsellor, clock)
    answer = get(client, f"/items/{item.id}", token)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["ETag"] == etag_of(reload(item))
    body = answer.get_json()
    assert body["state"] == "active" and body["details"] == "成人与未成年人分开进行"
    [session] = body["sessions"]
    assert session["attended"] == "晓丽及两名子女" and session["seen_separately"] is True
    assert session["recorded_by"] == cast.counsellor.display_name
    assert [e["kind"] for e in body["timeline"]] == ["item_added", "sent", "accepted", "session"]
    assert_no_identity(answer)


def test_another_agencys_item_is_the_404_of_none_and_administrators_are_refused(client, cast, plan, clock,
                                                                                  world):
    item = cast.sent_item(plan, clock.now)
    planned = cast.item(plan, clock.now)
    other = token_for(cast.employment_worker, clock, scopes="read write")
    absent = problem_of(get(client, "/items/2147483647", other), 404)
    assert problem_of(get(client, f"/items/{item.id}", other), 404) == absent
    problem_of(get(client, "/items/99999999999", other), 404)
    # Not sent yet: not the counselling centre's to see either.
    problem_of(get(client, f"/items/{planned.id}", token_for(cast.counsellor, clock)), 404)
    for path in (f"/items/{item.id}/accept", f"/items/{item.id}/decline", f"/items/{item.id}/sessions"):
        body = {"reason": "x"} if "decline" in path else session_body() if "sessions" in path else None
        problem_of(post(client, path, other, body, if_match=etag_of(item)), 404)
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.federation)
    admin_token = token_for(admin, clock, scopes="read write")
    problem_of(get(client, "/items", admin_token), 403)
    problem_of(get(client, f"/items/{item.id}", admin_token), 403)
    problem_of(post(client, f"/items/{item.id}/accept", admin_token, if_match=etag_of(item)), 403)
    assert reload(item).state == "sent"


def test_a_childs_item_shows_her_pseudonym_and_that_she_is_a_minor_only(client, cast, plan, clock):
    child = assistance.add_family_member(plan, actor=cast.officer, now=clock.now, relation="女儿",
                                         pseudonym="小妹", identity=Identity(real_name="陈小妹",
                                                                             birth_date=date(2016, 4, 18)))
    item = cast.accepted_item(plan, clock.now, kind="legal_aid", provider=cast.world.justice_bureau,
                              beneficiary=child, frequency="once", legal_matter="抚养费纠纷")
    answer = get(client, f"/items/{item.id}", token_for(cast.justice_worker, clock))
    body = answer.get_json()
    assert body["beneficiary"] == {"pseudonym": "小妹", "is_minor": True}
    assert body["needs_identity"] is True and body["legal_matter"] == "抚养费纠纷"
    text = answer.get_data(as_text=True)
    assert "陈小妹" not in text and "2016-04-18" not in text


# -- accept and decline ----------------------------------------------------------------------


def test_accept_needs_the_current_etag_and_goes_through_the_service(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    etag = get(client, f"/items/{item.id}", token).headers["ETag"]
    problem_of(post(client, f"/items/{item.id}/accept", token), 428)
    stale = post(client, f"/items/{item.id}/accept", token, if_match=f'"item-{item.id}-v0"')
    assert problem_of(stale, 412)["type"].endswith("stale") and stale.headers["ETag"] == etag
    officers_notices = sa.select(Notification.kind).where(Notification.user_id == cast.officer.id)
    assert reload(item).state == "sent" and _db.session.scalars(officers_notices).all() == []
    answer = post(client, f"/items/{item.id}/accept", token, if_match=etag)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["state"] == "accepted" and body["next_session_due_on"] == clock.now.date().isoformat()
    assert answer.headers["ETag"] == etag_of(reload(item)) != etag
    assert_no_identity(answer)
    audit = api_audit(item, "assistance.accepted")
    assert audit.actor_id == cast.counsellor.id and audit.via.startswith("api cf_")
    # The officer hears of it as when the page accepts.
    assert _db.session.scalars(officers_notices).all() == ["assistance.item_accepted"]
    # The same ETag again is stale now, and an answered item waits for no answer.
    problem_of(post(client, f"/items/{item.id}/accept", token, if_match=etag), 412)
    refused = problem_of(post(client, f"/items/{item.id}/accept", token, if_match=answer.headers["ETag"]),
                         403)
    assert refused["detail"] == zh("This item is not waiting for an answer.")


def test_a_change_that_meets_a_concurrent_one_at_the_update_is_412_and_saves_nothing(
        client, cast, plan, clock, monkeypatch):
    """Another worker's answer lands between this call's If-Match check and its UPDATE: the
    item's version column refuses the second write (core.versions), nothing of it stays."""
    from caseflow.api import items as api_items

    item = cast.sent_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    checked = api_items.requests.require_match

    def checked_then_overtaken(kind, record):
        version = checked(kind, record)
        _db.session.execute(sa.update(ServiceItem).where(ServiceItem.id == record.id)
                            .values(version=ServiceItem.version + 1)
                            .execution_options(synchronize_session=False))
        return version

    monkeypatch.setattr(api_items.requests, "require_match", checked_then_overtaken)
    events = count(AssistanceEvent)
    answer = post(client, f"/items/{item.id}/accept", token, if_match=etag_of(item))
    assert problem_of(answer, 412)["type"].endswith("stale")
    assert reload(item).state == "sent" and count(AssistanceEvent) == events
    accepted = sa.select(AuditEvent).where(AuditEvent.action == "assistance.accepted")
    assert _db.session.scalars(accepted).all() == []


def test_only_the_agency_answers_an_item(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    officer = token_for(cast.officer, clock, scopes="read write")
    body = problem_of(post(client, f"/items/{item.id}/accept", officer, if_match=etag_of(item)), 403)
    assert body["detail"] == zh("Only the workers of %(agency)s answer this item.",
                                agency=cast.counselling.name)
    assert reload(item).state == "sent"


def test_decline_names_a_missing_reason_and_saves_nothing_then_declines(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    etag, events = etag_of(item), count(AssistanceEvent)
    blank = problem_of(post(client, f"/items/{item.id}/decline", token, {"reason": "  "}, if_match=etag),
                       400)
    assert blank["errors"] == [{"field": "reason", "message": zh("Say why the item is declined.")}]
    shape = problem_of(post(client, f"/items/{item.id}/decline", token, {"why": "满员"}, if_match=etag),
                       400)
    assert sorted(e["field"] for e in shape["errors"]) == ["reason", "why"]  # missing, and unknown
    assert reload(item).state == "sent" and count(AssistanceEvent) == events
    answer = post(client, f"/items/{item.id}/decline", token, {"reason": "本月咨询师已满员"}, if_match=etag)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    declined = answer.get_json()
    assert declined["state"] == "declined" and declined["decline_reason"] == "本月咨询师已满员"
    audit = api_audit(item, "assistance.declined")
    assert audit.reason == "本月咨询师已满员" and audit.via.startswith("api cf_")
    assert _db.session.scalars(sa.select(Notification.kind).where(
        Notification.user_id == cast.officer.id)).all() == ["assistance.item_declined"]


# -- sessions -------------------------------------------------------------------------------


def session_body(**overrides) -> dict:
    body = {"held_on": "2026-11-26", "attended": "晓丽及两名子女", "seen_separately": True,
            "notes": "成人与未成年人分开进行疏导", "outcome": "情绪稳定"}
    body.update(overrides)
    return body


def test_a_session_is_recorded_once_however_often_the_call_is_retried(client, cast, plan, clock):
    item = cast.accepted_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    first = post(client, f"/items/{item.id}/sessions", token, session_body(), key="session-0001")
    assert first.status_code == 201, first.get_data(as_text=True)
    again = post(client, f"/items/{item.id}/sessions", token, session_body(), key="session-0001")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    body = first.get_json()
    assert body["held_on"] == "2026-11-26" and body["recorded_by"] == cast.counsellor.display_name
    assert body["item_id"] == item.id and body["outcome"] == "情绪稳定"
    assert count(ServiceSession) == 1
    item = reload(item)
    assert item.state == "active" and item.next_session_due_on == date(2026, 12, 26)  # monthly
    audit = api_audit(item, "assistance.session")
    assert audit.actor_id == cast.counsellor.id and audit.via.startswith("api cf_")
    # A new key is a new session (a second one the same week), recorded by the service again.
    second = post(client, f"/items/{item.id}/sessions", token, session_body(held_on="2026-11-27"))
    assert second.status_code == 201 and count(ServiceSession) == 2


def test_a_bad_session_names_each_field_in_chinese_and_saves_nothing(client, cast, plan, clock):
    item = cast.accepted_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    version = reload(item).version
    bad = problem_of(post(client, f"/items/{item.id}/sessions", token,
                          session_body(held_on="2026-12-25", attended="", notes=" ")), 400)
    assert {e["field"]: e["message"] for e in bad["errors"]} == {
        "held_on": zh("A session cannot be recorded for a future date."),
        "attended": zh("Say who attended."), "notes": zh("Write what happened in the session.")}
    shape = problem_of(post(client, f"/items/{item.id}/sessions", token,
                            {"held_on": "昨天", "attended": 3, "mood": "好"}), 400)
    assert {e["field"] for e in shape["errors"]} == {"held_on", "attended", "notes", "mood"}
    before = problem_of(post(client, f"/items/{item.id}/sessions", token,
                             session_body(held_on=(STARTS_ON - timedelta(days=1)).isoformat())), 400)
    assert [e["field"] for e in before["errors"]] == ["held_on"]
    assert count(ServiceSession) == 0
    item = reload(item)
    assert item.state == "accepted" and item.version == version


def test_a_session_waits_for_the_agencys_acceptance(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    token = token_for(cast.counsellor, clock, scopes="read write")
    body = problem_of(post(client, f"/items/{item.id}/sessions", token, session_body()), 403)
    assert body["detail"] == zh("Sessions are recorded once the provider has accepted the item.")
    assert count(ServiceSession) == 0


# -- tokens ---------------------------------------------------------------------------------


def test_a_read_only_token_reads_but_answers_nothing(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    running = cast.accepted_item(plan, clock.now, provider=cast.counselling, kind="follow_up")
    token = token_for(cast.counsellor, clock, scopes="read")
    assert get(client, f"/items/{item.id}", token).status_code == 200
    refused = problem_of(post(client, f"/items/{item.id}/accept", token, if_match=etag_of(item)), 403)
    assert refused["type"].endswith("read-only-token")
    problem_of(post(client, f"/items/{item.id}/decline", token, {"reason": "满员"}, if_match=etag_of(item)),
               403)
    problem_of(post(client, f"/items/{running.id}/sessions", token, session_body()), 403)
    assert reload(item).state == "sent" and count(ServiceSession) == 0


def test_expired_and_revoked_tokens_get_401(client, cast, plan, clock):
    item = cast.sent_item(plan, clock.now)
    expiring = token_for(cast.counsellor, clock, scopes="read write", days=7)
    revoked = token_for(cast.counsellor, clock, scopes="read write")
    revoke_token(find_token(revoked), actor=cast.counsellor, now=clock.now)
    english = {"Accept-Language": "en"}
    revoked_body = problem_of(get(client, "/items", revoked, **english), 401)
    assert revoked_body["detail"] == "This token has been revoked."
    problem_of(post(client, f"/items/{item.id}/accept", revoked, if_match=etag_of(item)), 401)
    assert get(client, "/items", expiring).status_code == 200
    clock.advance(days=7)
    expired = problem_of(get(client, f"/items/{item.id}", expiring, **english), 401)
    assert expired["detail"] == "This token has expired."
    problem_of(post(client, f"/items/{item.id}/accept", expiring, if_match=etag_of(item)), 401)
    assert reload(item).state == "sent"


def test_the_document_describes_the_item_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    accept = document["paths"]["/items/{item_id}/accept"]["post"]
    assert {p["name"] for p in accept["parameters"]} == {"item_id", "Idempotency-Key", "If-Match"}
    assert "412" in accept["responses"] and "ETag" in accept["responses"]["200"]["headers"]
    sessions = document["paths"]["/items/{item_id}/sessions"]["post"]
    assert "201" in sessions["responses"] and sessions["requestBody"]["required"] is True
    schema = document["components"]["schemas"]
    assert {"held_on", "attended", "notes"} <= set(schema["NewSession"]["required"])
    assert not {"real_name", "resident_id", "phone", "address"} & set(schema["Item"]["properties"])
    listed = document["paths"]["/items"]["get"]["parameters"]
    assert {p["name"] for p in listed} >= {"state", "kind", "cursor"}

