"""Request metrics shared by every worker process, and the Prometheus text format.

gunicorn runs several worker processes; counters kept in one process would show that
worker's share only. So each worker counts in memory and writes its counters, whole, to
its own file in the metrics directory (``CASEFLOW_METRICS_DIR``, by default
``<instance>/metrics``) at most once a second (a daemon thread writes what changed since;
the worker's last counts are written at exit), by writing a temporary file and renaming
it, so a reader never sees half a file. ``/metrics`` sums every file. A file whose worker
has died is folded into ``archive.json`` (under a lock) so the totals never go down and
the files do not pile up when gunicorn recycles workers.

The directory belongs to one machine's service: clear it when the service starts, before
the workers (gunicorn's ``on_starting`` hook calls ``clear_directory()``); counters then
start from zero, which Prometheus reads as a restart.

An empty ``CASEFLOW_METRICS_DIR`` (the tests' setting) keeps the counts in the process.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import math
import os
import secrets
import threading
import time
from pathlib import Path

from flask import Flask, g, request

#: Upper bounds of the latency histogram, in seconds (the pages' goal is p95 <= 1 s).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: How often a worker writes its counters at most.
FLUSH_SECONDS = 1.0
#: The label of a request that matched no route (404s of unknown URLs, 405s): the label
#: set stays bounded by the app's endpoints whatever URLs are asked for.
UNMATCHED = "unmatched"
ARCHIVE = "archive.json"
_PREFIX = "requests-"


class RequestCounters:
    """One process's counts: requests by endpoint and status class, and the latency
    histogram by endpoint (counts per bucket, not cumulative; the last is +Inf)."""

    def __init__(self):
        self.requests: dict[tuple[str, str], int] = {}
        self.durations: dict[str, dict] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, f"{status // 100}xx")
        self.requests[key] = self.requests.get(key, 0) + 1
        entry = self.durations.get(endpoint)
        if entry is None:
            entry = self.durations[endpoint] = {"buckets": [0] * (len(BUCKETS) + 1), "sum": 0.0,
                                                "count": 0}
        index = next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))
        entry["buckets"][index] += 1
        entry["sum"] += seconds
        entry["count"] += 1

    def add(self, other: dict) -> None:
        """Add a file's contents (``as_dict()`` of another process)."""
        for endpoint, status, count in other.get("requests", []):
            key = (endpoint, status)
            self.requests[key] = self.requests.get(key, 0) + count
        for endpoint, theirs in other.get("durations", {}).items():
            entry = self.durations.setdefault(
                endpoint, {"buckets": [0] * (len(BUCKETS) + 1), "sum": 0.0, "count": 0})
            if len(theirs["buckets"]) != len(entry["buckets"]):
                continue  # written with other buckets (an older version): not comparable
            entry["buckets"] = [a + b for a, b in zip(entry["buckets"], theirs["buckets"])]
            entry["sum"] += theirs["sum"]
            entry["count"] += theirs["count"]

    def as_dict(self) -> dict:
        return {"requests": [[e, s, n] for (e, s), n in sorted(self.requests.items())],
                "durations": self.durations}


