"""Reads that may come from a PostgreSQL streaming replica.

When ``CASEFLOW_REPLICA_DATABASE_URL`` is set, the four-mechanisms report and the ledger
exports (``caseflow.reports``) read through a second engine bound to that URL, so that a
city's long aggregates and exports do not compete with the caseworkers' writes on the
primary. Everything else, and every write (the export's audit row too), stays on
``db.session``, the primary. Unset, every read goes to the primary as before.

* ``reading_session()``: the session for such reads; the replica's when one is set (one
  per app context, read-only, closed when the context ends, so also after a streamed
  export's last byte), else ``db.session``.
* ``reading()``: a block within which ``reader()`` is ``reading_session()``. Code shared
  with pages that must read the primary (``reports.definitions``, also used by the home
  page's panels) reads through ``reader()``: the report wraps its figures in
  ``reading()``, the panels do not.

The engine is made once per process (a gunicorn worker makes its own after the fork),
with ``pool_pre_ping`` like the primary's, and every connection is read-only: PostgreSQL
with ``default_transaction_read_only``, SQLite (tests) with ``PRAGMA query_only``. A
write sent there by mistake fails instead of landing on the wrong database.

A replica is behind the primary by its replication lag (usually well under a second on
a local network, more while it replays a large transaction or catches up after a
restart): a referral sent a moment ago may be missing from a report or an export.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

from caseflow.extensions import db

SETTING = "CASEFLOW_REPLICA_DATABASE_URL"

_engines: dict[tuple[int, str], sa.Engine] = {}
_engines_lock = threading.Lock()
_reader: ContextVar[Session | None] = ContextVar("caseflow_replica_reader", default=None)


def replica_url(app: Flask | None = None) -> str:
    """The replica's URL, or "" when none is set."""
    return ((app or current_app).config.get(SETTING) or "").strip()


def _normalised(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":  # the driver the project installs
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _make_engine(url: str, options: dict) -> sa.Engine:
    parsed = _normalised(url)
    options = {**options, "pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        connect_args = dict(options.pop("connect_args", {}) or {})
        extra = connect_args.get("options", "")
        connect_args["options"] = f"{extra} -c default_transaction_read_only=on".strip()
        options["connect_args"] = connect_args
    # Marks the engine for core/db.py: SQLite begins its transactions without the write lock.
    options["execution_options"] = {**options.get("execution_options", {}), "caseflow_read_only": True}
    engine = sa.create_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _query_only(dbapi_connection, connection_record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()
    return engine


def replica_engine(app: Flask | None = None) -> sa.Engine | None:
    """The replica's engine, made on first use in this process; None without a replica."""
    app = app or current_app
    url = replica_url(app)
    if not url:
        return None
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                options = {k: v for k, v in (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).items()}
                engine = _engines[key] = _make_engine(url, options)
    return engine


def reading_session() -> Session:
    """The session for the report's and the exports' reads: the replica's (one per app
    context) when a replica is set, else the primary's ``db.session``."""
    engine = replica_engine()
    if engine is None:
        return db.session
    session = g.get("_replica_session")
    if session is None:
        session = g._replica_session = Session(bind=engine, autoflush=False, expire_on_commit=False)
    return session


def reader() -> Session:
    """The session the current reads go through: within ``reading()`` the one it opened,
    else ``db.session``."""
    return _reader.get() or db.session


@contextmanager
def reading() -> Iterator[Session]:
    """Reads through ``reader()`` inside the block go to ``reading_session()``."""
    token = _reader.set(reading_session())
    try:
        yield _reader.get()
    finally:
        _reader.reset(token)


def _close(exc: BaseException | None = None) -> None:
    # Kept in ``g``, only closed (its connection goes back to the pool): a streamed export
    # sees this teardown when the view returns, reads on through the same session while
    # the body is sent, and the app context's second teardown, after the last byte,
    # closes it again.
    session = g.get("_replica_session")
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)


def dispose_all() -> None:
    """Close every replica engine of this process (tests, and a process about to exit)."""
    with _engines_lock:
        for (pid, _url), engine in _engines.items():
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()
