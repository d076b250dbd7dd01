"""The service's health, computed once for every reader: ``/healthz`` (load balancers,
uptime monitors), ``caseflow check`` (Nagios, Icinga) and the gauges of ``/metrics``.

Each check is a function ``check(now) -> Check`` registered with ``@health_check(name)``;
the checks run in registration order, database first. A check that needs the database is
not run when the database is unreachable (it reports ``unknown``). Every check is a few
indexed queries: a load balancer asks every few seconds. Nothing here names a person: only
counts, ages and times.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import click
import sqlalchemy as sa

from caseflow.core.db import utcnow

log = logging.getLogger("caseflow.monitoring")

OK, WARNING, CRITICAL, UNKNOWN = "ok", "warning", "critical", "unknown"
#: Worst last; a report's status is its worst check's.
SEVERITY = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}
#: Nagios plugin exit codes.
EXIT_CODES = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}

#: The scheduler is silent when no heartbeat run finished within this many heartbeat
#: intervals (the interval is the heartbeat job's own, from the registry).
SILENT_INTERVALS = 3
HEARTBEAT_JOB = "heartbeat"
#: A message due this long and still queued means delivery is not keeping up, or not
#: running: outbox_wake delivers within seconds of the commit and outbox_delivery runs
#: every minute, so ten minutes are ten missed delivery runs.
OUTBOX_DUE_WARNING = timedelta(minutes=10)
#: A queued message that has failed this many times (1 + 2 + 4 minutes of retries) means
#: the mail server or the SMS gateway is refusing or down.
OUTBOX_FAILED_ATTEMPTS_WARNING = 3


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    #: One line for people: what ``caseflow check`` prints after the name.
    summary: str
    #: What ``/healthz`` shows under the check's name: a word or a small dict.
    report: object
    #: Nagios performance data ("label=value[unit];warn;crit"), without the separator.
    perfdata: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthReport:
    now: datetime
    checks: list[Check] = field(default_factory=list)

    @property
    def status(self) -> str:
        return max((c.status for c in self.checks), key=SEVERITY.__getitem__, default=OK)

    @property
    def http_status(self) -> int:
        return 503 if self.status in (CRITICAL, UNKNOWN) else 200

    def as_json(self) -> dict:
        body = {"status": self.status}
        body.update((c.name, c.report) for c in self.checks)
        return body

    def nagios_line(self) -> str:
        status = self.status.upper()
        shown = [c for c in self.checks if c.status != OK] or self.checks
        text = "; ".join(f"{c.name} {c.summary}" for c in shown)
        perf = " ".join(p for c in self.checks for p in c.perfdata)
        return f"CASEFLOW {status} - {text}" + (f" | {perf}" if perf else "")


@dataclass(frozen=True)
class _Registered:
    name: str
    func: Callable[[datetime], Check]
    needs_database: bool


CHECKS: dict[str, _Registered] = {}


def health_check(name: str, *, needs_database: bool = True):
    """Register ``func(now) -> Check`` as the check ``name`` (the key in /healthz)."""

    def decorate(func):
        CHECKS[name] = _Registered(name=name, func=func, needs_database=needs_database)
        return func

    return decorate


def run_checks(now: datetime | None = None) -> HealthReport:
    """Every registered check, inside the current app context. Read only: the session is
    rolled back at the end, so nothing a check did stays open."""
    from caseflow.extensions import db

    now = now or utcnow()
    checks: list[Check] = []
    database_ok = True
    for registered in CHECKS.values():
        if registered.needs_database and not database_ok:
            checks.append(Check(registered.name, UNKNOWN, "not checked: no database",
                                {"status": UNKNOWN}))
            continue
        try:
            check = registered.func(now)
        except Exception as error:  # a broken check must not break the health page
            db.session.rollback()
            log.exception("health check %s failed", registered.name)
            check = Check(registered.name, UNKNOWN, f"check failed: {type(error).__name__}",
                          {"status": UNKNOWN})
        checks.append(check)
        if registered.name == "database" and check.status != OK:
            database_ok = False
    try:
        db.session.rollback()
    except Exception:  # the database went away during the checks; already reported
        pass
    return HealthReport(now=now, checks=checks)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _age(now: datetime, moment: datetime | None) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


@health_check("database", needs_database=False)
def check_database(now: datetime) -> Check:
    from caseflow.extensions import db

    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure is "unreachable"; the detail goes to the log
        db.session.rollback()
        log.warning("health check: the database is unreachable: %s", type(error).__name__)
        return Check("database", CRITICAL, "unreachable", "unreachable")
    return Check("database", OK, "ok", "ok")


@health_check("schema")
def check_schema(now: datetime) -> Check:
    """The database at this code's migrations head: the web refuses to serve otherwise
    (core/schema.py). Once current, a process remembers it and asks no more."""
    from flask import current_app

    from caseflow.core.schema import code_heads, is_known_current, schema_state
    from caseflow.extensions import db

    app = current_app._get_current_object()
    state = None if is_known_current(app) else schema_state(app, db.session.connection())
    code = ", ".join(code_heads(app) if state is None else state.code)
    if state is None or state.current:
        return Check("schema", OK, f"at {code}", {"status": OK, "revision": code})
    database = ", ".join(state.database) or None
    report = {"status": CRITICAL, "revision": database, "code": code}
    if state.unknown:
        return Check("schema", CRITICAL, f"at {database}, unknown to this code (head {code}): "
                     "the database was upgraded by a newer caseflow", report)
    return Check("schema", CRITICAL, f"at {database or 'nothing'}, older than this code's "
                 f"head {code}: run caseflow db upgrade", report)


def heartbeat_interval() -> int:
    """The heartbeat job's interval in seconds, as registered."""
    from caseflow.core.scheduler import jobs  # noqa: F401  (registers the heartbeat)
    from caseflow.core.scheduler.registry import JOBS

    return JOBS[HEARTBEAT_JOB].every_seconds


