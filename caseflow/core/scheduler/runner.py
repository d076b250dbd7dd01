"""Running jobs: each in its own app context and transaction, each run recorded."""
from __future__ import annotations

import logging
import signal
import socket
import traceback
from dataclasses import dataclass

from flask import Flask

from caseflow.core.db import to_local, utcnow
from caseflow.core.scheduler.models import JobRun
from caseflow.core.scheduler.registry import JOBS, ScheduledJob
from caseflow.core.scheduler.services import current_run_id, failures_of_run, tell_administrators
from caseflow.extensions import db

log = logging.getLogger("caseflow.scheduler")


@dataclass(frozen=True)
class RunResult:
    job: str
    status: str
    detail: str | None


def run_job(app: Flask, job: ScheduledJob) -> RunResult:
    with app.app_context():
        if job.only_when is not None:
            busy = job.only_when(utcnow())
            db.session.rollback()
            if not busy:
                return RunResult(job=job.name, status="idle", detail=None)
        started = utcnow()
        run = JobRun(job=job.name, started_at=started, status="running", host=socket.gethostname())
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        token = current_run_id.set(run_id)
        try:
            summary = job.func(utcnow())
            db.session.commit()
            status, detail = "succeeded", summary
        except Exception:  # a failing job must not stop the clock; the run records why
            db.session.rollback()
            status, detail = "failed", traceback.format_exc(limit=5)
            log.exception("job %s failed", job.name)
        finally:
            current_run_id.reset(token)
        failures = failures_of_run(run_id)
        if status == "succeeded" and failures:
            status = "partial"
        run = db.session.get(JobRun, run_id)
        run.status, run.detail, run.finished_at = status, detail, utcnow()
        if status != "succeeded":
            at_local = to_local(run.finished_at).strftime("%Y-%m-%d %H:%M")
            tell_administrators(run, failures=failures, now=run.finished_at, at_local=at_local,
                                base_url=app.config["CASEFLOW_BASE_URL"].rstrip("/"))
        db.session.commit()
        log.info("job %s %s: %s", job.name, status, (detail or "").strip().splitlines()[-1:])
        return RunResult(job=job.name, status=status, detail=detail)


def run_all_once(app: Flask) -> list[RunResult]:
    return [run_job(app, job) for job in JOBS.values()]


def serve(app: Flask) -> None:
    """Block, running each registered job on its interval (APScheduler as a clock), until
    SIGTERM (systemd's stop) or SIGINT (Ctrl-C): then no job is started any more, the one
    running is let finish (its transaction commits, its run row is closed), and this
    returns, so the process exits 0.

    The signals are blocked before any thread starts (threads inherit the mask) and taken
    by ``sigwait`` here. A Python signal handler would not do: the kernel may deliver a
    process's signal to a job's thread, and Python runs handlers only in the main thread
    when it next wakes, which in a clock's wait can be an hour away."""
    from apscheduler.schedulers.background import BackgroundScheduler

    stop_signals = {signal.SIGTERM, signal.SIGINT}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        scheduler = BackgroundScheduler(timezone=app.config["CASEFLOW_TIMEZONE"])
        for job in JOBS.values():
            scheduler.add_job(
                run_job, "interval", args=[app, job], seconds=job.every_seconds, id=job.name,
                max_instances=1, coalesce=True, next_run_time=utcnow(),
            )
        scheduler.start()
        log.info("scheduler started with jobs: %s", ", ".join(JOBS) or "(none)")
        signum = signal.sigwait(stop_signals)
        log.info("scheduler stopping on %s: no new runs; waiting for a running job to finish",
                 signal.Signals(signum).name)
        scheduler.shutdown(wait=True)
        # A second Ctrl-C or TERM while waiting must not kill the process once unblocked.
        while stop_signals & signal.sigpending():
            signal.sigwait(stop_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    log.info("scheduler stopped")
