#!/usr/bin/env python
"""The reminder sweep with 1,000 referrals due, over 10,000 and 1,000,000 referrals in all.

    .venv/bin/python bench/sweep.py [--sizes 10000,1000000] [--backends sqlite,postgresql]
        [--due 1000] [--repeat 3] [--warmup 1] [--upcoming 500] [--batch 10000]
        [--also noidx|none] [--now 2026-11-27T01:00:00+00:00]
        [--no-writes] [--write-gap-ms 20] [--baseline-seconds 3]

For each backend the script builds a scratch database by the migrations, loads the demo
organisations and users (not the demo referrals: they would add stages of their own),
then grows the same database to each size in turn by SQLAlchemy Core bulk inserts, in
batches of one transaction each, and ANALYZEs it. What it holds:

* ``--due`` registered referrals whose reply is due on the sweep's day: each has one
  stage to send (``due_today``, to the handler and the supervisors) and three stale ones
  to record as skipped (``due_7``, ``due_3``, ``due_1``). This is the work that is due,
  the same at every size;
* ``--upcoming`` open referrals (sent or registered) due in 20 to 33 days: inside the
  sweep's look-ahead, no stage yet (the same at every size);
* the rest, the archive, which grows with the size: 96 % finished (closed, replied,
  withdrawn, returned) with due dates in the past six years, 3 % open but due far in the
  future (extended, 46 to 400 days ahead), 1 % drafts.

Every row satisfies the CHECK constraints of ``referrals`` (numbers, sent/registered/
replied timestamps, handler, consent, return reason, extension reason). The persons are
shared now and then, as a sender refers the same woman twice; no timeline events (the
sweep does not read them).

One sweep is measured in a fresh process (so that its RSS high-water mark is the sweep's,
not the seeding's): the app is built by ``tests.conftest.make_app``; in an app context
``caseflow.referrals.reminders.sweep(now=...)`` runs and the session is committed, as
the scheduler does. The sweep commits as it goes (a batch of ``BATCH`` referrals per
transaction), so a rollback no longer undoes it (the script did that until the sweep was
batched): after each sweep every row added since the start (ledger, notifications,
outbox e-mails and messages, digest ledger, job item failures, undeliverable alerts) is
deleted by id in a transaction of its own, untimed, so each repeat does the same work;
the rows per table that the last sweep wrote are printed, and so are any row counts
that still differ from the start at the end (none expected). The time includes the
sweep's own commits and, on SQLite, its pauses between batches (``SQLITE_PAUSE_SECONDS``);
the CPU time does not include the pauses. ``--warmup`` untimed sweeps, ``--repeat`` timed
ones (perf_counter, median), then one more under tracemalloc for the peak of traced
memory (tracemalloc slows Python down, so it is not timed). Each sweep's SQL statements
are counted (``before_cursor_execute``), by kind, so that per-row queries show; the two
statements that read referrals (the sweep's selection and the digest's query) are run
again on their own, fetched to the last row, and EXPLAINed. Memory: tracemalloc's peak,
and the process's resident high-water mark (VmHWM, reset before the sweeps; getrusage's
ru_maxrss is printed too, but after fork+exec Linux leaves the parent's in it).

At each size the sweep is measured as it is, and (``--also noidx``, the default) once
more on the same data with the two partial indexes of migration 0006 dropped for the
measurement and then put back: the "before", shown but not the verdict. Without them
both databases walked every referral ever due for the digest's query and scanned the
whole table for the sweep's selection (seconds at 1,000,000 referrals).

Lock holds (issue 12): every transaction of each timed sweep is timed, on SQLite from the
return of the app's ``BEGIN IMMEDIATE`` (caseflow/core/db.py: the database's one write
lock) to the return of the COMMIT or ROLLBACK (the dialect's ``do_commit``/``do_rollback``
wrapped; SQLAlchemy's ``commit`` event fires before the COMMIT runs); on PostgreSQL, which
locks rows and never the whole database, from the engine's ``begin`` (the transaction's
length, for comparison). Printed: the count, the longest (with its statements, its
time in SQL and the kinds of statement it spent most on), the median, the sum. Then the
same sweep with ``reminders.BATCH`` set to 10**9 in the measuring process (one
transaction for all the due referrals, as before batching; no pauses then either),
``--repeat`` times, for the ratio of the longest holds.

Web writes during a sweep: a supervisor of the receiving department (the demo's
``proc.head``, told of every due referral) signs in through Flask's test client on the
same database (an app of its own, its own engine and connections) and POSTs
``/notifications/read-all`` with its CSRF token every ``--write-gap-ms``, (1) for
``--baseline-seconds`` with no sweep, (2) while a sweep runs in a process of its own (this
script, a hidden mode) with the app's ``BATCH``, (3) while one runs with ``BATCH`` = 10**9;
each loop starts when the sweep process is about to call ``sweep()`` and stops when it
ends. Printed: writes, latency p50/p95/max, errors (non-redirect answers and exceptions,
"database is locked" among them), and that sweep's time and lock holds. The rows added are
deleted after each. Only the sweep as it is, not the ``noidx`` variant.

Goal (issue 12): no web write fails while the batched sweep runs (the verdict, on each
backend and size). Goal (the issue before it): the sweep's cost grows with the work that is due, not with the
archive: at the largest size it costs at most 1.5 times what it costs at the smallest,
and memory stays flat (traced peak at most 1.25 times); judged only with two sizes or more.
The load average of the machine is printed with each measurement.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database. SQLite: a temporary file.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from caseflow.extensions import db  # noqa: E402
from bench.scratch import create_database  # noqa: E402
from tests.conftest import make_app, migrate_to_head  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
#: The sweep's moment: 09:00 on Friday 2026-11-27 in Asia/Shanghai (the tests' "now"),
#: after the daily digest hour, so the digest is part of the sweep too.
DEFAULT_NOW = "2026-11-27T01:00:00+00:00"
HISTORY_DAYS = 6 * 365
GOAL_TIME = 1.5
GOAL_MEMORY = 1.25
#: ``BATCH`` for the comparison: every due referral in one transaction, as before batching.
ONE_TRANSACTION = 10**9


def log(message: str = "") -> None:
    print(message, flush=True)


# -- the organisations and users --------------------------------------------------------------


def build_world(now: datetime) -> dict:
    """The demo organisations and users (without the demo referrals), one handling account
    in each organisation that has none, and the federation's supervisor on the daily
    digest (so that the sweep sends one). Returns what the seeder needs."""
    from caseflow.core import demo
    from caseflow.core.demo import DEMO_PASSWORD, load_demo
    from caseflow.core.orgs import services as org_services
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.orgs.roles import OrganisationKind, Role
    from caseflow.core.orgs.services import subtree_ids
    from caseflow.referrals.policy import HANDLING_ROLES

    saved = list(demo.DEMO_STEPS)
    demo.DEMO_STEPS.clear()  # no demo referrals: their deadlines would add stages
    try:
        load_demo(now=now, log=lambda message: None)
    finally:
        demo.DEMO_STEPS[:] = saved
    db.session.flush()
    for org in db.session.scalars(sa.select(Organisation).order_by(Organisation.code)):
        if org.kind == OrganisationKind.PARTNER.value:
            continue
        if db.session.scalar(sa.select(sa.func.count(User.id)).where(User.organisation_id == org.id)):
            continue
        role = (Role.FEDERATION_OFFICER if org.kind == OrganisationKind.FEDERATION.value
                else Role.PROSECUTOR)
        org_services.create_account(
            actor=None, now=now, username=f"bench.{org.code}", display_name=f"{org.short_name}经办人",
            email=f"bench.{org.code}@bench.example.com", organisation=org, password=DEMO_PASSWORD,
            roles=frozenset({role}), is_demo=True)
    head = db.session.scalar(sa.select(User).where(User.username == "fed.head"))
    head.email_preference = "digest"
    db.session.commit()

    orgs = {org.code: {"id": org.id, "short_name": org.short_name}
            for org in db.session.scalars(sa.select(Organisation))}
    users_by_org: dict[int, list[int]] = {}
    for user in db.session.scalars(sa.select(User)):
        if user.admin_role is None and user.has_role(*HANDLING_ROLES):
            users_by_org.setdefault(user.organisation_id, []).append(user.id)
    handlers = {oid: [u for sub in sorted(subtree_ids(oid)) for u in users_by_org.get(sub, [])]
                for oid in (o["id"] for o in orgs.values())}
    return {"orgs": orgs, "users_by_org": users_by_org, "handlers": handlers}


# -- seeding ---------------------------------------------------------------------------------

PSEUDONYM_HEADS = list("小晓阿大春秋梅兰")
PSEUDONYM_TAILS = list("雨丽芳红燕霞玲娟敏静婷雪梅兰云月花琴萍英华慧颖洁琳晶莉欣悦彤瑶")
HELP = ["judicial_aid", "counselling", "legal_aid", "job_training", "skills_training",
        "social_assistance", "other"]
SOURCES = ["petition_reception", "hotline", "community_visit", "case_handling", "other"]
CONSENT = ["written", "oral_recorded", "guardian", "other"]
OUTCOMES = ["aid_case_opened", "not_eligible", "referred_elsewhere", "other"]
#: The archive: what most referrals are once their time has passed.
ARCHIVE = [("closed", 85.0), ("replied", 8.0), ("withdrawn", 2.0), ("returned", 1.0),
           ("open_far", 3.0), ("draft", 1.0)]


def _local_dt(day: date, rng: random.Random) -> datetime:
    moment = datetime.combine(day, dtime(8, 30), ZONE) + timedelta(minutes=rng.randrange(0, 540))
    return moment.astimezone(timezone.utc)


class Seeder:
    def __init__(self, world: dict, now: datetime, *, due: int, upcoming: int, seed: int = 20261127):
        self.now = now
        self.today = now.astimezone(ZONE).date()
        self.rng = random.Random(seed)
        self.due, self.upcoming = due, upcoming
        o = world["orgs"]
        self.users_by_org, self.handlers = world["users_by_org"], world["handlers"]
        self.federations = [o["jh-fed"]] + [v for c, v in o.items() if c.startswith("jh-fed-")]
        self.procuratorates = [o["jh-proc-5"], o["jh-proc"]]
        self.recent_persons: dict[int, list[int]] = {}
        self.last_id = {"persons": 0, "referrals": 0}
        self.kinds = Counter()
        self.pinyin: dict[str, str] = {}

    @property
    def tables(self):
        from caseflow.core.people.models import Person
        from caseflow.referrals.models import Referral

        return Person.__table__, Referral.__table__

    def _route(self) -> tuple[str, dict, dict]:
        rng = self.rng
        if rng.random() < 0.7:
            return "to_procuratorate", rng.choice(self.federations), rng.choice(self.procuratorates)
        return "to_federation", rng.choice(self.procuratorates), rng.choice(self.federations)

    def _kind(self, index: int) -> str:
        """What the ``index``-th referral of the database is (0-based)."""
        if index < self.due:
            return "due"
        if index < self.due + self.upcoming:
            return "upcoming"
        rng = self.rng
        return rng.choices([k for k, _ in ARCHIVE], weights=[w for _, w in ARCHIVE])[0]

    def _pinyin_of(self, text: str) -> str:
        if text not in self.pinyin:
            from caseflow.core.people.services import pinyin_of

            self.pinyin[text] = pinyin_of(text)
        return self.pinyin[text]

    def rows(self, start: int, count: int) -> tuple[list[dict], list[dict]]:
        rng, now, today = self.rng, self.now, self.today
        persons, referrals = [], []
        for index in range(start, start + count):
            kind = self._kind(index)
            self.kinds[kind] += 1
            direction, sender, receiver = self._route()
            creator_id = rng.choice(self.users_by_org[sender["id"]])
            recent = self.recent_persons.setdefault(sender["id"], [])
            if recent and rng.random() < 0.15:
                person_id = rng.choice(recent)
            else:
                self.last_id["persons"] += 1
                person_id = self.last_id["persons"]
                pseudonym = rng.choice(PSEUDONYM_HEADS) + rng.choice(PSEUDONYM_TAILS)
                persons.append({"id": person_id, "pseudonym": pseudonym,
                                "pseudonym_pinyin": self._pinyin_of(pseudonym),
                                "organisation_id": sender["id"], "is_minor": False,
                                "created_by_id": creator_id, "created_at": now, "updated_at": now})
                recent.append(person_id)
                if len(recent) > 50:
                    recent.pop(0)
            self.last_id["referrals"] += 1
            rid = self.last_id["referrals"]
            handler_id = rng.choice(self.handlers[receiver["id"]])

            # The day it was sent, its state and its due date, by kind.
            extended = None
            if kind == "due":
                state, reply_due = "registered", today
                received = reply_due - timedelta(days=30 + rng.randrange(0, 3))
            elif kind == "upcoming":
                # Sent at most a day ago (registration not late yet), or registered
                # within the last ten days: due in 20 to 33 days.
                state = "sent" if rng.random() < 0.3 else "registered"
                received = today - timedelta(days=rng.randrange(0, 2) if state == "sent"
                                             else rng.randrange(0, 11))
                reply_due = received + timedelta(days=30 + rng.randrange(0, 4))
            elif kind == "open_far":
                state = "registered"
                received = today - timedelta(days=rng.randrange(5, 30))
                reply_due = received + timedelta(days=31)
                extended = today + timedelta(days=rng.randrange(46, 401))
            elif kind == "draft":
                state, received, reply_due = "draft", None, None
            else:
                state = kind
                received = today - timedelta(days=rng.randrange(60, HISTORY_DAYS))
                reply_due = received + timedelta(days=30 + rng.randrange(0, 4))

            created_on = (received or today) - timedelta(days=rng.randrange(0, 4))
            created_at = _local_dt(created_on, rng)
            consent_on = created_on - timedelta(days=rng.randrange(0, 10)) if state != "draft" else None
            ref = {
                "id": rid, "state": state, "direction": direction, "sender_org_id": sender["id"],
                "receiver_org_id": receiver["id"], "created_by_id": creator_id, "person_id": person_id,
                "submission_token": f"sweep{rid:09d}", "number": None, "number_year": None,
                "number_seq": None, "source": rng.choice(SOURCES), "criminal_case_number": None,
                "offence": None, "offence_on": None,
                "circumstances": "被害人在刑事案件中受到侵害，生活困难，需要司法救助和心理疏导。",
                "help_requested": rng.sample(HELP, rng.randrange(1, 4)), "is_urgent": rng.random() < 0.08,
                "consent_on": consent_on, "consent_method": rng.choice(CONSENT) if consent_on else None,
                "sent_at": None, "received_on": None, "registration_due_on": None,
                "registered_at": None, "registration_number": None, "handler_id": None,
                "statutory_due_on": None, "due_is_provisional": False, "extended_due_on": None,
                "extension_reason": None, "reply_due_on": None, "replied_at": None, "reply_on": None,
                "reply_outcome": None, "reply_text": None, "closed_at": None, "return_reason": None,
                "withdraw_reason": None, "created_at": created_at, "updated_at": created_at, "version": 1,
            }
            if state != "draft":
                sent_at = max(_local_dt(received, rng), created_at)
                ref.update(number=f"基准移〔{received.year}〕{rid}号", number_year=received.year,
                           number_seq=rid, sent_at=sent_at, received_on=received,
                           registration_due_on=received + timedelta(days=rng.randrange(3, 6)),
                           statutory_due_on=reply_due, reply_due_on=extended or reply_due, version=2)
                if extended:
                    ref.update(extended_due_on=extended, extension_reason="需要补充调查家庭经济状况")
                if state in ("registered", "replied", "closed"):
                    registered_at = min(sent_at + timedelta(hours=rng.randrange(2, 72)), now)
                    ref.update(registered_at=registered_at, handler_id=handler_id,
                               registration_number=f"{receiver['short_name']}登〔{received.year}〕{rid}号",
                               version=3, updated_at=registered_at)
                if state in ("replied", "closed"):
                    replied_at = registered_at + timedelta(days=rng.randrange(3, 30))
                    ref.update(replied_at=replied_at, reply_on=replied_at.astimezone(ZONE).date(),
                               reply_outcome=rng.choice(OUTCOMES), reply_text="经审查，已依法处理并答复。",
                               version=4, updated_at=replied_at)
                if state == "closed":
                    ref.update(closed_at=replied_at + timedelta(days=rng.randrange(1, 10)), version=5)
                if state == "returned":
                    ref.update(return_reason="不属于本院管辖范围", version=3)
                if state == "withdrawn":
                    ref.update(withdraw_reason="当事人撤回申请", version=3)
            referrals.append(ref)
        return persons, referrals

    def grow(self, engine, target: int, batch: int) -> dict:
        """Insert referrals (with their persons) until there are ``target``; ANALYZE."""
        persons_t, referrals_t = self.tables
        with engine.connect() as conn:
            have = conn.scalar(sa.select(sa.func.count()).select_from(referrals_t))
            for name, table in (("persons", persons_t), ("referrals", referrals_t)):
                self.last_id[name] = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
        todo = max(target - have, 0)
        started = time.perf_counter()
        done = rows = 0
        next_report = 0
        making = 0.0
        while done < todo:
            count = min(batch, todo - done)
            mark = time.perf_counter()
            persons, referrals = self.rows(have + done, count)
            making += time.perf_counter() - mark
            with engine.begin() as conn:
                if persons:
                    conn.execute(sa.insert(persons_t), persons)
                conn.execute(sa.insert(referrals_t), referrals)
            done += count
            rows += len(persons) + len(referrals)
            elapsed = time.perf_counter() - started
            if done >= next_report or done == todo:
                next_report = done + max(todo // 10, batch)
                log(f"    seeded {have + done:>9,} referrals ({done:,}/{todo:,} new, {rows:,} rows with "
                    f"persons) {elapsed:7.1f}s  {done / elapsed:8,.0f} referrals/s  {rows / elapsed:8,.0f} rows/s  "
                    f"(making rows {making:.1f}s)")
        insert_seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                for name in ("persons", "referrals"):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT max(id) FROM {name}))")
            mark = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            mark = time.perf_counter()
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        analyze = time.perf_counter() - mark
        log(f"    {'VACUUM ANALYZE' if engine.dialect.name == 'postgresql' else 'ANALYZE'} {analyze:.1f}s")
        return {"new": todo, "rows": rows, "insert_seconds": insert_seconds, "analyze_seconds": analyze,
                "total_seconds": time.perf_counter() - started}


def database_facts(engine) -> dict:
    with engine.connect() as conn:
        states = dict(conn.execute(sa.text("SELECT state, count(*) FROM referrals GROUP BY state")).all())
        if engine.dialect.name == "postgresql":
            size = conn.scalar(sa.text("SELECT pg_database_size(current_database())"))
        else:
            size = conn.exec_driver_sql("PRAGMA page_count").scalar() * conn.exec_driver_sql(
                "PRAGMA page_size").scalar()
    return {"states": states, "bytes": size}


# -- measuring (in a child process) -----------------------------------------------------------------


def _shape(statement: str) -> str:
    """A statement's kind, for counting: verb and table."""
    text = " ".join(statement.split())
    if text.startswith("INSERT INTO"):
        return " ".join(text.split()[:3])
    if text.startswith(("UPDATE", "DELETE")):
        return " ".join(text.split()[:3 if text.startswith("DELETE") else 2])
    if not text.startswith(("SELECT", "WITH")):
        return " ".join(text.split()[:1 if not text.startswith("BEGIN") else 2])
    match = re.search(r"\bFROM (\w+)", text)
    extra = " JOIN" if " JOIN " in text else ""
    extra += " LIMIT" if " LIMIT " in text else ""
    return f"SELECT FROM {match.group(1) if match else '?'}{extra}"


