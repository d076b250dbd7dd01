#!/usr/bin/env python
"""Referral pages at 1,000, 100,000 and 1,000,000 referrals, on SQLite and PostgreSQL.

    .venv/bin/python bench/referrals.py [--sizes 1000,100000,1000000]
        [--backends sqlite,postgresql] [--requests 50] [--warmup 5] [--explain]

For each backend the script builds a scratch database by the migrations, loads the demo
organisations and users, then grows the same database to each size in turn by bulk
inserts (SQLAlchemy Core ``insert()`` executemany, in batches, one transaction each) and
measures, through the real app and Flask's test client:

* ``inbox``      /referrals?box=inbox, as the demo prosecutor;
* ``filtered``   /referrals?box=all&state=registered&overdue=y, as the supervisor proc.head;
* ``detail``     /referrals/<id> for referrals the prosecutor may see (a different one
                 on each request, from all over the table);
* ``outbox``, ``mine``   the prosecutor's other two lists (shown, not part of the goal);
* ``search``     /referrals?box=inbox&q=<a pseudonym>, as the prosecutor (shown, not part
                 of the goal: a substring LIKE cannot use a B-tree index);
* ``send``       POST /referrals/<id>/send of a fresh draft (the draft is made outside
                 the timing, each send is timed separately; shown, not part of the goal);
* ``bare``       /account, the cheapest signed-in page that renders the base layout.

Each page gets ``--warmup`` untimed requests, then ``--requests`` timed ones (fewer, but
at least 10, when a page has used up ``--page-budget`` seconds; the table's ``n``).

It prints p50 and p95 in milliseconds, the SQL statements per request (an N+1 shows up
as a count that grows with the rows on the page), the slowest statement's time, and the
ratios p95(N) / p95(smallest N) and p95 / p95(bare), all from the same run; then whether
the goal holds: at the largest size the list and detail pages cost at most 1.5 times
what they cost at the smallest, and at most 10 times the bare page.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database. SQLite: a temporary file.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from caseflow.extensions import db  # noqa: E402
from bench.scratch import DEFAULT_PG_URL, create_database  # noqa: E402,F401
from tests.conftest import make_app, migrate_to_head  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: How far back the seeded referrals go: their sent dates are spread over these days.
HISTORY_DAYS = 6 * 365
MIN_REQUESTS = 10
GOAL_GROWTH = 1.5
GOAL_BARE = 10.0
#: Pages the goal is about; ``search`` and ``send`` are measured and shown too.
GOAL_PAGES = ("inbox", "filtered", "detail")
EXTRA_PAGES = ("outbox", "mine", "search", "send")
PAGES = ("inbox", "filtered", "detail", "outbox", "mine", "search", "send", "bare")


def log(message: str = "") -> None:
    print(message, flush=True)


# -- statement counting ----------------------------------------------------------------------


class StatementLog:
    """Counts (and times) the SQL statements each request sends."""

    def __init__(self):
        self.statements: list[tuple[float, str, object]] = []
        self.active = False

    def attach(self, engine) -> None:
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            self.statements.append((elapsed, statement, parameters))

    def start(self) -> None:
        self.statements = []
        self.active = True

    def stop(self) -> list[tuple[float, str, object]]:
        self.active = False
        return self.statements


# -- seeding ---------------------------------------------------------------------------------

PSEUDONYM_HEADS = list("小晓阿大春秋梅兰")
PSEUDONYM_TAILS = list("雨丽芳红燕霞玲娟敏静婷雪梅兰云月花琴萍英华慧颖洁琳晶莉欣悦彤瑶")
OFFENCES = ["故意伤害", "虐待", "强奸", "猥亵儿童", "拐卖妇女", "非法拘禁", "敲诈勒索", "诈骗"]
HELP = ["judicial_aid", "counselling", "legal_aid", "job_training", "skills_training",
        "social_assistance", "other"]
SOURCES = ["petition_reception", "hotline", "community_visit", "case_handling", "other"]
CONSENT = ["written", "oral_recorded", "guardian", "other"]
OUTCOMES = ["aid_case_opened", "not_eligible", "referred_elsewhere", "other"]


def _weighted(rng: random.Random, table: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


#: The state of a referral by the age (days since it was sent): recent ones are open,
#: old ones nearly all finished, with a few stragglers still open and long overdue.
STATE_BY_AGE = [
    (3, [("sent", 60), ("registered", 30), ("returned", 5), ("withdrawn", 5)]),
    (35, [("sent", 5), ("registered", 55), ("replied", 25), ("closed", 10), ("returned", 3),
          ("withdrawn", 2)]),
    (90, [("registered", 6), ("replied", 30), ("closed", 60), ("returned", 2), ("withdrawn", 2)]),
    (None, [("sent", 0.1), ("registered", 0.4), ("replied", 8), ("closed", 88),
            ("returned", 1), ("withdrawn", 2.5)]),
]
DRAFT_SHARE = 0.01


@dataclass
class World:
    orgs: dict[str, dict]  # code -> {id, kind, name, short_name}
    users_by_org: dict[int, list[tuple[int, str]]]  # org id -> [(user id, display name)]
    handlers_for_receiver: dict[int, list[tuple[int, str]]]
    series_of: dict[int, tuple[int, str]]  # org id -> (series org id, prefix)
    ids: dict[str, int] = field(default_factory=dict)  # table -> last id
    counters: dict[tuple[int, int], int] = field(default_factory=dict)
    recent_persons: dict[int, list[int]] = field(default_factory=dict)


def build_world(now: datetime) -> World:
    """Load the demo organisations and users, add one account to each organisation that
    has none (so that every sender and receiver has someone to act), and read it all."""
    from caseflow.core.demo import DEMO_PASSWORD, load_demo
    from caseflow.core.orgs import services as org_services
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.orgs.roles import OrganisationKind, Role
    from caseflow.core.orgs.services import subtree_ids
    from caseflow.referrals.policy import HANDLING_ROLES

    load_demo(now=now, log=lambda message: None)
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
    db.session.commit()

    orgs, users_by_org, series_of, handlers = {}, {}, {}, {}
    all_orgs = db.session.scalars(sa.select(Organisation)).all()
    for org in all_orgs:
        orgs[org.code] = {"id": org.id, "kind": org.kind, "name": org.name,
                          "short_name": org.short_name}
    users = db.session.scalars(sa.select(User)).all()
    for user in users:
        if user.admin_role is None and user.has_role(*HANDLING_ROLES):
            users_by_org.setdefault(user.organisation_id, []).append((user.id, user.display_name))
    for org in all_orgs:
        current = org
        while current is not None and not current.referral_prefix:
            current = current.parent
        if current is not None:
            series_of[org.id] = (current.id, current.referral_prefix)
        handlers[org.id] = [u for oid in sorted(subtree_ids(org.id)) for u in users_by_org.get(oid, [])]
    world = World(orgs=orgs, users_by_org=users_by_org, handlers_for_receiver=handlers,
                  series_of=series_of)
    return world


def _local_dt(day: date, rng: random.Random) -> datetime:
    moment = datetime.combine(day, dtime(8, 30), ZONE) + timedelta(minutes=rng.randrange(0, 540))
    return moment.astimezone(timezone.utc)


def _cap(moment: datetime, now: datetime) -> datetime:
    return min(moment, now - timedelta(minutes=5))


class Seeder:
    def __init__(self, world: World, now: datetime, seed: int = 20261128):
        self.w = world
        self.now = now
        self.today = now.astimezone(ZONE).date()
        self.rng = random.Random(seed)
        self.pinyin_cache: dict[str, str] = {}
        o = world.orgs
        self.federations = [v for v in o.values() if v["kind"] == "federation"]
        self.fed_top = o["jh-fed"]
        self.streets = [v for c, v in o.items() if c.startswith("jh-fed-")]
        self.proc5, self.proc = o["jh-proc-5"], o["jh-proc"]

    # the tables, as Core sees them
    @property
    def tables(self):
        from caseflow.core.people.models import Person
        from caseflow.referrals.models import Referral, ReferralEvent

        return Person.__table__, Referral.__table__, ReferralEvent.__table__

    def _pinyin(self, text: str) -> str:
        if text not in self.pinyin_cache:
            from caseflow.core.people.services import pinyin_of

            self.pinyin_cache[text] = pinyin_of(text)
        return self.pinyin_cache[text]

    def _route(self) -> tuple[str, dict, dict]:
        """(direction, sender, receiver) spread as the district's traffic is."""
        rng = self.rng
        if rng.random() < 0.7:
            sender = self.fed_top if rng.random() < 0.3 else rng.choice(self.streets)
            receiver = self.proc5 if rng.random() < 0.7 else self.proc
            return "to_procuratorate", sender, receiver
        sender = self.proc5 if rng.random() < 0.6 else self.proc
        receiver = self.fed_top if rng.random() < 0.5 else rng.choice(self.streets)
        return "to_federation", sender, receiver

    def rows(self, count: int):
        """``count`` new (persons, referrals, events) rows, ids continuing the table's."""
        rng, w, now, today = self.rng, self.w, self.now, self.today
        persons, referrals, events = [], [], []
        for _ in range(count):
            direction, sender, receiver = self._route()
            creator_id, creator_name = rng.choice(w.users_by_org[sender["id"]])
            # The person: mostly new, sometimes one the sender referred before.
            recent = w.recent_persons.setdefault(sender["id"], [])
            if recent and rng.random() < 0.15:
                person_id = rng.choice(recent)
            else:
                w.ids["persons"] += 1
                person_id = w.ids["persons"]
                pseudonym = rng.choice(PSEUDONYM_HEADS) + rng.choice(PSEUDONYM_TAILS)
                if rng.random() < 0.1:
                    pseudonym += "之女"
                minor = pseudonym.endswith("之女")
                persons.append({
                    "id": person_id, "pseudonym": pseudonym, "pseudonym_pinyin": self._pinyin(pseudonym),
                    "organisation_id": sender["id"], "is_minor": minor, "created_by_id": creator_id,
                    "created_at": now, "updated_at": now})
                recent.append(person_id)
                if len(recent) > 50:
                    recent.pop(0)
            w.ids["referrals"] += 1
            rid = w.ids["referrals"]
            if rng.random() < DRAFT_SHARE:
                state, age = "draft", rng.randrange(0, 30)
            else:
                age = rng.randrange(0, HISTORY_DAYS)
                table = next(t for limit, t in STATE_BY_AGE if limit is None or age < limit)
                state = _weighted(rng, table)
            sent_on = today - timedelta(days=age)
            created_at = _cap(_local_dt(sent_on - timedelta(days=rng.randrange(0, 4)), rng), now)
            consent_on = (created_at.astimezone(ZONE).date() - timedelta(days=rng.randrange(0, 10))
                          if state != "draft" or rng.random() < 0.5 else None)
            offence_year = sent_on.year - rng.randrange(0, 2)
            ref = {
                "id": rid, "state": state, "direction": direction, "sender_org_id": sender["id"],
                "receiver_org_id": receiver["id"], "created_by_id": creator_id, "person_id": person_id,
                "submission_token": f"bench{rid:09d}", "number": None, "number_year": None,
                "number_seq": None, "source": rng.choice(SOURCES),
                "criminal_case_number": (f"江汉检刑诉〔{offence_year}〕{rng.randrange(1, 900)}号"
                                         if rng.random() < 0.5 else None),
                "offence": rng.choice(OFFENCES) if rng.random() < 0.6 else None,
                "offence_on": sent_on - timedelta(days=rng.randrange(30, 400)) if rng.random() < 0.5 else None,
                "circumstances": "被害人在刑事案件中受到侵害，生活困难，需要司法救助和心理疏导。",
                "help_requested": rng.sample(HELP, rng.randrange(1, 4)),
                "is_urgent": rng.random() < 0.08,
                "consent_on": consent_on, "consent_method": rng.choice(CONSENT) if consent_on else None,
                "sent_at": None, "received_on": None, "registration_due_on": None,
                "registered_at": None, "registration_number": None, "handler_id": None,
                "statutory_due_on": None, "due_is_provisional": False, "extended_due_on": None,
                "extension_reason": None, "reply_due_on": None, "replied_at": None, "reply_on": None,
                "reply_outcome": None, "reply_text": None, "closed_at": None, "return_reason": None,
                "withdraw_reason": None, "created_at": created_at, "updated_at": created_at,
            }
            timeline = [("created", created_at, creator_id, creator_name, sender, None, "draft", None, None, True)]
            if state != "draft":
                series_id, prefix = w.series_of[sender["id"]]
                key = (series_id, sent_on.year)
                w.counters[key] = w.counters.get(key, 0) + 1
                seq = w.counters[key]
                sent_at = _cap(max(_local_dt(sent_on, rng), created_at), now)
                statutory = sent_on + timedelta(days=30 + rng.randrange(0, 4))
                ref.update(number=f"{prefix}〔{sent_on.year}〕{seq}号", number_year=sent_on.year,
                           number_seq=seq, sent_at=sent_at, received_on=sent_on,
                           registration_due_on=sent_on + timedelta(days=rng.randrange(3, 6)),
                           statutory_due_on=statutory, reply_due_on=statutory)
                timeline.append(("sent", sent_at, creator_id, creator_name, sender, "draft", "sent", None,
                                 {"number": ref["number"], "received_on": sent_on.isoformat(),
                                  "reply_due_on": statutory.isoformat(), "resent": False}, True))
                handler_id, handler_name = rng.choice(w.handlers_for_receiver[receiver["id"]])
                last = sent_at
                if state in ("registered", "replied", "closed"):
                    registered_at = _cap(sent_at + timedelta(hours=rng.randrange(2, 72)), now)
                    ref.update(registered_at=registered_at, handler_id=handler_id,
                               registration_number=f"{receiver['short_name']}登〔{sent_on.year}〕{rid}号")
                    timeline.append(("registered", registered_at, handler_id, handler_name, receiver,
                                     "sent", "registered", None,
                                     {"registration_number": ref["registration_number"],
                                      "handler": handler_name}, True))
                    last = registered_at
                    if rng.random() < 0.3:
                        timeline.append(("note", _cap(registered_at + timedelta(days=2), now), handler_id,
                                         handler_name, receiver, None, None, "已电话联系被害人，了解家庭情况。",
                                         None, False))
                    if rng.random() < 0.04:
                        extended = statutory + timedelta(days=30)
                        ref.update(extended_due_on=extended, reply_due_on=extended,
                                   extension_reason="需要补充调查家庭经济状况")
                        timeline.append(("extended", _cap(registered_at + timedelta(days=5), now),
                                         handler_id, handler_name, receiver, None, None,
                                         ref["extension_reason"],
                                         {"from": statutory.isoformat(), "to": extended.isoformat()}, True))
                if state in ("replied", "closed"):
                    replied_at = _cap(last + timedelta(days=rng.randrange(3, 40)), now)
                    ref.update(replied_at=replied_at, reply_on=replied_at.astimezone(ZONE).date(),
                               reply_outcome=rng.choice(OUTCOMES), reply_text="经审查，已依法处理并答复。")
                    timeline.append(("replied", replied_at, handler_id, handler_name, receiver,
                                     "registered", "replied", ref["reply_text"],
                                     {"outcome": ref["reply_outcome"]}, True))
                    last = replied_at
                if state == "closed":
                    closed_at = _cap(last + timedelta(days=rng.randrange(1, 10)), now)
                    ref["closed_at"] = closed_at
                    timeline.append(("closed", closed_at, creator_id, creator_name, sender,
                                     "replied", "closed", None, None, True))
                    last = closed_at
                if state == "returned":
                    returned_at = _cap(sent_at + timedelta(days=rng.randrange(1, 5)), now)
                    ref["return_reason"] = "不属于本院管辖范围"
                    timeline.append(("returned", returned_at, handler_id, handler_name, receiver,
                                     "sent", "returned", ref["return_reason"], None, True))
                    last = returned_at
                if state == "withdrawn":
                    withdrawn_at = _cap(sent_at + timedelta(days=rng.randrange(1, 5)), now)
                    ref["withdraw_reason"] = "当事人撤回申请"
                    timeline.append(("withdrawn", withdrawn_at, creator_id, creator_name, sender,
                                     "sent", "withdrawn", ref["withdraw_reason"], None, True))
                    last = withdrawn_at
                ref["updated_at"] = last
            ref["version"] = len(timeline)
            referrals.append(ref)
            for kind, at, actor_id, actor_name, actor_org, from_state, to_state, text, data, shared in timeline:
                w.ids["referral_events"] += 1
                events.append({
                    "id": w.ids["referral_events"], "referral_id": rid, "occurred_at": at,
                    "actor_id": actor_id, "actor_name": actor_name, "actor_org_name": actor_org["name"],
                    "kind": kind, "from_state": from_state, "to_state": to_state, "text": text,
                    "data": data, "is_shared": shared})
        return persons, referrals, events

    def grow(self, engine, target: int, batch: int) -> dict:
        """Insert referrals (with their persons and events) until there are ``target``."""
        from caseflow.referrals.models import ReferralCounter

        persons_t, referrals_t, events_t = self.tables
        with engine.connect() as conn:
            have = conn.scalar(sa.select(sa.func.count()).select_from(referrals_t))
            for name, table in (("persons", persons_t), ("referrals", referrals_t),
                                ("referral_events", events_t)):
                # Re-read: the measured sends add referrals, events and numbers too.
                self.w.ids[name] = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
            counters = ReferralCounter.__table__
            for series_id, year, seq in conn.execute(sa.select(
                    counters.c.organisation_id, counters.c.year, counters.c.last_seq)):
                self.w.counters[(series_id, year)] = max(seq, self.w.counters.get((series_id, year), 0))
        todo = max(target - have, 0)
        started = time.perf_counter()
        done = rows_written = 0
        generating = 0.0
        while done < todo:
            count = min(batch, todo - done)
            mark = time.perf_counter()
            persons, referrals, events = self.rows(count)
            generating += time.perf_counter() - mark
            with engine.begin() as conn:
                if persons:
                    conn.execute(sa.insert(persons_t), persons)
                conn.execute(sa.insert(referrals_t), referrals)
                conn.execute(sa.insert(events_t), events)
            done += count
            rows_written += len(persons) + len(referrals) + len(events)
            elapsed = time.perf_counter() - started
            log(f"    seeded {have + done:>9,} referrals ({done:,}/{todo:,} new; {rows_written:,} rows "
                f"with persons and events) {elapsed:7.1f}s  {done / elapsed:8,.0f} referrals/s  "
                f"{rows_written / elapsed:8,.0f} rows/s  (making rows {generating:.1f}s)")
        insert_seconds = time.perf_counter() - started
        self._finish(engine)
        return {"new_referrals": todo, "rows": rows_written, "insert_seconds": insert_seconds,
                "total_seconds": time.perf_counter() - started}

    def _finish(self, engine) -> None:
        """Counters that continue the seeded numbers; PostgreSQL sequences past the
        explicit ids; fresh planner statistics."""
        from caseflow.referrals.models import ReferralCounter

        table = ReferralCounter.__table__
        with engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            for (series_id, year), seq in self.w.counters.items():
                stmt = insert(table).values(organisation_id=series_id, year=year, last_seq=seq)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["organisation_id", "year"],
                    set_={"last_seq": sa.func.max(stmt.excluded.last_seq, table.c.last_seq)
                          if dialect == "sqlite" else sa.func.greatest(stmt.excluded.last_seq,
                                                                       table.c.last_seq)}))
            if dialect == "postgresql":
                for name in ("persons", "referrals", "referral_events"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))")
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        log(f"    ANALYZE {time.perf_counter() - started:.1f}s")


