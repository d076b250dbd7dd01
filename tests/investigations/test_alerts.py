"""Hand-over alerts of a judicial aid case (快转快反): who hears at once, and only they.

A case opened from a referral reaches the federation that sent it (the sender officer and
the sending organisation's supervisors, or those above it); a proposal reaches the
procuratorate's supervisors at once, never the proposer; the answer reaches the proposer.
Each hears once, in Chinese, with the link to the case; a second submit adds nothing."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from caseflow.core.errors import Conflict, NotAllowed
from caseflow.core.notifications.models import UndeliverableAlert
from caseflow.core.notifications.services import set_alert_preferences
from caseflow.core.orgs.roles import Role
from caseflow.investigations import alerts, services
from caseflow.referrals import services as referral_services
from tests import factories
from tests.notices import alerts_of, chinese, emails_keyed, ids, told
from tests.conftest import page_text, zh
from tests.investigations.helpers import CaseCast, case_input, proposal_input
from tests.referrals.helpers import referral_input

CASE_KINDS = (alerts.KIND_OPENED, alerts.KIND_PROPOSED, alerts.KIND_APPROVED, alerts.KIND_REJECTED,
              alerts.KIND_RETURNED)


@pytest.fixture
def cast(world):
    return CaseCast(world)


def all_case_alerts(db) -> list[tuple[int, str]]:
    return alerts_of(db, CASE_KINDS)


def case_emails(db):
    """The e-mails of these hand-overs (the referrals' own aside)."""
    return emails_keyed(db, "aidcase:")


def street_referral(cast, now, *, sender):
    """A referral a street federation officer sent and the 5th department registered."""
    person = factories.make_person(cast.world, sender, pseudonym="晓丽", resident_id=None)
    ref = referral_services.save_draft(actor=sender, now=now, person=person,
                                       receiver=cast.world.department5,
                                       data=referral_input(consent_on=now.date()),
                                       submission_token=uuid.uuid4().hex)
    referral_services.send(ref, actor=sender, now=now)
    return referral_services.register(ref, actor=cast.prosecutor, now=now,
                                      registration_number=f"登-{ref.id}",
                                      received_on=ref.received_on, handler=cast.prosecutor)


# -- a case opened from a referral -------------------------------------------------------------


def test_a_case_opened_from_a_referral_tells_the_federation_that_sent_it(cast, db, clock):
    referral = cast.registered(clock.now)
    case = cast.open(clock.now, referral=referral)

    opened = told(db, alerts.KIND_OPENED)
    assert set(opened) == ids(cast.officer, cast.fed_supervisor)
    assert all(len(notes) == 1 for notes in opened.values())
    # nobody else hears of it: not the prosecutors, not the street federation, not the partner
    assert {user for user, _ in all_case_alerts(db)} == ids(cast.officer, cast.fed_supervisor)

    note = opened[cast.officer.id][0]
    assert note.link == f"/cases/{case.id}"
    assert chinese(note) == zh(
        "%(org)s opened judicial aid case %(number)s for %(pseudonym)s from referral "
        "%(referral)s; the handler is %(handler)s.", org=cast.world.department5.name,
        number=case.number, pseudonym="小雨", referral=referral.number,
        handler=cast.prosecutor.display_name)
    # the person by pseudonym only: none of her protected fields is in what is stored
    assert not {"陈雨婷", "13871234567", "420103198503120020"} & {str(v) for v in note.params.values()}


def test_opening_twice_from_the_same_referral_tells_nobody_again(cast, db, clock):
    referral = cast.registered(clock.now)
    cast.open(clock.now, referral=referral)
    before = all_case_alerts(db)
    with pytest.raises(Conflict):
        cast.open(clock.now, referral=referral)
    assert all_case_alerts(db) == before and len(before) == 2


def test_a_street_federations_referral_reaches_the_supervisors_above_it_and_no_other_street(
        cast, db, clock, world):
    """甲街 has no supervisor: the district's hears; 乙街's officer does not."""
    street_b_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
    referral = street_referral(cast, clock.now, sender=cast.street_officer)
    cast.open(clock.now, referral=referral)
    assert set(told(db, alerts.KIND_OPENED)) == ids(cast.street_officer, cast.fed_supervisor)
    assert street_b_officer.id not in {user for user, _ in all_case_alerts(db)}


def test_a_street_federation_with_its_own_supervisor_is_told_through_her(cast, db, clock, world):
    street_head = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.street_a)
    referral = street_referral(cast, clock.now, sender=cast.street_officer)
    cast.open(clock.now, referral=referral)
    assert set(told(db, alerts.KIND_OPENED)) == ids(cast.street_officer, street_head)


