"""Health and monitoring: /healthz, `caseflow check`, /metrics, JSON logs.

The checks read the clock through ``utcnow()`` (the ``clock`` fixture); the heartbeat and
outbox rows are inserted with chosen times. The process tests (gunicorn with two workers,
the scheduler and `caseflow check` as commands) run on a database of their own, built once
per backend for this module.
"""
from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from caseflow.cli import main
from caseflow.core import metrics as metrics_module
from caseflow.core.logs import JsonFormatter, setup_logging
from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
from caseflow.core.scheduler.models import JobRun
from caseflow.core.scheduler.registry import JOBS
from tests import factories
from tests.conftest import BACKENDS, create_database, free_port, make_app, migrate_to_head
from tests.servers import GUNICORN, first_answer, request

TOKEN = "caseflow-tests-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CASEFLOW = str(Path(sys.executable).parent / "caseflow")
MIGRATION_SCRIPTS = Path(__file__).parents[2] / "migrations" / "versions"
DEPLOY = Path(__file__).resolve().parent.parent.parent / "deploy"


def beat(db, finished_at: datetime, *, job: str = "heartbeat", status: str = "succeeded") -> None:
    db.session.add(JobRun(job=job, started_at=finished_at - timedelta(seconds=1),
                          finished_at=finished_at, status=status))
    db.session.flush()


_email_keys = iter(range(10**6))


def queue_email(db, *, due: datetime, attempts: int = 0, status: str = "queued") -> None:
    n = next(_email_keys)
    db.session.add(OutboxEmail(
        dedupe_key=f"monitoring-test-{n}", created_at=due, to_address="someone@example.test",
        subject="s", body="b", status=status, attempts=attempts, next_attempt_at=due,
        sent_at=due if status == "sent" else None))
    db.session.flush()


def queue_message(db, world, *, channel: str, due: datetime, status: str = "queued") -> None:
    n = next(_email_keys)
    user = factories.make_user(world, roles={"prosecutor"}) if channel == "sms" else None
    db.session.add(OutboxMessage(
        channel=channel, dedupe_key=f"monitoring-test-{n}", created_at=due,
        to_user_id=user.id if channel == "sms" else None,
        organisation_id=world.federation.id if channel == "webhook" else None,
        to_address="+8613800000000" if channel == "sms" else "https://robot.example.test/x",
        body="b", status=status, attempts=0, next_attempt_at=due,
        sent_at=due if status == "sent" else None))
    db.session.flush()


# -- /healthz --------------------------------------------------------------------------------

def test_healthz_ok_with_a_fresh_heartbeat(client, db, clock):
    beat(db, clock.now - timedelta(seconds=42))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["scheduler"]["status"] == "ok"
    assert body["scheduler"]["age_seconds"] == 42
    last = (clock.now - timedelta(seconds=42)).isoformat().replace("+00:00", "Z")
    assert body["scheduler"]["last_heartbeat_at"] == last
    assert body["outbox"]["status"] == "ok" and body["outbox"]["due"] == 0
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_503_when_the_scheduler_was_silent_for_three_intervals(client, db, clock):
    assert client.get("/healthz").status_code == 503  # never beat
    assert client.get("/healthz").get_json()["scheduler"]["last_heartbeat_at"] is None
    beat(db, clock.now - timedelta(seconds=900))
    # Other jobs' runs and a heartbeat still running are not a heartbeat.
    beat(db, clock.now - timedelta(seconds=10), job="outbox_delivery")
    db.session.add(JobRun(job="heartbeat", started_at=clock.now, status="running"))
    db.session.flush()
    assert client.get("/healthz").status_code == 200  # exactly 3 × 300 s: not yet silent
    clock.advance(seconds=1)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "critical" and body["scheduler"]["status"] == "critical"
    assert body["scheduler"]["age_seconds"] == 901 and body["scheduler"]["silent_after_seconds"] == 900
    # A failed heartbeat still shows the clock runs.
    beat(db, clock.now, status="failed")
    assert client.get("/healthz").status_code == 200


def test_the_silence_limit_follows_the_registered_interval(client, db, clock, monkeypatch):
    monkeypatch.setitem(JOBS, "heartbeat", replace(JOBS["heartbeat"], every_seconds=60))
    beat(db, clock.now - timedelta(seconds=181))
    body = client.get("/healthz").get_json()
    assert body["scheduler"]["silent_after_seconds"] == 180 and body["status"] == "critical"


