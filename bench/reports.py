#!/usr/bin/env python
"""The four-mechanisms report for the whole district, a year, at 1,000 to 1,000,000
referrals, on SQLite and PostgreSQL: the page against its SQL alone, in the same run.

    .venv/bin/python bench/reports.py [--sizes 1000,100000,1000000]
        [--backends sqlite,postgresql] [--requests 20] [--warmup 2] [--explain]
        [--candidate-index] [--page-budget 120] [--batch 10000]
        [--keep TAG [--seed-only] | --reuse TAG]

For each backend the script builds a scratch database by the migrations, loads the demo
organisations and users (and the demo's own cases, plans and training), then grows the
same database to each size in turn and measures.

Seeding (SQLAlchemy Core ``insert()`` executemany, in batches of one transaction each):

* referrals with their persons and timeline events by ``bench/referrals.py``'s
  ``build_world`` and ``Seeder`` (imported by path, as ``bench/exports.py`` does), with
  their sent dates spread over the last 365 days instead of six years (its module constant
  ``HISTORY_DAYS`` is set before seeding): the district's 14 federations and
  procuratorates send and receive them, so that nearly all of them fall in the year
  reported on (the current calendar year);
* in proportion, from the registered, replied and closed referrals to the procuratorate
  (about 1 in 200 referrals in all): judicial aid cases in every state (numbers in the
  procuratorate's series, proposal, review by another user, decision, payment as the
  CHECK constraints want), 9 in 10 with a joint investigation (a member of each side,
  one to three visits, a few void with their reason), 7 in 10 with a household assessment
  (the applicant and a child, a new minor ``Person``);
* assistance plans for the decided and paid cases and for about 1 in 400 replied
  referrals to the federation (one open plan per person: a person who already has one
  gets a closed plan with its summary), two to four service items each (kind, provider,
  frequency, the state's dates and reasons), sessions for the active and completed items;
* joint training: about one session per 2,000 referrals over the year (held, scheduled
  ahead, a few cancelled with a reason), organised by the federation and the
  procuratorate, inviting street federations, attendance of 5 to 15 accounts and one to
  three people by name.

Measuring, for two supervisors: ``fed.head`` of the district federation (江汉区妇联 and
its 12 street federations) and ``bench.proc.head``, a supervisor of the district
procuratorate (江汉区检察院 and its 5th department), made here. For each, interleaved
(so that the load of the shared machine falls on all three alike), ``--warmup`` untimed
rounds, then ``--requests`` timed ones (fewer, but at least 5, once a user has used up
``--page-budget`` seconds), each round:

* ``page``  GET /reports?period=year&year=Y through the app's test client, signed in,
  each request in its own app context (the statements it sends are captured with
  ``before/after_cursor_execute``);
* ``sql``   the SELECT statements that page request sent, with their parameters, run
  again back to back on one connection of the same engine through the DBAPI
  (``exec_driver_sql``, every row fetched): the page's queries alone, no ORM, no template;
* ``defs``  the aggregate functions of ``caseflow/reports/definitions.py`` that the report
  calls (13 calls), called directly in an app context: the figures without routing,
  form, links or rendering.

It prints p50/p95 in ms of each, the ratios page/sql and page/defs (p50 and p95), the
statements per page (all, and the aggregates among them), the three slowest statements of
a page, the load average before and after, and with ``--explain`` the plan of the slowest
statement at the largest size (EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY
PLAN on SQLite). With ``--candidate-index`` each size is measured a second time with a
covering index on the referral columns the report reads (``CANDIDATE``; created, on
PostgreSQL vacuumed for index-only scans, measured, dropped): the rows marked ``+idx``,
shown, not the verdict. Goal (issue 7): the page costs at most 1.5 times its queries (p50 page /
p50 sql).

Seeding a million referrals takes a while (10-30 minutes per backend), and a measurement
should run the code as it is now: ``--keep TAG`` leaves a copy of the database at each size
(SQLite: ``caseflow-bench-TAG-N.db`` in the temporary folder, by ``VACUUM INTO``;
PostgreSQL: database ``caseflow_bench_TAG_N``, by ``CREATE DATABASE ... TEMPLATE``), with
``--seed-only`` nothing is measured, and ``--reuse TAG`` measures on those copies without
seeding, after bringing them to the current migrations and ``ANALYZE`` (on PostgreSQL
``VACUUM ANALYZE``, the visibility map that autovacuum would have written after a bulk
load and that index-only scans need). The copies stay until removed by hand (``rm``,
``DROP DATABASE``).

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database. SQLite: a temporary file.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

#: bench/referrals.py, loaded by path (bench/ is not a package): its database handling,
#: world, referral seeder, signed-in client and statement log.
_spec = importlib.util.spec_from_file_location("bench_referrals", ROOT / "bench" / "referrals.py")
seeding = sys.modules["bench_referrals"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seeding)
#: The referrals' sent dates: the last year, not six (read by Seeder.rows at call time).
seeding.HISTORY_DAYS = 365

from caseflow.extensions import db  # noqa: E402
from tests.conftest import make_app, migrate_to_head  # noqa: E402

ZONE = seeding.ZONE
GOAL = 1.5
MIN_REQUESTS = 5
PROC_SUPERVISOR = "bench.proc.head"
USERS = (("federation", "fed.head"), ("procuratorate", PROC_SUPERVISOR))
#: One aid case per about 200 referrals: of the registered, replied and closed referrals to
#: the procuratorate (about two in three of all), those whose id is a multiple of this.
CASE_MODULUS = 130
#: Plans without a case: replied and closed referrals to the federation, id % this == 1.
PLAN_MODULUS = 400
TRAINING_PER = 2000


def log(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


# -- seeding the cases, plans and training -------------------------------------------------------

CASE_STATES = [("investigating", 12), ("proposed", 8), ("approved", 5), ("rejected", 5),
               ("decided", 15), ("paid", 55)]
PLACES = ["street_office", "community", "home", "hospital", "school", "employer", "other"]
ITEM_KINDS = ["counselling", "legal_aid", "job_training", "skills_training", "social_assistance",
              "schooling_support", "follow_up", "other"]
ITEM_STATES = [("planned", 8), ("sent", 8), ("accepted", 10), ("active", 30), ("completed", 34),
               ("declined", 5), ("cancelled", 5)]
PROVIDER_OF = {"counselling": "jh-counselling", "legal_aid": "jh-justice", "job_training": "jh-employment",
               "skills_training": "jh-employment"}
FREQUENCIES = ["once", "weekly", "biweekly", "monthly"]
TOPICS = ["spotting_leads", "referring_leads", "starting_a_case", "aid_coverage", "joint_investigation",
          "assistance", "privacy", "other"]
OUTSIDERS = ["赵静", "钱敏", "孙艳", "李梅", "周洁", "吴霞"]


def _tables():
    from caseflow.assistance.models import AssistancePlan, ServiceItem, ServiceSession
    from caseflow.core.people.models import Person
    from caseflow.investigations.models import (
        AidCase, AidCaseCounter, HouseholdAssessment, HouseholdMember, Investigation, InvestigationMember,
        Visit,
    )
    from caseflow.training.models import (
        TrainingAttendance, TrainingInvitation, TrainingOrganiser, TrainingSession, TrainingTopic,
    )

    models = {"persons": Person, "aid_cases": AidCase, "investigations": Investigation,
              "investigation_members": InvestigationMember, "visits": Visit,
              "household_assessments": HouseholdAssessment, "household_members": HouseholdMember,
              "assistance_plans": AssistancePlan, "assistance_items": ServiceItem,
              "assistance_sessions": ServiceSession, "training_sessions": TrainingSession,
              "training_organisers": TrainingOrganiser, "training_topics": TrainingTopic,
              "training_invitations": TrainingInvitation, "training_attendances": TrainingAttendance}
    return {name: model.__table__ for name, model in models.items()}, AidCaseCounter.__table__


#: Tables with an integer id the seeder sets itself (PostgreSQL's sequences follow at the end).
ID_TABLES = ("persons", "aid_cases", "investigations", "investigation_members", "visits",
             "household_assessments", "household_members", "assistance_plans", "assistance_items",
             "assistance_sessions", "training_sessions", "training_invitations", "training_attendances")


class CaseSeeder:
    """Aid cases (with investigations, visits, households), assistance plans (items,
    sessions) and training sessions (organisers, topics, invitations, attendance) in
    proportion to the referrals added since its last call."""

    def __init__(self, world, now: datetime, *, visit_address_sealed: str, seed: int = 20261201):
        self.w = world
        #: One sealed address for every visit: the column takes only sealed values.
        self.visit_address_sealed = visit_address_sealed
        self.now = now
        self.today = now.astimezone(ZONE).date()
        self.rng = random.Random(seed)
        self.last_referral_id = 0
        self.ids: dict[str, int] = {}
        o = world.orgs
        self.org = {code: v["id"] for code, v in o.items()}
        self.org_name = {v["id"]: v["name"] for v in o.values()}
        self.streets = [v["id"] for c, v in o.items() if c.startswith("jh-fed-")]
        self.users = world.users_by_org
        self.user_org = {uid: oid for oid, users in world.users_by_org.items() for uid, _ in users}
        self.open_plan_persons: set[int] = set()

    def _user(self, org_id: int) -> int:
        return self.rng.choice(self.w.handlers_for_receiver[org_id])[0]

    def _id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _day(self, day: date, low: int, high: int) -> date:
        return min(day + timedelta(days=self.rng.randrange(low, high)), self.today)

    def _moment(self, day: date) -> datetime:
        return seeding._cap(seeding._local_dt(day, self.rng), self.now)

    def grow(self, engine, batch: int) -> dict:
        tables, counters = _tables()
        with engine.connect() as conn:
            for name in ID_TABLES:
                self.ids[name] = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(tables[name].c.id), 0)))
            seqs = {(org, year): seq for org, year, seq in conn.execute(
                sa.select(tables["aid_cases"].c.numbering_org_id, tables["aid_cases"].c.number_year,
                          sa.func.max(tables["aid_cases"].c.number_seq))
                .group_by(tables["aid_cases"].c.numbering_org_id, tables["aid_cases"].c.number_year))}
            plans = tables["assistance_plans"]
            self.open_plan_persons = set(conn.scalars(sa.select(plans.c.person_id).where(plans.c.state == "open")))
            from caseflow.referrals.models import Referral

            r = Referral.__table__.c
            wanted = sa.or_(
                sa.and_(r.direction == "to_procuratorate", r.state.in_(("registered", "replied", "closed")),
                        r.id % CASE_MODULUS == 0),
                sa.and_(r.direction == "to_federation", r.state.in_(("replied", "closed")),
                        r.id % PLAN_MODULUS == 1))
            picked = conn.execute(sa.select(r.id, r.direction, r.person_id, r.sender_org_id, r.receiver_org_id,
                                            r.received_on, r.handler_id, r.reply_on)
                                  .where(r.id > self.last_referral_id, wanted).order_by(r.id)).all()
            top = conn.scalar(sa.select(sa.func.max(r.id)))
        new_referrals = top - self.last_referral_id
        self.last_referral_id = top
        started = time.perf_counter()
        written: dict[str, int] = {}
        rows: dict[str, list] = {name: [] for name in tables}

        def flush(final: bool = False) -> None:
            if not final and len(rows["aid_cases"]) + len(rows["assistance_plans"]) < batch // 20:
                return
            with engine.begin() as conn:
                for name in tables:  # the dict's order respects the foreign keys
                    if rows[name]:
                        conn.execute(sa.insert(tables[name]), rows[name])
                        written[name] = written.get(name, 0) + len(rows[name])
                        rows[name] = []
            total = sum(written.values())
            log(f"    cases and assistance: {written.get('aid_cases', 0):,} cases, "
                f"{written.get('assistance_plans', 0):,} plans, {written.get('assistance_items', 0):,} items, "
                f"{written.get('assistance_sessions', 0):,} sessions; {total:,} rows "
                f"{time.perf_counter() - started:6.1f}s")

        for ref in picked:
            if ref.direction == "to_procuratorate":
                self._case(ref, rows, seqs)
            else:
                self._plan(rows, person_id=ref.person_id, org_id=ref.receiver_org_id,
                           start=ref.reply_on or ref.received_on, case_id=None)
            flush()
        for _ in range(max(1, new_referrals // TRAINING_PER)):
            self._training(rows)
        flush(final=True)
        self._finish(engine, counters, seqs)
        return {"rows": sum(written.values()), "seconds": time.perf_counter() - started, **written}

    def _case(self, ref, rows, seqs) -> None:
        rng, now = self.rng, self.now
        state = seeding._weighted(rng, CASE_STATES)
        handler = ref.handler_id or self._user(ref.receiver_org_id)
        reviewers = [u for u, _ in self.w.handlers_for_receiver[self.org["jh-proc"]] if u != handler]
        series = self.org["jh-proc"]
        received = self._day(ref.received_on, 0, 10)
        key = (series, received.year)
        seqs[key] = seqs.get(key, 0) + 1
        case_id = self._id("aid_cases")
        created = self._moment(received)
        case = {
            "id": case_id, "number": f"江汉检救〔{received.year}〕{seqs[key]}号", "number_year": received.year,
            "number_seq": seqs[key], "numbering_org_id": series, "organisation_id": ref.receiver_org_id,
            "referral_id": ref.id, "applicant_id": ref.person_id, "handler_id": handler,
            "created_by_id": handler, "state": state, "criminal_case_number": None, "offence": "故意伤害",
            "offence_on": None, "application_received_on": received,
            "summary": "被害人因犯罪侵害致生活困难，申请司法救助。", "findings": None, "proposed_amount": None,
            "proposal_reasons": None, "proposed_by_id": None, "proposed_at": None, "reviewed_by_id": None,
            "reviewed_at": None, "review_comment": None, "granted_amount": None, "decided_on": None,
            "decision_text": None, "paid_amount": None, "paid_on": None, "payment_method": None,
            "payment_reference": None, "version": 1, "created_at": created, "updated_at": created}
        if state != "investigating":
            amount = Decimal(rng.randrange(50, 800)) * 100
            proposed_on = self._day(received, 10, 40)
            case.update(findings="家庭经济困难，符合救助条件。", proposed_amount=amount,
                        proposal_reasons="因案致贫", proposed_by_id=handler,
                        proposed_at=self._moment(proposed_on))
            if state != "proposed":
                reviewed_on = self._day(proposed_on, 1, 6)
                case.update(reviewed_by_id=rng.choice(reviewers), reviewed_at=self._moment(reviewed_on),
                            review_comment="同意" if state != "rejected" else "不符合条件")
                if state in ("decided", "paid"):
                    decided = self._day(reviewed_on, 1, 10)
                    granted = amount - Decimal(rng.randrange(0, 20)) * 100 + Decimal("0.50")
                    case.update(granted_amount=granted, decided_on=decided, decision_text="决定给予司法救助。")
                    if state == "paid":
                        case.update(paid_amount=granted, paid_on=self._day(decided, 1, 15),
                                    payment_method=rng.choice(["bank_transfer", "cash", "other"]),
                                    payment_reference=f"BENCH{case_id:08d}")
        rows["aid_cases"].append(case)
        federation = ref.sender_org_id
        if rng.random() < 0.9:
            inv_id = self._id("investigations")
            started_on = self._day(received, 1, 10)
            fed_user = self._user(federation)
            rows["investigations"].append({
                "id": inv_id, "case_id": case_id, "plan": "入户走访，核实家庭经济状况。", "started_on": started_on,
                "started_by_id": handler, "created_at": self._moment(started_on),
                "updated_at": self._moment(started_on)})
            for user_id, side in ((handler, "procuratorate"), (fed_user, "federation")):
                rows["investigation_members"].append({"id": self._id("investigation_members"),
                                                      "investigation_id": inv_id, "user_id": user_id, "side": side})
            for _ in range(rng.randrange(1, 4)):
                visited = self._day(started_on, 0, 30)
                void = rng.random() < 0.03
                at = self._moment(visited)
                rows["visits"].append({
                    "id": self._id("visits"), "investigation_id": inv_id, "visited_on": visited,
                    "place_kind": rng.choice(PLACES), "address_sealed": self.visit_address_sealed,
                    "visitor_ids": [handler, fed_user],
                    "other_visitors": None, "met": "被害人及其家属", "notes": "了解家庭收入和支出。",
                    "recorded_by_id": handler, "voided_at": at if void else None,
                    "void_reason": "重复录入" if void else None, "version": 1, "created_at": at, "updated_at": at})
        if rng.random() < 0.7:
            assessment_id = self._id("household_assessments")
            at = self._moment(self._day(received, 2, 20))
            rows["household_assessments"].append({
                "id": assessment_id, "case_id": case_id, "medical_costs": Decimal("800.00"),
                "schooling_costs": Decimal("300.00"), "housing_costs": Decimal("1200.00"), "other_costs": None,
                "income_lost": Decimal("2500.00"), "qualifies_minimum_allowance": rng.random() < 0.4,
                "minimum_allowance_reason": None, "other_help": None, "updated_by_id": handler, "version": 1,
                "created_at": at, "updated_at": at})
            child_id = self._id("persons")
            rows["persons"].append({
                "id": child_id, "pseudonym": "小雨之子", "pseudonym_pinyin": "xiaoyuzhizi",
                "organisation_id": ref.receiver_org_id, "is_minor": True, "created_by_id": handler,
                "created_at": at, "updated_at": at})
            for person_id, relation, age, minor, income in (
                    (ref.person_id, "本人", 38, False, Decimal("1500.00")), (child_id, "儿子", 9, True, None)):
                rows["household_members"].append({
                    "id": self._id("household_members"), "assessment_id": assessment_id, "person_id": person_id,
                    "relation": relation, "age_years": age, "is_minor": minor, "schooling": None, "work": None,
                    "monthly_income": income, "income_source": None, "health": None, "disability": None,
                    "created_at": at, "updated_at": at})
        if state in ("decided", "paid"):
            self._plan(rows, person_id=ref.person_id, org_id=federation, start=case["decided_on"], case_id=case_id)

    def _plan(self, rows, *, person_id: int, org_id: int, start: date, case_id: int | None) -> None:
        rng = self.rng
        officer = self._user(org_id)
        plan_id = self._id("assistance_plans")
        opened = self._moment(start)
        closed = person_id in self.open_plan_persons or rng.random() < 0.1
        if not closed:
            self.open_plan_persons.add(person_id)
        rows["assistance_plans"].append({
            "id": plan_id, "person_id": person_id, "organisation_id": org_id, "officer_id": officer,
            "aid_case_id": case_id, "state": "closed" if closed else "open", "summary": "多元帮扶计划",
            "closed_at": opened if closed else None, "closing_summary": "帮扶结束" if closed else None,
            "created_at": opened, "updated_at": opened})
        for _ in range(rng.randrange(2, 5)):
            kind = rng.choice(ITEM_KINDS)
            state = seeding._weighted(rng, ITEM_STATES)
            starts = self._day(start, 0, 20)
            sent = None if state == "planned" else self._day(starts, 0, 3)
            item_id = self._id("assistance_items")
            provider = self.org[PROVIDER_OF[kind]] if kind in PROVIDER_OF else org_id
            frequency = "once" if kind == "legal_aid" else rng.choice(FREQUENCIES)
            running = state in ("accepted", "active")
            rows["assistance_items"].append({
                "id": item_id, "plan_id": plan_id, "kind": kind, "beneficiary_id": person_id,
                "provider_org_id": provider, "officer_id": officer, "frequency": frequency, "starts_on": starts,
                "ends_on": starts + timedelta(days=rng.randrange(30, 180)) if rng.random() < 0.6 else None,
                "state": state, "details": None, "needs_identity": kind == "legal_aid", "sent_on": sent,
                "acceptance_due_on": sent + timedelta(days=5) if sent else None,
                "responded_at": self._moment(sent) if state not in ("planned", "sent") and sent else None,
                "responded_by_id": None,
                "decline_reason": "本机构暂无服务能力" if state == "declined" else None,
                "cancel_reason": "当事人不再需要" if state == "cancelled" else None,
                "outcome": "已完成" if state == "completed" else None,
                "next_session_due_on": self._day(self.today, -20, 30) if running else None,
                "legal_matter": "车辆所有权纠纷" if kind == "legal_aid" else None, "lawsuit_outcome": None,
                "measure_id": None, "version": 1, "created_at": opened, "updated_at": opened})
            if state in ("active", "completed"):
                for _ in range(rng.randrange(1, 7)):
                    held = self._day(starts, 0, 120)
                    rows["assistance_sessions"].append({
                        "id": self._id("assistance_sessions"), "item_id": item_id, "held_on": held,
                        "attended": "本人", "seen_separately": None, "notes": "按计划开展。", "outcome": None,
                        "recorded_by_id": officer, "recorded_at": self._moment(held)})

    def _training(self, rows) -> None:
        rng, today = self.rng, self.today
        first = date(today.year, 1, 1)
        day = first + timedelta(days=rng.randrange(0, (today - first).days + 30))
        starts = datetime.combine(day, dtime(9, 0), ZONE).astimezone(timezone.utc)
        past = starts < self.now - timedelta(hours=4)
        state = ("cancelled" if rng.random() < 0.1 else "held") if past else "scheduled"
        creator = self._user(self.org["jh-fed"])
        session_id = self._id("training_sessions")
        made = min(starts - timedelta(days=14), self.now)
        rows["training_sessions"].append({
            "id": session_id, "title": "线索发现与移送联合培训", "starts_at": starts,
            "ends_at": starts + timedelta(hours=3), "place": "区妇联会议室", "trainers": "张明（区检察院）",
            "content": None, "state": state, "created_by_id": creator,
            "cancelled_at": made if state == "cancelled" else None,
            "cancel_reason": "会议室冲突" if state == "cancelled" else None, "version": 1,
            "created_at": made, "updated_at": made})
        organisers = {self.org["jh-fed"] if rng.random() < 0.6 else rng.choice(self.streets),
                      self.org["jh-proc"] if rng.random() < 0.5 else self.org["jh-proc-5"]}
        for org_id in sorted(organisers):
            rows["training_organisers"].append({"session_id": session_id, "organisation_id": org_id})
        for topic in rng.sample(TOPICS, 2):
            rows["training_topics"].append({"session_id": session_id, "topic": topic})
        for org_id in rng.sample(self.streets, rng.randrange(3, 13)):
            rows["training_invitations"].append({
                "id": self._id("training_invitations"), "session_id": session_id, "user_id": None,
                "organisation_id": org_id, "invited_at": made, "invited_by_id": creator, "withdrawn_at": None,
                "withdrawn_by_id": None})
        if state != "held":
            return
        people = sorted(self.user_org)
        for user_id in rng.sample(people, min(len(people), rng.randrange(5, 16))):
            status = seeding._weighted(rng, [("present", 85), ("absent", 8), ("excused", 7)])
            rows["training_attendances"].append({
                "id": self._id("training_attendances"), "session_id": session_id, "user_id": user_id,
                "organisation_id": self.user_org[user_id], "external_name": None, "external_organisation": None,
                "status": status, "note": None, "recorded_at": starts, "recorded_by_id": creator,
                "updated_at": starts, "version": 1})
        for name in rng.sample(OUTSIDERS, rng.randrange(1, 4)):
            known = rng.random() < 0.5
            rows["training_attendances"].append({
                "id": self._id("training_attendances"), "session_id": session_id, "user_id": None,
                "organisation_id": self.org["jh-justice"] if known else None, "external_name": name,
                "external_organisation": self.org_name[self.org["jh-justice"]] if known else "常青社区居委会",
                "status": "present", "note": None, "recorded_at": starts, "recorded_by_id": creator,
                "updated_at": starts, "version": 1})

    def _finish(self, engine, counters, seqs) -> None:
        """Case counters that continue the seeded numbers; PostgreSQL's sequences past the
        explicit ids; fresh planner statistics (for every table, after the referrals')."""
        with engine.begin() as conn:
            for (org_id, year), seq in seqs.items():
                where = sa.and_(counters.c.organisation_id == org_id, counters.c.year == year)
                if not conn.execute(sa.update(counters).where(where).values(last_seq=seq)).rowcount:
                    conn.execute(sa.insert(counters).values(organisation_id=org_id, year=year, last_seq=seq))
            if conn.dialect.name == "postgresql":
                for name in ID_TABLES:
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT coalesce(max(id), 1) FROM {name}))")
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        log(f"    ANALYZE {time.perf_counter() - started:.1f}s")