def test_a_case_opened_without_a_referral_tells_nobody(cast, db, clock):
    applicant = factories.make_person(cast.world, cast.prosecutor, pseudonym="阿兰", resident_id=None)
    services.open_case(actor=cast.prosecutor, now=clock.now, data=case_input(),
                       handler=cast.prosecutor, applicant=applicant)
    assert all_case_alerts(db) == []


# -- the proposal and its review ---------------------------------------------------------------


def test_a_proposal_tells_the_procuratorates_supervisors_at_once_not_the_proposer(cast, db, clock):
    case = cast.proposed(clock.now, amount="30000.50")

    proposed = told(db, alerts.KIND_PROPOSED)
    assert set(proposed) == ids(cast.proc_supervisor)
    assert len(proposed[cast.proc_supervisor.id]) == 1
    note = proposed[cast.proc_supervisor.id][0]
    assert note.link == f"/cases/{case.id}"
    assert chinese(note) == zh(
        "%(proposer)s proposed %(amount)s yuan of judicial aid in case %(number)s "
        "(%(pseudonym)s): it awaits your approval.", proposer=cast.prosecutor.display_name,
        amount="30,000.50", number=case.number, pseudonym="小雨")
    # nobody else: not the proposer, the other prosecutor or the federation on the team
    assert [user for user, kind in all_case_alerts(db) if kind == alerts.KIND_PROPOSED] == [
        cast.proc_supervisor.id]


def test_a_supervisor_proposing_is_not_told_of_his_own_proposal(cast, db, clock, world):
    """The only supervisor of the department proposes: the procuratorate's above hear."""
    chief = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR}, org=world.procuratorate)
    cast.proposed(clock.now, actor=cast.proc_supervisor)
    assert set(told(db, alerts.KIND_PROPOSED)) == ids(chief)


def test_a_second_submit_of_the_proposal_adds_nothing(cast, db, clock):
    case = cast.proposed(clock.now)
    with pytest.raises(NotAllowed):
        services.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input())
    assert len(told(db, alerts.KIND_PROPOSED)[cast.proc_supervisor.id]) == 1


@pytest.mark.parametrize("outcome, kind, msgid", [
    ("approve", alerts.KIND_APPROVED,
     "%(reviewer)s approved your proposal for judicial aid case %(number)s (%(pseudonym)s): "
     "%(amount)s yuan."),
    ("reject", alerts.KIND_REJECTED,
     "%(reviewer)s rejected your proposal for judicial aid case %(number)s (%(pseudonym)s); the "
     "reason is on the case's page."),
    ("return", alerts.KIND_RETURNED,
     "%(reviewer)s returned your proposal for judicial aid case %(number)s (%(pseudonym)s) for "
     "more investigation; the comment is on the case's page."),
])
def test_the_review_tells_the_proposer(cast, db, clock, outcome, kind, msgid):
    case = cast.proposed(clock.now)
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome=outcome,
                    comment=None if outcome == "approve" else "材料不全，请补充陈雨婷的病历")

    answered = told(db, kind)
    assert set(answered) == ids(cast.prosecutor)
    note = answered[cast.prosecutor.id][0]
    assert note.link == f"/cases/{case.id}"
    variables = dict(reviewer=cast.proc_supervisor.display_name, number=case.number, pseudonym="小雨")
    if outcome == "approve":
        variables["amount"] = "30,000.00"
    assert chinese(note) == zh(msgid, **variables)
    # the reviewer's free text (which here names her) stays on the case page
    assert "陈雨婷" not in str(note.params)
    # the reviewer is not told of his own answer, nor anyone else
    review_kinds = {alerts.KIND_APPROVED, alerts.KIND_REJECTED, alerts.KIND_RETURNED}
    assert [(user, k) for user, k in all_case_alerts(db) if k in review_kinds] == [
        (cast.prosecutor.id, kind)]


def test_a_returned_proposal_proposed_again_is_a_new_hand_over(cast, db, clock):
    case = cast.proposed(clock.now)
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="return", comment="补充走访")
    clock.advance(minutes=5)
    services.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input())
    assert len(told(db, alerts.KIND_PROPOSED)[cast.proc_supervisor.id]) == 2


# -- channels ------------------------------------------------------------------------------------


