"""Fixtures: ``app`` per database (SQLite always, PostgreSQL when
CASEFLOW_TEST_DATABASE_URL is set), ``db`` with a per-test rollback, ``client`` that
submits forms like a browser (CSRF token included), ``clock`` and ``login_as``.

The schema is built by running the migrations, never by ``create_all``.
"""
from __future__ import annotations

import os
import sqlite3
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from caseflow import create_app
from caseflow.config import TestConfig
from caseflow.extensions import db as _db
from tests import factories

POSTGRES_URL = os.environ.get("CASEFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

#: 09:00 on 2026-11-27 in Asia/Shanghai: the default "now" of every test.
DEFAULT_NOW = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)


def pytest_sessionstart(session):
    session.config._caseflow_started = time.time()


def pytest_terminal_summary(terminalreporter, config):
    """The pages axe-core checked in the browser tests (tests/browser/a11y.py), under
    xdist too (the workers write them; this process prints them)."""
    from tests.browser.a11y import summary_lines

    lines = summary_lines(getattr(config, "_caseflow_started", 0))
    if lines:
        terminalreporter.section("accessibility (axe-core)")
        for line in lines:
            terminalreporter.write_line(line)


def _postgres_admin_url() -> sa.URL:
    url = sa.make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def create_database(backend: str, tmp_path, *, copy_of: str | None = None) -> tuple[str, callable]:
    """A new database for one test session, empty or (``copy_of``: another database's
    URL) holding what that one holds now; returns its URL and a dropper."""
    if backend == "sqlite":
        if copy_of is None:
            return f"sqlite:///{tmp_path / 'caseflow-test.db'}", lambda: None
        path = tmp_path / f"caseflow-copy-{uuid.uuid4().hex[:10]}.db"
        source = sqlite3.connect(copy_of.removeprefix("sqlite:///"))
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return f"sqlite:///{path}", lambda: None
    admin_url = _postgres_admin_url()
    name = f"caseflow_test_{uuid.uuid4().hex[:10]}"
    template = "" if copy_of is None else f' TEMPLATE "{sa.make_url(copy_of).database}"'
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{template}')

    def drop():
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def make_app(url: str, **overrides):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, **overrides)
    return create_app(config)


def migrate_to_head(app) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    url, drop = create_database(request.param, tmp_path_factory.mktemp(request.param))
    application = make_app(url)
    migrate_to_head(application)
    application.config["TEST_BACKEND"] = request.param
    yield application
    with application.app_context():
        _db.engine.dispose()
    drop()


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks its engine itself; in tests every session must
    use the test's connection so that the test's outer transaction holds everything."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock(DEFAULT_NOW)
    app.config["CASEFLOW_CLOCK"] = clock
    yield clock
    app.config.pop("CASEFLOW_CLOCK", None)


