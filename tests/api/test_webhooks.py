"""Service accounts' webhooks (issue 17): a referral or service item event becomes one row in
the outbox for each service account whose policy lets it see the record, delivered by the
outbox job to a real HTTP server, signed with HMAC-SHA256 under the account's secret (kept
sealed), retried with the outbox's backoff when the receiver is down, never twice."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from caseflow.api import webhooks
from caseflow.core import hooks
from caseflow.core.audit.models import AuditEvent
from caseflow.core.notifications.delivery import deliver_messages
from caseflow.core.notifications.models import OutboxMessage
from caseflow.core.orgs import services as org_services
from caseflow.core.orgs.roles import Role
from caseflow.core.people.models import PROTECTED_FIELDS
from caseflow.extensions import db as _db
from tests import factories
from tests.api.test_service_accounts import said
from tests.conftest import free_port, page_text
from tests.referrals.helpers import Cast

PAGES = "/admin/service-accounts"
SECRET = re.compile(r'data-testid="secret-value">(whsec_[A-Za-z0-9_-]+)<')


class Receiver:
    """A system's webhook endpoint: a real HTTP server on 127.0.0.1 that keeps what it got."""

    def __init__(self, port: int = 0, *, status: int = 204):
        self.requests: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "raw": raw, "headers": dict(self.headers)})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/caseflow/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def timeout(app):
    saved = app.config.get("CASEFLOW_HTTP_CHANNEL_TIMEOUT")
    app.config["CASEFLOW_HTTP_CHANNEL_TIMEOUT"] = 2
    yield
    app.config["CASEFLOW_HTTP_CHANNEL_TIMEOUT"] = saved


@pytest.fixture
def cast(world):
    return Cast(world)


@pytest.fixture
def admin(world):
    return factories.make_user(world, roles={Role.SYSTEM_ADMIN})


def hooked(admin, clock, *, org, role=Role.PROSECUTOR, url: str, username="hotline-12338"):
    """A service account of ``org`` acting as ``role`` with its webhook at ``url``: (account, secret)."""
    account = org_services.create_service_account(actor=admin, now=clock.now, username=username,
                                                  display_name="12338 热线", organisation=org, role=role.value)
    return account, webhooks.set_hook(account, actor=admin, now=clock.now, url=url)


def hook_rows(account=None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.channel == "hook").order_by(OutboxMessage.id)
    if account is not None:
        query = query.where(OutboxMessage.to_user_id == account.id)
    return list(_db.session.scalars(query))


def verify(request: dict, secret: str) -> dict:
    """What a receiver does: check the signature over "<t>.<body>", then read the body."""
    header = request["headers"]["Caseflow-Signature"]
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "the signature is the secret's over t.body"
    assert request["headers"]["Caseflow-Timestamp"] == parts["t"]
    return json.loads(request["raw"])


def test_a_sent_referral_reaches_the_receivers_webhook_signed(app, receiver, admin, cast, world, clock, timeout):
    account, secret = hooked(admin, clock, org=world.department5, url=receiver.url)
    ref = cast.sent(clock.now)
    [row] = hook_rows()
    assert (row.to_user_id, row.to_address, row.status) == (account.id, receiver.url, "queued")

    result = deliver_messages(now=clock.now)
    assert (result.sent, result.failed) == (1, 0)
    [request] = receiver.requests
    body = verify(request, secret)
    assert request["path"] == "/caseflow/events"
    assert request["headers"]["Caseflow-Timestamp"] == str(int(clock.now.timestamp()))
    assert request["headers"]["Caseflow-Event"] == body["event"] == "referral.sent"
    assert request["headers"]["Caseflow-Delivery"] == body["id"]
    assert body["occurred_at"] == clock.now.isoformat()
    referral = body["data"]["referral"]
    assert (referral["id"], referral["number"], referral["state"]) == (ref.id, ref.number, "sent")
    assert referral["receiver"]["id"] == world.department5.id and referral["person"] == {"pseudonym": "小雨"}
    assert (body["data"]["from_state"], body["data"]["to_state"]) == ("draft", "sent")
    # Nothing of her identity leaves caseflow.
    raw = request["raw"].decode()
    for value in (factories.VALID_IDS[0], "陈雨婷", "13871234567", "武汉市江汉区某社区", *PROTECTED_FIELDS):
        assert value not in raw
    assert row.status == "sent" and row.sent_at == clock.now
    assert deliver_messages(now=clock.now + timedelta(hours=1)).sent == 0 and len(receiver.requests) == 1