def test_outbox_backlog_figures_match_the_queued_rows(client, db, clock, world):
    beat(db, clock.now)
    now = clock.now
    queue_email(db, due=now - timedelta(minutes=5))
    queue_email(db, due=now - timedelta(minutes=1))
    queue_email(db, due=now + timedelta(minutes=30))  # a retry later: queued, not due
    queue_email(db, due=now - timedelta(days=3), status="sent")  # history, not backlog
    queue_message(db, world, channel="sms", due=now - timedelta(minutes=2))
    queue_message(db, world, channel="webhook", due=now + timedelta(hours=8))  # quiet hours
    response = client.get("/healthz")
    assert response.status_code == 200
    outbox = response.get_json()["outbox"]
    assert outbox["status"] == "ok"
    assert (outbox["due"], outbox["queued"], outbox["oldest_due_age_seconds"]) == (3, 5, 300)
    assert outbox["email"] == {"due": 2, "queued": 3} and outbox["messages"] == {"due": 1, "queued": 2}

    # Due for more than ten minutes: delivery is not keeping up. A warning, still 200.
    queue_message(db, world, channel="sms", due=now - timedelta(minutes=11))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "warning" and body["outbox"]["status"] == "warning"
    assert body["outbox"]["oldest_due_age_seconds"] == 660


def test_an_outbox_message_failing_again_and_again_is_a_warning(client, db, clock):
    beat(db, clock.now)
    queue_email(db, due=clock.now + timedelta(minutes=4), attempts=3)
    body = client.get("/healthz").get_json()
    assert body["status"] == "warning" and body["outbox"]["failing"] == 1


def test_healthz_says_nothing_about_anyone(client, db, clock, world):
    beat(db, clock.now)
    queue_message(db, world, channel="sms", due=clock.now)
    text = client.get("/healthz").get_data(as_text=True)
    assert "+8613800000000" not in text and "example.test" not in text
    assert world.federation.name not in text


def test_healthz_503_when_the_database_is_unreachable(tmp_path):
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere",
                   SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "critical" and body["database"] == "unreachable"
    assert body["scheduler"] == {"status": "unknown"} and body["outbox"] == {"status": "unknown"}
    # /metrics still answers, with the request counts and the database down.
    samples = parse_exposition(app.test_client().get("/metrics", headers=AUTH).get_data(as_text=True))
    assert samples[("caseflow_database_up", ())] == 0


# -- caseflow check --------------------------------------------------------------------------

def run_check(app) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["check"], obj=ScriptInfo(create_app=lambda: app))
    return result.exit_code, result.output.splitlines()


def test_caseflow_check_exit_codes(app, db, clock):
    code, lines = run_check(app)
    assert code == 2 and lines[0].startswith("CASEFLOW CRITICAL - scheduler has never recorded a heartbeat")
    beat(db, clock.now - timedelta(seconds=30))
    code, lines = run_check(app)
    assert code == 0, lines
    head = sorted(p.stem for p in MIGRATION_SCRIPTS.glob("0*.py"))[-1]
    assert lines[0].startswith(f"CASEFLOW OK - database ok; schema at {head}; "
                               "scheduler last heartbeat 30 s ago; outbox ")
    assert "| heartbeat_age=30s;;900" in lines[0]
    assert lines[1:] == ["database: OK ok", f"schema: OK at {head}",
                         "scheduler: OK last heartbeat 30 s ago",
                         "outbox: OK 0 due, 0 queued"]
    queue_email(db, due=clock.now - timedelta(minutes=20))
    code, lines = run_check(app)
    assert code == 1 and lines[0].startswith("CASEFLOW WARNING - outbox oldest due message waiting 1200 s")
    clock.advance(seconds=901)
    code, lines = run_check(app)
    assert code == 2 and lines[0].startswith("CASEFLOW CRITICAL - scheduler silent: last heartbeat 931 s ago")
    assert "outbox: WARNING" in "\n".join(lines)


