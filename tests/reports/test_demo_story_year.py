"""The demo's story year (issue 7's last evidence item): DOMAIN.md's year, five referrals
between the two sides, six judicial aid cases and six women helped, counted by hand from
the demo's rows, by the report's definitions and on the report page; no reminder for any of
it; and the live demo kept out of that year whatever day it is loaded on."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from caseflow.cli import _now_for
from caseflow.core.db import local_date, local_zone
from caseflow.core.notifications.models import ReminderLedger
from caseflow.core.orgs.models import Organisation
from caseflow.core.orgs.roles import Role
from caseflow.core.orgs.services import subtree_ids
from caseflow.core.people.models import Person
from caseflow.core.people.services import read_identity
from caseflow.extensions import db as _db
from caseflow.investigations.models import AidCase
from caseflow.referrals.models import Referral
from caseflow.reports import definitions as d
from caseflow.reports.demo import PERSONS, STEP_NAME, TOKEN_PREFIX, story_year
from tests.referrals.test_demo import load
from tests.reports.test_report_pages import figures, sign_in

TODAY = date(2026, 11, 27)  # as the other report tests: the live demo's year is 2026
STORY = 2025


def year_of(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _in(day, year: int) -> bool:
    return day is not None and year_of(year)[0] <= day <= year_of(year)[1]


class HandCount:
    """The story year's figures counted from the rows, without the report's code."""

    def __init__(self, db, year: int):
        code = {o.code: o for o in db.session.scalars(sa.select(Organisation))}
        self.fed, self.proc = subtree_ids(code["jh-fed"].id), subtree_ids(code["jh-proc"].id)

        def between_sides(r: Referral) -> bool:
            return ((r.sender_org_id in self.fed and r.receiver_org_id in self.proc)
                    or (r.sender_org_id in self.proc and r.receiver_org_id in self.fed))

        self.referrals = [r for r in db.session.scalars(sa.select(Referral).order_by(Referral.id))
                          if r.state != "draft" and _in(r.received_on, year) and between_sides(r)]
        self.to_procuratorate = [r for r in self.referrals if r.sender_org_id in self.fed]
        self.to_federation = [r for r in self.referrals if r.sender_org_id in self.proc]
        cases = db.session.scalars(sa.select(AidCase).order_by(AidCase.id)).all()
        self.opened = [c for c in cases if _in(c.application_received_on, year)]
        self.helped = {c.applicant_id for c in cases
                       if _in(c.decided_on, year) and c.granted_amount is not None}


def test_the_story_year_is_the_last_year_the_live_demo_cannot_reach():
    assert story_year(TODAY) == STORY
    assert story_year(date(2027, 1, 10)) == 2025  # not 2026: the live records reach back into it
    assert story_year(date(2027, 5, 20)) == 2025
    assert story_year(date(2027, 5, 21)) == 2026  # the first day 2026 is out of the live demo's reach


def test_the_story_year_counted_by_hand_gives_the_storys_figures(app, db, clock):
    first = load(app, TODAY.isoformat())
    assert f"the story's year {STORY}: 5 referrals, 6 judicial aid cases, 6 women helped" in first.output
    count = HandCount(db, STORY)

    # Five referrals between the two sides: two from the district federation to the 5th
    # department, three back; each registered within its deadline, replied within the
    # month (the reply due date is one month from receipt) and closed.
    assert len(count.referrals) == 5
    assert [(r.sender_org.code, r.receiver_org.code) for r in count.to_procuratorate] == [("jh-fed", "jh-proc-5")] * 2
    assert [(r.sender_org.code, r.receiver_org.code) for r in count.to_federation] == [("jh-proc-5", "jh-fed")] * 3
    for ref in count.referrals:
        assert ref.submission_token.startswith(TOKEN_PREFIX)
        assert ref.state == "closed" and _in(local_date(ref.closed_at), STORY)
        assert local_date(ref.registered_at) <= ref.registration_due_on
        assert ref.reply_on <= ref.reply_due_on == ref.statutory_due_on and ref.extended_due_on is None

    # Six cases of the procuratorate's series, six women, all paid within the year.
    assert len(count.opened) == 6 and len(count.helped) == 6
    assert [c.number for c in count.opened] == [f"江汉检救〔{STORY}〕{n}号" for n in range(1, 7)]
    assert {c.applicant_id for c in count.opened} == count.helped
    for case in count.opened:
        assert case.state == "paid" and _in(case.decided_on, STORY) and _in(case.paid_on, STORY)
        assert case.organisation.code == "jh-proc-5"
        assert 20_000 <= case.granted_amount == case.paid_amount <= 60_000
        assert case.proposed_by.has_role(Role.PROSECUTOR)
        assert case.reviewed_by_id != case.proposed_by_id and case.reviewed_by.has_role(Role.SUPERVISOR)
        investigation = case.investigation
        assert {m.side for m in investigation.members} == {"federation", "procuratorate"}
        assert _in(investigation.started_on, STORY)
        assert investigation.visits and all(_in(v.visited_on, STORY) for v in investigation.visits)
        assert case.events[-1].kind == "paid" and _in(local_date(case.events[-1].occurred_at), STORY)
    # Two of the women are the federation's referrals, their cases opened from them; the
    # three referred back to the federation are among the six.
    from_federation = [c for c in count.opened if c.referral is not None]
    assert {c.referral_id for c in from_federation} == {r.id for r in count.to_procuratorate}
    assert {c.applicant_id for c in from_federation} == {r.person_id for r in count.to_procuratorate}
    assert len({r.person_id for r in count.to_federation}) == 3
    assert {r.person_id for r in count.to_federation} <= count.helped

    # New pseudonyms, identities sealed with valid resident IDs (women: even 17th digit).
    women = [c.applicant for c in count.opened]
    assert sorted(p.pseudonym for p in women) == sorted(name for name, *_rest in PERSONS)
    live_names = {r.person.pseudonym for r in db.session.scalars(sa.select(Referral))
                  if not r.submission_token.startswith(TOKEN_PREFIX)}
    assert live_names and not live_names & {p.pseudonym for p in women}
    for person in women:
        resident_id = read_identity(person).resident_id
        assert person.resident_id_sealed and ric.is_valid(resident_id) and int(resident_id[16]) % 2 == 0

    # The report's definitions give the same numbers. The procuratorate handled all six
    # cases; the federation's subtree counts the cases opened from its own referrals (the
    # "scope" definition), two of the six.
    for ids in (count.fed, count.proc):
        directions = d.referrals_by_direction(ids, *year_of(STORY))
        assert sum(n for side in directions.values() for n in side.values()) == 5
    assert d.referrals_by_direction(count.proc, *year_of(STORY)) == {
        "sent": {"to_procuratorate": 0, "to_federation": 3}, "received": {"to_procuratorate": 2, "to_federation": 0}}
    assert d.cases_opened(count.proc, *year_of(STORY)) == len(count.opened) == 6
    assert d.cases_decided(count.proc, *year_of(STORY)) == 6
    assert d.women_helped(count.proc, *year_of(STORY)) == len(count.helped) == 6
    assert d.aid_granted(count.proc, *year_of(STORY)) == sum(c.granted_amount for c in count.opened)
    assert d.cases_opened(count.fed, *year_of(STORY)) == d.women_helped(count.fed, *year_of(STORY)) == 2
    for ids, side, n in ((count.proc, d.RECEIVED, 2), (count.fed, d.RECEIVED, 3)):
        assert d.registered_on_time(ids, *year_of(STORY), TODAY, side) == d.Share(n, n)
        assert d.replied_on_time(ids, *year_of(STORY), TODAY, side) == d.Share(n, n)

    # Loading again adds nothing.
    def rows() -> list[int]:
        return [db.session.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Referral, AidCase, Person)]

    before = rows()
    second = load(app, TODAY.isoformat())
    assert "the story's year: already there" in second.output
    assert rows() == before


def test_the_report_page_for_the_story_year_shows_them(client, app, db, clock):
    load(app, TODAY.isoformat())
    query = f"/reports?period=year&year={STORY}"
    # The district federation's supervisor: 2 referrals sent, 3 received; the cases opened
    # from its own 2 referrals.
    sign_in(client, "fed.head")
    html = client.get(query).get_data(as_text=True)
    assert f"{STORY}-01-01" in html and f"{STORY}-12-31" in html
    found = figures(html)
    assert [v for v, _h, _e in found["referrals"]] == ["2", "0", "0", "3"]
    assert found["cases_opened"][0][0] == found["women_helped"][0][0] == "2"
    # The 5th department's supervisor: the same 5 referrals from the other side, and the six
    # cases it handled, six women helped.
    client.submit("/logout", page="/")
    sign_in(client, "proc.head")
    found = figures(client.get(query).get_data(as_text=True))
    assert [v for v, _h, _e in found["referrals"]] == ["0", "3", "2", "0"]
    assert found["cases_opened"][0][0] == found["cases_decided"][0][0] == found["women_helped"][0][0] == "6"
    assert found["aid_granted"][0][0] == found["aid_paid"][0][0] == "220,000.00"
    # The referral figures lead to lists with as many rows.
    rows = 0
    for value, href, exact in found["referrals"]:
        assert exact == "yes"
        shown = client.get(href).get_data(as_text=True).count('data-testid="referral-row"')
        assert shown == int(value), href
        rows += shown
    assert rows == 5


def test_no_reminder_concerns_the_story_year(app, db, clock):
    from caseflow.assistance.reminders import sweep_assistance
    from caseflow.investigations.reminders import sweep_approvals
    from caseflow.referrals.reminders import sweep

    load(app, TODAY.isoformat())
    count = HandCount(db, STORY)
    zone = local_zone()
    # The demo's now, and moments of the story year when its last referrals and cases were
    # recent: a sweep then would have found them too.
    for moment in (_now_for(TODAY.isoformat()),
                   *(datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(timezone.utc)
                     for day in (date(STORY, 12, 31), date(STORY + 1, 1, 5)))):
        sweep(now=moment)
        sweep_approvals(moment)
        sweep_assistance(moment)
    reminded = set(db.session.execute(sa.select(ReminderLedger.subject_type, ReminderLedger.subject_id)).all())
    assert reminded  # the live demo has its reminders
    story = {("referral", r.id) for r in count.referrals} | {("aid_case", c.id) for c in count.opened}
    assert not reminded & story
    # Nothing of the story is open for a sweep to find: referrals closed, cases paid, no
    # assistance items for its women.
    assert {r.state for r in count.referrals} == {"closed"} and {c.state for c in count.opened} == {"paid"}
    from caseflow.assistance.models import AssistancePlan

    assert not db.session.scalar(sa.select(sa.func.count(AssistancePlan.id)).where(
        AssistancePlan.person_id.in_(count.helped)))


#: Dates that are facts about the past, not records of the work: the day of the crime.
FACTS = {"offence_on"}
#: Tables of configuration, not of the demo's story.
NOT_RECORDS = {"calendar_days", "calendar_years", "settings", "job_runs"}


def _dates(row, table) -> list[tuple[str, date]]:
    found = []
    for column in table.columns:
        value = row._mapping[column.name]
        if column.name in FACTS or value is None:
            continue
        if isinstance(value, datetime):
            found.append((column.name, local_date(value if value.tzinfo else value.replace(tzinfo=timezone.utc))))
        elif isinstance(value, date):
            found.append((column.name, value))
    return found


@pytest.mark.parametrize("today", [
    "2027-01-10",  # early in the year: the live records reach back into the year before
    "2027-05-21",  # the first day whose story year is the year before: the nearest they come
])
def test_the_live_demo_stays_out_of_the_story_year(app, db, clock, monkeypatch, today):
    """Loaded on any day, every date of every live record (its consent, sending, receipt,
    visits, sessions, audit rows...) falls after the story year; then the story year holds
    the story's figures and nothing else."""
    from caseflow.core import demo as core_demo

    year = story_year(date.fromisoformat(today))
    live_steps = [step for step in core_demo.DEMO_STEPS if step.name != STEP_NAME]
    monkeypatch.setattr(core_demo, "DEMO_STEPS", live_steps)
    load(app, today)
    earliest = {}
    for table in _db.metadata.sorted_tables:
        if table.name in NOT_RECORDS:
            continue
        for row in db.session.execute(sa.select(table)):
            for column, day in _dates(row, table):
                key = f"{table.name}.{column}"
                earliest[key] = min(day, earliest.get(key, day))
    assert earliest["referrals.consent_on"] and earliest["visits.visited_on"]
    too_early = {key: day for key, day in earliest.items() if day <= year_of(year)[1]}
    assert not too_early, f"live records in or before the story year {year}: {too_early}"

    monkeypatch.undo()
    result = load(app, today)
    assert f"the story's year {year}: 5 referrals" in result.output
    count = HandCount(db, year)
    assert (len(count.referrals), len(count.opened), len(count.helped)) == (5, 6, 6)
    assert all(r.submission_token.startswith(TOKEN_PREFIX) for r in count.referrals)


def test_a_year_that_holds_other_records_is_left_alone(app, db, clock, monkeypatch):
    """A database whose live demo was loaded long ago: the year the story would take now
    holds those records, and the story would blur their figures, so it is not added."""
    from caseflow.core import demo as core_demo

    monkeypatch.setattr(core_demo, "DEMO_STEPS", [s for s in core_demo.DEMO_STEPS if s.name != STEP_NAME])
    load(app, "2026-03-02")  # live records from late 2025 to March 2026
    before = db.session.scalar(sa.select(sa.func.count(Referral.id)))
    monkeypatch.undo()
    assert story_year(date(2027, 6, 1)) == 2026
    result = load(app, "2027-06-01")
    assert "the story's year 2026: not added, the year already holds other referrals or cases" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Referral.id))) == before
    assert not db.session.scalar(sa.select(sa.func.count(Referral.id)).where(
        Referral.submission_token.like(TOKEN_PREFIX + "%")))