def _status_kb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (resident high-water) of this process, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_hwm() -> bool:
    """Resets VmHWM to the current RSS (Linux, own process), so that the high-water
    mark read afterwards is the sweeps'. ``ru_maxrss`` cannot be reset, and after
    fork+exec it still holds the parent's RSS (Linux keeps the larger across exec)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


class LockClock:
    """Times each transaction on an engine's connections, from the moment it holds its
    lock to the end of its COMMIT or ROLLBACK. SQLite: from the return of the app's
    ``BEGIN IMMEDIATE`` (caseflow.core.db), which takes the database's one write lock,
    so this is the lock hold a web request that writes waits behind. PostgreSQL, which
    locks rows and never the database: from the engine's ``begin``, the transaction's
    length, shown for comparison. The end is the dialect's ``do_commit``/``do_rollback``
    returning (the engine's ``commit`` event fires before the COMMIT has run)."""

    def __init__(self, engine):
        #: (seconds, statements, its time in SQL and the kinds of statement that took longest)
        self.holds: list[tuple[float, int, str]] = []
        self.on = False
        self._open: dict[int, list] = {}  # connection -> [started, statements, Counter of time by kind]
        dialect = engine.dialect
        sqlite = dialect.name == "sqlite"

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["lock_clock_statement"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            key = id(conn.connection.dbapi_connection)
            if sqlite and statement == "BEGIN IMMEDIATE":
                self._open[key] = [time.perf_counter(), 0, Counter()]
            elif key in self._open:
                entry = self._open[key]
                entry[1] += 1
                entry[2][_shape(statement)] += time.perf_counter() - conn.info.pop("lock_clock_statement", time.perf_counter())

        if not sqlite:
            @sa.event.listens_for(engine, "begin")
            def _begun(conn):
                self._open[id(conn.connection.dbapi_connection)] = [time.perf_counter(), 0, Counter()]

        for name in ("do_commit", "do_rollback"):
            def ended(dbapi_connection, _original=getattr(dialect, name)):
                try:
                    _original(dbapi_connection)
                finally:
                    raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
                    entry = self._open.pop(id(raw), None)
                    if entry is not None and self.on:
                        started, count, kinds = entry
                        top = (f"SQL {sum(kinds.values()) * 1000:.0f} ms in all, most in "
                               + ", ".join(f"{kind} {t * 1000:.0f} ms" for kind, t in kinds.most_common(3)))
                        self.holds.append((time.perf_counter() - started, count, top))
            setattr(dialect, name, ended)


def hold_figures(holds: list[tuple[float, int, str]]) -> dict:
    seconds = [h[0] for h in holds]
    longest = max(holds, default=(0.0, 0, ""))
    return {"count": len(holds), "longest": longest[0], "longest_statements": longest[1],
            "longest_spent_on": longest[2], "median": statistics.median(seconds) if seconds else 0.0,
            "total": sum(seconds), "all_ms": [round(x * 1000) for x in seconds]}


def id_marks(conn) -> dict[str, int]:
    """The highest id in each table with an integer ``id``: what a sweep adds is above it."""
    return {t.name: conn.scalar(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0)))
            for t in db.metadata.sorted_tables if "id" in t.c}


