"""A database that cannot be reached for a moment (a restart, a fail-over): the user gets
a page in their language saying to try again (503 with Retry-After), not the "something
broke" page, and the page itself does not need the database. ``bench/load.py`` restarts
PostgreSQL under load and shows the service coming back by itself."""
from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa

from caseflow.core import app_setup
from caseflow.extensions import db as _db
from tests.conftest import (POSTGRES_URL, create_database, make_app, migrate_to_head, page_text,
                            signed_in_cookie_client, zh)

#: Nothing listens on port 1: every connection attempt fails at once.
UNREACHABLE = "postgresql+psycopg://caseflow@127.0.0.1:1/caseflow"
MESSAGE = ("caseflow could not reach its database for a moment, so nothing was saved. "
           "Please try again in a minute.")


def test_a_signed_in_page_without_its_database_says_try_again():
    app = make_app(UNREACHABLE)
    client = signed_in_cookie_client(app)
    page = client.get("/referrals/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    assert zh(MESSAGE) in page_text(page)
    # A whole page (no account looked up for its menu), with the way back home.
    assert 'href="/"' in page.get_data(as_text=True)


def test_a_form_sent_without_its_database_says_nothing_was_saved_in_english_too():
    app = make_app(UNREACHABLE)
    client = signed_in_cookie_client(app)
    with client.session_transaction() as session:
        session["locale"] = "en"
    app.config["WTF_CSRF_ENABLED"] = False
    page = client.post("/login", data={"username": "fed.officer", "password": "x"})
    assert page.status_code == 503
    assert MESSAGE in page_text(page)


def test_an_error_page_that_meets_the_outage_itself_still_says_try_again():
    """The expired-form page looks up who is signed in for its menu, and fails there; in
    production (exceptions not propagated, as here) that reaches the 500 handler wrapped."""
    app = make_app(UNREACHABLE)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = signed_in_cookie_client(app)
    page = client.post("/login", data={"username": "fed.officer", "password": "x"})
    assert page.status_code == 503
    assert zh(MESSAGE) in page_text(page)


# -- the connection lost in the middle of a request (PostgreSQL, as in production) ----------

COMMIT_LOST = ("caseflow lost its database connection while saving what you sent, so it "
               "cannot tell whether it was saved. Open the record to check before you send "
               "it again.")


@pytest.fixture
def losing_app(tmp_path, monkeypatch):
    """An app on a PostgreSQL database of its own with one extra page that, like a
    database restart at the wrong moment, loses its connection after its work and before
    the request's commit."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL only: set CASEFLOW_TEST_DATABASE_URL")
    url, drop = create_database("postgresql", tmp_path)
    app = make_app(url)
    migrate_to_head(app)

    @app.post("/test-only/connection-lost")
    def connection_lost():
        _db.session.execute(sa.text("CREATE TEMPORARY TABLE written (x int)"))
        # The server goes away under the open transaction, as in a restart: the socket is
        # shut down, and the client learns it only when it next talks (the commit).
        raw = _db.session.connection().connection.driver_connection
        with socket.socket(fileno=os.dup(raw.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        return "written", 200

    app.config["WTF_CSRF_ENABLED"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    monkeypatch.setattr(app_setup, "PUBLIC_ENDPOINTS",
                        app_setup.PUBLIC_ENDPOINTS | {"connection_lost"})
    yield app
    with app.app_context():
        _db.engine.dispose()
    drop()


def test_a_commit_cut_off_says_it_cannot_tell_and_the_next_request_works(losing_app):
    client = losing_app.test_client()
    page = client.post("/test-only/connection-lost")
    # Not the 500 page, and not an error escaping the app (which gunicorn answers with a
    # bare 500): the session's own clean-up meets the dead connection too.
    assert page.status_code == 503, page.get_data(as_text=True)[:300]
    assert zh(COMMIT_LOST) in page_text(page)
    # The pool finds the dead connection: the next request gets a fresh one.
    assert client.get("/login").status_code == 200
