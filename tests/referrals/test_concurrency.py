"""Referral numbers never repeat, also when many sends commit at the same moment.

This test needs real commits from several connections, so it runs on a database of
its own rather than inside the rolled-back transaction of the other tests."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from caseflow.core.orgs.models import User
from caseflow.extensions import db as _db
from caseflow.referrals import services
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import DEFAULT_NOW, create_database, make_app, migrate_to_head
from tests.referrals.helpers import referral_input

SENDERS = 8
DRAFTS_EACH = 4


@pytest.fixture
def committed_app(app, tmp_path):
    url, drop = create_database(app.config["TEST_BACKEND"], tmp_path)
    separate = make_app(url, CASEFLOW_CLOCK=lambda: DEFAULT_NOW)
    migrate_to_head(separate)
    yield separate
    with separate.app_context():
        _db.engine.dispose()
    drop()


def test_concurrent_sends_get_distinct_consecutive_numbers(committed_app):
    with committed_app.app_context():
        world = factories.build_world(now=DEFAULT_NOW)
        officer = factories.make_user(world, roles={"federation_officer"})
        # Someone must be able to register them, or they could not be sent at all.
        factories.make_user(world, roles={"prosecutor"}, org=world.department5)
        person = factories.make_person(world, officer)
        ids = [services.save_draft(actor=officer, now=DEFAULT_NOW, person=person,
                                   receiver=world.department5, data=referral_input(),
                                   submission_token=uuid.uuid4().hex).id
               for _ in range(SENDERS * DRAFTS_EACH)]
        officer_id = officer.id
        _db.session.commit()

    barrier = threading.Barrier(SENDERS)
    errors: list[BaseException] = []

    def sender(chunk):
        try:
            with committed_app.app_context():
                barrier.wait()  # outside any transaction: SQLite holds its lock from BEGIN
                for referral_id in chunk:
                    actor = _db.session.get(User, officer_id)
                    ref = _db.session.get(Referral, referral_id)
                    services.send(ref, actor=actor, now=DEFAULT_NOW)
                    _db.session.commit()
        except BaseException as error:  # surfaced below with the thread's failure
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(ids[i::SENDERS],)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    with committed_app.app_context():
        rows = _db.session.execute(sa.select(Referral.number, Referral.number_seq)).all()
    assert len({number for number, _ in rows}) == len(ids)
    assert sorted(seq for _, seq in rows) == list(range(1, len(ids) + 1))
