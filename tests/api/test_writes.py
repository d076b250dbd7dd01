"""/api/v1 changes: a draft created, sent, registered, replied to, commented on and returned
through the referral services; the write scope; Idempotency-Key (a retry creates nothing
twice); If-Match (a stale change is 412 and changes nothing); the per-token rate limit;
the reveal with its logged purpose. Every refusal leaves the database as it was."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AccessEvent, AuditEvent
from caseflow.core.orgs.roles import Role
from caseflow.core.people.models import Person
from caseflow.extensions import db as _db
from caseflow.referrals.models import Referral, ReferralEvent
from tests import factories
from tests.api.test_v1 import PROBLEM, bearer, token_for
from tests.conftest import zh
from tests.referrals.helpers import Cast


@pytest.fixture
def cast(world):
    return Cast(world)


def post(client, path, token, body=None, *, key=None, if_match=None, **headers):
    headers = bearer(token, **headers)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.post(f"/api/v1{path}", data=json.dumps(body if body is not None else {}),
                       headers=headers, content_type="application/json")


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def draft_body(world, **overrides) -> dict:
    body = {"receiver_id": world.department5.id, "source": "petition_reception",
            "circumstances": "丈夫因刑事案件去世，家庭陷入困境。", "help_requested": ["judicial_aid"],
            "consent_on": "2026-11-20", "consent_method": "written",
            "new_person": {"pseudonym": "小岚", "real_name": "王岚", "resident_id": factories.VALID_IDS[1]}}
    body.update(overrides)
    return body


# -- a draft ------------------------------------------------------------------------------


def test_a_draft_with_a_new_person_is_created_audited_and_shows_no_identity(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    answer = post(client, "/referrals", token, draft_body(world))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["state"] == "draft" and body["person"]["pseudonym"] == "小岚"
    assert answer.headers["Location"] == f"/api/v1/referrals/{body['id']}"
    assert answer.headers["ETag"] == f'"referral-{body["id"]}-v{body["version"]}"'
    text = answer.get_data(as_text=True)
    assert "王岚" not in text and factories.VALID_IDS[1] not in text  # identity in, never out
    audit = _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "referral.create",
                                                            AuditEvent.object_id == str(body["id"]))).one()
    assert audit.actor_id == cast.officer.id and audit.via.startswith("api cf_")
    # The pages see the same draft.
    ref = _db.session.get(Referral, body["id"])
    assert ref.created_by_id == cast.officer.id and ref.receiver_org_id == world.department5.id


def test_every_bad_field_is_named_in_the_callers_language_and_nothing_is_written(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    before = count(Referral), count(Person)
    bad = draft_body(world, circumstances="", new_person={"pseudonym": "", "resident_id": "420102199001011235"})
    body = problem_of(post(client, "/referrals", token, bad), 400)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert "new_person.resident_id" in fields and "circumstances" in fields, fields
    assert all(not message.isascii() for message in fields.values()), fields  # Chinese, her language
    # The body's own shape: wrong types and unknown fields, each named.
    shape = problem_of(post(client, "/referrals", token, {"receiver_id": "x", "source": 3, "nickname": "x"},
                            **{"Accept-Language": "en"}), 400)
    named = {e["field"] for e in shape["errors"]}
    assert {"receiver_id", "source", "circumstances", "nickname"} <= named
    assert (count(Referral), count(Person)) == before


def test_a_body_that_is_not_json_is_refused(client, cast, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    not_json = client.post("/api/v1/referrals", data="receiver_id=1", content_type="application/x-www-form-urlencoded",
                           headers=bearer(token, **{"Idempotency-Key": "k1"}))
    problem_of(not_json, 415)
    broken = client.post("/api/v1/referrals", data="{", content_type="application/json",
                         headers=bearer(token, **{"Idempotency-Key": "k2"}))
    assert problem_of(broken, 400)["detail"] == zh("The body is not valid JSON.")


def test_a_read_only_token_changes_nothing(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read")
    before = count(Referral)
    body = problem_of(post(client, "/referrals", token, draft_body(world)), 403)
    assert body["detail"] == zh("This token may only read. Create a token that may read and write for changes.")
    assert count(Referral) == before


def test_administrators_and_partners_cannot_file(client, cast, world, clock):
    admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.federation)
    for user in (admin, cast.partner):
        problem_of(post(client, "/referrals", token_for(user, clock, scopes="read write"), draft_body(world)), 403)
    assert count(Referral) == 0


# -- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_post_returns_the_first_answer_and_creates_nothing_twice(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    first = post(client, "/referrals", token, draft_body(world), key="draft-0001")
    again = post(client, "/referrals", token, draft_body(world), key="draft-0001")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Referral) == 1 and count(Person) == 2  # the cast's woman and this one, once
    other = problem_of(post(client, "/referrals", token, draft_body(world, is_urgent=True), key="draft-0001"), 422)
    assert "Idempotency-Key" in other["detail"]
    missing = client.post("/api/v1/referrals", data=json.dumps(draft_body(world)), content_type="application/json",
                          headers=bearer(token))
    problem_of(missing, 400)
    assert count(Referral) == 1
    # Another token's key is its own.
    second_token = token_for(cast.officer, clock, scopes="read write")
    assert post(client, "/referrals", second_token, draft_body(world, new_person=None, person_id=cast.person.id),
                key="draft-0001").status_code == 201
    assert count(Referral) == 2


def test_a_refused_post_keeps_no_key_and_may_be_sent_again(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    problem_of(post(client, "/referrals", token, draft_body(world, circumstances=""), key="k-77"), 400)
    assert count(Referral) == 0
    fixed = post(client, "/referrals", token, draft_body(world), key="k-77")  # corrected, same key
    assert fixed.status_code == 201 and count(Referral) == 1


def test_old_keys_are_forgotten_by_the_job(client, cast, world, clock, app):
    from caseflow.api.jobs import forget_idempotency_keys
    from caseflow.api.models import IdempotencyKey

    token = token_for(cast.officer, clock, scopes="read write")
    post(client, "/referrals", token, draft_body(world), key="old")
    assert count(IdempotencyKey) == 1
    assert forget_idempotency_keys(clock.now + timedelta(hours=23)).startswith("0 ")
    assert forget_idempotency_keys(clock.now + timedelta(days=1, minutes=1)).startswith("1 ")
    assert count(IdempotencyKey) == 0


# -- If-Match and the referral's moves --------------------------------------------------------


def test_send_needs_the_current_etag_and_a_stale_one_changes_nothing(client, cast, clock):
    ref = cast.draft(clock.now)
    token = token_for(cast.officer, clock, scopes="read write")
    etag = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)).headers["ETag"]
    problem_of(post(client, f"/referrals/{ref.id}/send", token), 428)
    stale = post(client, f"/referrals/{ref.id}/send", token, if_match='"referral-%d-v0"' % ref.id)
    problem_of(stale, 412)
    assert stale.headers["ETag"] == etag
    _db.session.expire_all()
    assert _db.session.get(Referral, ref.id).state == "draft"
    sent = post(client, f"/referrals/{ref.id}/send", token, if_match=etag)
    assert sent.status_code == 200 and sent.get_json()["state"] == "sent"
    assert sent.headers["ETag"] != etag
    # The same ETag again is stale now: the first change stands alone.
    problem_of(post(client, f"/referrals/{ref.id}/send", token, if_match=etag), 412)


def test_register_reply_and_comment_through_the_services(client, cast, clock):
    ref = cast.sent(clock.now)
    prosecutor = token_for(cast.prosecutor, clock, scopes="read write")
    officer = token_for(cast.officer, clock, scopes="read write")
    etag = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(prosecutor)).headers["ETag"]
    # The sender may not register her own referral.
    problem_of(post(client, f"/referrals/{ref.id}/register", officer,
                    {"registration_number": "登-1", "received_on": ref.received_on.isoformat()}, if_match=etag), 403)
    registered = post(client, f"/referrals/{ref.id}/register", prosecutor,
                      {"registration_number": "江检登〔2026〕9号", "received_on": ref.received_on.isoformat(),
                       "handler_id": cast.prosecutor.id}, if_match=etag)
    assert registered.status_code == 200, registered.get_data(as_text=True)
    assert registered.get_json()["state"] == "registered"
    assert registered.get_json()["handler"] == cast.prosecutor.display_name
    comment = post(client, f"/referrals/{ref.id}/comments", officer, {"text": "请尽快联系她。"})
    assert comment.status_code == 201 and comment.get_json()["text"] == "请尽快联系她。"
    assert _db.session.scalars(sa.select(ReferralEvent).where(ReferralEvent.referral_id == ref.id,
                                                              ReferralEvent.kind == "comment")).one()
    replied = post(client, f"/referrals/{ref.id}/reply", prosecutor,
                   {"outcome": "other", "text": "已联系，转交相关部门。", "reply_on": ref.received_on.isoformat()},
                   if_match=registered.headers["ETag"])
    assert replied.status_code == 200, replied.get_data(as_text=True)
    assert replied.get_json()["state"] == "replied" and replied.get_json()["reply_text"] == "已联系，转交相关部门。"
    actions = set(_db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_id == str(ref.id), AuditEvent.via.is_not(None))))
    assert {"referral.registered", "referral.comment", "referral.replied"} <= actions


def test_a_reply_refused_by_the_state_is_409_and_a_bad_field_is_named(client, cast, clock):
    ref = cast.sent(clock.now)
    prosecutor = token_for(cast.prosecutor, clock, scopes="read write")
    etag = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(prosecutor)).headers["ETag"]
    bad = problem_of(post(client, f"/referrals/{ref.id}/register", prosecutor,
                          {"registration_number": " ", "received_on": ref.received_on.isoformat()},
                          if_match=etag), 400)
    assert bad["errors"] == [{"field": "registration_number", "message": zh("Enter the registration number.")}]
    returned = post(client, f"/referrals/{ref.id}/return", prosecutor, {"reason": "不属于本院管辖。"}, if_match=etag)
    assert returned.status_code == 200 and returned.get_json()["state"] == "returned"
    again = post(client, f"/referrals/{ref.id}/return", prosecutor, {"reason": "再次退回"},
                 if_match=returned.headers["ETag"])
    assert again.status_code in (403, 409)
    _db.session.expire_all()
    assert _db.session.get(Referral, ref.id).state == "returned"


def test_another_organisations_referral_is_404_for_changes_too(client, cast, world, clock):
    ref = cast.sent(clock.now)
    outsider = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
    token = token_for(outsider, clock, scopes="read write")
    problem_of(post(client, f"/referrals/{ref.id}/comments", token, {"text": "x"}), 404)
    problem_of(post(client, f"/referrals/{ref.id}/send", token, if_match="*"), 404)
    problem_of(post(client, "/referrals/99999999999/send", token, if_match="*"), 404)


# -- the rate limit ---------------------------------------------------------------------------


def test_a_token_past_its_calls_per_minute_gets_429_until_the_next_minute(client, cast, clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "CASEFLOW_API_RATE_LIMIT", 3)
    token = token_for(cast.officer, clock)
    other = token_for(cast.officer, clock)
    for _ in range(3):
        assert client.get("/api/v1/referrals?box=sent", headers=bearer(token)).status_code == 200
    refused = client.get("/api/v1/referrals?box=sent", headers=bearer(token, **{"Accept-Language": "en"}))
    body = problem_of(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert body["detail"] == zh("This token made more than %(num)d call in a minute. Try again in a minute.",
                                "This token made more than %(num)d calls in a minute. Try again in a minute.", 3)
    assert client.get("/api/v1/referrals?box=sent", headers=bearer(other)).status_code == 200  # per token
    clock.advance(minutes=1)
    assert client.get("/api/v1/referrals?box=sent", headers=bearer(token)).status_code == 200


# -- the reveal -------------------------------------------------------------------------------


def test_the_reveal_needs_a_purpose_and_is_logged(client, cast, world, clock):
    token = token_for(cast.officer, clock, scopes="read write")
    missing = problem_of(post(client, f"/people/{cast.person.id}/reveal", token, {}), 400)
    assert missing["errors"][0]["field"] == "purpose"
    assert count(AccessEvent) == 0
    shown = post(client, f"/people/{cast.person.id}/reveal", token, {"purpose": "核实身份后联系救助"})
    assert shown.status_code == 200, shown.get_data(as_text=True)
    assert shown.get_json()["resident_id"] == factories.VALID_IDS[0]
    access = _db.session.scalars(sa.select(AccessEvent)).one()
    assert access.purpose == "核实身份后联系救助" and access.actor_id == cast.officer.id
    assert access.via.startswith("api cf_") and "resident_id" in access.fields
    partner = token_for(cast.partner, clock, scopes="read write")
    problem_of(post(client, f"/people/{cast.person.id}/reveal", partner, {"purpose": "x"}), 403)
    outsider = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
    problem_of(post(client, f"/people/{cast.person.id}/reveal", token_for(outsider, clock, scopes="read write"),
                    {"purpose": "核实"}), 404)
    assert count(AccessEvent) == 1


# -- the document -------------------------------------------------------------------------------


def test_the_document_describes_bodies_keys_and_preconditions(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    create = doc["paths"]["/referrals"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/NewReferral")
    assert "201" in create["responses"] and "429" in create["responses"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in create["parameters"])
    send = doc["paths"]["/referrals/{referral_id}/send"]["post"]
    assert any(p["name"] == "If-Match" and p["required"] for p in send["parameters"])
    assert {"412", "428"} <= set(send["responses"])
    assert "additionalProperties" in str(doc["components"]["schemas"]["NewReferral"])


def test_the_documentation_page_shows_bodies_and_explains_every_problem_type(client):
    import pathlib
    import re

    import caseflow.api

    html = client.get("/api/v1/docs", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="#schema-NewReferral"' in html and 'href="#schema-Registration"' in html
    assert "Idempotency-Key" in html and "If-Match" in html
    # Each problem's type links to /api/v1/docs#problem-<kind>: every kind the code uses
    # has its entry there.
    package = pathlib.Path(caseflow.api.__file__).parent
    kinds = {kind for source in package.glob("*.py")
             for kind in re.findall(r'kind="([a-z-]+)"', source.read_text(encoding="utf-8"))}
    assert {"stale", "validation", "rate-limited", "idempotency-key-reused"} <= kinds
    missing = sorted(kind for kind in kinds if f'id="problem-{kind}"' not in html)
    assert not missing, missing


def test_the_audit_logs_show_which_changes_and_views_came_through_the_api(client, login_as, cast, world, clock):
    from tests.conftest import page_text

    ref = cast.draft(clock.now)  # through the services, as the pages do: no badge
    token = token_for(cast.officer, clock, scopes="read write")
    prefix = token[:11]
    etag = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)).headers["ETag"]
    assert post(client, f"/referrals/{ref.id}/send", token, if_match=etag).status_code == 200
    assert post(client, f"/people/{cast.person.id}/reveal", token, {"purpose": "核实身份"}).status_code == 200
    login_as("audit_admin")
    events = client.get("/audit?action=referral.")
    badges = re.findall(r'data-testid="via">([^<]*)<', events.get_data(as_text=True))
    assert [b.split()[-1] for b in badges] == [prefix]  # the send; the creation has none
    access = client.get("/audit/access").get_data(as_text=True)
    assert prefix in re.findall(r'data-testid="via">([^<]*)<', access)[0]
    assert "核实身份" in page_text(client.get("/audit/access"))


def test_a_send_that_meets_a_concurrent_change_at_the_update_is_412_and_saves_nothing(
        client, cast, clock, monkeypatch):
    """A colleague's change lands between this call's If-Match check and its UPDATE: the
    referral's version column refuses the second write, and nothing of it stays."""
    from caseflow.api import v1

    ref = cast.draft(clock.now)
    token = token_for(cast.officer, clock, scopes="read write")
    etag = client.get(f"/api/v1/referrals/{ref.id}", headers=bearer(token)).headers["ETag"]
    checked = v1.requests.require_match

    def checked_then_overtaken(kind, record):
        version = checked(kind, record)
        _db.session.execute(sa.update(Referral).where(Referral.id == record.id)
                            .values(version=Referral.version + 1).execution_options(synchronize_session=False))
        return version

    monkeypatch.setattr(v1.requests, "require_match", checked_then_overtaken)
    answer = post(client, f"/referrals/{ref.id}/send", token, if_match=etag)
    assert problem_of(answer, 412)["type"].endswith("stale")
    _db.session.expire_all()
    assert _db.session.get(Referral, ref.id).state == "draft"
    assert not _db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "referral.sent")).all()


def test_the_document_describes_the_webhooks_signed_deliveries(client):
    from caseflow.core.events import EVENT_NAMES

    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["webhooks"]) == set(EVENT_NAMES)
    sent = doc["webhooks"]["referral.sent"]["post"]
    assert {"Caseflow-Signature", "Caseflow-Delivery"} <= {p["name"] for p in sent["parameters"]}
    assert sent["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/WebhookDelivery")
