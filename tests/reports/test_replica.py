"""Reports and ledger exports from a read replica (CASEFLOW_REPLICA_DATABASE_URL).

Two real databases per backend: the primary, and a "replica" that starts as a copy of
it (SQLite: the backup API; PostgreSQL: CREATE DATABASE ... TEMPLATE) and then gets one
more sent referral of its own, so that every figure says which database it came from.
With the setting, the report's figures and the export's rows are the replica's, while
the sign-in, the export's audit row and the referral list stay on the primary; without
it, everything is the primary's. Committed data, not the rolled-back ``db`` fixture: the
replica's engine has connections of its own."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
import sqlalchemy as sa

from caseflow.core import replica
from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.models import User
from caseflow.extensions import db as _db
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import (
    BACKENDS, CSRF_PATTERN, DEFAULT_NOW, Clock, create_database, make_app,
    migrate_to_head,
)
from tests.referrals.helpers import Cast, referral_input

#: Referrals the federation sent, in the primary; the replica has one more.
SENT = 2


def _app(url: str, tmp_path, **overrides):
    app = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(tmp_path / "attachments"), **overrides)
    app.config["CASEFLOW_CLOCK"] = Clock(DEFAULT_NOW)
    return app


@pytest.fixture(scope="module", params=BACKENDS)
def databases(request, tmp_path_factory):
    backend = request.param
    tmp_path = tmp_path_factory.mktemp(f"replica-{backend}")
    (tmp_path / "primary").mkdir()
    primary_url, drop_primary = create_database(backend, tmp_path / "primary")
    primary = _app(primary_url, tmp_path)
    migrate_to_head(primary)
    with primary.app_context():
        world = factories.build_world(now=DEFAULT_NOW)
        cast = Cast(world)
        for _ in range(SENT):
            cast.sent(DEFAULT_NOW)
        users = {"supervisor": cast.fed_supervisor.username, "officer": cast.officer.username}
        _db.session.commit()
        _db.engine.dispose()
    replica_url, drop_replica = create_database(backend, tmp_path, copy_of=primary_url)
    with _app(replica_url, tmp_path).app_context():
        officer = _db.session.scalar(sa.select(User).where(User.username == users["officer"]))
        first = _db.session.scalar(sa.select(Referral).order_by(Referral.id))
        extra = referral_services.save_draft(
            actor=officer, now=DEFAULT_NOW, person=first.person, receiver=first.receiver_org,
            data=referral_input(circumstances="只在副本中的线索。"), submission_token=uuid.uuid4().hex)
        extra_number = referral_services.send(extra, actor=officer, now=DEFAULT_NOW).number
        _db.session.commit()
        _db.engine.dispose()
    yield {"backend": backend, "primary": primary_url, "replica": replica_url, "users": users,
           "extra_number": extra_number, "tmp_path": tmp_path}
    replica.dispose_all()
    drop_replica()
    drop_primary()


def _sign_in(client, username: str) -> None:
    token = CSRF_PATTERN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def _sent_figures(html: str) -> int:
    """The report's referrals sent (both directions added up)."""
    values = re.findall(r'data-testid="figure" data-key="referrals">.*?<td[^>]*>(.*?)</td>', html, re.S)
    numbers = [int(re.sub(r"<[^>]+>", "", v).strip()) for v in values]
    assert len(numbers) == 4, values  # sent x 2 directions, received x 2 directions
    return sum(numbers[:2])


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))[1:]


def _count(url: str, statement) -> int:
    engine = sa.create_engine(replica._normalised(url))
    try:
        with engine.connect() as conn:
            return conn.execute(statement).scalar_one()
    finally:
        engine.dispose()


def _exports_audited(url: str) -> list[dict]:
    engine = sa.create_engine(replica._normalised(url))
    try:
        with engine.connect() as conn:
            return [row.after for row in conn.execute(
                sa.select(AuditEvent.after).where(AuditEvent.action == "export.referrals"))]
    finally:
        engine.dispose()


def test_report_and_export_read_the_replica_and_writes_land_on_the_primary(databases):
    app = _app(databases["primary"], databases["tmp_path"],
               CASEFLOW_REPLICA_DATABASE_URL=databases["replica"])
    before = len(_exports_audited(databases["primary"]))
    client = app.test_client()
    _sign_in(client, databases["users"]["supervisor"])  # the sign-in is a write: the primary's

    report = client.get("/reports?year=2026")
    assert report.status_code == 200
    assert _sent_figures(report.get_data(as_text=True)) == SENT + 1

    response = client.get("/exports/referrals.csv?box=all")
    rows = _csv_rows(response)
    response.close()
    assert len(rows) == SENT + 1
    assert databases["extra_number"] in {row[0] for row in rows}
    with app.app_context():  # the streamed export gave its replica connection back
        assert replica.replica_engine().pool.checkedout() == 0

    # The export's audit row went to the primary, with the replica's count; none to the replica.
    audited = _exports_audited(databases["primary"])
    assert len(audited) == before + 1 and audited[-1]["rows"] == SENT + 1
    assert _exports_audited(databases["replica"]) == []
    # The pages that are not the report read the primary: its list has no extra referral.
    listing = client.get("/referrals?box=all").get_data(as_text=True)
    assert listing.count('data-testid="referral-row"') == SENT


def test_without_the_setting_the_primary_is_read(databases):
    app = _app(databases["primary"], databases["tmp_path"])
    client = app.test_client()
    _sign_in(client, databases["users"]["supervisor"])
    assert _sent_figures(client.get("/reports?year=2026").get_data(as_text=True)) == SENT
    rows = _csv_rows(client.get("/exports/referrals.csv?box=all"))
    assert len(rows) == SENT and databases["extra_number"] not in {row[0] for row in rows}
    assert _exports_audited(databases["primary"])[-1]["rows"] == SENT
    with app.app_context():
        assert replica.reading_session() is _db.session
        assert replica.replica_engine() is None


def test_the_replica_session_refuses_writes(databases):
    app = _app(databases["primary"], databases["tmp_path"],
               CASEFLOW_REPLICA_DATABASE_URL=databases["replica"])
    with app.test_request_context():
        session = replica.reading_session()
        assert session is not _db.session
        assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == SENT + 1
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(sa.update(User).values(display_name="改"))
        session.rollback()
        with replica.reading() as reading:
            assert replica.reader() is reading is session
        assert replica.reader() is _db.session
        # One engine per process for the same URL.
        assert replica.replica_engine() is replica.replica_engine()
    assert _count(databases["replica"], sa.select(sa.func.count()).select_from(User)
                  .where(User.display_name == "改")) == 0
