"""The real thing, as the units in deploy/ run it: gunicorn with deploy/gunicorn.conf.py
and two workers, and ``caseflow scheduler``, as separate processes with one environment,
on a database of their own (PostgreSQL when CASEFLOW_TEST_DATABASE_URL is set; SQLite
otherwise), e-mail going to a real SMTP server (aiosmtpd) on this machine.

Over HTTP, with a cookie jar and each form's CSRF token as a browser sends them: a
federation officer signs in, files a referral and sends it; a prosecutor signs in and
registers it. The scheduler's outbox delivery hands the hand-over e-mails to the SMTP
server, and its first reminder sweep the reminder of a referral seeded overdue. Then
SIGTERM to both: each exits 0 within a bounded time, and gunicorn's workers are gone.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.core.db import local_date
from caseflow.core.notifications.models import AlertPreference, OutboxEmail
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import POSTGRES_URL, Mailbox, create_database, free_port, make_app, migrate_to_head
from tests.servers import first_answer
from tests.referrals.helpers import Cast

VENV_BIN = Path(sys.executable).parent
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_token"[^>]*value="([^"]*)"')

#: PostgreSQL, the production database, when there is one to run on; else SQLite, so that
#: the services are always run (both would double the module's ~25 s).
BACKENDS = ["postgresql"] if POSTGRES_URL else ["sqlite"]


class Browser:
    """One person's browser: a cookie jar, no automatic redirects, forms with the CSRF
    token of the page they are on."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  self._NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, Location, page)."""
        body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx, 5xx
            return answer.code, answer.headers.get("Location", ""), answer.read().decode()

    def page(self, path: str) -> str:
        status, _, page = self.request(path)
        assert status == 200, f"GET {path}: {status}\n{page[:500]}"
        return page

    def submit(self, path: str, data: dict, *, page: str | None = None) -> tuple[int, str, str]:
        html = self.page(page or path)
        return self.request(path, {**data, "csrf_token": CSRF.search(html).group(1)})

    def sign_in(self, username: str) -> None:
        status, location, page = self.submit("/login", {"username": username,
                                                        "password": factories.PASSWORD})
        assert status == 302 and "/login" not in location, f"sign-in: {status}\n{page[:500]}"


class Site:
    """A migrated database of its own with a world in it, and the two services on it."""

    def __init__(self, backend: str, tmp_path: Path, smtp_port: int):
        self.tmp_path = tmp_path
        self.url, self.drop = create_database(backend, tmp_path)
        keys = dict(SECRET_KEY=secrets.token_hex(32), CASEFLOW_DATA_KEY=secrets.token_hex(16))
        app = make_app(self.url, **keys)
        migrate_to_head(app)
        from caseflow.extensions import db as _db

        with app.app_context():
            now = datetime.now(timezone.utc)
            world = factories.build_world(now=now - timedelta(days=120))
            cast = Cast(world)
            # Registered 90 days ago, its reply due some 60 days ago: the first sweep sends
            # its overdue reminder.
            overdue = cast.registered(now - timedelta(days=90))
            self.overdue_id, self.overdue_number = overdue.id, overdue.number
            # The receiving supervisor and the officer chose e-mail for hand-overs (the
            # preferences page; by default hand-overs are told in the app only).
            for user in (cast.proc_supervisor, cast.officer):
                _db.session.add(AlertPreference(user_id=user.id, event="handover",
                                                channel="email", enabled=True))
            self.officer, self.prosecutor = cast.officer.username, cast.prosecutor.username
            self.prosecutor_id, self.person_id = cast.prosecutor.id, cast.person.id
            self.receiver_id = world.department5.id
            _db.session.commit()
            _db.engine.dispose()
        self.engine = sa.create_engine(self.url)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
        # What /etc/caseflow/caseflow.env holds, but plain HTTP on this machine.
        self.env.update(
            CASEFLOW_DATABASE_URL=self.url, CASEFLOW_SECRET_KEY=keys["SECRET_KEY"],
            CASEFLOW_DATA_KEY=keys["CASEFLOW_DATA_KEY"], CASEFLOW_DEBUG="0",
            CASEFLOW_SECURE_COOKIES="0", CASEFLOW_TRUSTED_PROXIES="127.0.0.1",
            CASEFLOW_BASE_URL=self.base, CASEFLOW_TIMEZONE="Asia/Shanghai",
            CASEFLOW_SMTP_HOST="127.0.0.1", CASEFLOW_SMTP_PORT=str(smtp_port),
            CASEFLOW_MAIL_FROM="caseflow@caseflow.test",
            CASEFLOW_INSTANCE_PATH=str(tmp_path / "instance"),
            CASEFLOW_ATTACHMENT_DIR=str(tmp_path / "instance" / "attachments"),
            CASEFLOW_METRICS_DIR=str(tmp_path / "instance" / "metrics"),
            CASEFLOW_METRICS_TOKEN=secrets.token_urlsafe(16),
        )
        self.web = self.scheduler = None

    def start(self) -> None:
        logs = self.tmp_path / "logs"
        logs.mkdir()
        self.web_log, self.scheduler_log = logs / "web.log", logs / "scheduler.log"
        self.web = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"),
             "--workers", "2", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=self.web_log.open("w"), stderr=subprocess.STDOUT)
        self.scheduler = subprocess.Popen(
            [str(VENV_BIN / "caseflow"), "scheduler"],
            env=self.env, stdout=self.scheduler_log.open("w"), stderr=subprocess.STDOUT)
        logs = {self.web.pid: self.web_log, self.scheduler.pid: self.scheduler_log}
        first_answer(self.port, "/login", self.web, self.scheduler,
                     accept=lambda status: status == 200,
                     output=lambda process: logs[process.pid].read_text())

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def outbox(self, key_like: str) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(OutboxEmail.to_address, OutboxEmail.subject,
                                               OutboxEmail.status)
                                     .where(OutboxEmail.dedupe_key.like(key_like))))

    def outbox_keys(self) -> list:
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                sa.select(OutboxEmail.dedupe_key, OutboxEmail.status, OutboxEmail.to_address,
                          OutboxEmail.subject))]

    def close(self) -> None:
        for process in (self.web, self.scheduler):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        self.engine.dispose()
        self.drop()