def test_the_secret_is_shown_once_and_kept_sealed(client, login_as, admin, world, clock):
    account = org_services.create_service_account(actor=admin, now=clock.now, username="hotline-12338",
                                                  display_name="12338 热线", organisation=world.department5,
                                                  role=Role.PROSECUTOR.value)
    login_as(admin)
    response = client.submit(f"{PAGES}/{account.id}/hook", {"webhook_url": "https://hotline.example.org/in?key=k1"},
                             page=f"{PAGES}/{account.id}")
    assert response.status_code == 200
    secret = SECRET.search(response.get_data(as_text=True)).group(1)
    assert account.hook_url == "https://hotline.example.org/in?key=k1"
    assert account.hook_secret.startswith("sm4gcm$") and secret not in account.hook_secret
    stored = _db.session.execute(sa.text("SELECT hook_secret FROM users WHERE id = :id"), {"id": account.id}).scalar()
    assert secret not in stored
    again = client.get(f"{PAGES}/{account.id}").get_data(as_text=True)
    assert secret not in again and "key=k1" not in again, "shown once; the URL's key never"
    rotated = client.submit(f"{PAGES}/{account.id}/hook", {"webhook_url": "https://hotline.example.org/in"},
                            page=f"{PAGES}/{account.id}")
    assert SECRET.search(rotated.get_data(as_text=True)).group(1) != secret
    client.submit(f"{PAGES}/{account.id}/hook/remove", page=f"{PAGES}/{account.id}")
    assert account.hook_url is None and account.hook_secret is None
    assert list(_db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_id == str(account.id), AuditEvent.action.like("service_account.hook%"))
        .order_by(AuditEvent.id))) == ["service_account.hook_set", "service_account.hook_set",
                                       "service_account.hook_removed"]


@pytest.mark.parametrize("url, message", [
    ("ftp://hotline.example.org/in", "A webhook address starts with https:// (or http://) and names a host, "
                                     "e.g. https://hotline.example.org/caseflow/events"),
    ("http://caseflow.test/api/v1/referrals", "This address points at caseflow itself; enter the address where "
                                              "the other system receives the events."),
])
def test_a_bad_address_is_refused_beside_the_field_and_nothing_saved(client, login_as, admin, world, clock,
                                                                     url, message):
    account = org_services.create_service_account(actor=admin, now=clock.now, username="hotline-12338",
                                                  display_name="12338 热线", organisation=world.department5,
                                                  role=Role.PROSECUTOR.value)
    login_as(admin)
    response = client.submit(f"{PAGES}/{account.id}/hook", {"webhook_url": url}, page=f"{PAGES}/{account.id}")
    assert response.status_code == 400 and said(message) in page_text(response)
    assert 'data-testid="secret-value"' not in response.get_data(as_text=True)
    assert account.hook_url is None and account.hook_secret is None
    assert not _db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "service_account.hook_set"))


def test_only_accounts_whose_policy_sees_the_record_are_told(admin, cast, world, clock):
    receiver_side, _s = hooked(admin, clock, org=world.procuratorate, url="https://a.example.org/in",
                               username="proc-above")  # above the 5th department: sees it
    sender_side, _s = hooked(admin, clock, org=world.federation, role=Role.FEDERATION_OFFICER,
                             url="https://b.example.org/in", username="fed-hotline")
    street, _s = hooked(admin, clock, org=world.street_b, role=Role.FEDERATION_OFFICER,
                        url="https://c.example.org/in", username="street-b")  # below the sender
    partner, _s = hooked(admin, clock, org=world.justice_bureau, role=Role.PARTNER_WORKER,
                         url="https://d.example.org/in", username="justice")  # no referrals at all
    quiet = org_services.create_service_account(actor=admin, now=clock.now, username="no-hook",
                                                display_name="x", organisation=world.department5,
                                                role=Role.PROSECUTOR.value)
    ref = cast.registered(clock.now)
    told = {(row.to_user_id, json.loads(row.body)["event"]) for row in hook_rows()}
    assert told == {(receiver_side.id, "referral.sent"), (receiver_side.id, "referral.registered"),
                    (sender_side.id, "referral.sent"), (sender_side.id, "referral.registered")}
    assert not {street.id, partner.id, quiet.id} & {row.to_user_id for row in hook_rows()}
    assert json.loads(hook_rows(receiver_side)[-1].body)["data"]["referral"]["registration_number"] == f"登-{ref.id}"