def test_caseflow_check_is_unknown_when_the_app_cannot_be_configured(monkeypatch):
    from caseflow.cli import _create_app

    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "short")
    monkeypatch.delenv("CASEFLOW_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["check"], obj=ScriptInfo(create_app=_create_app))
    assert result.exit_code == 3
    assert "CASEFLOW UNKNOWN - the app cannot be configured" in result.output


# -- /metrics --------------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def _unescape(value: str) -> str:
    return re.sub(r'\\([\\"n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_exposition(text: str) -> dict[tuple, float]:
    """The text format, strictly: every line a HELP, a TYPE or a sample of a family whose
    HELP and TYPE came first; histograms cumulative, ending at le="+Inf" equal to _count.
    Returns {(name, ((label, value), ...)): value}."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helped: set[str] = set()
    samples: dict[tuple, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helped, f"two HELP lines for {name}"
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}
            assert name in helped and name not in types
            types[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels_text, value_text = match.groups()
        labels = []
        if labels_text:
            position = 0
            while position < len(labels_text):
                label = LABEL.match(labels_text, position)
                assert label, f"bad labels in {line!r}"
                labels.append((label.group(1), _unescape(label.group(2))))
                position = label.end()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its TYPE line"
        if family != name:
            assert types[family] == "histogram"
        value = float(value_text)  # also +Inf, -Inf, NaN
        key = (name, tuple(labels))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = value
    # Histograms: per label set, buckets cumulative, the last +Inf, equal to _count.
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series: dict[tuple, list] = {}
        for (name, labels), value in samples.items():
            if name == f"{family}_bucket":
                rest = tuple(p for p in labels if p[0] != "le")
                series.setdefault(rest, []).append((float(dict(labels)["le"]), value))
        for rest, buckets in series.items():
            bounds = [b for b, _ in buckets]
            assert bounds == sorted(bounds) and math.isinf(bounds[-1])
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), f"buckets not cumulative for {rest}"
            assert counts[-1] == samples[(f"{family}_count", rest)]
            assert (f"{family}_sum", rest) in samples
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(labels.items())), 0)


def test_metrics_needs_the_token(app, client, monkeypatch):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403 and "caseflow_" not in wrong.get_data(as_text=True)
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    right = client.get("/metrics", headers=AUTH)
    assert right.status_code == 200
    assert right.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    monkeypatch.setitem(app.config, "CASEFLOW_METRICS_TOKEN", "")
    assert client.get("/metrics", headers=AUTH).status_code == 404
    assert client.get("/metrics").status_code == 404


def test_a_signed_in_user_without_the_token_gets_no_metrics(client, login_as):
    login_as("system_admin")
    assert client.get("/metrics").status_code == 401


def test_metrics_parse_and_count_requests(client, db, clock, world):
    before = parse_exposition(client.get("/metrics", headers=AUTH).get_data(as_text=True))
    for _ in range(3):
        assert client.get("/login").status_code == 200
    client.get("/no/such/page")
    client.get("/static/css/caseflow.css")
    beat(db, clock.now - timedelta(seconds=12))
    beat(db, clock.now - timedelta(seconds=70), job="outbox_delivery")
    beat(db, clock.now - timedelta(seconds=5), job="outbox_delivery", status="failed")
    queue_email(db, due=clock.now - timedelta(seconds=30))
    queue_email(db, due=clock.now + timedelta(minutes=2))
    queue_email(db, due=clock.now, status="sending")
    queue_message(db, world, channel="sms", due=clock.now - timedelta(seconds=90))
    after = parse_exposition(client.get("/metrics", headers=AUTH).get_data(as_text=True))

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("caseflow_requests_total", endpoint="auth.login", status="2xx") == 3
    assert grew("caseflow_request_duration_seconds_count", endpoint="auth.login") == 3
    assert grew("caseflow_request_duration_seconds_bucket", endpoint="auth.login", le="+Inf") == 3
    assert grew("caseflow_requests_total", endpoint="unmatched", status="4xx") == 1
    assert grew("caseflow_requests_total", endpoint="static", status="2xx") == 1
    assert grew("caseflow_requests_total", endpoint="health.metrics", status="2xx") == 1
    assert value(after, "caseflow_outbox_messages", channel="email", state="due") == 1
    assert value(after, "caseflow_outbox_messages", channel="email", state="waiting") == 1
    assert value(after, "caseflow_outbox_messages", channel="email", state="sending") == 1
    assert value(after, "caseflow_outbox_messages", channel="sms", state="due") == 1
    assert value(after, "caseflow_outbox_messages", channel="webhook", state="due") == 0
    assert value(after, "caseflow_outbox_oldest_due_age_seconds", channel="sms") == 90
    assert value(after, "caseflow_outbox_oldest_due_age_seconds", channel="email") == 30
    assert value(after, "caseflow_scheduler_heartbeat_age_seconds") == 12
    # The last success, not the last run (which failed).
    assert value(after, "caseflow_job_last_success_timestamp_seconds", job="outbox_delivery") == \
        (clock.now - timedelta(seconds=70)).timestamp()
    assert ("caseflow_job_last_success_timestamp_seconds", (("job", "reminder_sweep"),)) not in after
    assert value(after, "caseflow_database_up") == 1


def test_exposition_escapes_label_values_and_help():
    out = metrics_module.Exposition()
    out.family("caseflow_x", "gauge", "a help text with \\ and\na new line")
    awkward = 'quote " backslash \\ new\nline 中文'
    out.sample("caseflow_x", 1.5, {"endpoint": awkward})
    out.sample("caseflow_x", math.inf, {"endpoint": "inf"})
    text = out.text()
    assert text.count("\n") == 4  # HELP, TYPE, two samples: nothing broke a line
    samples = parse_exposition(text)
    assert samples[("caseflow_x", (("endpoint", awkward),))] == 1.5
    assert samples[("caseflow_x", (("endpoint", "inf"),))] == math.inf


def test_counts_of_a_dead_worker_are_kept_once(tmp_path):
    live = metrics_module.RequestMetrics(str(tmp_path))
    live.observe("auth.login", 200, 0.02)
    live.flush()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    other = metrics_module.RequestCounters()
    for _ in range(4):
        other.observe("auth.login", 302, 0.3)
    (tmp_path / f"requests-{dead_pid}-abcd.json").write_text(json.dumps(other.as_dict()))
    for _ in range(2):  # the second collect must not count the folded file again
        total = metrics_module.collect_directory(tmp_path)
        assert total.requests == {("auth.login", "2xx"): 1, ("auth.login", "3xx"): 4}
        assert total.durations["auth.login"]["count"] == 5
    assert not (tmp_path / f"requests-{dead_pid}-abcd.json").exists()
    assert (tmp_path / "archive.json").exists()
    metrics_module.clear_directory(tmp_path)
    assert list(tmp_path.glob("*.json")) == []


# -- JSON logs -------------------------------------------------------------------------------

def test_json_formatter_writes_one_object_per_line(app):
    formatter = JsonFormatter()
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("caseflow.test", logging.ERROR, __file__, 1,
                                   "failed for %s\n中文", ("x",), sys.exc_info())
    with app.test_request_context("/login", headers={"X-Request-ID": "abc-123"}):
        from flask import g

        g.request_id = "abc-123"
        line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "caseflow.test"
    assert entry["message"] == "failed for x\n中文"
    assert "ValueError: boom" in entry["exception"]
    assert entry["request_id"] == "abc-123" and entry["method"] == "GET"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])


def test_json_logging_adds_no_second_handler_under_gunicorns_json_logconfig():
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    theirs = logging.StreamHandler(io.StringIO())
    theirs.setFormatter(JsonFormatter())
    root.addHandler(theirs)
    try:
        setup_logging({"CASEFLOW_LOG_FORMAT": "json"})
        setup_logging({"CASEFLOW_LOG_FORMAT": "json"})
        assert [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)] == [theirs]
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_each_response_carries_a_request_id(client):
    response = client.get("/login", headers={"X-Request-ID": "from-nginx-1"})
    assert response.headers["X-Request-ID"] == "from-nginx-1"
    forged = client.get("/login", headers={"X-Request-ID": "bad id\x7f" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{16}", forged.headers["X-Request-ID"])


# -- the real processes: the commands and gunicorn with two workers ----------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    """A migrated database of its own and the environment a deployment gives the commands."""
    tmp = tmp_path_factory.mktemp(f"monitoring-{request.param}")
    url, drop = create_database(request.param, tmp)
    migrate_to_head(make_app(url))
    env = dict(os.environ, CASEFLOW_DATABASE_URL=url, CASEFLOW_SECRET_KEY="m" * 40,
               CASEFLOW_DATA_KEY="0123456789abcdef0123456789abcdef",
               CASEFLOW_INSTANCE_PATH=str(tmp / "instance"), CASEFLOW_SMTP_PORT=str(free_port()),
               CASEFLOW_METRICS_TOKEN="process-test-token", CASEFLOW_METRICS_DIR=str(tmp / "metrics"))
    env.pop("CASEFLOW_DEBUG", None)
    yield url, env
    drop()


def test_commands_check_scheduler_and_json_logs(served):
    _, env = served
    check = subprocess.run([CASEFLOW, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 2, check.stdout + check.stderr
    assert check.stdout.startswith("CASEFLOW CRITICAL - scheduler has never recorded a heartbeat")
    # The scheduler's logs as JSON lines; its heartbeat run makes the check OK.
    scheduler = subprocess.run([CASEFLOW, "scheduler", "--once"], env={**env, "CASEFLOW_LOG_FORMAT": "json"},
                               capture_output=True, text=True, timeout=120)
    assert scheduler.returncode == 0, scheduler.stderr
    entries = [json.loads(line) for line in scheduler.stderr.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"] == "caseflow.scheduler" and "heartbeat" in e["message"] for e in entries)
    check = subprocess.run([CASEFLOW, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("CASEFLOW OK - ")
    lines = check.stdout.splitlines()
    assert lines[1] == "database: OK ok" and lines[2].startswith("schema: OK at 0")
    assert lines[3].startswith("scheduler: OK last heartbeat ")
    assert lines[4] == "outbox: OK 0 due, 0 queued"


def test_request_counts_of_two_workers_add_up(served):
    """gunicorn as deployed (deploy/gunicorn.conf.py) with two workers and JSON logs."""
    _, env = served
    port = free_port()
    env = {**env, "CASEFLOW_LOG_FORMAT": "json", "CASEFLOW_WEB_BIND": f"127.0.0.1:{port}",
           "CASEFLOW_WEB_WORKERS": "2"}
    # A previous run's counters: the service's start clears them (on_starting).
    directory = Path(env["CASEFLOW_METRICS_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    stale = metrics_module.RequestCounters()
    stale.observe("auth.login", 200, 0.1)
    (directory / "archive.json").write_text(json.dumps(stale.as_dict()))
    (directory / "requests-1-0000.json").write_text(json.dumps(stale.as_dict()))
    process = subprocess.Popen(
        [GUNICORN, "--config", str(DEPLOY / "gunicorn.conf.py")], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    auth = {"Authorization": "Bearer process-test-token"}
    try:
        first_answer(port, "/metrics", process, timeout=40, headers=auth,
                     accept=lambda status: status == 200)
        # One worker is kept busy by a request whose end has not arrived yet (a sync
        # worker reads the whole request first); the other answers the rest; then the
        # first request is finished. So both workers count some of the requests.
        requests = 30
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.5)
        statuses = [request(port, "/login")[0] for _ in range(requests - 1)]
        slow.sendall(b"Connection: close\r\n\r\n")
        answer = slow.makefile("rb").readline()
        slow.close()
        assert answer.startswith(b"HTTP/1.1 200") and statuses == [200] * (requests - 1)
        # Each worker writes its counts within a second; /metrics sums the files.
        deadline = time.monotonic() + 10
        while True:
            status, text = request(port, "/metrics", auth)
            counted = value(parse_exposition(text), "caseflow_requests_total",
                            endpoint="auth.login", status="2xx")
            if counted == requests or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert counted == requests
        writers = [json.loads(p.read_text()) for p in directory.glob("requests-*.json")]
        served_by = [sum(n for e, s, n in w["requests"] if e == "auth.login") for w in writers]
        assert len([n for n in served_by if n]) == 2, served_by  # both workers took a share
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    # Every line, gunicorn's own, the access log's and the app's, is one JSON object.
    entries = [json.loads(line) for line in (stdout + stderr).splitlines()]
    assert any(e.get("path") == "/login" and e.get("status") == 200 for e in entries)
    assert any("metrics directory cleared" in e.get("message", "") for e in entries)