def row_counts(conn) -> dict[str, int]:
    return {t.name: conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def undo_sweep(engine, marks: dict[str, int]) -> dict[str, int]:
    """Deletes, in one transaction of its own, every row added since ``marks`` (dependent
    tables first): what a sweep wrote (ledger, notifications, outbox e-mails and messages,
    digest ledger, job item failures, undeliverable alerts...) and what the web writes
    added. Returns the rows deleted per table, i.e. what was written."""
    deleted = {}
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            if table.name in marks:
                n = conn.execute(sa.delete(table).where(table.c.id > marks[table.name])).rowcount
                if n:
                    deleted[table.name] = n
    return deleted


WRITTEN = ("reminder_ledger", "notifications", "outbox_emails")


def measure_child(url: str, now: datetime, repeat: int, warmup: int, due: int, out: str,
                  compare: bool) -> None:
    from caseflow.referrals import reminders

    app = make_app(url)
    statements: list[tuple[float, str, object]] = []
    recording = {"on": False}
    #: While tracing: the largest traced memory seen between two statements, and a
    #: snapshot taken there (each time it grows by 256 KiB), to say what the peak holds.
    high = {"on": False, "bytes": 0, "snapshot": None, "after": ""}

    with app.app_context():
        engine = db.engine
        clock = LockClock(engine)

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["sweep_started"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            started = conn.info.pop("sweep_started", None)
            if recording["on"] and started is not None:
                statements.append((time.perf_counter() - started, statement, parameters))
            if high["on"]:
                current = tracemalloc.get_traced_memory()[0]
                if current > high["bytes"] + 256 * 1024:
                    high.update(bytes=current, snapshot=tracemalloc.take_snapshot(),
                                after=" ".join(statement.split())[:100])

        with engine.connect() as conn:
            marks, counts_before = id_marks(conn), row_counts(conn)
            conn.rollback()

        def one_sweep(trace: bool = False):
            statements.clear()
            clock.holds.clear()
            gc.collect()
            if trace:
                tracemalloc.start()
                tracemalloc.reset_peak()
                high.update(on=True, bytes=0, snapshot=None, after="")
            recording["on"] = clock.on = True
            started, cpu_started = time.perf_counter(), time.process_time()
            result = reminders.sweep(now=now)
            db.session.commit()  # as the scheduler does after a job (the sweep commits its own batches)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            recording["on"] = clock.on = False
            peak = 0
            if trace:
                _, peak = tracemalloc.get_traced_memory()
                high["on"] = False
                tracemalloc.stop()
            db.session.remove()
            written = undo_sweep(engine, marks)  # so that the next sweep does the same work
            return (elapsed, cpu), result, peak, list(statements), written, list(clock.holds)

        gc.collect()
        hwm_reset = _reset_hwm()
        rss_start = _status_kb("VmRSS")
        maxrss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(warmup):
            one_sweep()
        times, cpu_times, per_sweep, results, holds = [], [], [], [], []
        shapes: dict[str, list] = {}  # shape -> [count, seconds] in the last timed sweep
        referral_queries: dict[str, dict] = {}  # the statements that read referrals
        for _ in range(repeat):
            (elapsed, cpu), result, _, stmts, written, sweep_holds = one_sweep()
            times.append(elapsed)
            cpu_times.append(cpu)
            per_sweep.append(len(stmts))
            results.append(result)
            holds.append(hold_figures(sweep_holds))
            shapes = {}
            for t, statement, params in stmts:
                shape = _shape(statement)
                entry = shapes.setdefault(shape, [0, 0.0])
                entry[0] += 1
                entry[1] += t
                if shape.startswith("SELECT FROM referrals"):
                    q = referral_queries.setdefault(shape, {"times": [], "statement": statement,
                                                            "params": params})
                    q["times"].append(t)
        hwm_timed = _status_kb("VmHWM")
        _, traced_result, peak, _, _, _ = one_sweep(trace=True)
        hwm_end = _status_kb("VmHWM")
        maxrss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        # The same sweep in one transaction for all (what it was before batching): the
        # same-run comparison of the lock hold. Without a commit between batches there is
        # no pause either.
        batch = reminders.BATCH
        reminders.BATCH = ONE_TRANSACTION
        one_times, one_holds, one_results = [], [], []
        try:
            for _ in range(repeat if compare else 0):
                (elapsed, _cpu), result, _, _, _, sweep_holds = one_sweep()
                one_times.append(elapsed)
                one_holds.append(hold_figures(sweep_holds))
                one_results.append(result)
        finally:
            reminders.BATCH = batch
        with engine.connect() as conn:
            left = {name: n - counts_before[name] for name, n in row_counts(conn).items()
                    if n != counts_before[name]}
            conn.rollback()

        # The statements that read referrals, on their own: executed and fetched to the
        # last row (SQLite does its scanning while rows are fetched, which the cursor
        # events above do not see), then their plans.
        plans = []
        for shape, q in referral_queries.items():
            fetch_times, rows_returned = [], 0
            with engine.connect() as conn:
                for _ in range(3):
                    mark = time.perf_counter()
                    rows_returned = len(conn.exec_driver_sql(q["statement"], q["params"]).fetchall())
                    fetch_times.append(time.perf_counter() - mark)
                conn.rollback()
            with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + q["statement"], q["params"]).all()
                    plan = [row[0] for row in rows]
                else:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + q["statement"], q["params"]).all()
                    plan = [f"{row[1]:>3} {row[3]}" for row in rows]
                conn.rollback()
            plans.append({"shape": shape, "ms": statistics.median(q["times"]) * 1000,
                          "fetch_ms": statistics.median(fetch_times) * 1000, "rows": rows_returned,
                          "statement": " ".join(q["statement"].split()), "plan": plan})
        db.session.remove()
        engine.dispose()

    r = traced_result
    held = []
    if high["snapshot"] is not None:
        snapshot = high["snapshot"].filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        held = [[str(stat.traceback[0]), stat.size, stat.count] for stat in snapshot.statistics("lineno")[:6]]
    with open(out, "w") as handle:
        json.dump({
            "times": times, "cpu_times": cpu_times, "statements": per_sweep,
            "shapes": sorted(([k, v[0], v[1]] for k, v in shapes.items()), key=lambda x: -x[1]),
            "peak_traced": peak, "rss_start_kb": rss_start, "hwm_reset": hwm_reset,
            "hwm_timed_kb": hwm_timed, "hwm_end_kb": hwm_end, "maxrss_start_kb": maxrss_start,
            "maxrss_end_kb": maxrss_end, "high_bytes": high["bytes"], "high_after": high["after"],
            "high_held": held,
            "result": {"sent": r.stages_sent, "skipped": r.stages_skipped, "notifications": r.notifications,
                       "emails": r.emails, "digests": r.digests, "failures": r.failures},
            "same_every_time": all(vars(x) == vars(r) for x in results + one_results),
            "rows_written": written, "rows_left_after_undo": left, "plans": plans,
            "batch": batch, "pause": reminders.SQLITE_PAUSE_SECONDS, "holds": holds,
            "one_times": one_times or None, "one_holds": one_holds,
        }, handle)