def arrived(mailbox: Mailbox, rows: list) -> bool:
    """Every outbox row sent, and a message with its recipient and subject, as written,
    received."""
    received = {(tuple(m["to"]), m["subject"]) for m in mailbox.messages}
    return bool(rows) and all(
        r.status == "sent" and ((r.to_address,), r.subject) in received for r in rows)


def wait_for(what: str, check, *, seconds: float, site: Site, mailbox: Mailbox):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, (
            f"{what}: not within {seconds:.0f} s\n--- outbox\n{site.outbox_keys()}\n"
            f"--- received\n{[(m['to'], m['subject']) for m in mailbox.messages]}\n"
            f"--- scheduler\n{site.scheduler_log.read_text()[-3000:]}")
        time.sleep(0.25)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_services_serve_a_journey_send_its_mail_and_stop_cleanly(backend, tmp_path):
    from aiosmtpd.controller import Controller

    started = time.monotonic()
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    site = Site(backend, tmp_path, smtp_port)
    try:
        seeded = time.monotonic()
        site.start()
        up = time.monotonic()
        workers = site.workers()
        assert len(workers) == 2

        # The officer files a referral for a person on record and sends it.
        officer = Browser(site.base)
        officer.sign_in(site.officer)
        form = officer.page("/referrals/new")
        today = local_date(datetime.now(timezone.utc)).isoformat()
        status, location, page = officer.request("/referrals/new", {
            "csrf_token": CSRF.search(form).group(1),
            "submission_token": SUBMISSION.search(form).group(1),
            "person_id": str(site.person_id), "pseudonym": "", "real_name": "", "resident_id": "",
            "phone": "", "address": "", "receiver_org_id": str(site.receiver_id),
            "source": "hotline", "circumstances": "热线反映家庭困难", "help_requested": ["counselling"],
            "consent_on": today, "consent_method": "oral_recorded"})
        assert status == 302, page[:1000]
        referral_id = int(re.search(r"/referrals/(\d+)$", location).group(1))
        status, _, page = officer.submit(f"/referrals/{referral_id}/send", {},
                                         page=f"/referrals/{referral_id}")
        assert status == 302, page[:1000]

        # The prosecutor registers it and names herself the handler.
        prosecutor = Browser(site.base)
        prosecutor.sign_in(site.prosecutor)
        status, _, page = prosecutor.submit(
            f"/referrals/{referral_id}/register",
            {"registration_number": f"登-{uuid.uuid4().hex[:6]}", "received_on": today,
             "handler_id": str(site.prosecutor_id)}, page=f"/referrals/{referral_id}")
        assert status == 302, page[:1000]
        with site.engine.connect() as conn:
            assert conn.execute(sa.select(Referral.state).where(Referral.id == referral_id)
                                ).scalar_one() == "registered"
        journey = time.monotonic()

        # The hand-overs (sent: the receiving supervisors; registered: the sender's
        # officer) and the first sweep's reminder of the overdue referral reach the
        # SMTP server, each as the outbox row says.
        for what, key in (("the hand-over e-mails of the send", f"referral:{referral_id}:referral.sent%"),
                          ("the hand-over e-mails of the registration",
                           f"referral:{referral_id}:referral.registered%"),
                          ("the sweep's reminder of the overdue referral",
                           f"referral:{site.overdue_id}:overdue%")):
            wait_for(what, lambda key=key: arrived(mailbox, site.outbox(key)), seconds=30, site=site,
                     mailbox=mailbox)
        reminder_subjects = {r.subject for r in site.outbox(f"referral:{site.overdue_id}:overdue%")}
        assert any(site.overdue_number in m["body"] for m in mailbox.messages
                   if m["subject"] in reminder_subjects), "the reminder names no referral"
        mailed = time.monotonic()

        # systemd's stop: SIGTERM to each main process.
        site.web.send_signal(signal.SIGTERM)
        site.scheduler.send_signal(signal.SIGTERM)
        assert site.web.wait(timeout=35) == 0, site.web_log.read_text()[-3000:]
        assert site.scheduler.wait(timeout=35) == 0, site.scheduler_log.read_text()[-3000:]
        stopped = time.monotonic()
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists(), f"gunicorn worker {pid} outlived its master"
        scheduler_log = site.scheduler_log.read_text()
        assert "scheduler stopping on SIGTERM" in scheduler_log and "scheduler stopped" in scheduler_log
        # The access log: each request with its time.
        web_log = site.web_log.read_text()
        assert re.search(rf'"POST /referrals/{referral_id}/register HTTP/1.1" 302 \d+ \d+ms', web_log), (
            web_log[-2000:])
        print(f"\n{backend}: database {seeded - started:.1f} s, services up {up - seeded:.1f} s, "
              f"journey {journey - up:.1f} s, e-mails {mailed - journey:.1f} s "
              f"({len(mailbox.messages)} received), stop {stopped - mailed:.1f} s")
    finally:
        site.close()
        smtp.stop()
