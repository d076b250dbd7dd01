"""The reminder sweep as separate ``caseflow`` processes, on a database of its own.

The other reminder tests call ``sweep()`` inside one rolled-back transaction. These start
the real programs, as the scheduler and an operator would, over hundreds to 1,500
due referrals, and look at what the processes leave in the database and in a real SMTP
server's mailbox:

* two ``caseflow reminders run`` started at the same moment: one ledger row per
  referral and stage, one notification and one e-mail per recipient, whoever wins;
* a sweep killed with SIGKILL half-way, then run again: nothing lost, nothing doubled,
  and ``caseflow outbox send`` hands each e-mail to the SMTP server exactly once.

PostgreSQL runs only when CASEFLOW_TEST_DATABASE_URL is set (CI sets it). SQLite, which
serialises writers (BEGIN IMMEDIATE, 15 s busy timeout), runs with fewer referrals, so
that the sweep the other one waits for stays well inside that timeout.
"""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.core.notifications.models import (DigestLedger, Notification, OutboxEmail,
                                                ReminderLedger)
from caseflow.core.orgs.models import User
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from caseflow.referrals import reminders
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import POSTGRES_URL, create_database, free_port, make_app, migrate_to_head

CASEFLOW = str(Path(sys.executable).parent / "caseflow")

#: The moment of the sweeps: Thursday 2026-11-12, 09:00 in Asia/Shanghai. After the digest
#: hour, so the daily digest is part of the race too; in the past, so that ``caseflow
#: outbox send``, which runs on the wall clock, finds the e-mails due.
AS_OF = "2026-11-12 09:00"
NOW = datetime(2026, 11, 12, 1, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 12)
#: Each referral has exactly one stage to send at AS_OF, the latest of its track; the
#: earlier ones, never sent, are recorded as skipped.
#: Due Mon 23 Nov: due_7 (seven working days before) to the handler; nothing earlier.
DUE_SOON = date(2026, 11, 23)
#: Due today: due_today to the handler and the supervisors; due_7, due_3, due_1 skipped.
DUE_TODAY = TODAY
#: Due Tuesday: overdue_1 (from Wednesday) to the supervisors and the sender's officer;
#: due_7, due_3, due_1 and due_today skipped.
DUE_OVERDUE = date(2026, 11, 10)
EXPECTED_STAGES = {
    DUE_SOON: ("due_7", []),
    DUE_TODAY: ("due_today", ["due_7", "due_3", "due_1"]),
    DUE_OVERDUE: ("overdue_1", ["due_7", "due_3", "due_1", "due_today"]),
}

#: Referrals per test and backend, sized to keep the module near a minute on two cores.
#: SQLite keeps one sweep far inside the 15 s busy timeout the other waits on. The killed
#: sweep needs no thousands to be caught half-way (it is watched, not timed, on
#: PostgreSQL); the delivery, one SMTP connection and one commit per e-mail (about 1.2
#: per referral), is what costs.
RACE_SIZE = {"postgresql": 1500, "sqlite": 500}
KILL_SIZE = {"postgresql": 600, "sqlite": 400}
#: SQLite: kill this far into the time a whole sweep took (margin for a faster rerun).
KILL_AT = 0.4

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="no PostgreSQL to run on: set CASEFLOW_TEST_DATABASE_URL "
                                 "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")),
]


def due_on(n: int) -> date:
    """Referral n's due date: one in ten overdue, one in ten due today, the rest soon."""
    return {0: DUE_OVERDUE, 1: DUE_TODAY}.get(n % 10, DUE_SOON)


# -- a database of its own, filled fast -----------------------------------------------------