def sweep_once_child(url: str, now: datetime, batch: int, ready: str, out: str) -> None:
    """One sweep, as the scheduler's process runs it, with ``BATCH`` set for the run (the
    app's, or all in one transaction); says when it starts (``ready``) so that the web
    writes begin with it, and writes its lock holds to ``out``."""
    from caseflow.referrals import reminders

    app = make_app(url)
    with app.app_context():
        clock = LockClock(db.engine)
        reminders.BATCH = batch
        Path(ready).touch()
        clock.on = True
        started = time.perf_counter()
        result = reminders.sweep(now=now)
        db.session.commit()
        elapsed = time.perf_counter() - started
        clock.on = False
        db.session.remove()
        db.engine.dispose()
    with open(out, "w") as handle:
        json.dump({"elapsed": elapsed, "holds": hold_figures(clock.holds), "sent": result.stages_sent,
                   "failures": result.failures}, handle)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


class WebWriter:
    """A signed-in supervisor of the receiving department (the demo's ``proc.head``, who
    is told of every due referral) in Flask's test client on the same database, marking
    all her notifications read: a POST with its CSRF token that writes through the real
    app (its own engine, so its own connections and, on SQLite, BEGIN IMMEDIATE)."""

    def __init__(self, url: str):
        from caseflow.core.demo import DEMO_PASSWORD

        self.app = make_app(url)
        self.client = self.app.test_client()
        pattern = r'name="csrf_token" type="hidden" value="([^"]+)"'
        token = re.search(pattern, self.client.get("/login").get_data(as_text=True)).group(1)
        signed_in = self.client.post("/login", data={"username": "proc.head", "password": DEMO_PASSWORD,
                                                     "csrf_token": token})
        if signed_in.status_code != 302:
            raise SystemExit(f"bench: proc.head could not sign in ({signed_in.status_code})")
        self.token = re.search(pattern, self.client.get("/notifications").get_data(as_text=True)).group(1)

    def write(self) -> tuple[float, str | None]:
        began = time.perf_counter()
        try:
            response = self.client.post("/notifications/read-all", data={"csrf_token": self.token})
            error = None if response.status_code == 302 else f"HTTP {response.status_code}"
        except Exception as exc:  # noqa: BLE001 - a failed write is what is being counted
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            with self.app.app_context():
                db.session.remove()
        return time.perf_counter() - began, error

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def writes_during_sweep(url: str, now: datetime, writer: WebWriter, batch: int | None, args) -> dict:
    """Web writes in a loop (``--write-gap-ms`` apart) for as long as a sweep runs in a
    process of its own; ``batch`` None: no sweep, for ``--baseline-seconds``. Then undoes
    what the sweep and the writes added."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        marks = id_marks(conn)
        conn.rollback()
    latencies, errors, sweep = [], Counter(), None
    load = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="caseflow-sweep-run-"))
    try:
        if batch is None:
            until = time.perf_counter() + args.baseline_seconds
            running = lambda: time.perf_counter() < until  # noqa: E731
        else:
            ready, out = folder / "ready", folder / "out.json"
            process = subprocess.Popen(
                [sys.executable, __file__, "--sweep-once-url", url, "--measure-out", str(out),
                 "--ready-file", str(ready), "--sweep-batch", str(batch), "--now", now.isoformat()])
            deadline = time.monotonic() + 120
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench: the sweep process ended before it began ({process.returncode})")
                time.sleep(0.002)
            running = lambda: process.poll() is None  # noqa: E731
        while running():
            took, error = writer.write()
            latencies.append(took)
            if error:
                errors[error] += 1
            time.sleep(args.write_gap_ms / 1000)
        if batch is not None:
            if process.wait() != 0:
                raise SystemExit(f"bench: the sweep process failed ({process.returncode})")
            with open(out) as handle:
                sweep = json.load(handle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        undo_sweep(engine, marks)
        engine.dispose()
    return {"writes": len(latencies), "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "max": max(latencies, default=0.0), "errors": dict(errors), "sweep": sweep,
            "load": (load, os.getloadavg()[0])}


def measure(url: str, now: datetime, args, compare: bool) -> dict:
    """Runs ``measure_child`` in a fresh Python process and returns its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    try:
        load = os.getloadavg()[0]
        subprocess.run([sys.executable, __file__, "--measure-url", url, "--measure-out", out,
                        "--now", now.isoformat(), "--repeat", str(args.repeat),
                        "--warmup", str(args.warmup), "--due", str(args.due)]
                       + (["--compare"] if compare else []), check=True)
        with open(out) as handle:
            figures = json.load(handle)
        figures["load"] = (load, os.getloadavg()[0])
        return figures
    finally:
        os.unlink(out)