# -- measuring ---------------------------------------------------------------------------------


class Client:
    """A signed-in browser: each request in its own app context, as in production."""

    def __init__(self, app, username: str):
        from caseflow.core.demo import DEMO_PASSWORD

        self.app = app
        self.http = app.test_client()
        token = self._token("/login")
        response = self.request("post", "/login", data={
            "username": username, "password": DEMO_PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:400]
        self.csrf = self._token("/account")

    def request(self, method: str, url: str, **kwargs):
        with self.app.app_context():
            return getattr(self.http, method)(url, **kwargs)

    def _token(self, page: str) -> str:
        html = self.request("get", page).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)


@dataclass
class Figures:
    times: list[float]
    statements: list[int]
    slowest: list[tuple[float, str, object]]  # the slowest statement of each request

    @property
    def p50(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000

    @property
    def sql(self) -> str:
        low, high = min(self.statements), max(self.statements)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def slowest_ms(self) -> float:
        return statistics.median(s[0] for s in self.slowest) * 1000


def timed(statements: StatementLog, call, expect: int) -> tuple[float, list]:
    statements.start()
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    log_ = statements.stop()
    if response.status_code != expect:
        raise RuntimeError(f"HTTP {response.status_code} (expected {expect}): "
                           f"{response.get_data(as_text=True)[:600]}")
    return elapsed, log_


def measure(app, statements: StatementLog, requests: int, warmup: int,
            page_budget: float) -> dict[str, Figures]:
    from caseflow.core.orgs.models import Organisation, User
    from caseflow.core.people.models import Person
    from caseflow.referrals import services
    from caseflow.referrals.models import Referral

    prosecutor, head = Client(app, "prosecutor"), Client(app, "proc.head")
    with app.app_context():
        me = db.session.scalar(sa.select(User).where(User.username == "prosecutor"))
        org_id = me.organisation_id
        visible = sa.or_(Referral.sender_org_id == org_id,
                         sa.and_(Referral.receiver_org_id == org_id, Referral.state != "draft"))
        detail_ids = db.session.scalars(sa.select(Referral.id).where(visible)
                                        .order_by(sa.func.random()).limit(requests + warmup)).all()
        pseudonym = db.session.scalar(sa.select(Person.pseudonym).where(
            Person.organisation_id == org_id).order_by(Person.id.desc()).limit(1))
    q = pseudonym

    pages = {
        "inbox": (prosecutor, lambda i: "/referrals?box=inbox"),
        "filtered": (head, lambda i: "/referrals?box=all&state=registered&overdue=y"),
        "search": (prosecutor, lambda i: f"/referrals?box=inbox&q={q}"),
        "outbox": (prosecutor, lambda i: "/referrals?box=outbox"),
        "mine": (prosecutor, lambda i: "/referrals?box=mine"),
        "detail": (prosecutor, lambda i: f"/referrals/{detail_ids[i % len(detail_ids)]}"),
        "bare": (prosecutor, lambda i: "/account"),
    }
    results: dict[str, Figures] = {}
    for name in ("bare", "inbox", "filtered", "detail", "outbox", "mine", "search"):
        client, url = pages[name]
        warm_started = time.perf_counter()
        for i in range(warmup):
            timed(statements, lambda: client.request("get", url(requests + i)), 200)
            if time.perf_counter() - warm_started > page_budget / 4:
                break  # seconds a request: one or two are warm-up enough
        figures = Figures([], [], [])
        gc.collect()
        page_started = time.perf_counter()
        for i in range(requests):
            if i >= MIN_REQUESTS and time.perf_counter() - page_started > page_budget:
                break  # a page that takes seconds: fewer requests, said in the table (n)
            elapsed, stmts = timed(statements, lambda: client.request("get", url(i)), 200)
            figures.times.append(elapsed)
            figures.statements.append(len(stmts))
            figures.slowest.append(max(stmts, key=lambda s: s[0], default=(0.0, "", None)))
        results[name] = figures

    # The send: a fresh draft each time (made outside the timing), then the POST.
    def draft() -> int:
        with app.app_context():
            actor = db.session.scalar(sa.select(User).where(User.username == "prosecutor"))
            person = db.session.scalar(sa.select(Person).where(Person.organisation_id == actor.organisation_id)
                                       .order_by(Person.id.desc()).limit(1))
            receiver = db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-fed"))
            today = datetime.now(timezone.utc).astimezone(ZONE).date()
            ref = services.save_draft(
                actor=actor, now=datetime.now(timezone.utc), person=person, receiver=receiver,
                submission_token=uuid.uuid4().hex,
                data=services.ReferralInput(
                    source="case_handling", circumstances="基准测试：被害人需要帮助。",
                    help_requested=["judicial_aid"], consent_on=today, consent_method="written"))
            db.session.commit()
            return ref.id

    figures = Figures([], [], [])
    gc.collect()
    for i in range(warmup + requests):
        ref_id = draft()
        elapsed, stmts = timed(statements, lambda: prosecutor.request(
            "post", f"/referrals/{ref_id}/send", data={"csrf_token": prosecutor.csrf}), 302)
        if i >= warmup:
            figures.times.append(elapsed)
            figures.statements.append(len(stmts))
            figures.slowest.append(max(stmts, key=lambda s: s[0], default=(0.0, "", None)))
    with app.app_context():
        state = db.session.scalar(sa.select(Referral.state).where(Referral.id == ref_id))
        assert state == "sent", f"the last send left the referral {state}"
    results["send"] = figures
    return results


def explain(app, figures: dict[str, Figures]) -> None:
    """The plan of the slowest statement of each list and detail page."""
    with app.app_context():
        engine = db.engine
        for name in ("inbox", "filtered", "detail", "outbox", "mine", "search"):
            elapsed, statement, params = max(figures[name].slowest, key=lambda s: s[0])
            log(f"\n  -- {name}: slowest statement ({elapsed * 1000:.1f} ms)")
            log("  " + " ".join(statement.split())[:1500])
            with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
                    plan = [row[0] for row in rows]
                else:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                    plan = [f"{row[1]:>3} {row[3]}" for row in rows]
            for line in plan:
                log("    " + line)


# -- reporting -----------------------------------------------------------------------------------


def report(backend: str, sizes: list[int], results: dict[int, dict[str, Figures]],
           seeding: dict[int, dict]) -> list[tuple[str, str, bool, str]]:
    base = sizes[0]
    log(f"\n=== {backend}: p50/p95 in ms; SQL = statements per request; slowest = median ms of the "
        f"slowest statement; growth = p95 / p95 at {base:,}; bare = p95 / p95 of /account ===")
    log(f"{'N':>10}  {'page':<9} {'n':>3} {'p50':>8} {'p95':>8} {'SQL':>6} {'slowest':>8} {'growth':>7} {'×bare':>7}")
    for size in sizes:
        figures = results[size]
        bare = figures["bare"].p95
        for page in PAGES:
            f = figures[page]
            growth = f.p95 / results[base][page].p95
            log(f"{size:>10,}  {page:<9} {len(f.times):>3} {f.p50:8.1f} {f.p95:8.1f} {f.sql:>6} {f.slowest_ms:8.2f} "
                f"{growth:7.2f} {'' if page == 'bare' else f'{f.p95 / bare:7.2f}'}")
        (before, after) = figures["_load"]
        log(f"{'':>10}  load average {before[0]:.1f} → {after[0]:.1f} while measuring (2 cores)")
        s = seeding[size]
        log(f"{'':>10}  seeding {s['new_referrals']:,} referrals ({s['rows']:,} rows): "
            f"{s['insert_seconds']:.1f}s inserts, {s['total_seconds']:.1f}s with counters and ANALYZE")
    top = sizes[-1]
    verdicts = []
    for page in GOAL_PAGES + EXTRA_PAGES:
        f = results[top][page]
        growth = f.p95 / results[base][page].p95
        versus_bare = f.p95 / results[top]["bare"].p95
        met = growth <= GOAL_GROWTH and versus_bare <= GOAL_BARE
        verdicts.append((backend, page, met,
                         f"growth {growth:.2f} (≤ {GOAL_GROWTH}), ×bare {versus_bare:.2f} (≤ {GOAL_BARE:g})"))
    return verdicts


def run_backend(backend: str, sizes: list[int], args) -> list:
    url, drop = create_database(backend)
    files = tempfile.mkdtemp(prefix="caseflow-bench-files-")
    app = None
    try:
        log(f"\n##### {backend}: {sa.make_url(url).render_as_string(hide_password=True)}")
        app = make_app(url, CASEFLOW_ATTACHMENT_DIR=files)
        started = time.perf_counter()
        migrate_to_head(app)
        now = datetime.now(timezone.utc)
        with app.app_context():
            world = build_world(now)
            engine = db.engine
        log(f"  schema by migrations and demo data: {time.perf_counter() - started:.1f}s")
        statements = StatementLog()
        statements.attach(engine)
        seeder = Seeder(world, now)
        # Seeding has its own engine, so that the statement log sees only the requests.
        # (psycopg's pipelined executemany beats SQLAlchemy's multi-row "insertmanyvalues"
        # here: 6,800 against 2,200 referral rows a second.)
        seed_engine = sa.create_engine(url)
        results, seeding = {}, {}
        for size in sizes:
            log(f"\n  -- growing to {size:,} referrals")
            seeding[size] = seeder.grow(seed_engine, size, args.batch)
            seed_engine.dispose()
            log(f"  -- measuring at {size:,} ({args.warmup} warm-up + {args.requests} timed requests per page)")
            started = time.perf_counter()
            load = os.getloadavg()
            results[size] = measure(app, statements, args.requests, args.warmup, args.page_budget)
            results[size]["_load"] = (load, os.getloadavg())
            (before, after) = results[size]["_load"]
            log(f"     load average {before[0]:.1f} before, {after[0]:.1f} after (2 cores)")
            log(f"     {time.perf_counter() - started:.1f}s; " + ", ".join(
                f"{page} p95 {results[size][page].p95:.1f} ms" for page in PAGES))
            if args.explain and size == sizes[-1]:
                explain(app, results[size])
        return report(backend, sizes, results, seeding)
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        drop()
        shutil.rmtree(files, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--page-budget", type=float, default=30.0,
                        help="seconds of timed requests per page before stopping early "
                             f"(never under {10} requests)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of each page's slowest statement at the largest size")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    started = time.perf_counter()
    verdicts = []
    for backend in backends:
        verdicts += run_backend(backend, sizes, args)
    log(f"\n=== goal at {sizes[-1]:,} referrals: list and detail pages ≤ {GOAL_GROWTH}× their cost at "
        f"{sizes[0]:,} and ≤ {GOAL_BARE:g}× the bare page (p95) ===")
    for backend, page, met, detail in verdicts:
        tag = "met" if met else "NOT met"
        extra = "" if page in GOAL_PAGES else "  (shown, not part of the goal)"
        log(f"  {backend:<11} {page:<9} {tag:<8} {detail}{extra}")
    goal = all(met for _, page, met, _ in verdicts if page in GOAL_PAGES)
    log(f"  overall: {'goal met' if goal else 'goal NOT met'}; run took {time.perf_counter() - started:.0f}s")
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
