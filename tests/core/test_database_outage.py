"""A database that cannot be reached for a moment (a restart, a fail-over): the user gets
a page in their language saying to try again (503 with Retry-After), not the "something
broke" page, and the page itself does not need the database. ``bench/load.py`` restarts
PostgreSQL under load and shows the service coming back by itself."""
from __future__ import annotations

from tests.conftest import make_app, page_text, signed_in_cookie_client, zh

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