def test_the_same_event_is_never_queued_twice(admin, cast, world, clock):
    account, _secret = hooked(admin, clock, org=world.department5, url="https://hotline.example.org/in")
    published = []
    hooks.EVENT_SUBSCRIBERS.add(published.append)
    try:
        cast.sent(clock.now)
    finally:
        hooks.EVENT_SUBSCRIBERS.remove(published.append)
    [event] = published
    assert webhooks.on_event(event) == 0, "published again: already queued"
    assert len(hook_rows(account)) == 1


def test_a_receiver_that_is_down_is_retried_after_the_backoff_and_served_once(
        client, login_as, app, admin, cast, world, clock, timeout):
    port = free_port()
    account, secret = hooked(admin, clock, org=world.department5, url=f"http://127.0.0.1:{port}/caseflow/events")
    cast.sent(clock.now)
    first = deliver_messages(now=clock.now)
    assert (first.sent, first.failed) == (0, 1)
    [row] = hook_rows()
    assert row.status == "queued" and row.attempts == 1 and row.sent_at is None
    assert "Connection refused" in row.last_error or "URLError" in row.last_error
    assert row.next_attempt_at == clock.now + timedelta(minutes=1)
    login_as(admin)
    outbox = page_text(client.get("/admin/outbox?channel=messages&status=failing"))
    assert said("Service account webhook") in outbox and "referral.sent" in outbox and row.last_error[:40] in outbox
    assert f"127.0.0.1:{port}/caseflow/events" in outbox
    backlog = said("Waiting: %(queued)d; failing, being retried: %(failing)d; delivered: %(sent)d.")
    assert backlog % {"queued": 0, "failing": 1, "sent": 0} in page_text(client.get(f"{PAGES}/{account.id}"))

    server = Receiver(port)
    try:
        assert deliver_messages(now=clock.now + timedelta(seconds=30)).sent == 0, "not before the backoff"
        assert server.requests == []
        later = clock.now + timedelta(minutes=2)
        assert deliver_messages(now=later).sent == 1
        assert deliver_messages(now=later + timedelta(hours=1)).sent == 0
        [request] = server.requests
        assert verify(request, secret)["event"] == "referral.sent"
        assert request["headers"]["Caseflow-Timestamp"] == str(int(later.timestamp())), "signed when sent"
        assert row.status == "sent" and row.attempts == 2 and row.last_error is None
        assert backlog % {"queued": 0, "failing": 0, "sent": 1} in page_text(client.get(f"{PAGES}/{account.id}"))
    finally:
        server.close()


def test_an_answer_outside_2xx_is_a_failure(admin, cast, world, clock, timeout):
    server = Receiver(status=500)
    try:
        hooked(admin, clock, org=world.department5, url=server.url)
        cast.sent(clock.now)
        assert deliver_messages(now=clock.now).failed == 1
        [row] = hook_rows()
        assert row.status == "queued" and row.last_error.startswith("HTTP 500") and len(server.requests) == 1
        server.status = 202
        assert deliver_messages(now=clock.now + timedelta(minutes=1)).sent == 1 and row.status == "sent"
    finally:
        server.close()


def _dropped(action: str) -> int:
    return _db.session.scalar(sa.select(AuditEvent.after).where(AuditEvent.action == action))["deliveries_dropped"]


def test_a_deactivated_account_is_told_nothing_more(admin, cast, world, clock, receiver, timeout):
    account, _secret = hooked(admin, clock, org=world.department5, url=receiver.url)
    other, _other_secret = hooked(admin, clock, org=world.department5, url=receiver.url, username="other-system")
    cast.sent(clock.now)
    assert len(hook_rows(account)) == len(hook_rows(other)) == 1
    org_services.deactivate_service_account(account, actor=admin, now=clock.now)
    assert hook_rows(account) == [] and _dropped("service_account.deactivate") == 1, "its waiting one is dropped"
    cast.registered(clock.now)  # another referral moves on: nothing for the account
    assert hook_rows(account) == [] and len(hook_rows(other)) == 3
    assert deliver_messages(now=clock.now).sent == 3 and len(receiver.requests) == 3


