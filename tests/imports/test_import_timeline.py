"""What an imported record's history says, and a judicial aid case still awaiting approval
brought in from the ledger: each imported referral, case and service item has one timeline
entry, "imported from <file>, row N", at the import's time and by the importer (the record's
original dates are its own columns), written by its domain and shown on its page; a
proposal awaiting approval enters the approval queue and reminders like one made in
caseflow, and is reviewed there."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from caseflow.assistance.models import AssistanceEvent, ServiceItem
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import ValidationFailed
from caseflow.core.notifications.models import Notification
from caseflow.core.orgs.roles import Role
from caseflow.imports import assistance, cases, services
from caseflow.investigations import services as case_services
from caseflow.investigations.models import AidCase, CaseEvent
from caseflow.investigations.reminders import sweep_approvals
from caseflow.referrals.models import Referral, ReferralEvent
from tests import factories
from tests.conftest import page_text
from tests.imports.case_ledger import PREFIX, make_case_ledger
from tests.imports.item_ledger import make_item_ledger
from tests.imports.ledger import make_ledger


def said(app, message: str, **variables) -> str:
    """``message`` as a Chinese-speaking user reads it (the catalogue's, once merged)."""
    with app.test_request_context(), force_locale("zh_CN"):
        return gettext(message, **variables)


def _entry(app, filename: str, row: int) -> str:
    return said(app, "Imported from %(file)s, row %(row)d.", file=filename, row=row)


@pytest.fixture
def proc(world):
    world.procuratorate.aid_case_prefix = PREFIX

    class Proc:
        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate,
                                         username="liu.kezhang")
        reviewer = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate,
                                       username="wang.kezhang")
        handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                      username="zhao.jianchaguan")
    return Proc


def test_an_imported_referral_has_its_timeline_entry_on_its_page(app, client, login_as, db, clock,
                                                                 supervisor, handler):
    ledger = make_ledger(3, today=local_date(clock.now), handler=handler.username, first_id=4100)
    services.import_referrals(ledger.csv(), "移送台账2023.csv", actor=supervisor, now=clock.now)
    refs = {r.imported_row: r for r in db.session.scalars(sa.select(Referral))}
    events = db.session.scalars(sa.select(ReferralEvent)).all()
    # One entry a referral, by the importer, at the import's time, in the state it came in.
    assert sorted(e.referral_id for e in events) == sorted(r.id for r in refs.values())
    for event in events:
        ref = next(r for r in refs.values() if r.id == event.referral_id)
        assert (event.kind, event.actor_id, event.occurred_at, event.to_state) == (
            "created", supervisor.id, clock.now, ref.state)
        assert event.data == {"imported": {"file": "移送台账2023.csv", "row": ref.imported_row}}
    login_as(supervisor)
    text = page_text(client.get(f"/referrals/{refs[3].id}"))
    assert _entry(app, "移送台账2023.csv", 3) in text
    assert said(app, "Imported from a ledger") in text
    assert said(app, "Draft created") not in text  # never a draft in caseflow
    # The receiving side reads the same entry.
    client.submit("/logout", page="/account")
    login_as(handler)
    assert _entry(app, "移送台账2023.csv", 3) in page_text(client.get(f"/referrals/{refs[3].id}"))


def test_an_imported_case_and_item_have_their_timeline_entries(app, client, login_as, db, clock,
                                                               world, proc):
    today = local_date(clock.now)
    ledger = make_case_ledger(2, today=today, handler=proc.handler.username,
                              approver=proc.supervisor.username, first_id=4200)
    cases.import_cases(ledger.csv(), "救助台账.csv", actor=proc.supervisor, now=clock.now)
    case = db.session.scalar(sa.select(AidCase).where(AidCase.imported_row == 3))
    [event] = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert (event.kind, event.actor_id, event.occurred_at, event.to_state) == (
        "opened", proc.supervisor.id, clock.now, "decided")
    login_as(proc.supervisor)
    assert _entry(app, "救助台账.csv", 3) in page_text(client.get(f"/cases/{case.id}"))

    fed = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
    officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_a)
    items = make_item_ledger(2, today=today, officer=officer.username, provider="测试区司法局",
                             first_id=4300)  # one woman, two items
    assistance.import_assistance(items.csv(), "帮扶台账.csv", actor=fed, now=clock.now)
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.imported_row == 3))
    kinds = [(e.kind, e.item_id, e.occurred_at) for e in db.session.scalars(
        sa.select(AssistanceEvent).order_by(AssistanceEvent.id))]
    # The plan the import opened for her (once), then each item's addition.
    first = db.session.scalar(sa.select(ServiceItem.id).where(ServiceItem.imported_row == 2))
    assert kinds == [("plan_opened", None, clock.now), ("item_added", first, clock.now),
                     ("item_added", item.id, clock.now)]
    client.submit("/logout", page="/account")
    login_as(fed)
    assert _entry(app, "帮扶台账.csv", 3) in page_text(client.get(f"/assistance/items/{item.id}"))
    plan_page = page_text(client.get(f"/assistance/{item.plan_id}"))
    assert _entry(app, "帮扶台账.csv", 2) in plan_page and _entry(app, "帮扶台账.csv", 3) in plan_page