class Site:
    """A migrated database of its own, the processes that run on it, and what it holds."""

    def __init__(self, backend: str, url: str, app, tmp_path: Path):
        self.backend, self.url, self.app, self.tmp_path = backend, url, app, tmp_path

    # -- processes

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
        env.update(CASEFLOW_DATABASE_URL=self.url, CASEFLOW_DEBUG="1",
                   CASEFLOW_TIMEZONE="Asia/Shanghai", CASEFLOW_BASE_URL="http://caseflow.test",
                   CASEFLOW_SECURE_COOKIES="0", CASEFLOW_MAIL_FROM="caseflow@caseflow.test",
                   CASEFLOW_INSTANCE_PATH=str(self.tmp_path / "instance"), **extra)
        return env

    def start(self, *args, **env) -> subprocess.Popen:
        return subprocess.Popen([CASEFLOW, *args], env=self.env(**env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args, timeout: float = 180, **env) -> subprocess.CompletedProcess:
        result = subprocess.run([CASEFLOW, *args], env=self.env(**env), capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, (
            f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr[-3000:]}")
        return result

    # -- data

    def seed(self, count: int) -> None:
        """The test world, its people, and ``count`` registered referrals inserted in one
        executemany (as services.register leaves them; every CHECK constraint holds)."""
        with self.app.app_context():
            world = factories.build_world(now=NOW - timedelta(days=60))
            sender = factories.make_user(world, roles={Role.FEDERATION_OFFICER},
                                         org=world.federation)
            handlers = [factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
                        for _ in range(3)]
            supervisor = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                             org=world.department5)
            # Reads English; hears of due and overdue referrals in the app and by the digest.
            digest_supervisor = factories.make_user(world, roles={Role.SUPERVISOR},
                                                    org=world.department5, locale="en")
            digest_supervisor.email_preference = "digest"
            person = factories.make_person(world, sender)
            self.ids = dict(sender=sender.id, handlers=[u.id for u in handlers],
                            supervisor=supervisor.id, digest_supervisor=digest_supervisor.id)
            created = NOW - timedelta(days=40)
            rows = []
            for n in range(1, count + 1):
                due = due_on(n)
                received = due - timedelta(days=31)
                rows.append(dict(
                    state="registered", direction="to_procuratorate",
                    sender_org_id=world.federation.id, receiver_org_id=world.department5.id,
                    created_by_id=sender.id, person_id=person.id, submission_token=uuid.uuid4().hex,
                    number=f"测妇移〔2026〕{n}号", number_year=2026, number_seq=n,
                    source="petition_reception", circumstances="丈夫因刑事案件去世，家庭陷入困境。",
                    help_requested=["judicial_aid"], is_urgent=False,
                    consent_on=received - timedelta(days=3), consent_method="written",
                    sent_at=created, received_on=received,
                    registration_due_on=received + timedelta(days=3),
                    registered_at=created + timedelta(days=1), registration_number=f"登-{n}",
                    handler_id=handlers[n % len(handlers)].id,
                    statutory_due_on=due, due_is_provisional=False, reply_due_on=due,
                    version=1, created_at=created, updated_at=created,
                ))
            _db.session.execute(sa.insert(Referral.__table__), rows)
            _db.session.commit()
            _db.engine.dispose()  # nothing of ours holds a connection (or SQLite's lock)
        self.count = count

    def expected(self) -> dict:
        """What one complete sweep at AS_OF leaves, worked out from the referrals' due
        dates and who is who, independently of the sweep's own code."""
        with self.app.app_context():
            refs = _db.session.execute(sa.select(Referral.id, Referral.reply_due_on,
                                                 Referral.received_on, Referral.handler_id)).all()
            _db.session.rollback()
        sup, digest = self.ids["supervisor"], self.ids["digest_supervisor"]
        sender = self.ids["sender"]
        ledger, notifications, emails = {}, set(), set()
        for ref in refs:
            sent, skipped = EXPECTED_STAGES[ref.reply_due_on]
            suffix = f"@{ref.received_on}"
            ledger.update({(ref.id, s + suffix): "skipped" for s in skipped})
            ledger[(ref.id, sent + suffix)] = "sent"
            if sent == "due_7":
                hear = mailed = [(ref.handler_id, "referral.due_soon")]
            elif sent == "due_today":
                hear = [(ref.handler_id, "referral.due_today"), (sup, "referral.due_today"),
                        (digest, "referral.due_today")]
                mailed = hear[:2]  # the digest supervisor's e-mail is the daily digest
            else:
                hear = [(sup, "referral.overdue"), (digest, "referral.overdue"),
                        (sender, "referral.reply_late")]
                mailed = [hear[0], hear[2]]
            notifications.update((user, f"/referrals/{ref.id}", kind) for user, kind in hear)
            emails.update(f"referral:{ref.id}:{sent}{suffix}:{user}:{kind}"
                          for user, kind in mailed)
        emails.add(f"digest:{digest}:{TODAY.isoformat()}")
        return dict(ledger=ledger, notifications=notifications, emails=emails)

    def actual(self) -> dict:
        with self.app.app_context():
            ledger = _db.session.execute(sa.select(
                ReminderLedger.subject_id, ReminderLedger.stage, ReminderLedger.outcome)).all()
            notifications = Counter(tuple(row) for row in _db.session.execute(
                sa.select(Notification.user_id, Notification.link, Notification.kind)))
            emails = Counter(_db.session.scalars(sa.select(OutboxEmail.dedupe_key)))
            digests = _db.session.scalar(sa.select(sa.func.count(DigestLedger.id)))
            _db.session.rollback()  # on SQLite even a read holds the write lock until it ends
        return dict(ledger=ledger, notifications=notifications, emails=emails, digests=digests)

    def counts(self) -> dict:
        with self.app.app_context():
            counts = {model.__tablename__: _db.session.scalar(
                sa.select(sa.func.count()).select_from(model))
                for model in (ReminderLedger, Notification, OutboxEmail, DigestLedger)}
            _db.session.rollback()
        return counts

    def assert_exactly_once(self) -> None:
        """Every due stage once in the ledger (sent or skipped as it should be), each
        recipient notified once and e-mailed once, one digest: nothing missing, nothing
        doubled."""
        want, got = self.expected(), self.actual()
        assert_no_doubles("ledger rows",
                          Counter((subject, stage) for subject, stage, _ in got["ledger"]))
        assert_same("ledger", want["ledger"].items(),
                    [((subject, stage), outcome) for subject, stage, outcome in got["ledger"]])
        assert_no_doubles("notifications", got["notifications"])
        assert_same("notifications", want["notifications"], got["notifications"])
        assert_no_doubles("e-mails", got["emails"])
        assert_same("e-mails", want["emails"], got["emails"])
        assert got["digests"] == 1

    # -- watching a sweep from outside

    def ledger_rows_claimed(self, conn) -> int:
        """PostgreSQL: ledger rows inserted so far, committed or not. Sequences are not
        transactional, so the id sequence shows a sweep's progress while it runs."""
        return conn.execute(sa.text(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
            "FROM reminder_ledger_id_seq")).scalar()

    def sqlite_locked(self) -> bool:
        """SQLite: does some process hold the write lock (an open sweep transaction)?"""
        probe = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            assert "locked" in str(error), error
            return True
        finally:
            if probe.in_transaction:
                probe.execute("ROLLBACK")
            probe.close()
        return False

    def lock_taken_mid_sweep(self) -> int:
        """SQLite: wait for the write lock as a web request would (15 s), then 1 when the
        reminder ledger is partly written (so the lock was had between two batches of a
        sweep), else 0."""
        probe = sqlite3.connect(self.sqlite_path, timeout=15, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            sent = probe.execute("SELECT count(*) FROM reminder_ledger WHERE outcome = 'sent'"
                                 ).fetchone()[0]
            return int(0 < sent < self.count)
        except sqlite3.OperationalError as error:
            assert "locked" in str(error), error
            return 0
        finally:
            if probe.in_transaction:
                probe.execute("ROLLBACK")
            probe.close()

    def copy_sqlite(self, target: Path) -> None:
        """A copy of the SQLite database, by SQLite's backup API and with our own
        connections closed first. (Copying the file with Python's own open()/close()
        would drop the POSIX locks an open SQLite connection of this process holds on
        it, and the processes writing next would corrupt the database.)"""
        with self.app.app_context():
            _db.engine.dispose()
        source, copy = sqlite3.connect(self.sqlite_path), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()

    @property
    def sqlite_path(self) -> str:
        return sa.make_url(self.url).database


def assert_no_doubles(what: str, counter: Counter) -> None:
    doubled = {key: n for key, n in counter.items() if n > 1}
    assert not doubled, f"{what} doubled ({len(doubled)}), e.g. {sorted(doubled.items())[:5]}"


def assert_same(what: str, want, got) -> None:
    want, got = set(want), set(got)
    missing, unexpected = want - got, got - want
    assert not missing and not unexpected, (
        f"{what}: {len(missing)} missing, e.g. {sorted(missing)[:5]}; "
        f"{len(unexpected)} unexpected, e.g. {sorted(unexpected)[:5]}")


@pytest.fixture(params=BACKENDS)
def site(request, tmp_path):
    """A new migrated database (not the suite's shared one): the processes commit."""
    url, drop = create_database(request.param, tmp_path)
    app = make_app(url)
    migrate_to_head(app)
    yield Site(request.param, url, app, tmp_path)
    with app.app_context():
        _db.engine.dispose()
    drop()


def queued(output: str) -> int:
    """The N of "N reminders queued (…)", the line ``caseflow reminders run`` prints."""
    line = output.strip().splitlines()[-1] if output.strip() else ""
    assert " reminders queued (" in line, output
    return int(line.split()[0])


def finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args} still running after {timeout} s; stderr: {err[-2000:]}")
    return process.returncode, out, err


# -- 1. two sweeps at the same moment ------------------------------------------------------


def test_two_sweeps_started_together_send_each_stage_once(site):
    site.seed(RACE_SIZE[site.backend])
    started = time.monotonic()
    # Both launched before either is waited on: they load the app side by side and reach
    # the database within moments of each other.
    sweeps = [site.start("reminders", "run", "--as-of", AS_OF) for _ in range(2)]
    overlap = watch_postgresql(site, sweeps) if site.backend == "postgresql" else None
    results = [finish(sweep) for sweep in sweeps]
    elapsed = time.monotonic() - started
    for code, out, err in results:
        assert code == 0, f"a sweep failed: exit {code}\n{out}\n{err[-3000:]}"
    split = [queued(out) for _, out, _ in results]
    print(f"\n{site.backend}: {site.count} referrals, two sweeps queued {split} in {elapsed:.1f} s"
          + (f"; {overlap}" if overlap else ""))
    assert sum(split) == site.count, f"the sweeps queued {split} for {site.count} due referrals"
    if overlap:
        assert overlap["both_open"], "the two sweeps never had a transaction open at the same time"
    site.assert_exactly_once()


def watch_postgresql(site: Site, processes) -> dict:
    """While the sweeps run: were both inside a transaction at once, and did one wait
    for a lock the other held (the ledger row it had claimed)?"""
    engine = sa.create_engine(site.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    seen = {"both_open": False, "lock_waits_seen": 0}
    try:
        with engine.connect() as conn:
            while any(p.poll() is None for p in processes):
                open_, waiting = conn.execute(sa.text(
                    "SELECT count(*) FILTER (WHERE xact_start IS NOT NULL), "
                    "       count(*) FILTER (WHERE wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()")).one()
                seen["both_open"] |= open_ >= 2
                seen["lock_waits_seen"] += waiting
                time.sleep(0.05)
    finally:
        engine.dispose()
    return seen


# -- 2. a sweep killed half-way, then run again, then delivered ----------------------------


class Inbox:
    """A real SMTP server's (aiosmtpd) handler that only records what arrives."""

    def __init__(self):
        self.envelopes: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            server_hostname="smtp.caseflow.test")
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def kill_half_way(site: Site, expected_ledger_rows: int) -> str:
    """Start a sweep and SIGKILL it in the middle: on PostgreSQL once it has claimed
    about half the ledger rows (uncommitted); on SQLite, which shows nothing of an open
    transaction, some way into the time a whole sweep of a copy of the database took."""
    if site.backend == "postgresql":
        engine = sa.create_engine(site.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with engine.connect() as conn:
            sweep = site.start("reminders", "run", "--as-of", AS_OF)
            deadline = time.monotonic() + 120
            while (claimed := site.ledger_rows_claimed(conn)) < expected_ledger_rows // 2:
                assert sweep.poll() is None, f"the sweep ended before half-way: {finish(sweep)}"
                assert time.monotonic() < deadline, "the sweep made no progress"
                time.sleep(0.01)
            sweep.send_signal(signal.SIGKILL)
            code, out, _ = finish(sweep)
            # The server notices the client is gone and rolls its transaction back.
            while conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL")).scalar():
                assert time.monotonic() < deadline, "the killed sweep's transaction stays open"
                time.sleep(0.01)
        engine.dispose()
        where = f"after {claimed} of {expected_ledger_rows} ledger rows claimed"
    else:
        full = timed_sqlite_sweep(site)
        sweep = site.start("reminders", "run", "--as-of", AS_OF)
        locked_at = wait_for_sqlite_lock(site, sweep)
        time.sleep(full * KILL_AT)
        assert sweep.poll() is None, f"the sweep ended before half-way: {finish(sweep)}"
        sweep.send_signal(signal.SIGKILL)
        code, out, _ = finish(sweep)
        where = (f"{time.monotonic() - locked_at:.1f} s into its transaction "
                 f"(a whole sweep of a copy took {full:.1f} s)")
    assert code == -signal.SIGKILL and "reminders queued" not in out, (code, out)
    return where


def wait_for_sqlite_lock(site: Site, sweep: subprocess.Popen) -> float:
    deadline = time.monotonic() + 60
    while not site.sqlite_locked():
        assert sweep.poll() is None, f"the sweep ended before it was seen: {finish(sweep)}"
        assert time.monotonic() < deadline, "the sweep never began"
        time.sleep(0.005)
    return time.monotonic()


def timed_sqlite_sweep(site: Site) -> float:
    """Seconds one whole sweep takes on this machine: the sweep itself, run here on a
    copy of the database (the process to be killed does the same work)."""
    copy = site.tmp_path / "calibration.db"
    site.copy_sqlite(copy)
    app = make_app(f"sqlite:///{copy}")
    with app.app_context():
        began = time.monotonic()
        assert reminders.sweep(now=NOW).stages_sent == site.count
        _db.session.commit()
        took = time.monotonic() - began
        _db.engine.dispose()
    return took


def test_a_sweep_killed_half_way_then_rerun_loses_nothing_and_doubles_nothing(site, smtp_inbox):
    assert datetime.now(timezone.utc) > NOW, "this machine's clock is before AS_OF"
    site.seed(KILL_SIZE[site.backend])
    expected = site.expected()
    started = time.monotonic()

    where = kill_half_way(site, len(expected["ledger"]))
    # The sweep commits a batch of referrals at a time: what the killed one left is whole
    # referrals (each with all its stages, notifications and e-mails), and no more.
    left = site.actual()
    done = {subject for subject, _stage, outcome in left["ledger"] if outcome == "sent"}
    assert len(done) < site.count, "the sweep was killed after it had finished"
    assert {subject for subject, _s, _o in left["ledger"]} == done
    assert {link for _user, link, _kind in left["notifications"]} == {f"/referrals/{i}" for i in done}
    assert {key.split(":")[1] for key in left["emails"]} == {str(i) for i in done}
    assert left["digests"] == 0
    killed = time.monotonic()

    rerun = site.run("reminders", "run", "--as-of", AS_OF)
    assert queued(rerun.stdout) == site.count - len(done), rerun.stdout
    site.assert_exactly_once()
    swept = time.monotonic()

    delivery = site.run("outbox", "send", CASEFLOW_SMTP_HOST="127.0.0.1",
                        CASEFLOW_SMTP_PORT=str(smtp_inbox.port))
    delivered = time.monotonic()
    with site.app.app_context():
        outbox = {row.id: row for row in _db.session.execute(sa.select(
            OutboxEmail.id, OutboxEmail.to_address, OutboxEmail.status, OutboxEmail.attempts))}
        _db.session.rollback()
    assert len(outbox) == len(expected["emails"])
    assert delivery.stdout.strip() == f"{len(outbox)} sent, 0 failed", delivery.stdout
    assert all(row.status == "sent" and row.attempts == 1 for row in outbox.values())

    # Each e-mail reached the SMTP server exactly once, to its recipient.
    arrived = Counter()
    for recipients, content in smtp_inbox.envelopes:
        headers = BytesHeaderParser().parsebytes(content)
        outbox_id = int(re.search(r"\.outbox-(\d+)@caseflow>", headers["Message-ID"]).group(1))
        arrived[outbox_id] += 1
        assert recipients == [outbox[outbox_id].to_address]
    assert_no_doubles("e-mails delivered", arrived)
    assert_same("e-mails delivered", outbox, arrived)
    print(f"\n{site.backend}: {site.count} referrals; sweep killed {where}, {len(done)} done "
          f"({killed - started:.1f} s), rerun {swept - killed:.1f} s, "
          f"{len(outbox)} e-mails delivered in {delivered - swept:.1f} s")


# -- 3. web writes while two sweeps run (SQLite, the embedded default) --------------------


def test_web_writes_go_through_while_two_sweeps_run_on_sqlite(tmp_path):
    """SQLite has one writer at a time. The sweep takes the write lock a batch at a time,
    so a web request that writes waits at most one batch, and nothing fails with
    "database is locked": two sweeps and a loop of signed-in POSTs, all succeed. And the
    lock is seen free while the ledger is partly written (between batches), which a sweep
    in one transaction never allows."""
    url, drop = create_database("sqlite", tmp_path)
    app = make_app(url)
    migrate_to_head(app)
    site = Site("sqlite", url, app, tmp_path)
    try:
        site.seed(RACE_SIZE["sqlite"])
        with app.app_context():
            supervisor = _db.session.get(User, site.ids["supervisor"]).username
            _db.session.rollback()
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/login", data={"username": supervisor, "password": factories.PASSWORD,
                                           "csrf_token": token}).status_code == 302
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/notifications").get_data(as_text=True)).group(1)
        sweeps = [site.start("reminders", "run", "--as-of", AS_OF) for _ in range(2)]
        latencies, failures, gaps_mid_sweep = [], [], 0
        while any(p.poll() is None for p in sweeps):
            began = time.monotonic()
            response = client.post("/notifications/read-all", data={"csrf_token": token})
            latencies.append(time.monotonic() - began)
            # Done and back to the notifications: still signed in, the write went through.
            if response.status_code != 302 or "/login" in response.location:
                failures.append((response.status_code, response.location))
            gaps_mid_sweep += site.lock_taken_mid_sweep()
        results = [finish(p) for p in sweeps]
        for code, out, err in results:
            assert code == 0, f"a sweep failed: exit {code}\n{out}\n{err[-3000:]}"
        assert failures == [], f"web writes failed during the sweeps: {failures}"
        assert sum(queued(out) for _, out, _ in results) == site.count
        assert gaps_mid_sweep > 0, "nobody else had the write lock while a sweep was under way"
        site.assert_exactly_once()
        latencies.sort()
        print(f"\nsqlite: {site.count} referrals, two sweeps; {len(latencies)} web writes, "
              f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
              f"max {latencies[-1] * 1000:.0f} ms; lock had mid-sweep {gaps_mid_sweep} times")
    finally:
        with app.app_context():
            _db.engine.dispose()
        drop()