# -- reporting -----------------------------------------------------------------------------------

SWEEP_INDEXES = ("ix_referrals_open_reply_due", "ix_referrals_sent_registration_due")
VARIANTS = {"app": "as is", "noidx": "as is, without the 0006 indexes"}


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MiB"


def does_the_work(f: dict, due: int) -> bool:
    return f["result"]["sent"] == due and f["result"]["skipped"] == 3 * due


def report_size(backend: str, variant: str, size: int, f: dict, due: int) -> None:
    r = f["result"]
    log(f"\n  == {backend}, sweep {VARIANTS[variant]}, at {size:,} referrals "
        f"(load average {f['load'][0]:.1f} → {f['load'][1]:.1f}, 2 cores)")
    times = ", ".join(f"{t * 1000:.0f}" for t in f["times"])
    log(f"     time: median {statistics.median(f['times']) * 1000:.0f} ms (runs: {times} ms); CPU time of "
        f"this process (the SQLite engine included, the PostgreSQL server not) median "
        f"{statistics.median(f['cpu_times']) * 1000:.0f} ms")
    log(f"     result: {r['sent']} stages sent, {r['skipped']} skipped, {r['notifications']} notifications, "
        f"{r['emails']} e-mails, {r['digests']} digests, {r['failures']} failed referrals; same every run: "
        f"{f['same_every_time']}; rows written (and deleted after each sweep) "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(f['rows_written'].items()))
        + f"; rows left after the undo: {f['rows_left_after_undo'] or 'none'}")
    if "holds" in f:
        log(f"     {hold_label(backend)} (BATCH = {f['batch']}"
            + (f", {f['pause'] * 1000:.0f} ms pause after each batch" if backend == "sqlite" else "")
            + "): ")
        for h in f["holds"]:
            log(f"        {hold_text(h, detail=True)}")
    if f.get("one_times"):
        log(f"     the same sweep in one transaction (BATCH = {ONE_TRANSACTION:,}): time median "
            f"{statistics.median(f['one_times']) * 1000:.0f} ms")
        for h in f["one_holds"]:
            log(f"        {hold_text(h, detail=True)}")
    if not does_the_work(f, due):
        log(f"     !! {due} stages should be sent and {3 * due} skipped: the sweep did not do the work that is due")
    log(f"     memory: tracemalloc peak {mib(f['peak_traced'])}; RSS {f['rss_start_kb'] / 1024:.0f} MiB before the "
        f"sweeps, high-water (VmHWM{', reset before the sweeps' if f['hwm_reset'] else ', NOT reset'}) "
        f"{f['hwm_timed_kb'] / 1024:.0f} MiB after the timed sweeps, {f['hwm_end_kb'] / 1024:.0f} MiB after the "
        f"traced one; getrusage ru_maxrss {f['maxrss_start_kb'] / 1024:.0f} → {f['maxrss_end_kb'] / 1024:.0f} MiB "
        f"(it keeps the parent's high-water across fork+exec)")
    if f["high_held"]:
        log(f"     traced memory reached {mib(f['high_bytes'])} (between statements) after: {f['high_after']}; "
            f"held there most by:")
        for where, size, n in f["high_held"]:
            log(f"        {size / 1024:8.0f} KiB {n:>7,} blocks  {where}")
    count = f["statements"][0]
    log(f"     SQL statements per sweep: {count:,} ({count / max(due, 1):.2f} per due referral); "
        f"by kind, in the last timed sweep (count, total ms):")
    for shape, n, seconds in f["shapes"]:
        log(f"        {n:>7,} {seconds * 1000:9.1f} ms  {shape}")
    for plan in f["plans"]:
        log(f"     {plan['shape']}: {plan['fetch_ms']:.1f} ms executed and fetched on its own "
            f"({plan['rows']:,} rows; {plan['ms']:.1f} ms to the first row in the sweep); "
            f"{plan['statement'][:900]}")
        for line in plan["plan"]:
            log(f"        {line}")


