"""The referral demo data (issue 3): every state and deadline situation, relative to the
day given by ``caseflow demo --today``, in both directions, and loaded only once."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.cli import _now_for
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date
from caseflow.core.demo import DEMO_STEPS
from caseflow.referrals import demo as referral_demo
from caseflow.referrals.models import Direction, EventKind, Referral, ReferralEvent, ReferralState
from caseflow.reports import demo as story_demo

OPEN = (ReferralState.SENT.value, ReferralState.REGISTERED.value)
ANSWERED = (ReferralState.REPLIED.value, ReferralState.CLOSED.value)


def load(app, today: str):
    result = app.test_cli_runner().invoke(args=["demo", "--today", today])
    assert result.exit_code == 0, result.output
    return result


def demo_referrals(db) -> list[Referral]:
    return db.session.scalars(sa.select(Referral).where(
        Referral.submission_token.like(referral_demo.TOKEN_PREFIX + "%"))
        .order_by(Referral.id)).all()


def missing_situations(referrals: list[Referral], today: date) -> list[str]:
    """The situations of issue 3 that no demo referral shows on ``today``."""
    def days(n: int) -> date:
        return today + timedelta(days=n)

    registered = [r for r in referrals if r.state == ReferralState.REGISTERED.value]
    checks = {
        "draft": any(r.state == "draft" for r in referrals),
        "sent, registration not yet due": any(
            r.state == "sent" and r.registration_due_on >= today for r in referrals),
        "sent, registration late": any(
            r.state == "sent" and r.registration_due_on < today for r in referrals),
        **{f"registered, due in {n} days": any(r.reply_due_on == days(n) for r in registered)
           for n in (7, 3, 1)},
        "registered, due today": any(r.reply_due_on == today for r in registered),
        **{f"registered, overdue by {n}": any(r.reply_due_on == days(-n) for r in registered)
           for n in (1, 10)},
        "replied on time": any(r.state in ANSWERED and r.reply_on <= r.reply_due_on
                               for r in referrals),
        "replied late": any(r.state in ANSWERED and r.reply_on > r.reply_due_on for r in referrals),
        "replied, not closed": any(r.state == "replied" for r in referrals),
        "closed": any(r.state == "closed" and r.closed_at is not None for r in referrals),
        "returned": any(r.state == "returned" and r.return_reason for r in referrals),
        "withdrawn": any(r.state == "withdrawn" and r.withdraw_reason for r in referrals),
        "extended": any(r.state in OPEN and r.extended_due_on is not None
                        and r.reply_due_on == r.extended_due_on > r.statutory_due_on
                        and r.extension_reason for r in referrals),
        "two urgent": sum(r.is_urgent for r in referrals) >= 2,
        **{f"{direction.value}, sent": any(r.direction == direction.value and r.state != "draft"
                                          for r in referrals) for direction in Direction},
        **{f"{direction.value}, open and registered": any(r.direction == direction.value
                                                         for r in registered)
           for direction in Direction},
        **{f"{direction.value}, answered": any(
            r.direction == direction.value and r.state in ANSWERED for r in referrals)
           for direction in Direction},
    }
    return [name for name, present in checks.items() if not present]


def assert_consistent(db, referrals: list[Referral], today: date, now) -> None:
    """What the services guarantee, seen from the demo: every step in the past, due dates
    from the calendar, numbers in sending order, a timeline and audit row per change."""
    calendar = load_calendar()
    for ref in referrals:
        events = db.session.scalars(sa.select(ReferralEvent).where(
            ReferralEvent.referral_id == ref.id).order_by(ReferralEvent.id)).all()
        times = [e.occurred_at for e in events]
        assert times == sorted(times) and times[-1] < now, ref.submission_token
        assert events[0].kind == EventKind.CREATED.value
        assert ref.created_by.is_demo
        audited = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "referrals", AuditEvent.object_id == str(ref.id)))
        assert audited >= len([e for e in events if e.kind != EventKind.NOTE.value])
        if ref.state == "draft":
            assert ref.number is None and ref.sent_at is None
            continue
        assert ref.consent_on is not None and ref.consent_on <= local_date(ref.sent_at)
        assert ref.statutory_due_on == calendar.reply_due(ref.received_on).day, ref.submission_token
        assert ref.received_on <= today
    sent = sorted((r for r in referrals if r.sent_at), key=lambda r: r.sent_at)
    # One series per numbering organisation (a street federation has its own) and year.
    for series in {(r.numbering_org_id, r.number_year) for r in sent}:
        numbers = [r.number_seq for r in sent if (r.numbering_org_id, r.number_year) == series]
        assert numbers == sorted(numbers), f"{series} numbers not in sending order"


def test_the_step_is_registered_once(app):
    before = [step.name for step in DEMO_STEPS]
    referral_demo.register_demo_step()
    referral_demo.register_demo_step()
    assert [step.name for step in DEMO_STEPS] == before
    assert before.count(referral_demo.STEP_NAME) == 1


def test_demo_referrals_show_every_situation_and_load_once(app, db, clock):
    today = date(2026, 11, 27)
    first = load(app, today.isoformat())
    referrals = demo_referrals(db)
    count = len(referrals)
    # every referral but the story's year's (tests/reports/test_demo_story_year.py)
    assert count == db.session.scalar(sa.select(sa.func.count(Referral.id)).where(
        Referral.submission_token.not_like(story_demo.TOKEN_PREFIX + "%"))) >= 18
    assert f"referrals: {count} new, {count} in the demo" in first.output

    assert missing_situations(referrals, today) == []
    assert_consistent(db, referrals, today, _now_for(today.isoformat()))

    state_counts = {state.value: sum(r.state == state.value for r in referrals)
                    for state in ReferralState}
    assert all(state_counts.values()), state_counts
    assert {r.direction for r in referrals} == {d.value for d in Direction}
    # Both sides file towards the other, and the street federation files too.
    senders = {r.sender_org.code for r in referrals}
    assert {"jh-fed", "jh-fed-minzu", "jh-proc-5"} <= senders
    # The department's letters are the procuratorate's: numbered in its series.
    department_numbers = [r.number for r in referrals if r.sender_org.code == "jh-proc-5" and r.number]
    assert department_numbers and all(n.startswith("江汉检移〔") for n in department_numbers)
    # The story's content: 小雨's judicial aid case, closed after a joint investigation.
    xiaoyu = next(r for r in referrals if r.person.pseudonym == "小雨")
    assert xiaoyu.state == "closed" and xiaoyu.reply_outcome == "aid_case_opened"
    assert "已立司法救助案件" in xiaoyu.reply_text
    kinds = {e.kind for e in xiaoyu.events}
    assert {"comment", "note", "registered", "replied", "closed"} <= kinds
    returned = next(r for r in referrals if r.state == "returned")
    assert "不属于本院管辖" in returned.return_reason

    second = load(app, today.isoformat())
    assert len(demo_referrals(db)) == count
    assert f"referrals: 0 new, {count} in the demo" in second.output
    # Loading again on another day adds nothing either.
    load(app, "2027-01-15")
    assert len(demo_referrals(db)) == count


@pytest.mark.parametrize("today", [
    "2026-06-15",  # a Monday: "overdue by 1" falls on a Sunday, reached by an extension
    "2026-10-06",  # inside the National Day holiday
    "2027-02-09",  # around the Spring Festival, in a year that may still be provisional
])
def test_the_situations_are_relative_to_the_given_day(app, db, clock, today):
    load(app, today)
    referrals = demo_referrals(db)
    assert missing_situations(referrals, date.fromisoformat(today)) == []
    assert_consistent(db, referrals, date.fromisoformat(today), _now_for(today))