def add_proc_supervisor(now) -> None:
    from caseflow.core.demo import DEMO_PASSWORD
    from caseflow.core.orgs import services as org_services
    from caseflow.core.orgs.models import Organisation
    from caseflow.core.orgs.roles import Role

    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-proc"))
    org_services.create_account(
        actor=None, now=now, username=PROC_SUPERVISOR, display_name="检察院主管", email="proc.head@bench.example.com",
        organisation=org, password=DEMO_PASSWORD, roles=frozenset({Role.SUPERVISOR, Role.PROSECUTOR}),
        is_demo=True)
    db.session.commit()


# -- measuring -------------------------------------------------------------------------------------


def ms_p50(times: list[float]) -> float:
    return statistics.median(times) * 1000


def ms_p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000


@dataclass
class Timings:
    page: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    defs: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    aggregates: list[int] = field(default_factory=list)
    #: statement -> its times in the page requests (the same statements every request)
    by_statement: dict[str, list[float]] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)
    load: tuple[str, str] = ("", "")


AGGREGATE_TABLES = ("referrals", "aid_cases", "assistance_items", "assistance_sessions", "investigations",
                    "visits", "training_sessions", "training_attendances")


def _is_aggregate(statement: str) -> bool:
    text = statement.lower()
    return any(f in text for f in ("count(", "sum(", "max(")) and any(f" {t}" in text for t in AGGREGATE_TABLES)