def test_hand_overs_queue_no_email_by_default(cast, db, clock):
    case = cast.proposed(clock.now)
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="approve", comment=None)
    assert case_emails(db) == []
    assert len(all_case_alerts(db)) == 4  # opened ×2, proposed, approved: in the app only


def test_a_recipient_who_chose_email_for_hand_overs_gets_one_email_per_hand_over(cast, db, clock):
    set_alert_preferences(cast.proc_supervisor, now=clock.now, chosen={("handover", "email"): True},
                          quiet_from=None, quiet_until=None)
    case = cast.proposed(clock.now)
    # the federation's two were told of the opening in the app only, as they chose nothing
    mails = case_emails(db)
    assert [m.to_user_id for m in mails] == [cast.proc_supervisor.id]
    mail = mails[0]
    assert mail.to_address == cast.proc_supervisor.email
    assert zh("%(proposer)s proposed %(amount)s yuan of judicial aid in case %(number)s "
              "(%(pseudonym)s): it awaits your approval.", proposer=cast.prosecutor.display_name,
              amount="30,000.00", number=case.number, pseudonym="小雨") in mail.body
    assert f"/cases/{case.id}" in mail.body and "陈雨婷" not in mail.body
    # told again of the same hand-over (a retried call), the outbox stays as it was
    told_again = alerts.tell_proposed(case, actor=cast.prosecutor, now=clock.now)
    assert [u.id for u in told_again] == [cast.proc_supervisor.id]
    assert case_emails(db) == mails


# -- through the pages -----------------------------------------------------------------------------


def test_the_supervisor_sees_the_proposal_in_her_notifications_and_a_double_submit_adds_nothing(
        cast, db, clock, client, login_as):
    case = cast.investigating(clock.now)
    login_as(cast.prosecutor)
    page = f"/cases/{case.id}"
    form = {"findings": "调查属实", "amount": "30000", "reasons": "家庭困难"}
    assert client.submit(f"/cases/{case.id}/proposal", form, page=page).status_code == 302
    assert client.submit(f"/cases/{case.id}/proposal", form, page=page).status_code != 302
    assert len(told(db, alerts.KIND_PROPOSED)[cast.proc_supervisor.id]) == 1

    client.submit("/logout", page="/")
    login_as(cast.proc_supervisor)
    sentence = zh("%(proposer)s proposed %(amount)s yuan of judicial aid in case %(number)s "
                  "(%(pseudonym)s): it awaits your approval.", proposer=cast.prosecutor.display_name,
                  amount="30,000.00", number=case.number, pseudonym="小雨")
    assert sentence in page_text(client.get("/notifications"))
    bell = client.get("/notifications/unread.json").get_json()
    assert {"text": sentence, "link": f"/cases/{case.id}"} in bell["latest"]
    # "Open" marks it read and leads to the case, which she may see
    note = told(db, alerts.KIND_PROPOSED)[cast.proc_supervisor.id][0]
    response = client.submit(f"/notifications/{note.id}/read", {}, page="/notifications")
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert client.get(f"/cases/{case.id}").status_code == 200


# -- nobody to tell --------------------------------------------------------------------------------


def undeliverable(db) -> list[tuple[int | None, str]]:
    db.session.flush()
    return [(row.organisation_id, row.kind) for row in db.session.scalars(
        sa.select(UndeliverableAlert).order_by(UndeliverableAlert.id))]


def test_a_proposal_nobody_else_can_approve_is_recorded_as_undeliverable_not_told_to_the_proposer(
        cast, db, clock, world):
    """The department's only supervisor proposes and nobody supervises above it."""
    case = cast.proposed(clock.now, actor=cast.proc_supervisor)
    assert told(db, alerts.KIND_PROPOSED) == {}
    assert undeliverable(db) == [(world.department5.id, alerts.KIND_PROPOSED)]
    assert case.state == "proposed"


def test_the_review_of_a_proposer_whose_account_was_closed_is_recorded_as_undeliverable(cast, db, clock, world):
    case = cast.proposed(clock.now)
    cast.prosecutor.is_active_account = False
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="approve", comment=None)
    assert told(db, alerts.KIND_APPROVED) == {}  # not the reviewer in his place
    assert undeliverable(db) == [(world.department5.id, alerts.KIND_APPROVED)]


def test_a_told_hand_over_is_not_undeliverable(cast, db, clock):
    case = cast.proposed(clock.now)
    services.review(case, actor=cast.proc_supervisor, now=clock.now, outcome="approve", comment=None)
    assert undeliverable(db) == []
