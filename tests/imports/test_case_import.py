"""Importing a judicial aid case ledger: the preview of a realistic 300-row ledger with 5%
spoilt rows, nothing written before confirmation, the import all at once, the same file
again adding nothing, cases opened from referrals, and the imported cases in the report."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import gettext as _

from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.orgs.roles import Role
from caseflow.core.people.models import Person
from caseflow.imports import cases, services
from caseflow.imports.models import ImportBatch
from caseflow.investigations.models import AidCase, AidCaseCounter
from caseflow.investigations.services.cases import next_case_number
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import zh
from tests.imports.case_ledger import PREFIX, SPOILT, SPOILT_COLUMN, make_case_ledger
from tests.imports.ledger import make_ledger, resident_id

MATCHED = 6  # women of the ledger recorded in caseflow before the import
REFERRED = 4  # cases of the ledger opened from a referral imported before


@pytest.fixture
def cast(world, clock):
    world.procuratorate.aid_case_prefix = PREFIX

    class Cast:
        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate,
                                         username="liu.kezhang")
        handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                      username="zhao.jianchaguan")
        officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    # Some women were recorded before (met at the procuratorate's reception).
    Cast.known = [factories.make_person(world, Cast.supervisor, pseudonym=f"已登记{n}",
                                        resident_id=resident_id(n), phone=None)
                  for n in range(101, 101 + 30 * MATCHED, 30)]
    return Cast


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _referrals(cast, clock, first_id: int) -> dict[int, str]:
    """Replied referrals to the procuratorate, imported from the federation's ledger: the
    cases of rows 1, 2, 4 and 5 (decided or paid) came from them; the same women."""
    ledger = make_ledger(REFERRED, today=local_date(clock.now), handler=cast.handler.username,
                         open_share=0, first_id=first_id)
    rows = (1, 2, 4, 5)
    for row, referral in zip(rows, ledger.rows):  # the case ledger's row's woman
        referral["resident_id"] = resident_id(first_id + row)
    services.import_referrals(ledger.csv(), "移送台账.csv", actor=cast.supervisor, now=clock.now)
    return {row: referral["number"] for row, referral in zip(rows, ledger.rows)}


def _ledger(cast, clock, count: int, **kw):
    return make_case_ledger(count, today=local_date(clock.now), handler=cast.handler.username,
                            approver=cast.supervisor.display_name, **kw)


def test_the_preview_of_a_300_row_ledger_counts_and_writes_nothing(db, cast, clock):
    ledger = _ledger(cast, clock, 300, bad_share=0.05)
    data = ledger.xlsx()
    before = {m: _count(db, m) for m in (AidCase, Person, ImportBatch, AuditEvent)}
    preview = cases.preview_cases(data, "救助台账.xlsx", actor=cast.supervisor, now=clock.now)
    assert len(ledger.spoilt) == 15 and set(ledger.spoilt.values()) == set(SPOILT)
    assert preview.counts() == {"rows": 300, "added": 285, "already": 0, "refused": 15,
                                "people_matched": MATCHED, "people_added": 285 - MATCHED}
    # Each spoilt row's error names its row and the column where the mistake is.
    assert {e.row for e in preview.errors} == set(ledger.spoilt)
    for row, kind in ledger.spoilt.items():
        heading = str(cases.COLUMN_BY_KEY[SPOILT_COLUMN[kind]].label)
        errors = [e for e in preview.errors if e.row == row]
        assert [e.column for e in errors] == [heading], (row, kind, errors)
    assert preview.matched_ids == {p.id for p in cast.known}
    # How far each case got, from the columns filled in.
    assert [p.state for p in preview.rows[:3]] == ["investigating", "decided", "paid"]
    db.session.flush()
    assert {m: _count(db, m) for m in before} == before
    # The import is refused while rows have errors: still nothing written.
    with pytest.raises(ValidationFailed, match="15"):
        cases.import_cases(data, "救助台账.xlsx", actor=cast.supervisor, now=clock.now)
    assert {m: _count(db, m) for m in before} == before


def test_the_corrected_ledger_imports_at_once_and_again_adds_nothing(db, cast, clock):
    referred = _referrals(cast, clock, first_id=500)
    ledger = _ledger(cast, clock, 300, bad_share=0.05, first_id=500, referrals=referred)
    good = ledger.without_spoilt()
    data = good.csv()
    people = _count(db, Person)
    preview = cases.import_cases(data, "救助台账.csv", actor=cast.supervisor, now=clock.now)
    assert preview.counts()["added"] == 285 and preview.people_matched == REFERRED
    assert _count(db, AidCase) == 285
    assert _count(db, Person) == people + 285 - REFERRED
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import")).all()
    assert len(audit) == 2  # the referrals' import, then the cases'
    assert audit[1].after["kind"] == "cases" and audit[1].after["added"] == 285
    assert audit[1].after["sha256"] == services.sha256_of(data)
    batch = db.session.scalar(sa.select(ImportBatch).where(ImportBatch.kind == "cases"))
    assert (batch.rows_total, batch.rows_added, batch.people_added) == (285, 285, 285 - REFERRED)

    by_number = {c.number: c for c in db.session.scalars(sa.select(AidCase))}
    # A case still being investigated, with its original number and dates, marked imported.
    row = good.rows[3]
    case = by_number[row["number"]]
    assert (case.state, case.application_received_on, case.imported_row) == (
        "investigating", row["application_received_on"], 5)
    assert case.imported_sha256 == services.sha256_of(data) and case.is_imported
    assert case.handler_id == cast.handler.id and case.applicant.pseudonym == row["pseudonym"]
    assert case.organisation_id == cast.supervisor.organisation_id
    # A paid case: the decision approved by the supervisor named, the payment as recorded.
    row = good.rows[5]
    case = by_number[row["number"]]
    assert case.state == "paid" and case.granted_amount == case.proposed_amount == Decimal("20000")
    assert (case.decided_on, case.paid_on, case.payment_method) == (
        row["decided_on"], row["paid_on"], "bank_transfer")
    assert (case.proposed_by_id, case.reviewed_by_id) == (cast.handler.id, cast.supervisor.id)
    # Cases opened from a referral name it; their applicant is the referral's woman.
    for index, number in referred.items():
        case = by_number[good.rows[index]["number"]]
        referral = db.session.scalar(sa.select(Referral).where(Referral.number == number))
        assert case.referral_id == referral.id and case.applicant_id == referral.person_id
    # The series' counter moved past the imported numbers: the next case opened is new.
    year = local_date(clock.now).year
    highest = max(int(r["number"].split("〕")[1][:-1]) for r in good.rows if f"〔{year}〕" in r["number"])
    assert db.session.get(AidCaseCounter, (cast.supervisor.organisation_id, year)).last_seq == highest
    number, _seq, _series = next_case_number(cast.supervisor.organisation, year)
    assert number not in by_number

    # The same file again: every row is already there; nothing added.
    again = cases.preview_cases(data, "救助台账.csv", actor=cast.supervisor, now=clock.now)
    assert again.counts()["already"] == 285 and again.to_add == 0 and not again.refused
    cases.import_cases(data, "救助台账-副本.csv", actor=cast.supervisor, now=clock.now)
    assert _count(db, AidCase) == 285
    assert _count(db, Person) == people + 285 - REFERRED


def test_a_case_names_a_referral_once_and_only_one_its_procuratorate_registered(db, cast, clock):
    referred = _referrals(cast, clock, first_id=900)
    ledger = _ledger(cast, clock, 6, first_id=900, referrals=referred)
    ledger.rows[4]["referral"] = referred[1]  # the referral of row 1 again
    ledger.rows[2]["resident_id"] = resident_id(4242)  # not the referral's woman
    preview = cases.preview_cases(ledger.csv(), "a.csv", actor=cast.supervisor, now=clock.now)
    errors = {(e.row, e.column): e.message for e in preview.errors}
    # (In the user's language: the messages as the catalogue has them.)
    assert errors == {
        (6, str(cases.COLUMN_BY_KEY["referral"].label)):
            _("Referral %(number)s is also named on row %(row)d.", number=referred[1], row=3),
        (4, str(cases.COLUMN_BY_KEY["resident_id"].label)):
            _("Referral %(number)s concerns another person: the case's applicant is the referral's.",
              number=referred[2]),
    }
    # Once imported, a case of that referral is refused: one case per referral.
    del ledger.rows[4], ledger.rows[2]
    cases.import_cases(ledger.csv(), "a.csv", actor=cast.supervisor, now=clock.now)
    other = _ledger(cast, clock, 1, first_id=950, referrals={0: referred[1]})
    other.rows[0]["resident_id"] = resident_id(901)
    preview = cases.preview_cases(other.csv(), "b.csv", actor=cast.supervisor, now=clock.now)
    first = db.session.scalar(sa.select(AidCase.number).where(AidCase.number == ledger.rows[1]["number"]))
    assert [e.message for e in preview.errors] == [
        zh("Case %(number)s was already opened from this referral.", number=first)]


def test_only_a_supervisor_of_a_procuratorate_imports_cases(db, cast, clock, world):
    federation_head = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
    data = _ledger(cast, clock, 2).csv()
    with pytest.raises(NotAllowed):
        cases.preview_cases(data, "a.csv", actor=federation_head, now=clock.now)
    with pytest.raises(NotAllowed):
        cases.import_cases(data, "a.csv", actor=cast.handler, now=clock.now)
    assert _count(db, AidCase) == 0


def test_imported_cases_count_in_the_report_like_the_others(db, cast, clock, world):
    from caseflow.core.orgs.tree import subtree_ids
    from caseflow.reports import definitions

    today = local_date(clock.now)
    ledger = _ledger(cast, clock, 6, first_id=3000)
    cases.import_cases(ledger.xlsx(), "report.xlsx", actor=cast.supervisor, now=clock.now)
    procuratorate = subtree_ids(world.procuratorate.id)
    last_year = definitions.case_figures(procuratorate, date(today.year - 1, 1, 1),
                                         date(today.year - 1, 12, 31))
    # Rows 1, 2, 4, 5: applied, decided (20,000 yuan each) and two of them paid last year.
    assert (last_year.opened, last_year.decided, last_year.women_helped) == (4, 4, 4)
    assert last_year.aid_granted == Decimal("80000") and last_year.aid_paid == Decimal("40000")
    this_year = definitions.case_figures(procuratorate, date(today.year, 1, 1), today)
    assert (this_year.opened, this_year.decided) == (2, 0)
