#!/usr/bin/env python
"""From a hand-over's commit to its delivery by e-mail, SMS and office chat robot.

    .venv/bin/python bench/alerts.py [--backends sqlite,postgresql] [--handovers 100]
        [--gap 0.5] [--settle 90]

For each backend the script builds a scratch database by the migrations, adds one
organisation whose office chat has a robot and one supervisor in it with an e-mail
address and a mobile number, and starts, on 127.0.0.1:

* a real SMTP server (aiosmtpd), as the mail server;
* an ``http.server`` answering like an SMS gateway (any 2xx is acceptance);
* an ``http.server`` answering like a WeCom group chat robot (``{"errcode": 0}``);
* the real ``caseflow scheduler`` process (``.venv/bin/caseflow scheduler``), configured
  by environment variables for that database and those servers, with every job it runs
  in production (outbox_wake every 5 s, outbox_delivery every minute, the sweeps).

Then it makes ``--handovers`` hand-overs, one every ``--gap`` seconds on average
(exponentially distributed gaps, as people work): each is ``alerts.alert(...)`` for the
supervisor, event ``urgent_referral`` (e-mail and SMS by default, no quiet hours), in its
own transaction, committed; the wall-clock time right after the commit is the start.
Each of the three receivers notes the wall-clock time a message arrives and which
hand-over it is (the link in it). Latency = arrival − commit, per channel.

It prints p50, p95 and the maximum per channel and backend, how many arrived, the ratio
p95 / 60 s (the issue's goal: at most 1) and, when both backends ran, PostgreSQL's
figures over SQLite's, all from the same run.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database. SQLite: a temporary file.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.scratch import create_database  # noqa: E402
from tests.conftest import make_app, migrate_to_head  # noqa: E402

CHANNELS = ("email", "sms", "webhook")
GOAL_SECONDS = 60.0
LINK = re.compile(r"/bench/handover/(\d+)")
KIND = "bench.handover"


def log(message: str = "") -> None:
    print(message, flush=True)


# -- the receivers ---------------------------------------------------------------------------


class Arrivals:
    """Arrival wall-clock times per channel and hand-over (the first arrival counts; a
    repeat is counted as a duplicate)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.at: dict[str, dict[int, float]] = {channel: {} for channel in CHANNELS}
        self.duplicates = {channel: 0 for channel in CHANNELS}

    def note(self, channel: str, text: str) -> None:
        now = time.time()
        match = LINK.search(text)
        if match is None:
            return
        with self.lock:
            seen = self.at[channel]
            if int(match.group(1)) in seen:
                self.duplicates[channel] += 1
            else:
                seen[int(match.group(1))] = now