def run_definitions(org_ids, start: date, end: date, today: date) -> None:
    """The definitions' calls that ``figures.build`` makes, in its order."""
    from caseflow.reports import definitions as d

    d.referral_figures(org_ids, start, end, today)
    for side in (d.RECEIVED, d.SENT):
        d.days_to_reply(org_ids, start, end, side)
        d.overdue_now(org_ids, today, side)
    d.case_figures(org_ids, start, end)
    d.session_counts(org_ids, start, end)
    for function in (d.investigations_started, d.visits_made, d.items_by_kind_and_state,
                     d.training_sessions_held, d.people_trained):
        function(org_ids, start, end)
    d.organisations_not_trained(org_ids, end.year)


def measure(app, statements, username: str, year: int, args) -> Timings:
    from caseflow.core.orgs.models import User
    from caseflow.core.orgs.services import subtree_ids

    client = seeding.Client(app, username)
    url = f"/reports?period=year&year={year}"
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        org_ids = subtree_ids(user.organisation_id)
        engine = db.engine
    start, end = date(year, 1, 1), date(year, 12, 31)
    today = datetime.now(timezone.utc).astimezone(ZONE).date()
    t = Timings()

    def page() -> list:
        elapsed, stmts = seeding.timed(statements, lambda: client.request("get", url), 200)
        return elapsed, stmts

    def sql(stmts) -> float:
        selects = [(s, p) for _e, s, p in stmts if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        with engine.connect() as conn:
            started = time.perf_counter()
            for statement, params in selects:
                conn.exec_driver_sql(statement, params).fetchall()
            elapsed = time.perf_counter() - started
            conn.rollback()
        return elapsed

    def defs() -> float:
        with app.app_context():
            started = time.perf_counter()
            run_definitions(org_ids, start, end, today)
            elapsed = time.perf_counter() - started
            db.session.rollback()
        return elapsed

    before = load()
    for _ in range(args.warmup):
        _e, stmts = page()
        sql(stmts)
        defs()
    gc.collect()
    began = time.perf_counter()
    for i in range(args.requests):
        if i >= MIN_REQUESTS and time.perf_counter() - began > args.page_budget:
            break
        elapsed, stmts = page()
        t.page.append(elapsed)
        t.statements.append(len(stmts))
        t.aggregates.append(sum(1 for _e, s, _p in stmts if _is_aggregate(s)))
        for e, s, p in stmts:
            t.by_statement.setdefault(s, []).append(e)
            t.params[s] = p
        t.sql.append(sql(stmts))
        t.defs.append(defs())
    t.load = (before, load())
    return t


def explain(engine, statement: str, params) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            from caseflow.reports.definitions import POSTGRESQL_REPORT_SETTINGS

            for name, value in POSTGRESQL_REPORT_SETTINGS.items():  # as the page's transaction has them
                conn.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params).all()
            return [row[0] for row in rows]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return [f"{row[1]:>3} {row[3]}" for row in rows]


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def show(backend: str, size: int, who: str, t: Timings) -> dict:
    page50, page95 = ms_p50(t.page), ms_p95(t.page)
    sql50, sql95 = ms_p50(t.sql), ms_p95(t.sql)
    defs50, defs95 = ms_p50(t.defs), ms_p95(t.defs)
    row = {"backend": backend, "size": size, "who": who, "n": len(t.page), "page": (page50, page95),
           "sql": (sql50, sql95), "defs": (defs50, defs95), "ratio": page50 / sql50, "ratio95": page95 / sql95,
           "ratio_defs": page50 / defs50, "statements": _span(t.statements), "aggregates": _span(t.aggregates),
           "load": t.load}
    log(f"     {who:<13} n={len(t.page):<3} page {page50:8.1f}/{page95:8.1f}  sql {sql50:8.1f}/{sql95:8.1f}  "
        f"defs {defs50:8.1f}/{defs95:8.1f} ms (p50/p95)  page/sql {row['ratio']:.2f} (p95 {row['ratio95']:.2f})  "
        f"page/defs {row['ratio_defs']:.2f}  SQL {row['statements']} ({row['aggregates']} aggregates)  "
        f"load {t.load[0]} → {t.load[1]}")
    slowest = sorted(t.by_statement.items(), key=lambda kv: -statistics.median(kv[1]))[:3]
    for statement, times in slowest:
        log(f"        {statistics.median(times) * 1000:8.1f} ms  {' '.join(statement.split())[:150]}")
    return row


