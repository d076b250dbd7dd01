"""The schema check: no serving on a database older (or newer) than the code; migrations
under a PostgreSQL advisory lock, so two deploys never upgrade at once."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from caseflow.extensions import db as _db
from tests.conftest import (BACKENDS, POSTGRES_URL, create_database, make_app, page_text,
                            signed_in_cookie_client, zh)
from tests.servers import first_answer, start_gunicorn, stop

BIN = Path(sys.executable).parent
OLDER = "0015_sessions_and_throttle"  # before 0016 gave the accounts a column
HEAD = sorted(p.name for p in (Path(__file__).parents[2] / "migrations" / "versions").glob("0*.py"))[-1][:-3]

BEHIND_MESSAGE = ("caseflow cannot serve yet: its database must be upgraded to this version "
                  "first. The system administrator runs “caseflow db upgrade”; the pages come "
                  "back by themselves once it has finished.")
NEWER_MESSAGE = ("caseflow cannot serve: its database was upgraded by a newer version of "
                 "caseflow than this one. The system administrator must deploy that version "
                 "again.")


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    url, drop = create_database(request.param, tmp_path)
    yield url
    drop()


@pytest.fixture
def old_app(database):
    """An app on a database its deploy forgot to upgrade: at an older revision."""
    app = make_app(database)
    with app.app_context():
        flask_migrate.upgrade(revision=OLDER)
    yield app
    with app.app_context():
        _db.engine.dispose()


def _set_revision(app, revision: str) -> None:
    with app.app_context(), _db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_an_app_on_an_older_schema_answers_503_until_it_is_upgraded(old_app):
    # A signed-in browser: the accounts table, outdated here, is not read.
    client = signed_in_cookie_client(old_app)
    page = client.get("/login")
    assert page.status_code == 503
    assert zh(BEHIND_MESSAGE) in page_text(page)
    assert page.headers["Retry-After"] == "60"
    assert client.get("/").status_code == 503
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 503
    # The load balancer's check (its own answer, whatever it reports) and the page's own
    # style sheet are not refused.
    health = client.get("/healthz")
    assert health.is_json and health.json["database"] == "ok", health.get_data(as_text=True)
    # ... and it says why the pages are refused.
    assert health.status_code == 503
    assert health.json["schema"] == {"status": "critical", "revision": OLDER, "code": HEAD}
    assert client.get("/static/css/caseflow.css").status_code == 200
    # The metrics keep counting (their token still guards them).
    assert client.get("/metrics").status_code == 401
    with client.session_transaction() as session:
        session["locale"] = "en"
    assert BEHIND_MESSAGE in page_text(client.get("/login"))

    with old_app.app_context():
        flask_migrate.upgrade()  # the command line is never refused
    # No restart: the next request finds the schema current.
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").json["schema"] == {"status": "ok", "revision": HEAD}


def test_an_app_on_a_schema_it_does_not_know_says_a_newer_caseflow_upgraded_it(old_app):
    with old_app.app_context():
        flask_migrate.upgrade()
    _set_revision(old_app, "0099_from_the_future")
    page = old_app.test_client().get("/login")
    assert page.status_code == 503
    assert zh(NEWER_MESSAGE) in page_text(page)


def test_a_good_answer_is_kept_for_the_app_and_a_database_down_at_start_is_no_refusal(old_app):
    from caseflow.core.schema import SchemaNotCurrent, require_current_schema, schema_state

    with pytest.raises(SchemaNotCurrent, match=rf"{OLDER}.*older than.*{HEAD}.*caseflow db upgrade"):
        require_current_schema(old_app)
    assert not schema_state(old_app).current
    with old_app.app_context():
        flask_migrate.upgrade()
    assert schema_state(old_app).current
    require_current_schema(old_app)
    # Once current, the process does not ask again on every request.
    _set_revision(old_app, OLDER)
    assert old_app.test_client().get("/login").status_code == 200

    unreachable = make_app("postgresql+psycopg://caseflow@127.0.0.1:1/nowhere")
    require_current_schema(unreachable)  # boots; its requests will find out


def _environment(url: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    env.update(CASEFLOW_DATABASE_URL=url, CASEFLOW_SECRET_KEY="test-secret-" + "k" * 40,
               CASEFLOW_DATA_KEY="cd" * 16, CASEFLOW_SECURE_COOKIES="0",
               CASEFLOW_INSTANCE_PATH=str(tmp_path / "instance"))
    return env


def test_gunicorn_refuses_to_boot_on_an_older_schema_then_serves_once_upgraded(old_app, database,
                                                                                tmp_path):
    env = _environment(database, tmp_path)
    refused, _port = start_gunicorn(BIN / "python", env, tmp_path)
    try:
        refused.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop(refused)
        raise AssertionError(f"gunicorn kept running on an old schema: {refused.stderr.read()}")
    errors = refused.stderr.read()
    assert refused.returncode != 0
    assert (f"caseflow refuses to start: The database schema is at revision {OLDER}, older than "
            f"this code's head {HEAD}. Run `caseflow db upgrade`") in errors, errors

    upgrade = subprocess.run([str(BIN / "caseflow"), "db", "upgrade"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    server, port = start_gunicorn(BIN / "python", env, tmp_path)
    try:
        status, page = first_answer(port, "/login", server)
        assert status == 200 and "登录" in page
    finally:
        stop(server)


@pytest.mark.skipif(not POSTGRES_URL, reason="the advisory lock is PostgreSQL's")
def test_two_upgrades_at_once_on_postgresql_one_migrates_the_other_waits_and_finds_it_done(tmp_path):
    """Two deploys run `caseflow db upgrade` at the same moment on a fresh database. To
    make "the same moment" certain, a starting gate holds them both: this test creates
    the version table in a transaction it keeps open, so each upgrade stops at its first
    step (creating that table, or waiting for the other); when both wait, the gate opens."""
    url, drop = create_database("postgresql", tmp_path)
    name = sa.make_url(url).database
    engine = sa.create_engine(url)
    try:
        env = _environment(url, tmp_path)
        with engine.connect() as gate, engine.connect() as watcher:
            gate_pid = gate.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            gate.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            upgrades = [subprocess.Popen([str(BIN / "caseflow"), "db", "upgrade"], env=env,
                                         cwd=tmp_path, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True) for _ in range(2)]
            deadline = time.monotonic() + 60
            waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                              "AND wait_event_type = 'Lock' AND pid <> :gate")
            while watcher.scalar(waiting, {"name": name, "gate": gate_pid}) < 2:
                watcher.rollback()  # a fresh snapshot of pg_stat_activity each time
                assert all(u.poll() is None for u in upgrades), [u.communicate() for u in upgrades]
                assert time.monotonic() < deadline, "the two upgrades never both waited"
                time.sleep(0.05)
            gate.rollback()  # the gate opens
        outputs = [u.communicate(timeout=120) for u in upgrades]
        for upgrade, (_out, err) in zip(upgrades, outputs):
            assert upgrade.returncode == 0, err
        logs = "".join(err for _out, err in outputs)
        assert logs.count("Running upgrade  -> 0001_foundation") == 1, logs
        assert logs.count(f"-> {HEAD}") == 1, logs
        assert "Another caseflow migration is running" in logs
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() \
                == [HEAD]
    finally:
        engine.dispose()
        drop()