class RequestMetrics:
    """The counters of this process, written to ``directory`` (or kept here when none)."""

    def __init__(self, directory: str | None):
        self.directory = Path(directory) if directory else None
        self._lock = threading.Lock()
        self._pid = None
        self._reset()

    def _reset(self) -> None:
        """A new process (a forked worker) starts its own counts and its own file."""
        self._pid = os.getpid()
        self.counters = RequestCounters()
        self._dirty = False
        self._flusher = None
        # The pid tells whether the writer lives; the random part keeps a later process
        # with the same pid from writing over a dead one's file.
        self._file = (self.directory / f"{_PREFIX}{self._pid}-{secrets.token_hex(4)}.json"
                      if self.directory else None)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            if os.getpid() != self._pid:
                self._reset()
            self.counters.observe(endpoint, status, seconds)
            self._dirty = True
            if self._file is not None and self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                 name="caseflow-metrics")
                self._flusher.start()
                atexit.register(self.flush)

    def _flush_loop(self) -> None:
        pid = os.getpid()
        while os.getpid() == pid:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self) -> None:
        """Write this process's counters if they changed (temporary file, then rename)."""
        with self._lock:
            if self._file is None or not self._dirty or os.getpid() != self._pid:
                return
            data = json.dumps(self.counters.as_dict(), separators=(",", ":"))
            self._dirty = False
        temporary = self._file.with_suffix(".tmp")
        try:
            temporary.write_text(data, encoding="utf-8")
            os.replace(temporary, self._file)
        except OSError:
            with self._lock:
                self._dirty = True  # try again at the next tick

    def collect(self) -> RequestCounters:
        """Every worker's counts on this machine (this process's written first)."""
        if self.directory is None:
            with self._lock:
                total = RequestCounters()
                total.add(self.counters.as_dict())
                return total
        self.flush()
        return collect_directory(self.directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def collect_directory(directory: Path) -> RequestCounters:
    """Sum the files of the directory. The files of dead workers are folded into the
    archive first, under an exclusive lock, so two readers cannot fold one twice."""
    directory = Path(directory)
    total = RequestCounters()
    if not directory.is_dir():
        return total
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            archive = _read(directory / ARCHIVE) or {"folded": []}
            folded = set(archive.get("folded", []))
            dead = []
            for path in sorted(directory.glob(f"{_PREFIX}*.json")):
                try:
                    pid = int(path.name[len(_PREFIX):].split("-")[0])
                except ValueError:
                    continue
                if path.name in folded:
                    path.unlink(missing_ok=True)  # folded before the removal was done
                elif not _alive(pid):
                    dead.append(path)
                else:
                    data = _read(path)
                    if data:
                        total.add(data)
            if dead:
                merged = RequestCounters()
                merged.add(archive)
                for path in dead:
                    data = _read(path)
                    if data:
                        merged.add(data)
                new_archive = {**merged.as_dict(),
                               "folded": sorted(folded | {p.name for p in dead})}
                temporary = directory / (ARCHIVE + ".tmp")
                temporary.write_text(json.dumps(new_archive, separators=(",", ":")),
                                     encoding="utf-8")
                os.replace(temporary, directory / ARCHIVE)
                for path in dead:
                    path.unlink(missing_ok=True)
                archive = new_archive
            total.add(archive)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return total


def metrics_directory_from_environment() -> str:
    from caseflow.config import from_environment

    return from_environment()["CASEFLOW_METRICS_DIR"]


def clear_directory(directory: str | os.PathLike | None = None) -> None:
    """Remove every worker's counters (call it once when the service starts, before the
    workers: gunicorn's ``on_starting``). Without an argument, the directory is the one
    the environment configures (``CASEFLOW_METRICS_DIR`` or ``<instance>/metrics``)."""
    directory = Path(directory if directory is not None else metrics_directory_from_environment())
    if not str(directory) or not directory.is_dir():
        return
    for pattern in (f"{_PREFIX}*.json", f"{_PREFIX}*.tmp", ARCHIVE, ARCHIVE + ".tmp"):
        for path in directory.glob(pattern):
            path.unlink(missing_ok=True)


def init_app(app: Flask) -> None:
    """Time every request, first hook in and last hook out (after the request's commit)."""
    directory = app.config.get("CASEFLOW_METRICS_DIR")
    if directory is None:
        directory = str(Path(app.config["INSTANCE_PATH"]) / "metrics")
    if directory:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            app.logger.warning("metrics directory %s cannot be made (%s); /metrics will show "
                               "this worker's requests only", directory, error)
            directory = ""
    metrics = RequestMetrics(directory or None)
    app.extensions["caseflow_metrics"] = metrics

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.pop("request_started", None)
        if started is not None:
            metrics.observe(request.endpoint or UNMATCHED, response.status_code,
                            time.perf_counter() - started)
        return response


def current_metrics(app: Flask) -> RequestMetrics:
    return app.extensions["caseflow_metrics"]


# The Prometheus text exposition format, version 0.0.4.

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class Exposition:
    """Builds the text: one HELP and TYPE line per metric family, then its samples."""

    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        if labels:
            inner = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{inner}}} {format_value(value)}")
        else:
            self.lines.append(f"{name} {format_value(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def write_request_metrics(out: Exposition, counters: RequestCounters) -> None:
    out.family("caseflow_requests_total", "counter",
               "HTTP requests answered, by Flask endpoint and status class, all workers.")
    for (endpoint, status), count in sorted(counters.requests.items()):
        out.sample("caseflow_requests_total", count, {"endpoint": endpoint, "status": status})
    out.family("caseflow_request_duration_seconds", "histogram",
               "Time from the first request hook to the last (after the commit), by endpoint.")
    for endpoint, entry in sorted(counters.durations.items()):
        running = 0
        for bound, count in zip((*BUCKETS, math.inf), entry["buckets"]):
            running += count
            le = "+Inf" if math.isinf(bound) else repr(bound)
            out.sample("caseflow_request_duration_seconds_bucket", running,
                       {"endpoint": endpoint, "le": le})
        labels = {"endpoint": endpoint}
        out.sample("caseflow_request_duration_seconds_sum", float(entry["sum"]), labels)
        out.sample("caseflow_request_duration_seconds_count", entry["count"], labels)


def write_database_metrics(out: Exposition, now) -> None:
    """The gauges read from the database: outbox depth, last success per job, the
    heartbeat's age. A few indexed queries, like /healthz."""
    import sqlalchemy as sa

    from caseflow.core import monitoring
    from caseflow.core.notifications.models import MESSAGE_CHANNELS, OutboxEmail, OutboxMessage
    from caseflow.core.scheduler.registry import JOBS
    from caseflow.extensions import db

    depth: dict[tuple[str, str], int] = {
        (channel, state): 0 for channel in ("email", *MESSAGE_CHANNELS)
        for state in ("due", "waiting", "sending")}
    oldest: dict[str, object] = {}
    for model in (OutboxEmail, OutboxMessage):
        is_due = model.next_attempt_at <= now
        state = sa.case((model.status == "sending", "sending"), (is_due, "due"), else_="waiting")
        channel = sa.literal("email") if model is OutboxEmail else model.channel
        rows = db.session.execute(
            sa.select(channel, state, sa.func.count(),
                      sa.func.min(sa.case((is_due, model.next_attempt_at), else_=None)))
            .where(model.status.in_(("queued", "sending"))).group_by(channel, state)).all()
        for channel_name, state_name, count, first_due in rows:
            depth[(channel_name, state_name)] = count
            if state_name == "due" and first_due is not None:
                oldest[channel_name] = first_due
    out.family("caseflow_outbox_messages", "gauge",
               "Messages not yet sent, by channel (email, sms, webhook) and state: due (queued, "
               "its time has come), waiting (queued for a retry or the end of quiet hours), "
               "sending (claimed by a deliverer).")
    for (channel_name, state_name), count in sorted(depth.items()):
        out.sample("caseflow_outbox_messages", count,
                   {"channel": channel_name, "state": state_name})
    out.family("caseflow_outbox_oldest_due_age_seconds", "gauge",
               "How long the oldest due message of each channel has been due (0: none).")
    for channel_name in ("email", *MESSAGE_CHANNELS):
        first = oldest.get(channel_name)
        age = max(0.0, (now - first).total_seconds()) if first else 0.0
        out.sample("caseflow_outbox_oldest_due_age_seconds", age, {"channel": channel_name})

    out.family("caseflow_job_last_success_timestamp_seconds", "gauge",
               "When each scheduled job last finished successfully (Unix time); absent if never.")
    for name in sorted(JOBS):
        last = monitoring.last_finished_run(name, succeeded=True)
        if last is not None:
            out.sample("caseflow_job_last_success_timestamp_seconds", last.timestamp(),
                       {"job": name})

    out.family("caseflow_scheduler_heartbeat_age_seconds", "gauge",
               "Seconds since the scheduler's last heartbeat run finished; absent if never.")
    last = monitoring.last_heartbeat()
    if last is not None:
        out.sample("caseflow_scheduler_heartbeat_age_seconds",
                   max(0.0, (now - last).total_seconds()))
    out.family("caseflow_scheduler_heartbeat_interval_seconds", "gauge",
               "The heartbeat job's interval; the scheduler counts as silent after 3 of them.")
    out.sample("caseflow_scheduler_heartbeat_interval_seconds", monitoring.heartbeat_interval())


def render(app: Flask, now) -> str:
    """The whole /metrics page: the requests of all workers, then the database's gauges
    (skipped, with caseflow_database_up 0, when the database does not answer)."""
    from caseflow.extensions import db

    out = Exposition()
    write_request_metrics(out, current_metrics(app).collect())
    database = Exposition()
    try:
        write_database_metrics(database, now)
        up = 1
    except Exception:  # the database is down: the request metrics are still worth having
        db.session.rollback()
        app.logger.warning("metrics: the database did not answer", exc_info=True)
        database, up = Exposition(), 0
    finally:
        try:
            db.session.rollback()
        except Exception:
            pass
    out.family("caseflow_database_up", "gauge", "1 when the database answered the queries below.")
    out.sample("caseflow_database_up", up)
    out.lines.extend(database.lines)
    return out.text()
