"""Importing a referral ledger: the preview of a realistic 2,000-row ledger with 5% spoilt
rows, nothing written before confirmation, the import all at once, the same file again
adding nothing, and an imported open referral reminded by the sweep."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import ValidationFailed
from caseflow.core.notifications.models import Notification, ReminderLedger
from caseflow.core.orgs.roles import Role
from caseflow.core.people.models import Person
from caseflow.imports import services
from caseflow.imports.models import ImportBatch
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import Referral, ReferralCounter
from caseflow.referrals.reminders import sweep
from tests import factories
from tests.imports.ledger import SPOILT, make_ledger, resident_id

MATCHED = 10  # women of the ledger recorded in caseflow before the import


@pytest.fixture
def cast(world, clock):
    class Cast:
        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
        handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                      username="wang.jianchaguan")
        officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    # Some of the women were recorded before (referred once already, or met at reception).
    Cast.known = [factories.make_person(world, Cast.officer, pseudonym=f"已登记{n}",
                                        resident_id=resident_id(n), phone=None)
                  for n in range(1, 1 + 100 * MATCHED, 100)]
    return Cast


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def big_ledger(cast, clock):
    return make_ledger(2000, today=local_date(clock.now), handler=cast.handler.username,
                       bad_share=0.05)


def test_the_preview_of_a_2000_row_ledger_counts_and_writes_nothing(db, cast, clock, big_ledger):
    before = {m: _count(db, m) for m in (Referral, Person, ImportBatch, AuditEvent)}
    data = big_ledger.xlsx()
    preview = services.preview_referrals(data, "台账2025.xlsx", actor=cast.supervisor, now=clock.now)
    assert len(big_ledger.spoilt) == 100
    assert preview.counts() == {"rows": 2000, "added": 1900, "already": 0, "refused": 100,
                                "people_matched": MATCHED, "people_added": 1900 - MATCHED}
    assert {e.row for e in preview.errors} == set(big_ledger.spoilt)
    # Each spoilt row's error names its row and the column where the mistake is.
    column_of = {"check_digit": "resident_id", "unknown_org": "receiver",
                 "reply_before_received": "reply_on", "duplicate_number": "number",
                 "bad_date": "received_on", "unknown_handler": "handler",
                 "missing_circumstances": "circumstances"}
    for row, kind in big_ledger.spoilt.items():
        heading = str(services.COLUMN_BY_KEY[column_of[kind]].label)
        errors = [e for e in preview.errors if e.row == row]
        assert [e.column for e in errors] == [heading], (row, kind, errors)
    assert {kind for kind in big_ledger.spoilt.values()} == set(SPOILT)
    # Matched people are the ones already recorded, found through the blind index.
    assert preview.matched_ids == {p.id for p in cast.known}
    # The page shows the first rows, the counts cover them all.
    assert [plan.row for plan in preview.rows] == list(range(2, 2 + services.SHOWN))
    db.session.flush()
    assert {m: _count(db, m) for m in before} == before
    # The import is refused while rows have errors: still nothing written.
    with pytest.raises(ValidationFailed, match="100"):
        services.import_referrals(data, "台账2025.xlsx", actor=cast.supervisor, now=clock.now)
    assert {m: _count(db, m) for m in before} == before


def test_the_corrected_ledger_imports_at_once_and_again_adds_nothing(db, cast, clock, big_ledger):
    good = big_ledger.without_spoilt()
    data = good.csv()  # (the preview test reads the XLSX; CSV is the other format offices keep)
    referrals, people = _count(db, Referral), _count(db, Person)
    preview = services.import_referrals(data, "台账2025.xlsx", actor=cast.supervisor, now=clock.now)
    assert preview.counts()["added"] == 1900
    assert _count(db, Referral) == referrals + 1900
    assert _count(db, Person) == people + 1900 - MATCHED
    # One audit row for the import, with its counts.
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import")).all()
    assert len(audit) == 1
    assert audit[0].after["added"] == 1900 and audit[0].after["people_matched"] == MATCHED
    assert audit[0].after["sha256"] == services.sha256_of(data)
    batch = db.session.scalar(sa.select(ImportBatch))
    assert (batch.rows_total, batch.rows_added, batch.people_added) == (1900, 1900, 1900 - MATCHED)
    # The original numbers and dates, marked imported with the file and row.
    first = good.rows[1]  # (row 2 is a woman recorded before)
    ref = db.session.scalar(sa.select(Referral).where(Referral.number == first["number"]))
    assert ref.received_on == first["received_on"] and ref.imported_row == 3
    assert ref.imported_sha256 == services.sha256_of(data) and ref.is_imported
    assert ref.person.pseudonym == first["pseudonym"]
    assert (ref.state, ref.reply_on, ref.registration_number) == (
        "replied", first["reply_on"], first["registration_number"])
    assert ref.handler_id == cast.handler.id and ref.reply_due_on is not None
    # The woman recorded before keeps her record: the referral is hers.
    known = cast.known[1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)
                             .where(Referral.person_id == known.id)) == 1
    # The series' counter moved past the imported numbers: the next one sent is new.
    year = local_date(clock.now).year
    counter = db.session.get(ReferralCounter, (cast.supervisor.organisation_id, year))
    highest = max(int(r["number"].split("〕")[1][:-1]) for r in good.rows
                  if f"〔{year}〕" in r["number"])
    assert counter.last_seq == highest
    number, _seq, _series = referral_services.next_number(cast.supervisor.organisation, year)
    assert db.session.scalar(sa.select(Referral.id).where(Referral.number == number)) is None

    # The same file again: every row is already there; nothing added.
    again = services.preview_referrals(data, "台账2025.xlsx", actor=cast.supervisor, now=clock.now)
    assert again.counts()["already"] == 1900 and again.to_add == 0 and not again.refused
    services.import_referrals(data, "台账2025-副本.xlsx", actor=cast.supervisor, now=clock.now)
    assert _count(db, Referral) == referrals + 1900
    assert _count(db, Person) == people + 1900 - MATCHED


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone())


def test_an_imported_open_referral_enters_the_reminder_sweep(db, cast, clock):
    today = local_date(clock.now)
    # Rows 0 and 3 are open (0 sent, 3 registered to the handler); the others replied.
    ledger = make_ledger(6, today=today, handler=cast.handler.username, open_share=1 / 3,
                         first_id=5000)
    services.import_referrals(ledger.csv(), "open.csv", actor=cast.supervisor, now=clock.now)
    refs = {r.number: r for r in db.session.scalars(
        sa.select(Referral).where(Referral.imported_sha256.is_not(None)))}
    states = [refs[row["number"]].state for row in ledger.rows]
    assert states[0] == "sent" and states[3] == "registered"
    assert set(states[1:3] + states[4:]) <= {"replied", "closed"}
    registered = refs[ledger.rows[3]["number"]]
    assert registered.handler_id == cast.handler.id
    # Its dates are the statutory clock's, as registration would set them.
    dates = referral_services.clock_dates(is_urgent=registered.is_urgent,
                                          received_on=registered.received_on, calendar=load_calendar())
    assert (registered.reply_due_on, registered.statutory_due_on) == (dates.due.day, dates.due.day)
    assert registered.registration_due_on == dates.registration_due
    # On its due day the sweep reminds the handler, and skips the earlier stages it missed
    # (as after downtime): the referral was in nobody's sweep before the import.
    result = sweep(now=_at(registered.reply_due_on, 10))
    assert result.stages_sent >= 1
    stages = {row.stage.split("@")[0]: row.outcome for row in db.session.scalars(
        sa.select(ReminderLedger).where(ReminderLedger.subject_id == registered.id))}
    assert stages["due_today"] == "sent"
    assert {name for name, outcome in stages.items() if outcome == "skipped"} >= {"due_1"}
    told = db.session.scalars(sa.select(Notification.kind).where(
        Notification.user_id == cast.handler.id)).all()
    assert "referral.due_today" in told
    # The one still waiting for registration is reminded as late once its day has passed.
    sent = refs[ledger.rows[0]["number"]]
    sweep(now=_at(sent.registration_due_on + timedelta(days=1), 10))
    assert db.session.scalar(sa.select(ReminderLedger.outcome).where(
        ReminderLedger.subject_id == sent.id, ReminderLedger.stage.like("registration_late@%"))) == "sent"


def test_a_long_file_is_written_chunk_by_chunk_and_undone_whole_by_a_late_error(db, cast, clock):
    """Rows are checked and written a chunk at a time (memory stays flat); an error in a
    later chunk still leaves nothing written, and a woman on rows of different chunks is
    recorded once."""
    assert services.CHUNK < 560
    ledger = make_ledger(600, today=local_date(clock.now), handler=cast.handler.username,
                         first_id=20000)
    ledger.rows[560]["resident_id"] = ledger.rows[3]["resident_id"]  # the same woman, later
    ledger.rows[590]["receiver"] = "某某区人民检察院"
    before = {m: _count(db, m) for m in (Referral, Person, ImportBatch, AuditEvent)}
    with pytest.raises(ValidationFailed):
        services.import_referrals(ledger.csv(), "late.csv", actor=cast.supervisor, now=clock.now)
    assert {m: _count(db, m) for m in before} == before

    del ledger.rows[590]
    preview = services.import_referrals(ledger.csv(), "late.csv", actor=cast.supervisor, now=clock.now)
    assert preview.counts() == {"rows": 599, "added": 599, "already": 0, "refused": 0,
                                "people_matched": 0, "people_added": 598}
    assert _count(db, Person) == before[Person] + 598
    first, again = (db.session.scalar(sa.select(Referral.person_id).where(
        Referral.number == ledger.rows[i]["number"])) for i in (3, 560))
    assert first == again


def test_imported_referrals_count_in_the_report_like_the_others(db, cast, clock, world):
    from caseflow.core.orgs.tree import subtree_ids
    from caseflow.reports import definitions

    today = local_date(clock.now)
    ledger = make_ledger(6, today=today, handler=cast.handler.username, open_share=1 / 3,
                         first_id=30000)
    services.import_referrals(ledger.xlsx(), "report.xlsx", actor=cast.supervisor, now=clock.now)
    federation = subtree_ids(world.federation.id)
    last_year = definitions.referral_figures(federation, date(today.year - 1, 1, 1),
                                             date(today.year - 1, 12, 31), today)
    assert last_year.by_direction["sent"]["to_procuratorate"] == 4
    # Replied 20 days after receipt: within the month, on time.
    assert last_year.replied_on_time[definitions.SENT] == definitions.Share(4, 4)
    this_year = definitions.referral_figures(federation, date(today.year, 1, 1), today, today)
    assert this_year.by_direction["sent"]["to_procuratorate"] == 2


def test_an_imported_referral_waiting_for_registration_goes_to_the_receiving_department(db, cast, clock, world):
    """As sending decides: a referral addressed to the procuratorate, not yet registered,
    is held by its receiving department (its inbox, its reminders); registered ones stay
    addressed as the ledger says, with their handler."""
    world.procuratorate.receiving_department_id = world.department5.id
    ledger = make_ledger(4, today=local_date(clock.now), handler=cast.handler.username,
                         open_share=1 / 3, first_id=40000)
    services.import_referrals(ledger.csv(), "dept.csv", actor=cast.supervisor, now=clock.now)
    refs = {r.number: r for r in db.session.scalars(sa.select(Referral).where(
        Referral.number.in_([row["number"] for row in ledger.rows])))}
    waiting, registered = refs[ledger.rows[0]["number"]], refs[ledger.rows[3]["number"]]
    assert waiting.state == "sent" and waiting.receiver_org_id == world.department5.id
    assert registered.state == "registered" and registered.receiver_org_id == world.procuratorate.id