def last_heartbeat() -> datetime | None:
    """When the last heartbeat run finished (whatever its status: a run that finished
    proves the clock runs)."""
    return last_finished_run(HEARTBEAT_JOB)


def last_finished_run(job: str, *, succeeded: bool = False) -> datetime | None:
    """When the job's latest finished run (or latest success) finished. Latest by id, the
    order the runs started in: the database walks the primary key backwards and stops at
    the first match, a few rows, where ordering by time would sort the job's 30 days of
    runs (measured on PostgreSQL with 30 days of runs: 0.015 ms against 5 ms)."""
    from caseflow.core.scheduler.models import JobRun
    from caseflow.extensions import db

    done = JobRun.status == "succeeded" if succeeded else JobRun.finished_at.is_not(None)
    return db.session.scalar(sa.select(JobRun.finished_at).where(JobRun.job == job, done)
                             .order_by(JobRun.id.desc()).limit(1))


@health_check("scheduler")
def check_scheduler(now: datetime) -> Check:
    interval = heartbeat_interval()
    limit = SILENT_INTERVALS * interval
    last = last_heartbeat()
    age = _age(now, last)
    report = {"last_heartbeat_at": _iso(last), "age_seconds": age,
              "interval_seconds": interval, "silent_after_seconds": limit}
    perf = () if age is None else (f"heartbeat_age={age}s;;{limit}",)
    if last is None:
        return Check("scheduler", CRITICAL, "has never recorded a heartbeat",
                     {"status": CRITICAL, **report}, perf)
    if age > limit:
        return Check("scheduler", CRITICAL,
                     f"silent: last heartbeat {age} s ago (limit {limit} s)",
                     {"status": CRITICAL, **report}, perf)
    return Check("scheduler", OK, f"last heartbeat {age} s ago", {"status": OK, **report}, perf)


