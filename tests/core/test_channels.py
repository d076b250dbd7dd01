"""SMS and group-chat robot alerts, through the outbox to real local HTTP servers.

The SMS gateway and the robot are ``http.server`` instances on 127.0.0.1 that answer as
told: 200, 500, a timeout, then 200 again; e-mail goes to the aiosmtpd ``smtp_server``."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from caseflow.core.notifications import alerts, channels, services as notifications
from caseflow.core.notifications.delivery import deliver_due, deliver_messages
from caseflow.core.notifications.models import AlertPreference, OutboxEmail, OutboxMessage
from caseflow.core.notifications.reminders import remind
from tests import factories

KIND = "test.handover"


class Receiver:
    """A local HTTP endpoint that records each POST and answers per ``script`` (then 200)."""

    def __init__(self, *, timeout_delay: float = 1.5):
        self.requests: list[dict] = []
        self.accepted: list[dict] = []
        self.script: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = receiver.script.pop(0) if receiver.script else "ok"
                receiver.requests.append({"body": body, "path": self.path, "mode": mode,
                                          "auth": self.headers.get("Authorization")})
                if mode == "timeout":
                    time.sleep(timeout_delay)
                    return
                if mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                if mode == "refuse":  # WeCom's answer when a robot is over its rate
                    answer = b'{"errcode": 45009, "errmsg": "api freq out of limit"}'
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                receiver.accepted.append(body)
                answer = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(app):
    receiver = Receiver()
    saved = {k: app.config.get(k) for k in ("CASEFLOW_SMS_GATEWAY_URL", "CASEFLOW_SMS_TOKEN",
                                            "CASEFLOW_HTTP_CHANNEL_TIMEOUT")}
    app.config.update(CASEFLOW_SMS_GATEWAY_URL=f"{receiver.url}/sms", CASEFLOW_SMS_TOKEN="t0ken",
                      CASEFLOW_HTTP_CHANNEL_TIMEOUT=0.5)
    yield receiver
    app.config.update(saved)
    receiver.close()


@pytest.fixture
def robot():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sentence(monkeypatch):
    monkeypatch.setitem(notifications.TEXTS, KIND,
                        lambda p: f"线索 {p['number']}（{p['pseudonym']}）已移送给你单位")


@pytest.fixture
def office(world, robot, db):
    """A procuratorate with a robot in its chat and two supervisors, one with a phone."""
    world.procuratorate.webhook_url = f"{robot.url}/cgi-bin/webhook/send?key=abc"
    first = factories.make_user(world, roles={"supervisor"}, org=world.procuratorate)
    second = factories.make_user(world, roles={"supervisor"}, org=world.procuratorate)
    first.phone = "+8613812345678"
    db.session.flush()
    return first, second


PARAMS = {"number": "测妇移〔2026〕7号", "pseudonym": "小雨"}


def deliver(app, now):
    return deliver_due(app, now=now), deliver_messages(now=now)


def test_a_handover_reaches_email_sms_and_the_office_chat_once(app, db, clock, world, office, gateway,
                                                                 robot, smtp_server, sentence):
    first, second = office
    told = alerts.alert([first, second, first], event="urgent_referral", kind=KIND, params=PARAMS,
                        path="/referrals/7", dedupe="referral:7:sent@1", now=clock.now)
    assert told == [first, second]
    # The same hand-over again (a retried request) queues nothing more.
    alerts.alert([first, second], event="urgent_referral", kind=KIND, params=PARAMS,
                 path="/referrals/7", dedupe="referral:7:sent@1", now=clock.now)
    mail, other = deliver(app, clock.now)
    assert (mail.sent, other.sent, other.failed) == (2, 2, 0)

    assert [m["to"] for m in smtp_server.messages] == [[first.email], [second.email]]
    [sms] = gateway.accepted
    assert sms["to"] == "+8613812345678"
    assert sms["text"] == "【caseflow】线索 测妇移〔2026〕7号（小雨）已移送给你单位 http://caseflow.test/referrals/7"
    assert sms["id"].startswith("caseflow-") and gateway.requests[0]["auth"] == "Bearer t0ken"
    [chat] = robot.accepted
    assert chat == {"msgtype": "text", "text": {
        "content": "线索 测妇移〔2026〕7号（小雨）已移送给你单位\nhttp://caseflow.test/referrals/7"}}
    assert robot.requests[0]["path"] == "/cgi-bin/webhook/send?key=abc"
    # Nothing is due any more: a second run sends nothing.
    assert deliver(app, clock.now + timedelta(minutes=5))[1].sent == 0


def test_a_gateway_down_then_back_delivers_once_and_the_failures_show(app, db, clock, world, office,
                                                                      gateway, robot, sentence,
                                                                      login_as, client):
    first, _ = office
    gateway.script = ["error", "timeout"]
    robot.script = ["error"]
    alerts.alert([first], event="urgent_referral", kind=KIND, params=PARAMS, path="/referrals/7",
                 dedupe="referral:7:sent@1", now=clock.now)
    result = deliver_messages(now=clock.now)
    assert (result.sent, result.failed) == (0, 2)
    sms = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert (sms.status, sms.attempts, sms.last_error) == ("queued", 1, "HTTP 500 Internal Server Error")
    assert sms.next_attempt_at == clock.now + timedelta(minutes=1)
    # Not due yet: nothing is tried before the backoff ends.
    assert deliver_messages(now=clock.now + timedelta(seconds=30)).failed == 0

    later = clock.now + timedelta(minutes=1)
    result = deliver_messages(now=later)
    assert (result.sent, result.failed) == (1, 1)  # the robot is back; the gateway times out
    db.session.refresh(sms)
    assert sms.attempts == 2 and "timed out" in sms.last_error

    login_as("system_admin")
    from tests.conftest import page_text
    page = page_text(client.get("/admin/outbox?channel=messages&status=failing"))
    assert "+8613812345678" in page and "timed out" in page

    result = deliver_messages(now=later + timedelta(minutes=2))
    assert (result.sent, result.failed) == (1, 0)
    db.session.refresh(sms)
    assert sms.status == "sent" and sms.last_error is None
    # Each channel accepted the message exactly once, however often it was tried.
    assert len(gateway.accepted) == 1 and len(gateway.requests) == 3
    assert len(robot.accepted) == 1 and len(robot.requests) == 2


def test_preferences_choose_the_channels_and_a_user_without_a_phone_gets_no_sms(app, db, clock, world,
                                                                                 office, gateway,
                                                                                 sentence):
    first, second = office
    assert alerts.channels_for(first, "handover") == frozenset()
    assert alerts.channels_for(first, "escalation") == {"email", "sms"}
    db.session.add_all([AlertPreference(user_id=first.id, event="handover", channel="sms", enabled=True),
                        AlertPreference(user_id=first.id, event="escalation", channel="email",
                                        enabled=False)])
    db.session.flush()
    db.session.expire(first, ["alert_preferences"])
    assert alerts.channels_for(first, "handover") == {"sms"}
    assert alerts.channels_for(first, "escalation") == {"sms"}

    alerts.alert([first, second], event="handover", kind=KIND, params=PARAMS, path="/referrals/8",
                 dedupe="referral:8:registered", now=clock.now)
    queued = db.session.execute(sa.select(OutboxMessage.channel, OutboxMessage.to_user_id)).all()
    assert sorted(queued, key=str) == sorted([("sms", first.id), ("webhook", None)], key=str)
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0

    # The second supervisor wants SMS for escalations (the default) but has no phone.
    alerts.alert([second], event="escalation", kind=KIND, params=PARAMS, path="/referrals/9",
                 dedupe="referral:9:overdue", now=clock.now)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.to_user_id == second.id)) == 0
    assert db.session.scalar(sa.select(OutboxEmail.to_address)) == second.email


def test_an_sms_in_quiet_hours_waits_until_they_end_unless_urgent(app, db, clock, world, office, gateway,
                                                                  sentence, client, login_as):
    first, _ = office
    night = clock.now.replace(hour=15, minute=30)  # 23:30 in Asia/Shanghai
    alerts.alert([first], event="escalation", kind=KIND, params=PARAMS, path="/referrals/5",
                 dedupe="referral:5:overdue_1", now=night)
    alerts.alert([first], event="urgent_referral", kind=KIND, params=PARAMS, path="/referrals/6",
                 dedupe="referral:6:sent@1", now=night)
    held, urgent = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                      .order_by(OutboxMessage.id)).all()
    morning = night.replace(hour=23, minute=0)  # 07:00 the next day, local
    assert held.held_until == morning and held.next_attempt_at == morning
    assert urgent.held_until is None
    login_as("system_admin")
    from tests.conftest import page_text, zh
    page = page_text(client.get("/admin/outbox?channel=messages&status=queued"))
    assert zh("held for quiet hours until %(time)s", time="2026-11-28 07:00") in page

    # The urgent SMS, and both chat messages: quiet hours are a person's, not an office's.
    assert deliver_messages(now=night).sent == 3
    assert [m["text"].endswith("/referrals/6") for m in gateway.accepted] == [True]
    assert deliver_messages(now=morning - timedelta(minutes=1)).sent == 0
    assert deliver_messages(now=morning).sent == 1
    assert gateway.accepted[-1]["text"].endswith("/referrals/5")

    first.sms_quiet_from = first.sms_quiet_until = None
    assert channels.quiet_until(first, night) is None


def test_a_reminder_escalation_goes_by_sms_and_the_chat_hears_each_stage_once(app, db, clock, world,
                                                                              office, gateway, sentence):
    first, second = office
    for user in (first, second):
        remind(user, kind="referral.overdue", params={**PARAMS, "days": 2, "due": "2026-11-25"},
               path="/referrals/3", base_url="http://caseflow.test",
               dedupe_key=f"referral:3:overdue_1:{user.id}:referral.overdue",
               open_line=lambda link: link, digestable=True, now=clock.now)
        remind(user, kind="referral.due_soon", params={**PARAMS, "days": 3, "due": "2026-12-02"},
               path="/referrals/4", base_url="http://caseflow.test",
               dedupe_key=f"referral:4:due_3:{user.id}:referral.due_soon",
               open_line=lambda link: link, digestable=False, now=clock.now)
    rows = db.session.execute(sa.select(OutboxMessage.channel, OutboxMessage.dedupe_key)
                              .order_by(OutboxMessage.id)).all()
    assert rows == [
        ("sms", f"sms:referral:3:overdue_1:{first.id}:referral.overdue"),
        ("webhook", f"webhook:{world.procuratorate.id}:referral:3:overdue_1:referral.overdue"),
        ("webhook", f"webhook:{world.procuratorate.id}:referral:4:due_3:referral.due_soon"),
    ]
    # E-mail as before: one per user and stage.
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 4


def test_no_protected_field_reaches_an_sms_or_the_chat(app, db, clock, world, office, gateway, monkeypatch):
    first, _ = office
    with pytest.raises(channels.UnsafeParameters):
        alerts.alert([first], event="urgent_referral", kind=KIND,
                     params={**PARAMS, "resident_id": "420103198503120020"}, path="/referrals/1",
                     dedupe="referral:1:sent@1", now=clock.now)
    # A sentence that would carry an ID number or a mobile number has them masked.
    monkeypatch.setitem(notifications.TEXTS, KIND, lambda p: "来电 13871234567，证件 420103198503120020")
    alerts.alert([first], event="urgent_referral", kind=KIND, params=PARAMS, path="/referrals/2",
                 dedupe="referral:2:sent@1", now=clock.now)
    bodies = db.session.scalars(sa.select(OutboxMessage.body)).all()
    assert bodies and all("13871234567" not in b and "420103198503120020" not in b for b in bodies)
    assert all("来电 ***，证件 ***" in b for b in bodies)


@pytest.mark.parametrize("template,problem", [("{text} {name}", "unknown placeholder"),
                                              ("{text", "expected '}'")])
def test_a_bad_sms_template_is_refused(template, problem):
    with pytest.raises(ValueError, match=problem):
        channels.check_template(template)


def test_the_fast_outbox_job_runs_and_is_recorded_only_when_something_is_due(app, db, clock, world, office,
                                                                             gateway, robot, sentence):
    from caseflow.core.notifications import jobs  # noqa: F401  (registers the jobs)
    from caseflow.core.scheduler.models import JobRun
    from caseflow.core.scheduler.registry import JOBS
    from caseflow.core.scheduler.runner import run_job

    wake = JOBS["outbox_wake"]
    assert wake.every_seconds <= 10
    assert run_job(app, wake).status == "idle"
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.job == "outbox_wake")) == 0

    first, _ = office
    alerts.alert([first], event="urgent_referral", kind=KIND, params=PARAMS, path="/referrals/7",
                 dedupe="referral:7:sent@1", now=clock.now)
    db.session.flush()
    result = run_job(app, wake)
    assert result.status == "succeeded" and "2 sent, 0 failed" in result.detail
    assert len(gateway.accepted) == 1 and len(robot.accepted) == 1
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.job == "outbox_wake")) == 1


def test_each_referral_hand_over_reaches_every_channel_once_and_no_protected_field_leaves(
        app, db, clock, world, gateway, robot, smtp_server):
    """Sent (urgent), registered, comment and reply, through the referral services, with
    everyone asking for e-mail and SMS on hand-overs and every office with a robot."""
    from datetime import date

    from caseflow.core.notifications.models import Notification
    from caseflow.core.orgs.models import User
    from caseflow.referrals import services as referrals
    from tests.referrals.helpers import Cast

    cast = Cast(world)
    chief = factories.make_user(world, roles={"supervisor", "prosecutor"}, org=world.procuratorate)
    people = [cast.officer, cast.fed_supervisor, cast.prosecutor, cast.proc_supervisor, chief]
    for n, user in enumerate(people):
        user.phone = f"+86139000000{n:02d}"
        user.alert_preferences = [AlertPreference(event="handover", channel=c, enabled=True)
                                  for c in ("email", "sms")]
    for org in (world.federation, world.department5, world.procuratorate):
        org.webhook_url = f"{robot.url}/cgi-bin/webhook/send?key={org.code}"
    db.session.flush()

    ref = cast.sent(clock.now, is_urgent=True)
    referrals.register(ref, actor=cast.proc_supervisor, now=clock.now, registration_number="登-1",
                       received_on=ref.received_on, handler=cast.prosecutor)
    referrals.comment(ref, actor=cast.officer, now=clock.now, text="请补充材料")
    referrals.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="other", text="已处理",
                    reply_on=date(2026, 11, 27))
    told = db.session.execute(sa.select(Notification.user_id, Notification.kind)
                              .where(Notification.kind.like("referral.%"))).all()
    kinds = {kind for _user, kind in told}
    assert {"referral.sent_urgent", "referral.registered", "referral.comment",
            "referral.replied"} <= kinds
    mail, other = deliver(app, clock.now)
    assert mail.failed == other.failed == 0

    users = {u.id: u for u in db.session.scalars(sa.select(User))}
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(users[u].email for u, _ in told)
    assert sorted(s["to"] for s in gateway.accepted) == sorted(users[u].phone for u, _ in told)
    chats = sorted((r["path"].split("key=")[1], r["body"]["text"]["content"].split("\n")[0])
                   for r in robot.requests)
    expected_chats = {(users[u].organisation.code, kind) for u, kind in told}
    assert len(chats) == len(expected_chats)  # one per office and hand-over
    assert {code for code, _text in chats} == {code for code, _kind in expected_chats}
    everything = json.dumps([smtp_server.messages, gateway.accepted, robot.accepted], ensure_ascii=False)
    assert ref.number in everything and cast.person.pseudonym in everything
    for protected in ("陈雨婷", "13871234567", factories.VALID_IDS[0], "武汉市江汉区某社区"):
        assert protected not in everything


@pytest.mark.parametrize("url,refused", [
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", False),
    ("http://10.1.2.3:8080/hook", False),
    ("ftp://qyapi.weixin.qq.com/hook", True),
    ("javascript:alert(1)", True),
    ("https://", True),
    ("http://host:port/hook", True),
    ("https://CASEFLOW.test:8443/anything", True),  # the app's host, whatever the port
    ("http://localhost:5000/x", False),  # the app is not on this machine's loopback here
])
def test_a_robot_address_must_be_http_and_not_the_app(url, refused):
    from caseflow.core.errors import ValidationFailed

    if refused:
        with pytest.raises(ValidationFailed) as error:
            channels.check_webhook_url(url, base_url="http://caseflow.test")
        assert error.value.field == "webhook_url"
    else:
        assert channels.check_webhook_url(url, base_url="http://caseflow.test") == url
    with pytest.raises(ValidationFailed):
        channels.check_webhook_url("http://localhost:9999/robot", base_url="http://127.0.0.1:5000")


@pytest.mark.parametrize("settings,problem", [
    ({"CASEFLOW_SMS_TEMPLATE": "【caseflow】{text} {real_name}"}, "CASEFLOW_SMS_TEMPLATE"),
    ({"CASEFLOW_SMS_GATEWAY_URL": "smtp://gateway"}, "CASEFLOW_SMS_GATEWAY_URL"),
])
def test_the_app_refuses_to_start_with_a_bad_sms_setting(settings, problem):
    from caseflow.config import ConfigurationError, validate

    with pytest.raises(ConfigurationError, match=problem):
        validate({"TESTING": True, **settings})
    validate({"TESTING": True, "CASEFLOW_SMS_TEMPLATE": "{pseudonym} {number} {link}",
              "CASEFLOW_SMS_GATEWAY_URL": "https://sms.example.com/send"})


@pytest.fixture
def committed_app(app, tmp_path):
    """A database of its own with real commits, for deliverers on several connections."""
    from caseflow.extensions import db as _db
    from tests.conftest import DEFAULT_NOW, create_database, make_app, migrate_to_head

    url, drop = create_database(app.config["TEST_BACKEND"], tmp_path)
    separate = make_app(url, CASEFLOW_CLOCK=lambda: DEFAULT_NOW)
    migrate_to_head(separate)
    yield separate
    with separate.app_context():
        _db.engine.dispose()
    drop()


def test_three_deliverers_at_once_send_each_message_once(committed_app, monkeypatch):
    from caseflow.extensions import db as _db
    from tests.conftest import DEFAULT_NOW

    receiver = Receiver()
    monkeypatch.setitem(notifications.TEXTS, KIND, lambda p: f"线索 {p['number']}（{p['pseudonym']}）")
    committed_app.config.update(CASEFLOW_SMS_GATEWAY_URL=f"{receiver.url}/sms",
                                CASEFLOW_HTTP_CHANNEL_TIMEOUT=2)
    try:
        with committed_app.app_context():
            world = factories.build_world(now=DEFAULT_NOW)
            world.procuratorate.webhook_url = f"{receiver.url}/robot"
            users = [factories.make_user(world, roles={"supervisor"}, org=world.procuratorate)
                     for _ in range(2)]
            for n, user in enumerate(users):
                user.phone = f"+861380000000{n}"
            for i in range(30):
                alerts.alert(users, event="urgent_referral", kind=KIND, params=PARAMS,
                             path=f"/referrals/{i}", dedupe=f"referral:{i}:sent", now=DEFAULT_NOW)
            _db.session.commit()
            queued = _db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
        assert queued == 90  # 30 hand-overs × (2 SMS + 1 chat message)

        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def deliverer():
            try:
                with committed_app.app_context():
                    barrier.wait()
                    while deliver_messages(now=DEFAULT_NOW, batch=5).sent:
                        pass
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=deliverer) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        references = [r["body"].get("id") for r in receiver.requests if r["path"] == "/sms"]
        assert len(references) == len(set(references)) == 60
        assert len([r for r in receiver.requests if r["path"] == "/robot"]) == 30
        with committed_app.app_context():
            assert set(_db.session.scalars(sa.select(OutboxMessage.status))) == {"sent"}
    finally:
        receiver.close()


def test_a_robot_that_answers_200_with_an_errcode_has_not_accepted_it(app, db, clock, world, office, robot,
                                                                     sentence):
    first, _ = office
    robot.script = ["refuse"]
    alerts.alert([first], event="handover", kind=KIND, params=PARAMS, path="/referrals/7",
                 dedupe="referral:7:registered", now=clock.now)
    assert (deliver_messages(now=clock.now).failed, len(robot.accepted)) == (1, 0)
    row = db.session.scalar(sa.select(OutboxMessage))
    assert row.status == "queued" and "errcode 45009" in row.last_error
    assert deliver_messages(now=clock.now + timedelta(minutes=1)).sent == 1
    assert len(robot.accepted) == 1


def test_the_outbox_command_delivers_sms_and_chats_too(app, db, clock, world, office, gateway, robot,
                                                      smtp_server, sentence):
    first, second = office
    alerts.alert([first, second], event="urgent_referral", kind=KIND, params=PARAMS,
                 path="/referrals/7", dedupe="referral:7:sent@cli", now=clock.now)
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    # Two e-mails, one SMS (only the first has a phone), one message to the office chat.
    assert "4 sent, 0 failed" in result.output
    assert len(smtp_server.messages) == 2 and len(gateway.accepted) == 1 and len(robot.accepted) == 1
