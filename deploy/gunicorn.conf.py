"""gunicorn settings for caseflow's web service.

    gunicorn --config /etc/caseflow/gunicorn.conf.py

(deploy/caseflow-web.service does this.) Every value can be changed by the environment
file, /etc/caseflow/caseflow.env, without editing this file:

    CASEFLOW_WEB_BIND       where gunicorn listens (default 127.0.0.1:8000: nginx only)
    CASEFLOW_WEB_WORKERS    worker processes (default 2 x CPU cores + 1, at most 9)
    CASEFLOW_WEB_TIMEOUT    seconds a request may take before its worker is replaced (60)
    CASEFLOW_WEB_LOG_LEVEL  gunicorn's own messages: debug, info (default), warning, error
    CASEFLOW_LOG_FORMAT     "json": the access and error logs as JSON lines too

Graceful reload: ``systemctl reload caseflow-web`` sends SIGHUP. gunicorn re-reads this
file, starts new workers (which import the code afresh: ``preload_app`` is off, below),
and stops the old ones once their requests are done (``graceful_timeout``). Nobody's
request is cut. A new gunicorn or Python itself needs ``systemctl restart caseflow-web``.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
from datetime import datetime, timezone

# -- the app ---------------------------------------------------------------------------------

#: The production entry point: refuses to start on a database whose schema is older (or
#: newer) than the code, with a message saying to run ``caseflow db upgrade``.
wsgi_app = "caseflow.wsgi:app"

#: Off, on purpose. Each worker imports caseflow itself, so (1) a reload after an upgrade
#: serves the new code (with preloading the master keeps the old modules, and only a
#: restart, which drops the requests in flight, would change them); (2) no database
#: connection or thread made while importing is shared between forked workers. The cost
#: is a second or two per worker at start, and some memory.
preload_app = False

# -- where and how many ----------------------------------------------------------------------

bind = os.environ.get("CASEFLOW_WEB_BIND", "127.0.0.1:8000")


def _workers() -> int:
    configured = os.environ.get("CASEFLOW_WEB_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    # gunicorn's advice, 2 x cores + 1, capped: each sync worker holds a database
    # connection, and past a few workers per core they only wait for each other.
    return min(2 * multiprocessing.cpu_count() + 1, 9)


workers = _workers()
#: Sync workers: one request per worker at a time. nginx buffers the slow clients (the
#: uploads, the downloads), so a worker is busy only while the app works.
worker_class = "sync"
#: The ledger export of a whole year and a 10 MB attachment's encryption stay far inside
#: a minute; a request still running after that is stuck and its worker is replaced.
timeout = int(os.environ.get("CASEFLOW_WEB_TIMEOUT", "60"))
#: On SIGTERM (stop) or SIGHUP (reload): how long a worker may finish its requests.
graceful_timeout = 30
#: nginx keeps its connections to gunicorn open (upstream keepalive) for this long.
keepalive = 5
#: A worker is replaced after this many requests (plus a random part, so they do not all
#: restart together): a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
#: The workers' heartbeat files in memory, not on disk (systemd's PrivateTmp is disk).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "caseflow-web"
#: No control socket (gunicorn 25.1+ makes one in $HOME/.gunicorn for its `gunicornc`
#: tool): systemd manages the service (reload is SIGHUP), the service's user has no home
#: it may write under ProtectSystem=strict, and several gunicorns on one machine would
#: share that one path. Older gunicorns ignore the name.
control_socket_disable = True

# -- what the proxy may say ------------------------------------------------------------------

#: gunicorn by default believes X-Forwarded-Proto (and lets SCRIPT_NAME and PATH_INFO
#: through) from 127.0.0.1. caseflow decides that itself, through ProxyFix and
#: CASEFLOW_TRUSTED_PROXIES (caseflow/core/auth/throttle.py), in one place: gunicorn
#: believes no forwarding header from anyone.
forwarded_allow_ips = ""
secure_scheme_headers: dict = {}

# -- logs -------------------------------------------------------------------------------------

#: Both to standard output/error, which systemd hands to the journal.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("CASEFLOW_WEB_LOG_LEVEL", "info")
#: Client (as nginx saw it), method, path without the query (a search can hold a name),
#: status, bytes, the request's time in milliseconds, the request id, the user agent.
access_log_format = ('%({x-forwarded-for}i)s %(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s '
                     '%(M)sms rid=%({x-request-id}o)s "%(a)s"')

#: The access log's fields, by name, for the JSON lines.
ACCESS_FIELDS = {"client": "{x-forwarded-for}i", "peer": "h", "method": "m", "path": "U",
                 "protocol": "H", "status": "s", "bytes": "B", "duration_ms": "M",
                 "request_id": "{x-request-id}o", "user_agent": "a"}


class AccessJsonFormatter(logging.Formatter):
    """One JSON object per request, from gunicorn's access-log atoms (the record's args)."""

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, dict) else {}
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc)
                 .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "level": record.levelname, "logger": record.name}
        for name, atom in ACCESS_FIELDS.items():
            value = atoms.get(atom)
            entry[name] = None if value in (None, "-") else value
        for name in ("status", "bytes", "duration_ms"):
            try:
                entry[name] = int(entry[name])
            except (TypeError, ValueError):
                pass
        return json.dumps(entry, ensure_ascii=False, default=str)


class ErrorJsonFormatter(logging.Formatter):
    """gunicorn's own messages as JSON lines, when caseflow's formatter is not there."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": datetime.fromtimestamp(record.created, timezone.utc)
                           .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           "level": record.levelname, "logger": record.name,
                           "message": record.getMessage()}, ensure_ascii=False, default=str)


def _error_formatter():
    try:  # caseflow's own JSON lines, the same shape as the app's logs
        from caseflow.core.logs import JsonFormatter
    except ImportError:
        return {"()": ErrorJsonFormatter}
    return {"()": JsonFormatter}


if os.environ.get("CASEFLOW_LOG_FORMAT", "text").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"access_json": {"()": AccessJsonFormatter},
                       "error_json": _error_formatter()},
        "handlers": {
            "access": {"class": "logging.StreamHandler", "formatter": "access_json",
                       "stream": "ext://sys.stdout"},
            "error": {"class": "logging.StreamHandler", "formatter": "error_json",
                      "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(),
                               "propagate": False},
        },
        "root": {"handlers": ["error"], "level": "INFO"},
    }
    # gunicorn then writes through these handlers only (not its own "-" streams too).
    accesslog = None
    errorlog = "-"


# -- hooks ------------------------------------------------------------------------------------


def on_starting(server):
    """Once, in the master, before any worker: forget the request counters of the
    previous run (the /metrics figures count from the service's start)."""
    try:
        from caseflow.core.metrics import clear_directory
    except ImportError:  # a caseflow without /metrics
        return
    clear_directory()
    server.log.info("caseflow: metrics directory cleared")