def test_removing_the_webhook_drops_what_waits_and_queues_nothing_more(admin, cast, world, clock):
    account, _secret = hooked(admin, clock, org=world.department5, url="https://hotline.example.org/in")
    cast.sent(clock.now)
    webhooks.remove_hook(account, actor=admin, now=clock.now)
    assert hook_rows() == [] and _dropped("service_account.hook_removed") == 1
    cast.sent(clock.now)
    assert hook_rows() == []


def test_a_delivery_whose_account_was_deactivated_meanwhile_fails_and_says_why(admin, cast, world, clock,
                                                                               receiver, timeout):
    account, _secret = hooked(admin, clock, org=world.department5, url=receiver.url)
    cast.sent(clock.now)
    account.is_active_account = False  # deactivated while the delivery was being claimed
    assert deliver_messages(now=clock.now).failed == 1 and receiver.requests == []
    assert hook_rows()[0].last_error == "DeliveryFailed: the service account is deactivated"


def test_service_item_events_reach_the_providing_agency(admin, world, clock, receiver, timeout):
    from caseflow.assistance import services as assistance_services
    from tests.assistance.helpers import AssistCast

    assist = AssistCast(world)
    account, secret = hooked(admin, clock, org=assist.counselling, role=Role.PARTNER_WORKER, url=receiver.url,
                             username="counselling-app")
    plan = assist.plan(clock.now)
    item = assist.item(plan, clock.now)
    assert hook_rows() == [], "a planned item is nobody's outside the federation yet"
    assistance_services.send_to_provider(item, actor=assist.officer, now=clock.now)
    later = clock.now + timedelta(hours=1)
    assistance_services.accept(item, actor=assist.counsellor, now=later)
    assist.session(item, later, held_on=later.date())
    assert deliver_messages(now=later).sent == 3
    bodies = [verify(request, secret) for request in receiver.requests]
    assert [body["event"] for body in bodies] == ["item.offered", "item.accepted", "item.session_recorded"]
    assert {body["data"]["item"]["id"] for body in bodies} == {item.id}
    assert bodies[0]["data"]["item"]["provider"]["id"] == assist.counselling.id
    assert bodies[0]["data"]["item"]["beneficiary"] == {"pseudonym": plan.person.pseudonym}
    assert all(value not in request["raw"].decode() for request in receiver.requests
               for value in ("陈雨婷", factories.VALID_IDS[0], *PROTECTED_FIELDS))
    assert all(row.to_user_id == account.id for row in hook_rows())


def test_key_rotation_re_seals_the_secret_and_deliveries_still_sign_with_it(app, admin, cast, world, clock,
                                                                              receiver, timeout):
    from caseflow.core.crypto import generate_key

    _account, secret = hooked(admin, clock, org=world.department5, url=receiver.url)
    cast.sent(clock.now)
    before = _db.session.scalar(sa.text("SELECT hook_secret FROM users WHERE hook_secret IS NOT NULL"))
    saved = {k: app.config.get(k) for k in ("CASEFLOW_DATA_KEY", "CASEFLOW_DATA_KEY_PREVIOUS")}
    new_key = generate_key()
    try:
        result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", new_key])
        assert result.exit_code == 0, result.output
        assert "1/1 users.hook_secret re-encrypted" in result.output
        assert _db.session.scalar(sa.text("SELECT hook_secret FROM users WHERE hook_secret IS NOT NULL")) != before
        # The old key is gone from the configuration: only the new one opens the secret.
        app.config.update(CASEFLOW_DATA_KEY=new_key, CASEFLOW_DATA_KEY_PREVIOUS="")
        app.extensions.pop("caseflow_cipher", None)
        assert deliver_messages(now=clock.now).sent == 1
        assert verify(receiver.requests[0], secret)["event"] == "referral.sent"
    finally:
        app.config.update(saved)
        app.extensions.pop("caseflow_cipher", None)