#: A candidate covering index for the report's referral aggregates (``--candidate-index``):
#: every column they read, so that the database reads a narrow index instead of the table.
CANDIDATE = ("received_on", "state", "sender_org_id", "receiver_org_id", "direction", "source", "reply_on",
             "reply_due_on", "registered_at", "registration_due_on", "extended_due_on")


def candidate_index(engine, *, create: bool) -> None:
    started = time.perf_counter()
    with engine.begin() as conn:
        if create:
            conn.exec_driver_sql(f"CREATE INDEX ix_referrals_report_candidate ON referrals ({', '.join(CANDIDATE)})")
        else:
            conn.exec_driver_sql("DROP INDEX ix_referrals_report_candidate")
    if create:
        if engine.dialect.name == "postgresql":  # VACUUM: the visibility map an index-only scan needs
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE referrals")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE referrals")
    engine.dispose()
    log(f"  -- candidate index {'created' if create else 'dropped'} ({time.perf_counter() - started:.1f}s)")


def snapshot_url(backend: str, tag: str, size: int) -> str:
    """Where ``--keep TAG`` leaves (and ``--reuse TAG`` finds) the database grown to ``size``."""
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'caseflow-bench-{tag}-{size}.db'}"
    admin = sa.make_url(os.environ.get("CASEFLOW_TEST_DATABASE_URL") or seeding.DEFAULT_PG_URL)
    if admin.drivername == "postgresql":
        admin = admin.set(drivername="postgresql+psycopg")
    return admin.set(database=f"caseflow_bench_{tag}_{size}").render_as_string(hide_password=False)