def http_receiver(arrivals: Arrivals, channel: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = body["text"] if channel == "sms" else body["text"]["content"]
            arrivals.note(channel, text)
            answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def smtp_receiver(arrivals: Arrivals):
    import email
    from email import policy

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            arrivals.note("email", message.get_body(("plain",)).get_content())
            return "250 Message accepted for delivery"

    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


# -- one backend -------------------------------------------------------------------------------


def setup(app) -> dict:
    """One organisation with a robot, one supervisor with e-mail and a mobile number."""
    from caseflow.core.notifications import services as notifications
    from caseflow.core.orgs.models import Organisation, User, UserRole
    from caseflow.core.orgs.roles import OrganisationKind, Role
    from caseflow.extensions import db

    now = datetime.now(timezone.utc)
    with app.app_context():
        org = Organisation(code="bench-proc", name="测试区人民检察院", short_name="测试区检察院",
                           kind=OrganisationKind.PROCURATORATE.value, is_active=True,
                           webhook_url=app.config["BENCH_ROBOT_URL"], created_at=now, updated_at=now)
        db.session.add(org)
        db.session.flush()
        user = User(username="bench.supervisor", display_name="检察部主任", email="head@bench.example.com",
                    password_hash="-", organisation_id=org.id, locale="zh_CN", is_active_account=True,
                    is_demo=True, must_change_password=False, failed_login_count=0,
                    phone="+8613812345678", sms_quiet_from=None, sms_quiet_until=None,
                    created_at=now, updated_at=now)
        user.role_rows = [UserRole(role=Role.SUPERVISOR.value, is_admin_role=False)]
        db.session.add(user)
        db.session.commit()
        notifications.TEXTS[KIND] = lambda p: f"紧急：线索 {p['number']}（{p['pseudonym']}）已移送，请登记。"
        return {"user_id": user.id}


def start_scheduler(url: str, *, smtp_port: int, sms_url: str, instance: Path) -> subprocess.Popen:
    env = {**os.environ,
           "CASEFLOW_DATABASE_URL": url, "CASEFLOW_INSTANCE_PATH": str(instance),
           "CASEFLOW_SECRET_KEY": secrets.token_hex(32), "CASEFLOW_DATA_KEY": secrets.token_hex(16),
           "CASEFLOW_BASE_URL": "http://caseflow.bench", "CASEFLOW_SMTP_HOST": "127.0.0.1",
           "CASEFLOW_SMTP_PORT": str(smtp_port), "CASEFLOW_SMS_GATEWAY_URL": sms_url,
           "CASEFLOW_SMS_TOKEN": "bench"}
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "caseflow"), "scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def run_backend(backend: str, args) -> dict:
    url, drop = create_database(backend)
    instance = Path(tempfile.mkdtemp(prefix="caseflow-bench-instance-"))
    arrivals = Arrivals()
    sms = http_receiver(arrivals, "sms")
    robot = http_receiver(arrivals, "webhook")
    controller, smtp_port = smtp_receiver(arrivals)
    robot_url = f"http://127.0.0.1:{robot.server_address[1]}/cgi-bin/webhook/send?key=bench"
    sms_url = f"http://127.0.0.1:{sms.server_address[1]}/sms"
    app = make_app(url, BENCH_ROBOT_URL=robot_url, CASEFLOW_SMS_GATEWAY_URL=sms_url,
                   CASEFLOW_BASE_URL="http://caseflow.bench")
    scheduler = None
    try:
        migrate_to_head(app)
        facts = setup(app)
        scheduler = start_scheduler(url, smtp_port=smtp_port, sms_url=sms_url, instance=instance)
        time.sleep(3)  # the scheduler's first round of jobs (sweeps on an empty database)
        if scheduler.poll() is not None:
            raise RuntimeError(f"the scheduler stopped: {scheduler.stderr.read()[-2000:]}")
        committed = run_handovers(app, facts, args)
        deadline = time.time() + args.settle
        expected = len(committed)
        while time.time() < deadline and any(len(arrivals.at[c]) < expected for c in CHANNELS):
            time.sleep(0.2)
    finally:
        if scheduler is not None and scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGTERM)
            try:
                scheduler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(scheduler.pid, signal.SIGKILL)
        controller.stop()
        sms.shutdown()
        robot.shutdown()
        with app.app_context():
            from caseflow.extensions import db

            db.engine.dispose()
        drop()
        shutil.rmtree(instance, ignore_errors=True)
    result = {}
    for channel in CHANNELS:
        latencies = [arrivals.at[channel][i] - committed[i] for i in committed if i in arrivals.at[channel]]
        result[channel] = {
            "n": len(latencies), "expected": len(committed), "duplicates": arrivals.duplicates[channel],
            "p50": percentile(latencies, 0.50) if latencies else float("nan"),
            "p95": percentile(latencies, 0.95) if latencies else float("nan"),
            "max": max(latencies) if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan")}
    return result


def run_handovers(app, facts: dict, args) -> dict[int, float]:
    """The hand-overs, each committed on its own; returns hand-over → commit time."""
    from caseflow.core.db import utcnow
    from caseflow.core.notifications.alerts import alert
    from caseflow.core.orgs.models import User
    from caseflow.extensions import db

    rng = random.Random(20261204)
    committed: dict[int, float] = {}
    with app.app_context():
        for i in range(1, args.handovers + 1):
            time.sleep(rng.expovariate(1 / args.gap))
            user = db.session.get(User, facts["user_id"])
            told = alert([user], event="urgent_referral", kind=KIND,
                         params={"number": f"测妇移〔2026〕{i}号", "pseudonym": f"小雨{i}"},
                         path=f"/bench/handover/{i}", dedupe=f"bench:{i}:sent", now=utcnow())
            assert told == [user]
            db.session.commit()
            committed[i] = time.time()
            db.session.expire_all()
    return committed


def report(results: dict) -> None:
    log()
    log(f"{'backend':<11} {'channel':<8} {'arrived':>9} {'dup':>4} {'p50 s':>7} {'p95 s':>7} "
        f"{'max s':>7} {'p95/60s':>8}")
    for backend, per_channel in results.items():
        for channel, f in per_channel.items():
            log(f"{backend:<11} {channel:<8} {f['n']:>4}/{f['expected']:<4} {f['duplicates']:>4} "
                f"{f['p50']:>7.2f} {f['p95']:>7.2f} {f['max']:>7.2f} {f['p95'] / GOAL_SECONDS:>8.3f}")
    if {"sqlite", "postgresql"} <= set(results):
        log()
        log("PostgreSQL / SQLite, same run:")
        for channel in CHANNELS:
            pg, lite = results["postgresql"][channel], results["sqlite"][channel]
            log(f"  {channel:<8} p50 {pg['p50'] / lite['p50']:.2f}   p95 {pg['p95'] / lite['p95']:.2f}")
    met = all(f["n"] == f["expected"] and f["p95"] <= GOAL_SECONDS
              for per_channel in results.values() for f in per_channel.values())
    log()
    log(f"Goal (every hand-over delivered on every channel, p95 within {GOAL_SECONDS:.0f} s of the "
        f"commit): {'met' if met else 'NOT met'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--handovers", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.5, help="mean seconds between hand-overs")
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds to wait after the last hand-over for the deliveries")
    args = parser.parse_args(argv)
    results = {}
    for backend in args.backends.split(","):
        log(f"{backend}: {args.handovers} hand-overs, one every {args.gap} s on average ...")
        results[backend] = run_backend(backend, args)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