def _proposal_ledger(proc, clock, proposed_days_ago: int = 20):
    today = local_date(clock.now)
    ledger = make_case_ledger(3, today=today, handler=proc.handler.username,
                              approver=proc.supervisor.username, first_id=4400)
    row = ledger.rows[0]  # being investigated in the ledger's generator: now proposed
    row["application_received_on"] = today - timedelta(days=proposed_days_ago + 10)
    row["offence_on"] = row["application_received_on"] - timedelta(days=30)
    row.update(proposed_amount="15000", proposed_on=today - timedelta(days=proposed_days_ago),
               proposal_reasons="家庭困难，建议救助。")
    return ledger


def _at(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone())


def test_a_case_awaiting_approval_enters_the_queue_and_the_reminders(client, login_as, db, clock,
                                                                     proc):
    ledger = _proposal_ledger(proc, clock)
    preview = cases.preview_cases(ledger.csv(), "救助.csv", actor=proc.supervisor, now=clock.now)
    assert [r.state for r in preview.rows] == ["proposed", "decided", "paid"]
    cases.import_cases(ledger.csv(), "救助.csv", actor=proc.supervisor, now=clock.now)
    case = db.session.scalar(sa.select(AidCase).where(AidCase.imported_row == 2))
    proposed_on = ledger.rows[0]["proposed_on"]
    assert case.state == "proposed" and str(case.proposed_amount) == "15000.00"
    assert (case.proposed_by_id, case.reviewed_by_id, local_date(case.proposed_at)) == (
        proc.handler.id, None, proposed_on)
    assert case.proposal_reasons == "家庭困难，建议救助。" and case.granted_amount is None
    # A decided row's proposal: the amount granted, on the day of the decision.
    decided = db.session.scalar(sa.select(AidCase).where(AidCase.imported_row == 3))
    assert decided.proposed_amount == decided.granted_amount
    assert local_date(decided.proposed_at) == decided.decided_on
    # The approval queue of the procuratorate's supervisors lists it.
    login_as(proc.reviewer)
    queue = client.get("/cases/approvals").get_data(as_text=True)
    assert case.number in queue and decided.number not in queue
    # The reminder sweep: waiting for 20 days, one reminder (the stale first stage skipped),
    # to the supervisors, never to the handler who proposed.
    result = sweep_approvals(clock.now)
    assert result.stages_sent == 1 and result.stages_skipped == 1
    told = {n.user_id for n in db.session.scalars(
        sa.select(Notification).where(Notification.kind == "aid_case.approval_waiting"))}
    assert {proc.supervisor.id, proc.reviewer.id} <= told and proc.handler.id not in told
    assert sweep_approvals(clock.now).stages_sent == 0  # once
    # Reviewed in caseflow like any proposal: approved by another supervisor.
    case_services.review(case, actor=proc.reviewer, now=clock.now, outcome="approve", comment=None)
    assert case.state == "approved" and case.reviewed_by_id == proc.reviewer.id


def test_a_recent_proposal_is_reminded_only_once_it_has_waited(db, clock, proc):
    ledger = _proposal_ledger(proc, clock, proposed_days_ago=0)
    cases.import_cases(ledger.csv(), "救助.csv", actor=proc.supervisor, now=clock.now)
    assert sweep_approvals(clock.now).stages_sent == 0
    later = _at(local_date(clock.now) + timedelta(days=10))
    assert sweep_approvals(later).stages_sent == 1


def test_a_proposal_row_without_its_amount_or_day_is_refused_and_nothing_written(db, clock, proc):
    ledger = _proposal_ledger(proc, clock)
    ledger.rows[0].pop("proposed_amount")
    ledger.rows[1].update(proposed_on=ledger.rows[1]["application_received_on"] - timedelta(days=1))
    ledger.rows[2].update(proposed_amount="一万五")
    preview = cases.preview_cases(ledger.csv(), "救助.csv", actor=proc.supervisor, now=clock.now)
    headings = {k: str(cases.COLUMN_BY_KEY[k].label) for k in ("proposed_amount", "proposed_on")}
    assert [(e.row, e.column) for e in preview.errors] == [
        (2, headings["proposed_amount"]), (3, headings["proposed_on"]),
        (4, headings["proposed_amount"])]
    assert "15000" not in preview.errors[0].message
    # The handler of a proposal still waiting has an active account.
    proc.handler.is_active_account = False
    db.session.flush()
    ledger = _proposal_ledger(proc, clock)
    with pytest.raises(ValidationFailed):
        cases.import_cases(ledger.csv(), "救助.csv", actor=proc.supervisor, now=clock.now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AidCase)) == 0