def hold_label(backend: str) -> str:
    return "write-lock holds" if backend == "sqlite" else "transactions (no database lock on PostgreSQL)"


def hold_text(h: dict, detail: bool = False) -> str:
    text = (f"{h['count']} transactions, longest {h['longest'] * 1000:.0f} ms, median "
            f"{h['median'] * 1000:.1f} ms, held in all {h['total'] * 1000:.0f} ms")
    if detail:
        text += (f" [longest: {h['longest_statements']:,} statements, {h['longest_spent_on']}; "
                 f"each, ms: {' '.join(map(str, h['all_ms']))}]")
    return text


def report_writes(backend: str, size: int, runs: dict) -> None:
    log(f"\n  == {backend}, web writes (proc.head's POST /notifications/read-all, Flask test client, "
        f"own engine) at {size:,} referrals")
    for label, w in runs.items():
        errors = ", ".join(f"{n}× {e}" for e, n in w["errors"].items()) or "none"
        line = (f"     {label:<34} {w['writes']:>4} writes: p50 {w['p50'] * 1000:6.0f} ms, p95 "
                f"{w['p95'] * 1000:6.0f} ms, max {w['max'] * 1000:6.0f} ms; errors: {errors} "
                f"(load {w['load'][0]:.1f} → {w['load'][1]:.1f})")
        if w["sweep"]:
            line += (f"; the sweep took {w['sweep']['elapsed'] * 1000:.0f} ms, sent {w['sweep']['sent']}, "
                     f"{hold_text(w['sweep']['holds'])}")
        log(line)