@dataclass(frozen=True)
class Backlog:
    """The queued messages of one outbox table, as seen at ``now``."""

    queued: int
    due: int
    oldest_due: datetime | None
    failing: int


def outbox_backlog(now: datetime) -> dict[str, Backlog]:
    """Per outbox table ("email", "messages" for SMS and chat robots): one query each,
    over the queued rows only (the index on status, next_attempt_at), never the sent
    history."""
    from caseflow.core.notifications.models import OutboxEmail, OutboxMessage
    from caseflow.extensions import db

    backlog = {}
    for name, model in (("email", OutboxEmail), ("messages", OutboxMessage)):
        is_due = model.next_attempt_at <= now
        row = db.session.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case((is_due, 1), else_=0)), 0),
                sa.func.min(sa.case((is_due, model.next_attempt_at), else_=None)),
                sa.func.coalesce(sa.func.sum(sa.case(
                    (model.attempts >= OUTBOX_FAILED_ATTEMPTS_WARNING, 1), else_=0)), 0),
            ).where(model.status == "queued")).one()
        backlog[name] = Backlog(queued=row[0], due=int(row[1]), oldest_due=row[2],
                                failing=int(row[3]))
    return backlog


@health_check("outbox")
def check_outbox(now: datetime) -> Check:
    backlog = outbox_backlog(now)
    due = sum(b.due for b in backlog.values())
    queued = sum(b.queued for b in backlog.values())
    failing = sum(b.failing for b in backlog.values())
    oldest = min((b.oldest_due for b in backlog.values() if b.oldest_due), default=None)
    oldest_age = _age(now, oldest)
    limit = int(OUTBOX_DUE_WARNING.total_seconds())
    report = {
        "due": due, "queued": queued, "oldest_due_age_seconds": oldest_age,
        "failing": failing, "warning_after_seconds": limit,
        "email": {"due": backlog["email"].due, "queued": backlog["email"].queued},
        "messages": {"due": backlog["messages"].due, "queued": backlog["messages"].queued},
    }
    perf = (f"outbox_due={due}", f"outbox_oldest_due_age={oldest_age or 0}s;{limit}",
            f"outbox_failing={failing};0")
    problems = []
    if oldest_age is not None and oldest_age > limit:
        problems.append(f"oldest due message waiting {oldest_age} s (limit {limit} s)")
    if failing:
        problems.append(f"{failing} queued after {OUTBOX_FAILED_ATTEMPTS_WARNING}+ failed attempts")
    status = WARNING if problems else OK
    summary = ", ".join(problems) or f"{due} due, {queued} queued" + (
        f", oldest due {oldest_age} s" if oldest_age else "")
    return Check("outbox", status, summary, {"status": status, **report}, perf)


@click.command("check")
@click.pass_context
def check_command(ctx: click.Context):
    """Check the database, the scheduler and the outbox, for Nagios or Icinga: the first
    line is the plugin's ("CASEFLOW OK - ..."), then one line per check; exit 0 OK,
    1 WARNING, 2 CRITICAL, 3 UNKNOWN (the app cannot be configured)."""
    from flask.cli import ScriptInfo

    from caseflow.core.console import GREEN, RED, YELLOW, colour as _colour

    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except (Exception, SystemExit) as error:  # a configuration refused, an import failing
        reason = str(error) if isinstance(error, Exception) else "see the message above"
        click.echo(f"CASEFLOW UNKNOWN - the app cannot be configured: {reason}")
        ctx.exit(EXIT_CODES[UNKNOWN])
    with app.app_context():
        report = run_checks()
    colours = {OK: GREEN, WARNING: YELLOW}
    click.echo(_colour(report.nagios_line(), colours.get(report.status, RED)))
    for check in report.checks:
        click.echo(f"{check.name}: {_colour(check.status.upper(), colours.get(check.status, RED))} "
                   f"{check.summary}")
    ctx.exit(EXIT_CODES[report.status])
