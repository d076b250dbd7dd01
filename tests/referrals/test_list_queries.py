"""The paged referral lists (queries.referral_page: a union of index ranges cut at the
page) show exactly the rows, in exactly the order, of the plain query over the whole list,
for every box, filter and page."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from caseflow.core.orgs.roles import Role
from caseflow.referrals import queries, services
from tests import factories
from tests.referrals.helpers import Cast, referral_input

START = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 27)


@pytest.fixture
def varied(world, db):
    """Forty referrals both ways between four organisations, in every state, urgent or
    not, received over six months (so some are overdue, some due soon, some far off)."""
    cast = Cast(world)
    prosecutor_person = factories.make_person(world, cast.prosecutor, pseudonym="小丽")
    street_person = factories.make_person(world, cast.street_officer, pseudonym="阿梅")
    rng = random.Random(20261201)
    senders = [(cast.officer, cast.person, world.department5),
               (cast.street_officer, street_person, world.department5),
               (cast.prosecutor, prosecutor_person, world.federation),
               (cast.prosecutor, prosecutor_person, world.street_b)]
    street_b_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
    receivers_staff = {world.department5.id: cast.prosecutor, world.federation.id: cast.officer,
                       world.street_b.id: street_b_officer}
    for i in range(40):
        actor, person, receiver = senders[i % len(senders)]
        now = START + timedelta(days=rng.randrange(0, 175), hours=rng.randrange(0, 8))
        ref = services.save_draft(actor=actor, now=now, person=person, receiver=receiver,
                                  data=referral_input(is_urgent=rng.random() < 0.3,
                                                      consent_on=now.date()),
                                  submission_token=uuid.uuid4().hex)
        fate = rng.choice(["draft", "sent", "registered", "registered", "replied", "closed",
                           "returned", "withdrawn"])
        if fate == "draft":
            continue
        services.send(ref, actor=actor, now=now)
        if fate == "withdrawn":
            services.withdraw(ref, actor=actor, now=now, reason="撤回")
            continue
        staff = receivers_staff[receiver.id]
        if fate == "returned":
            services.return_referral(ref, actor=staff, now=now, reason="不属于本部门职责")
            continue
        if fate == "sent":
            continue
        handler = staff
        services.register(ref, actor=staff, now=now, registration_number=f"登-{ref.id}",
                          received_on=ref.received_on, handler=handler)
        if fate == "registered":
            continue
        services.reply(ref, actor=handler, now=now, outcome="other", text="已立案",
                       reply_on=now.date())
        if fate == "closed":
            services.close(ref, actor=actor, now=now)
    db.session.flush()
    return cast


FILTERS = [
    queries.Filters(),
    queries.Filters(state="registered"),
    queries.Filters(state="sent"),
    queries.Filters(state="draft"),
    queries.Filters(overdue=True),
    queries.Filters(state="registered", overdue=True),
    queries.Filters(state="closed", overdue=True),
    queries.Filters(due_within=30),
    queries.Filters(urgent=True),
    queries.Filters(direction="to_federation"),
    queries.Filters(q="xiaoli"),
    queries.Filters(q="小"),
    queries.Filters(year=2026, urgent=True, state="replied"),
]


def _whole(user, box, filters):
    from caseflow.extensions import db

    return [r.id for r in db.session.scalars(queries.referral_list(user, box, filters, TODAY)).unique()]


def _paged(user, box, filters, per_page):
    ids, page = [], 1
    while True:
        rows, has_next = queries.referral_page(user, box, filters, TODAY, page, per_page=per_page)
        ids += [r.id for r in rows]
        if not has_next:
            return ids
        assert len(rows) == per_page
        page += 1


@pytest.mark.parametrize("max_ranges", [queries.MAX_RANGES, 1], ids=["ranges", "one-query"])
def test_pages_match_the_whole_list(varied, monkeypatch, max_ranges):
    monkeypatch.setattr(queries, "MAX_RANGES", max_ranges)
    cast = varied
    seen = 0
    for user in (cast.fed_supervisor, cast.proc_supervisor, cast.officer, cast.street_officer,
                 cast.prosecutor):
        for box in queries.BOXES:
            for filters in FILTERS:
                whole = _whole(user, box, filters)
                assert len(set(whole)) == len(whole), (box, filters)
                for per_page in (3, 25):
                    assert _paged(user, box, filters, per_page) == whole, (user.username, box, filters)
                seen += len(whole)
    assert seen > 500  # the data is varied enough for the comparison to mean something


def test_the_all_list_is_sent_and_received_without_drafts_received(varied):
    cast = varied
    rows = _whole(cast.proc_supervisor, "all", queries.Filters())
    inbox = _whole(cast.proc_supervisor, "inbox", queries.Filters())
    outbox = _whole(cast.proc_supervisor, "outbox", queries.Filters())
    assert sorted(rows) == sorted(set(inbox) | set(outbox))
    assert inbox and outbox
    overdue = queries.referral_page(cast.proc_supervisor, "all", queries.Filters(overdue=True), TODAY, 1)[0]
    assert overdue and all(r.state in ("sent", "registered") and r.reply_due_on < TODAY for r in overdue)