def sweep_indexes(engine, *, create: bool) -> None:
    """Drops (or puts back) the indexes of migration 0006, as the model defines them, and
    refreshes the statistics: the "before" of the same data."""
    from caseflow.referrals.models import Referral

    started = time.perf_counter()
    with engine.begin() as conn:
        for index in Referral.__table__.indexes:
            if index.name in SWEEP_INDEXES:
                (index.create if create else index.drop)(bind=conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    log(f"     {'created' if create else 'dropped'} {', '.join(SWEEP_INDEXES)} and ANALYZEd: "
        f"{time.perf_counter() - started:.1f}s")


def run_backend(backend: str, sizes: list[int], now: datetime, args) -> dict:
    """{variant: {size: figures}} and the seeding figures."""
    url, drop = create_database(backend, label="sweep")
    app = None
    figures: dict[str, dict[int, dict]] = {}
    seedings = {}
    writes: dict[int, dict] = {}
    try:
        log(f"\n##### {backend}: {sa.make_url(url).render_as_string(hide_password=True)}")
        app = make_app(url)
        started = time.perf_counter()
        migrate_to_head(app)
        with app.app_context():
            from alembic.migration import MigrationContext

            with db.engine.connect() as conn:
                log(f"  schema at revision {MigrationContext.configure(conn).get_current_revision()}")
            world = build_world(now)
            db.session.remove()
            db.engine.dispose()
        log(f"  schema by migrations, demo organisations and users: {time.perf_counter() - started:.1f}s")
        seeder = Seeder(world, now, due=args.due, upcoming=args.upcoming)
        seed_engine = sa.create_engine(url)
        if backend == "sqlite":
            @sa.event.listens_for(seed_engine, "connect")
            def _fast(dbapi_connection, record):  # seeding only; the app's engine is untouched
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-262144")
                cursor.close()
        variants = ["app"] + [v for v in args.also if v]
        for size in sizes:
            log(f"\n  -- growing to {size:,} referrals")
            seedings[size] = seeding = seeder.grow(seed_engine, size, args.batch)
            facts = database_facts(seed_engine)
            seed_engine.dispose()
            log(f"     {size:,} referrals, {mib(facts['bytes'])} on disk; by state: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(facts["states"].items())))
            log(f"     seeding {seeding['new']:,} new referrals ({seeding['rows']:,} rows): inserts "
                f"{seeding['insert_seconds']:.1f}s, ANALYZE {seeding['analyze_seconds']:.1f}s, total "
                f"{seeding['total_seconds']:.1f}s")
            seeding["bytes"] = facts["bytes"]
            for variant in variants:
                if variant == "noidx":
                    sweep_indexes(seed_engine, create=False)
                log(f"  -- measuring the sweep {VARIANTS[variant]} at {size:,} ({args.warmup} warm-up, "
                    f"{args.repeat} timed, 1 traced)")
                f = measure(url, now, args, compare=variant == "app")
                figures.setdefault(variant, {})[size] = f
                report_size(backend, variant, size, f, args.due)
                if variant == "app" and args.writes:
                    log(f"  -- web writes: with no sweep ({args.baseline_seconds:g} s), during the sweep as it "
                        f"is, during the sweep in one transaction; each sweep in a process of its own")
                    writer = WebWriter(url)
                    try:
                        writes[size] = w = {
                            "no sweep": writes_during_sweep(url, now, writer, None, args),
                            f"during the sweep (BATCH {f['batch']})":
                                writes_during_sweep(url, now, writer, f["batch"], args),
                            "during the one-transaction sweep":
                                writes_during_sweep(url, now, writer, ONE_TRANSACTION, args)}
                    finally:
                        writer.close()
                    report_writes(backend, size, w)
                if variant == "noidx":
                    sweep_indexes(seed_engine, create=True)
        seed_engine.dispose()
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        drop()
    return {"figures": figures, "seeding": seedings, "writes": writes}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--due", type=int, default=1000, help="referrals with a stage due at the sweep")
    parser.add_argument("--upcoming", type=int, default=500,
                        help="open referrals inside the look-ahead with no stage yet (same at every size)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--now", default=DEFAULT_NOW, help="the sweep's moment (ISO 8601, with offset)")
    parser.add_argument("--also", default="noidx",
                        help="besides the sweep as it is, measure it with the indexes of migration 0006 "
                             "dropped for the measurement, then put back (noidx, the default), or not (none)")
    parser.add_argument("--no-writes", dest="writes", action="store_false",
                        help="skip the web writes during a sweep")
    parser.add_argument("--write-gap-ms", type=float, default=20,
                        help="pause between two web writes (a busy office, not a flood)")
    parser.add_argument("--baseline-seconds", type=float, default=3,
                        help="how long the web writes run with no sweep, for the baseline")
    parser.add_argument("--measure-url", help=argparse.SUPPRESS)
    parser.add_argument("--measure-out", help=argparse.SUPPRESS)
    parser.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-once-url", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now)
    if args.measure_url:
        measure_child(args.measure_url, now, args.repeat, args.warmup, args.due, args.measure_out,
                      args.compare)
        return 0
    if args.sweep_once_url:
        sweep_once_child(args.sweep_once_url, now, args.sweep_batch, args.ready_file, args.measure_out)
        return 0
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    if sizes[0] < args.due + args.upcoming:
        parser.error(f"the smallest size must hold the {args.due + args.upcoming:,} due and upcoming referrals")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    started = time.perf_counter()
    args.also = [] if args.also == "none" else [v.strip() for v in args.also.split(",") if v.strip()]
    runs = {backend: run_backend(backend, sizes, now, args) for backend in backends}

    base, top = sizes[0], sizes[-1]
    log(f"\n=== the sweep at {now.astimezone(ZONE):%Y-%m-%d %H:%M %Z} with {args.due:,} referrals due "
        f"(and {args.upcoming:,} upcoming): median of {args.repeat} timed sweeps, tracemalloc peak of one "
        f"sweep, RSS high-water of the measuring process (VmHWM reset before the sweeps; getrusage ru_maxrss), "
        f"SQL statements per sweep; referral SELECTs = "
        f"the sweep's selection + the digest's query, each executed and fetched on its own ===")
    log(f"{'backend':<11} {'sweep':<44} {'N':>10} {'median ms':>10} {'CPU ms':>7} {'referral SELECTs ms':>20} "
        f"{'peak MiB':>9} {'VmHWM':>8} {'maxrss':>8} {'SQL':>7} {'sent':>5}")
    for backend, run in runs.items():
        for variant, figures in run["figures"].items():
            for size in sizes:
                if size not in figures:
                    continue
                f = figures[size]
                selects = " + ".join(f"{p['fetch_ms']:.1f}" for p in f["plans"])
                log(f"{backend:<11} {VARIANTS[variant]:<44} {size:>10,} "
                    f"{statistics.median(f['times']) * 1000:10.0f} {statistics.median(f['cpu_times']) * 1000:7.0f} "
                    f"{selects:>20} "
                    f"{f['peak_traced'] / 1048576:9.2f} {f['hwm_end_kb'] / 1024:7.0f}M "
                    f"{f['maxrss_end_kb'] / 1024:7.0f}M "
                    f"{f['statements'][0]:7,} {f['result']['sent']:5,}")
    log("\nseeding (Core bulk inserts, batches of one transaction, then ANALYZE):")
    for backend, run in runs.items():
        for size, s in run["seeding"].items():
            log(f"  {backend:<11} to {size:>10,}: {s['new']:,} referrals ({s['rows']:,} rows with persons) in "
                f"{s['insert_seconds']:.1f}s ({s['rows'] / max(s['insert_seconds'], 1e-9):,.0f} rows/s), "
                f"ANALYZE {s['analyze_seconds']:.1f}s; {mib(s['bytes'])} on disk")
    log(f"\n=== lock holds and web writes: each transaction of a sweep timed from its BEGIN "
        f"(SQLite: BEGIN IMMEDIATE, the database's one write lock) to the end of its COMMIT; medians of "
        f"{args.repeat} sweeps' figures; web writes p50/p95/max ===")
    log(f"{'backend':<11} {'N':>10} {'sweep':<26} {'txns':>5} {'longest ms':>10} {'median ms':>9} "
        f"{'sweep ms':>9}")
    for backend, run in runs.items():
        for size, f in run["figures"].get("app", {}).items():
            for label, holds, times in ((f"BATCH {f['batch']}", f["holds"], f["times"]),
                                        ("one transaction", f["one_holds"], f["one_times"])):
                if not times:
                    continue
                log(f"{backend:<11} {size:>10,} {label:<26} {holds[0]['count']:>5} "
                    f"{statistics.median(h['longest'] for h in holds) * 1000:10.0f} "
                    f"{statistics.median(h['median'] for h in holds) * 1000:9.1f} "
                    f"{statistics.median(times) * 1000:9.0f}")
            if f.get("one_times"):
                ratio = (statistics.median(h["longest"] for h in f["one_holds"])
                         / max(statistics.median(h["longest"] for h in f["holds"]), 1e-9))
                log(f"{'':<11} {'':>10} longest hold, one transaction ÷ batched: {ratio:.1f}×")
    for backend, run in runs.items():
        for size, w in run["writes"].items():
            for label, x in w.items():
                errors = sum(x["errors"].values())
                log(f"{backend:<11} {size:>10,} web writes {label:<34} {x['writes']:>4}: p50 "
                    f"{x['p50'] * 1000:5.0f} ms  p95 {x['p95'] * 1000:6.0f} ms  max {x['max'] * 1000:6.0f} ms  "
                    f"errors {errors}")

    met, broken = True, []
    log("\n=== goal (issue 12): web requests that write during a sweep of the due referrals succeed "
        "(no error while the batched sweep runs) ===")
    if not args.writes:
        log("  not measured (--no-writes)")
    for backend, run in runs.items():
        for size, w in run["writes"].items():
            batched = next(x for label, x in w.items() if label.startswith("during the sweep"))
            ok = not batched["errors"] and batched["writes"] > 0
            met = met and ok
            log(f"  {'PASS' if ok else 'FAIL'}  {backend:<11} at {size:,}: {batched['writes']} writes during "
                f"the batched sweep, {sum(batched['errors'].values())} errors, max {batched['max'] * 1000:.0f} ms "
                f"(longest lock hold of that sweep {batched['sweep']['holds']['longest'] * 1000:.0f} ms)")
    if len(sizes) > 1:
        log(f"\n=== goal: at {top:,} the sweep costs ≤ {GOAL_TIME}× its cost at {base:,} (median), "
            f"memory flat (tracemalloc peak ≤ {GOAL_MEMORY}×) ===")
        for backend, run in runs.items():
            for variant, figures in run["figures"].items():
                if base not in figures or top not in figures:
                    continue
                a, b = figures[base], figures[top]
                time_ratio = statistics.median(b["times"]) / statistics.median(a["times"])
                cpu_ratio = statistics.median(b["cpu_times"]) / statistics.median(a["cpu_times"])
                mem_ratio = b["peak_traced"] / max(a["peak_traced"], 1)
                ok = time_ratio <= GOAL_TIME and mem_ratio <= GOAL_MEMORY
                works = does_the_work(a, args.due) and does_the_work(b, args.due)
                if not works:
                    broken.append(f"{backend} ({VARIANTS[variant]})")
                if variant == "app":
                    met = met and ok and works
                note = "" if variant == "app" else "  (shown, not the verdict)"
                if not works:
                    note += "  -- the sweep did not do the due work"
                log(f"  {'PASS' if ok else 'FAIL'}  {backend:<11} {VARIANTS[variant]:<44} time {time_ratio:.2f}× "
                    f"(≤ {GOAL_TIME}; CPU {cpu_ratio:.2f}×), memory {mem_ratio:.2f}× (≤ {GOAL_MEMORY}), statements "
                    f"{a['statements'][0]:,} → {b['statements'][0]:,}{note}")
    else:
        log("\n  (one size: whether the cost grows with the archive is not judged; give --sizes 10000,1000000)")
        for backend, run in runs.items():
            for variant, figures in run["figures"].items():
                if not does_the_work(figures[base], args.due):
                    broken.append(f"{backend} ({VARIANTS[variant]})")
                    met = met and variant != "app"
    if broken:
        log(f"  the sweep sent fewer stages than are due on: {', '.join(broken)}")
    log(f"  overall (the sweep as it is, with the schema at head): {'PASS' if met else 'FAIL'}; "
        f"run took {time.perf_counter() - started:.0f}s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
