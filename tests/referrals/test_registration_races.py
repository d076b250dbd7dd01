"""Registering a referral that moved meanwhile (issue 16): someone else changed it a moment
before (a conflict that keeps the typed input, never a server error), or it was registered
in another tab (said so, not "only the receiving organisation registers")."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from caseflow.core.errors import Conflict
from caseflow.extensions import db as _db
from caseflow.referrals import services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import (
    DEFAULT_NOW, FormClient, create_database, make_app, migrate_to_head, page_text, zh,
)
from tests.referrals.helpers import Cast

CONFLICT = ("Someone else changed this referral while you were editing it. Your changes are "
            "still in the form below: compare them with the current version (reload the page "
            "in another tab) and save again.")
REGISTER_FORM = re.compile(r'<form[^>]*action="[^"]*/register"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')


@pytest.fixture
def cast(world):
    return Cast(world)


@pytest.fixture
def committed_app(app, tmp_path):
    """A database of its own: the other writer commits on a connection of its own."""
    url, drop = create_database(app.config["TEST_BACKEND"], tmp_path)
    separate = make_app(url, CASEFLOW_CLOCK=lambda: DEFAULT_NOW)
    migrate_to_head(separate)
    separate.test_client_class = FormClient
    yield separate
    with separate.app_context():
        _db.engine.dispose()
    drop()


def _register_form_as_loaded(html: str) -> dict:
    """The hidden fields of the page's register form, as the browser holds them."""
    form = REGISTER_FORM.search(html)
    assert form, "no register form on the page"
    fields = {}
    for tag in HIDDEN.findall(form.group(1)):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if name != "csrf_token":
            fields[name] = value.group(1) if value else ""
    return fields


def test_registering_a_referral_someone_changed_a_moment_before_is_a_conflict_keeping_the_input(
        committed_app):
    with committed_app.app_context():
        world = factories.build_world(now=DEFAULT_NOW)
        cast = Cast(world)
        ref = cast.sent(DEFAULT_NOW)
        ref_id, username, handler_id = ref.id, cast.prosecutor.username, cast.other_prosecutor.id
        _db.session.commit()
        _db.session.close()

        client = committed_app.test_client()
        assert client.submit("/login", {"username": username,
                                        "password": factories.PASSWORD}).status_code == 302
        page = f"/referrals/{ref_id}"
        loaded = _register_form_as_loaded(client.get(page).get_data(as_text=True))
        _db.session.close()

        # Someone else changes the referral and commits, on a connection of their own.
        table = Referral.__table__
        with _db.engine.begin() as other:
            other.execute(sa.update(table).where(table.c.id == ref_id).values(
                version=table.c.version + 1, is_urgent=True))

        response = client.submit(
            f"{page}/register", {**loaded, "registration_number": "登-甲-17",
                                 "received_on": "2026-11-27", "handler_id": str(handler_id)},
            page=page)
        assert response.status_code == 400
        assert zh(CONFLICT) in page_text(response)
        assert 'value="登-甲-17"' in response.get_data(as_text=True)  # the typed input is kept
        _db.session.close()
        with _db.engine.connect() as reader:
            state, number = reader.execute(sa.select(table.c.state, table.c.registration_number)
                                           .where(table.c.id == ref_id)).one()
        assert (state, number) == ("sent", None)


def test_a_registration_whose_update_finds_the_row_changed_is_a_conflict_not_a_server_error(
        cast, db, clock):
    """Both requests read the referral; the other one writes first. This one's UPDATE then
    finds no row of the version it read: a Conflict the page can show, not StaleDataError."""
    ref = cast.sent(clock.now)
    db.session.flush()
    table = Referral.__table__
    db.session.execute(sa.update(table).where(table.c.id == ref.id)
                       .values(version=table.c.version + 1, is_urgent=True))
    with pytest.raises(Conflict) as refused:
        with db.session.begin_nested():
            services.register(ref, actor=cast.prosecutor, now=clock.now, registration_number="登-9",
                              received_on=ref.received_on, handler=cast.prosecutor)
    assert str(refused.value.message) in (zh(CONFLICT), CONFLICT)
    db.session.expire_all()
    row = db.session.get(Referral, ref.id)
    assert row.state == "sent" and row.registration_number is None and row.is_urgent


def test_registering_in_a_second_tab_says_it_is_already_registered(client, login_as, cast, db,
                                                                    clock):
    ref = cast.sent(clock.now)
    cast.prosecutor.locale = "en"  # the message is new: read in English until it is translated
    login_as(cast.prosecutor)
    page = f"/referrals/{ref.id}"
    loaded = _register_form_as_loaded(client.get(page).get_data(as_text=True))  # the second tab
    fields = {**loaded, "received_on": "2026-11-27", "handler_id": str(cast.prosecutor.id)}
    assert client.submit(f"{page}/register", {**fields, "registration_number": "登-1"},
                         page=page).status_code == 302
    response = client.submit(f"{page}/register", {**fields, "registration_number": "登-2"},
                             page=page)
    text = page_text(response)
    assert response.status_code == 400
    assert "This referral was already registered, as 登-1 on 2026-11-27 09:00." in text
    assert "Only the receiving organisation registers a referral." not in text
    db.session.refresh(ref)
    assert ref.registration_number == "登-1"