def keep_snapshot(backend: str, url: str, tag: str, size: int) -> None:
    """A copy of the scratch database as it is now (every engine on it disposed first)."""
    started = time.perf_counter()
    target = snapshot_url(backend, tag, size)
    if backend == "sqlite":
        path = Path(sa.make_url(target).database)
        path.unlink(missing_ok=True)
        import sqlite3

        conn = sqlite3.connect(sa.make_url(url).database, isolation_level=None)
        conn.execute(f"VACUUM INTO '{path}'")
        conn.close()
    else:
        source, name = sa.make_url(url).database, sa.make_url(target).database
        admin = sa.create_engine(sa.make_url(target).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        admin.dispose()
    log(f"  -- kept as {sa.make_url(target).render_as_string(hide_password=True)} "
        f"({time.perf_counter() - started:.0f}s)")


def measure_size(app, engine, statements, backend: str, size: int, year: int, args) -> list[dict]:
    rows = []
    with app.app_context():
        counts = {name: db.session.scalar(sa.text(f"SELECT count(*) FROM {name}")) for name in (
            "referrals", "aid_cases", "visits", "assistance_plans", "assistance_items",
            "assistance_sessions", "training_sessions", "training_attendances")}
        in_year = db.session.scalar(sa.text(
            "SELECT count(*) FROM referrals WHERE state <> 'draft' "
            "AND received_on >= :a AND received_on <= :b"),
            {"a": date(year, 1, 1), "b": date(year, 12, 31)})
    log("     " + ", ".join(f"{n} {c:,}" for n, c in counts.items()) + f"; referrals received in {year}: "
        f"{in_year:,}")
    log(f"  -- measuring the {year} report at {size:,} ({args.warmup} warm-up + up to {args.requests} "
        f"rounds of page, sql, defs per user; load {load()})")
    timings = {}
    for who, username in USERS:
        timings[who] = measure(app, statements, username, year, args)
        rows.append(show(backend, size, who, timings[who]))
    if args.candidate_index:
        candidate_index(engine, create=True)
        for who, username in USERS:
            rows.append(show(backend, size, f"{who}+idx", measure(app, statements, username, year, args)))
        candidate_index(engine, create=False)
    if args.explain and size == args.explain_size:
        for who, t in timings.items():
            statement, times = max(t.by_statement.items(), key=lambda kv: statistics.median(kv[1]))
            log(f"\n  -- {who}: slowest statement ({statistics.median(times) * 1000:.1f} ms median)")
            log("  " + " ".join(statement.split())[:2000])
            for line in explain(engine, statement, t.params[statement]):
                log("    " + line)
    return rows


def reuse_backend(backend: str, sizes: list[int], args) -> list[dict]:
    """Measure on the databases an earlier ``--keep TAG`` run left, brought to the current
    migrations (and analysed) first; nothing is seeded and nothing is dropped."""
    rows = []
    files = tempfile.mkdtemp(prefix="caseflow-bench-files-")
    try:
        for size in sizes:
            url = snapshot_url(backend, args.reuse, size)
            log(f"\n##### {backend} {size:,}: {sa.make_url(url).render_as_string(hide_password=True)} "
                f"(load {load()})")
            app = make_app(url, CASEFLOW_ATTACHMENT_DIR=files)
            started = time.perf_counter()
            migrate_to_head(app)
            with app.app_context():
                engine = db.engine
                if backend == "postgresql":  # as autovacuum leaves a table some time after a bulk load
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.exec_driver_sql("VACUUM ANALYZE")
                else:
                    with engine.begin() as conn:
                        conn.exec_driver_sql("ANALYZE")
            log(f"  migrations and {'VACUUM ' if backend == 'postgresql' else ''}ANALYZE: "
                f"{time.perf_counter() - started:.1f}s")
            statements = seeding.StatementLog()
            statements.attach(engine)
            year = datetime.now(timezone.utc).astimezone(ZONE).year
            rows += measure_size(app, engine, statements, backend, size, year, args)
            with app.app_context():
                db.engine.dispose()
        return rows
    finally:
        shutil.rmtree(files, ignore_errors=True)


def run_backend(backend: str, sizes: list[int], args) -> list[dict]:
    if args.reuse:
        return reuse_backend(backend, sizes, args)
    url, drop = seeding.create_database(backend)
    files = tempfile.mkdtemp(prefix="caseflow-bench-files-")
    app = None
    rows = []
    try:
        log(f"\n##### {backend}: {sa.make_url(url).render_as_string(hide_password=True)}  (load {load()})")
        app = make_app(url, CASEFLOW_ATTACHMENT_DIR=files)
        started = time.perf_counter()
        migrate_to_head(app)
        now = datetime.now(timezone.utc)
        with app.app_context():
            world = seeding.build_world(now)
            add_proc_supervisor(now)
            engine = db.engine
        log(f"  schema by migrations, demo data: {time.perf_counter() - started:.1f}s")
        year = now.astimezone(ZONE).year
        statements = seeding.StatementLog()
        statements.attach(engine)
        referrals = seeding.Seeder(world, now)
        from caseflow.core.crypto import cipher_for_app
        from caseflow.core.people.services import seal_copy
        from caseflow.investigations.models import VISIT_ADDRESS

        cases = CaseSeeder(world, now, visit_address_sealed=seal_copy(
            VISIT_ADDRESS, "江汉区某社区", cipher_for_app(app)))
        seed_engine = sa.create_engine(url)
        for size in sizes:
            log(f"\n  -- growing to {size:,} referrals (load {load()})")
            grown = referrals.grow(seed_engine, size, args.batch)
            more = cases.grow(seed_engine, args.batch)
            seed_engine.dispose()
            log(f"  -- seeded {grown['rows']:,} referral rows in {grown['total_seconds']:.0f}s and {more['rows']:,} "
                f"case, assistance and training rows in {more['seconds']:.0f}s")
            if args.keep:
                with app.app_context():
                    db.engine.dispose()
                keep_snapshot(backend, url, args.keep, size)
            if not args.seed_only:
                rows += measure_size(app, engine, statements, backend, size, year, args)
        return rows
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
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--page-budget", type=float, default=120.0,
                        help="seconds of timed rounds per user and size before stopping early "
                             f"(never under {MIN_REQUESTS} rounds)")
    parser.add_argument("--candidate-index", action="store_true",
                        help="at each size measure again with a covering index on the referral columns the "
                             "report reads (created, then dropped)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plan of the page's slowest statement at the largest size")
    parser.add_argument("--keep", metavar="TAG",
                        help="keep a copy of the database at each size (SQLite: caseflow-bench-TAG-N.db in the "
                             "temporary folder; PostgreSQL: database caseflow_bench_TAG_N), for --reuse")
    parser.add_argument("--reuse", metavar="TAG",
                        help="seed nothing: measure on the copies an earlier --keep TAG run left (migrated to "
                             "head and analysed first; they are not dropped)")
    parser.add_argument("--seed-only", action="store_true", help="with --keep: seed and keep, measure nothing")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    args.explain_size = sizes[-1]
    if args.seed_only and not args.keep:
        parser.error("--seed-only needs --keep")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    started = time.perf_counter()
    rows = []
    for backend in backends:
        rows += run_backend(backend, sizes, args)
    log(f"\n=== the year's report, whole district: p50/p95 ms; page/sql = p50 page / p50 of its SELECTs run "
        f"alone (goal ≤ {GOAL}); page/defs = p50 page / p50 of the definitions called directly ===")
    log(f"{'backend':<11} {'N':>10} {'who':<13} {'n':>3} {'page p50/p95':>17} {'sql p50/p95':>17} "
        f"{'defs p50':>9} {'page/sql':>8} {'p95':>5} {'page/defs':>9} {'SQL (agg)':>10}  load")
    for r in rows:
        log(f"{r['backend']:<11} {r['size']:>10,} {r['who']:<13} {r['n']:>3} "
            f"{r['page'][0]:8.1f}/{r['page'][1]:8.1f} {r['sql'][0]:8.1f}/{r['sql'][1]:8.1f} {r['defs'][0]:9.1f} "
            f"{r['ratio']:8.2f} {r['ratio95']:5.2f} {r['ratio_defs']:9.2f} "
            f"{r['statements'] + ' (' + r['aggregates'] + ')':>10}  {r['load'][0]} → {r['load'][1]}")
    if not rows:
        log(f"  nothing measured (--seed-only); run took {time.perf_counter() - started:.0f}s")
        return 0
    top = sizes[-1]
    met = all(r["ratio"] <= GOAL for r in rows if r["size"] == top and "+" not in r["who"])
    log(f"  goal at {top:,}: {'met' if met else 'NOT met'} (page ≤ {GOAL}× its queries, p50); "
        f"run took {time.perf_counter() - started:.0f}s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