@pytest.fixture
def db(app, clock):
    """The database, inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session({
            "class_": BoundSession, "bind": connection,
            "join_transaction_mode": "create_savepoint",
        })
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@dataclass
class SharedDatabase:
    connection: object
    clock: Clock
    built: object


def module_database(build):
    """Fixtures for a test module whose tests all start from the same records, built once
    per database: ``shared, db, clock = module_database(build)`` at the module's top.

    ``build(app=, clock=, tmp_path_factory=)`` runs inside a transaction that outlives the
    module's tests (its result is ``shared.built``); each test then runs inside a
    SAVEPOINT that is rolled back after it, so what one test changes (a POST that works, a
    clock moved) never reaches the next. Requests share the connection as with ``db``.
    """

    @pytest.fixture(scope="module", name="shared")
    def shared_fixture(app, tmp_path_factory):
        config = dict(app.config)  # what ``build`` sets (an attachment folder) ends with the module
        clock = Clock(DEFAULT_NOW)
        app.config["CASEFLOW_CLOCK"] = clock
        with app.app_context():
            connection = _db.engine.connect()
            outer = connection.begin()
            original = _db.session
            _db.session = _db._make_scoped_session({
                "class_": BoundSession, "bind": connection,
                "join_transaction_mode": "create_savepoint",
            })
            try:
                built = build(app=app, clock=clock, tmp_path_factory=tmp_path_factory)
                _db.session.commit()  # releases the session's savepoint; ``outer`` holds it all
                yield SharedDatabase(connection, clock, built)
            finally:
                _db.session.remove()
                _db.session = original
                outer.rollback()
                connection.close()
                app.config.clear()
                app.config.update(config)

    @pytest.fixture(name="db")
    def db_fixture(shared):
        test_savepoint = shared.connection.begin_nested()
        try:
            yield _db
        finally:
            _db.session.rollback()
            if test_savepoint.is_active:
                test_savepoint.rollback()
            _db.session.expire_all()

    @pytest.fixture(name="clock")
    def clock_fixture(shared):
        start = shared.clock.now
        yield shared.clock
        shared.clock.set(start)

    return shared_fixture, db_fixture, clock_fixture


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class FormClient(FlaskClient):
    """A test client that sends forms the way the browser does: with the CSRF token of
    the page the form came from."""

    def open(self, *args, **kwargs):
        # Each request gets its own app context (and so its own ``g`` and session), as
        # in production; the test's own session then re-reads what the request changed.
        _db.session.flush()  # what the test set up is there for the request to see
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        match = CSRF_PATTERN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        token = self.csrf_token(page or url)
        return self.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = FormClient
    return app.test_client()


@pytest.fixture
def world(db, clock):
    """The district in miniature: see ``factories.build_world``."""
    return factories.build_world(now=clock.now)


@pytest.fixture
def login_as(client, world):
    """``login_as(role)`` or ``login_as(user)``: signs the client in and returns the user."""

    def sign_in(who, *, org=None):
        user = who if not isinstance(who, str) else factories.make_user(
            world, roles={who}, org=org, now=world.now)
        response = client.submit("/login", {"username": user.username,
                                            "password": factories.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return sign_in


def signed_in_cookie_client(app, user_id: int = 1):
    """A test client carrying a signed-in browser's cookie (the user id and the identifier
    "strong" session protection checks) made without the database: for pages that must
    answer whatever the accounts table holds, or when it cannot be read."""
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"], session["_id"] = str(user_id), identifier
    return client


def page_text(response) -> str:
    """The visible text of a page, whitespace collapsed: what a reader sees."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    import html as html_module

    return re.sub(r"\s+", " ", html_module.unescape(text))


TRANSLATIONS_DIR = os.path.join(os.path.dirname(__file__), "..", "caseflow", "translations")


def zh(message: str, plural: str | None = None, n: int | None = None, **variables) -> str:
    """The Simplified Chinese a user reads for ``message``, from the real catalogue.

    Asserts that a translation exists, so that a test using it cannot pass on English.
    """
    from babel.support import Translations

    catalogue = Translations.load(TRANSLATIONS_DIR, ["zh_CN"])
    if plural is None:
        text = catalogue.gettext(message)
    else:
        text = catalogue.ngettext(message, plural, n)
        variables.setdefault("num", n)
    assert text != message, f"no Chinese translation for {message!r}"
    return text % variables if variables else text


class Mailbox:
    """What a real SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "subject": str(message["Subject"]),
                              "body": message.get_body(("plain",)).get_content()})
        return "250 Message accepted for delivery"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 that the app's outbox delivers to."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = app.config["CASEFLOW_SMTP_HOST"], app.config["CASEFLOW_SMTP_PORT"]
    app.config["CASEFLOW_SMTP_HOST"], app.config["CASEFLOW_SMTP_PORT"] = "127.0.0.1", port
    mailbox.controller, mailbox.port = controller, port
    yield mailbox
    app.config["CASEFLOW_SMTP_HOST"], app.config["CASEFLOW_SMTP_PORT"] = saved
    try:
        controller.stop()
    except AssertionError:  # already stopped by the test (SMTP down)
        pass
