"""Discarding a draft (one door: state, audit row, timeline reason) and a street
officer's defaults (where the referral menu opens, the home page's new referral button)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from caseflow.core.audit.models import AuditEvent
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db as _db
from caseflow.referrals import policy, services
from caseflow.referrals.models import Referral, ReferralEvent
from tests import factories
from tests.conftest import page_text
from tests.referrals.helpers import Cast, referral_input

REASON = "与已发出的移送重复，不再发送"


@pytest.fixture
def cast(world):
    return Cast(world)


def _audit_rows(ref):
    return _db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "referral.discard", AuditEvent.object_id == str(ref.id))).all()


def test_discarding_a_draft_keeps_it_with_its_reason_audit_row_and_timeline(cast, db, clock):
    ref = cast.draft(clock.now)
    services.discard_draft(ref, actor=cast.officer, now=clock.now, reason=f"  {REASON} ")
    db.session.flush()
    db.session.expire_all()
    ref = db.session.get(Referral, ref.id)
    # Never sent: still a draft, unnumbered, out of use.
    assert (ref.state, ref.number, ref.sent_at) == ("draft", None, None)
    assert ref.discarded_at == clock.now and ref.discard_reason == REASON
    [row] = _audit_rows(ref)
    assert row.actor_id == cast.officer.id and row.reason == REASON
    assert row.before == {"discarded": False} and row.after == {"discarded": True}
    event = ref.events[-1]
    assert (event.kind, event.text, event.actor_id, event.is_shared) == (
        "discarded", REASON, cast.officer.id, True)
    # Nothing more can happen to it.
    for check in (policy.can_edit_referral, policy.can_send, policy.can_discard):
        assert not check(cast.officer, ref)
    with pytest.raises(NotAllowed):
        services.send(ref, actor=cast.officer, now=clock.now)
    assert not services.has_drafts(cast.officer)


def test_discarding_needs_a_reason(cast, db, clock):
    ref = cast.draft(clock.now)
    with pytest.raises(ValidationFailed) as refused:
        services.discard_draft(ref, actor=cast.officer, now=clock.now, reason="   ")
    assert refused.value.field == "reason"
    assert ref.discarded_at is None and not _audit_rows(ref)


def test_only_the_author_or_her_organisation_discards_and_only_a_draft(cast, db, clock, world):
    ref = cast.draft(clock.now)
    colleague = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    assert policy.can_discard(colleague, ref) and policy.can_discard(cast.fed_supervisor, ref)
    for other in (cast.street_officer, cast.prosecutor, cast.partner):
        assert not policy.can_discard(other, ref)
        with pytest.raises(NotAllowed):
            services.discard_draft(ref, actor=other, now=clock.now, reason=REASON)
    # The district sees a street federation's draft but did not write it.
    street_draft = services.save_draft(
        actor=cast.street_officer, now=clock.now,
        person=factories.make_person(world, cast.street_officer, pseudonym="街道化名"),
        receiver=world.department5, data=referral_input(),
        submission_token="street-draft")
    assert policy.can_view_referral(cast.officer, street_draft)
    assert not policy.can_discard(cast.officer, street_draft)
    sent = cast.sent(clock.now)
    assert not policy.can_discard(cast.officer, sent)
    with pytest.raises(NotAllowed):
        services.discard_draft(sent, actor=cast.officer, now=clock.now, reason=REASON)
    assert not _audit_rows(ref) and not _audit_rows(sent)


def test_the_database_keeps_discarding_to_unsent_drafts_with_a_reason(cast, db, clock):
    sent = cast.sent(clock.now)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.update(Referral).where(Referral.id == sent.id).values(
                discarded_at=clock.now, discard_reason=REASON))
    draft = cast.draft(clock.now)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.update(Referral).where(Referral.id == draft.id).values(
                discarded_at=clock.now))


def test_the_discard_button_and_the_reason_on_the_page(client, login_as, cast, db, clock):
    ref = cast.draft(clock.now)
    page = f"/referrals/{ref.id}"
    login_as(cast.officer)
    assert 'data-testid="discard"' in client.get(page).get_data(as_text=True)
    refused = client.submit(f"{page}/discard", {"reason": ""}, page=page)
    assert refused.status_code == 400 and ref.discarded_at is None
    response = client.submit(f"{page}/discard", {"reason": REASON}, page=page)
    assert response.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="discard"' not in html and 'data-testid="send"' not in html
    assert 'data-testid="discarded"' in html
    timeline = html.split('data-testid="timeline"')[1].split("</ol>")[0]
    assert REASON in timeline
    assert len(_audit_rows(ref)) == 1
    # Someone of another organisation is told the draft does not exist, and nothing changes.
    other = cast.draft(clock.now)
    client.submit("/logout", page="/")
    login_as(cast.street_officer)
    assert client.submit(f"/referrals/{other.id}/discard", {"reason": REASON},
                         page="/referrals").status_code == 404
    assert other.discarded_at is None and not _audit_rows(other)


# -- a street officer's defaults ----------------------------------------------------------------


def _active_box(html: str) -> str:
    return html.split('nav-link active" href="/referrals?box=')[1].split('"')[0]


def test_the_referral_menu_opens_a_street_officer_on_her_drafts_then_her_outbox(client, login_as, cast, db, clock, world):
    login_as(cast.street_officer)
    html = client.get("/referrals").get_data(as_text=True)
    assert _active_box(html) == "outbox" and 'value="draft" selected' not in html
    person = factories.make_person(world, cast.street_officer, pseudonym="街道化名")
    draft = services.save_draft(actor=cast.street_officer, now=clock.now, person=person,
                                receiver=world.department5, data=referral_input(),
                                submission_token="street-1")
    html = client.get("/referrals").get_data(as_text=True)
    assert _active_box(html) == "outbox"
    assert 'selected value="draft"' in html or 'value="draft" selected' in html
    assert "街道化名" in page_text(client.get("/referrals"))
    services.discard_draft(draft, actor=cast.street_officer, now=clock.now, reason=REASON)
    html = client.get("/referrals").get_data(as_text=True)
    assert 'value="draft" selected' not in html and 'selected value="draft"' not in html
    # A box she asks for is the box she gets.
    assert _active_box(client.get("/referrals?box=inbox").get_data(as_text=True)) == "inbox"


@pytest.mark.parametrize("who", ["officer", "fed_supervisor", "prosecutor", "proc_supervisor"])
def test_those_who_receive_open_on_the_inbox(client, login_as, cast, who):
    login_as(getattr(cast, who))
    assert _active_box(client.get("/referrals").get_data(as_text=True)) == "inbox"


@pytest.mark.parametrize(("who", "shown"), [("street_officer", True), ("officer", True),
                                            ("prosecutor", True), ("partner", False)])
def test_the_home_page_offers_a_new_referral_to_those_who_may_file_one(client, login_as, cast, who, shown):
    user = login_as(getattr(cast, who))
    html = client.get("/").get_data(as_text=True)
    assert ('data-testid="home-referrals-new"' in html) is shown
    assert policy.can_file_referral(user) is shown
    if shown:
        assert 'href="/referrals/new"' in html
