"""Importing an assistance ledger (one service item a row): the preview of a realistic
300-row ledger with 5% spoilt rows, nothing written before confirmation, the import all at
once (one plan per woman), the same items again adding nothing, the imported open items in
the assistance reminders, and the pages and command."""
from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from caseflow.assistance.models import AssistancePlan, ServiceItem
from caseflow.assistance.reminders import sweep_assistance
from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date, local_zone
from caseflow.core.errors import NotAllowed, ValidationFailed
from caseflow.core.notifications.models import Notification
from caseflow.core.orgs.roles import Role
from caseflow.core.people.models import Person
from caseflow.imports import assistance, services
from caseflow.imports.models import ImportBatch
from tests import factories
from tests.conftest import zh
from tests.imports.item_ledger import SPOILT, SPOILT_COLUMN, make_item_ledger
from tests.imports.ledger import resident_id

MATCHED = 5  # women of the ledger recorded in caseflow before the import


@pytest.fixture
def cast(world, item_cast):
    """The ledger's people, and women of the ledger recorded before the import."""
    item_cast.known = [factories.make_person(world, item_cast.supervisor, pseudonym=f"已登记{n}",
                                             resident_id=resident_id(n), phone=None)
                       for n in range(3, 3 + 20 * MATCHED, 20)]
    return item_cast


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _ledger(cast, clock, count: int, **kw):
    return make_item_ledger(count, today=local_date(clock.now), officer=cast.officer.username,
                            provider="测试区司法局", **kw)


def test_the_preview_of_a_300_row_ledger_counts_and_writes_nothing(db, cast, clock):
    ledger = _ledger(cast, clock, 300, bad_share=0.05)
    data = ledger.xlsx()
    before = {m: _count(db, m) for m in (ServiceItem, AssistancePlan, Person, ImportBatch, AuditEvent)}
    preview = assistance.preview_assistance(data, "帮扶台账.xlsx", actor=cast.supervisor, now=clock.now)
    assert len(ledger.spoilt) == 15 and set(ledger.spoilt.values()) == set(SPOILT)
    women = {r["resident_id"] for i, r in enumerate(ledger.rows, start=2) if i not in ledger.spoilt}
    assert preview.counts() == {"rows": 300, "added": 285, "already": 0, "refused": 15,
                                "people_matched": MATCHED, "people_added": len(women) - MATCHED}
    assert {e.row for e in preview.errors} == set(ledger.spoilt)
    for row, kind in ledger.spoilt.items():
        heading = str(assistance.COLUMN_BY_KEY[SPOILT_COLUMN[kind]].label)
        assert [e.column for e in preview.errors if e.row == row] == [heading], (row, kind)
    db.session.flush()
    assert {m: _count(db, m) for m in before} == before
    with pytest.raises(ValidationFailed, match="15"):
        assistance.import_assistance(data, "帮扶台账.xlsx", actor=cast.supervisor, now=clock.now)
    assert {m: _count(db, m) for m in before} == before


def test_the_corrected_ledger_imports_at_once_one_plan_a_woman_and_again_adds_nothing(db, cast, clock):
    good = _ledger(cast, clock, 300, bad_share=0.05).without_spoilt()
    data = good.csv()
    women = {r["resident_id"] for r in good.rows}
    people = _count(db, Person)
    preview = assistance.import_assistance(data, "帮扶台账.csv", actor=cast.supervisor, now=clock.now)
    assert preview.counts()["added"] == 285 and _count(db, ServiceItem) == 285
    assert _count(db, Person) == people + len(women) - MATCHED
    # One plan a woman, run by the importing federation, whatever her number of rows.
    assert _count(db, AssistancePlan) == len(women)
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(AssistancePlan.organisation_id)))) == 1
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import"))
    assert audit.after["kind"] == "assistance" and audit.after["added"] == 285
    items = {item.imported_row: item for item in db.session.scalars(sa.select(ServiceItem))}
    # Row 4 (index 2): sent, its answer due as sending sets it; row 5: running, its next
    # session due a week after the last; row 2: completed, with its dates as recorded.
    sent, running, done = items[4], items[5], items[2]
    assert sent.state == "sent" and sent.sent_on == good.rows[2]["sent_on"]
    assert sent.acceptance_due_on > sent.sent_on and sent.imported_sha256 == services.sha256_of(data)
    assert running.state == "active" and running.next_session_due_on == (
        good.rows[3]["last_session_on"] + timedelta(days=30 if running.frequency == "monthly" else 7))
    assert (done.state, done.starts_on, done.ends_on) == ("completed", good.rows[0]["starts_on"],
                                                          good.rows[0]["ends_on"])
    assert done.plan_id == items[3].plan_id  # the same woman's two items, one plan
    # The same file again, or its rows in another file: nothing added.
    again = assistance.preview_assistance(data, "帮扶台账.csv", actor=cast.supervisor, now=clock.now)
    assert again.counts()["already"] == 285 and not again.to_add and not again.refused
    copy = assistance.preview_assistance(good.xlsx(), "副本.xlsx", actor=cast.supervisor, now=clock.now)
    assert copy.counts()["already"] == 285 and not copy.to_add
    assert _count(db, ServiceItem) == 285


def test_an_item_joins_her_open_plan_and_only_a_federation_supervisor_imports(db, cast, clock, world):
    from caseflow.assistance import services as assistance_services

    woman = cast.known[0]
    district_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
    plan = assistance_services.open_plan(actor=district_officer, now=clock.now, person=woman)
    ledger = _ledger(cast, clock, 2, first_id=3)  # woman 3: the first one known
    assistance.import_assistance(ledger.csv(), "a.csv", actor=cast.supervisor, now=clock.now)
    assert {i.plan_id for i in db.session.scalars(sa.select(ServiceItem))} == {plan.id}
    assert _count(db, AssistancePlan) == 1
    proc_head = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)
    with pytest.raises(NotAllowed):
        assistance.preview_assistance(ledger.csv(), "a.csv", actor=proc_head, now=clock.now)


def _at(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=local_zone())


def test_an_imported_item_waiting_for_its_answer_enters_the_reminders(db, cast, clock):
    ledger = _ledger(cast, clock, 6, first_id=700)
    assistance.import_assistance(ledger.csv(), "b.csv", actor=cast.supervisor, now=clock.now)
    sent = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.state == "sent"))
    running = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.state == "active"))
    sweep_assistance(now=_at(max(sent.acceptance_due_on, running.next_session_due_on) + timedelta(days=1)))
    told = {(n.user_id, n.kind) for n in db.session.scalars(sa.select(Notification))}
    assert (cast.lawyer.id, "assistance.answer_due") in told
    assert (cast.officer.id, "assistance.not_answered") in told
    assert (cast.officer.id, "assistance.session_overdue") in told


def _upload(client, data: bytes, name: str):
    return client.submit("/imports/assistance", {"assistance-ledger": (io.BytesIO(data), name)},
                         page="/imports/", content_type="multipart/form-data")


def test_the_pages_preview_in_chinese_then_import(client, login_as, db, clock, cast, world):
    login_as(cast.supervisor)
    index = client.get("/imports/").get_data(as_text=True)
    assert 'data-testid="card-assistance"' in index and 'data-testid="card-cases"' not in index
    template = client.get("/imports/assistance/template.xlsx")
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    ledger = _ledger(cast, clock, 4, first_id=800)
    good = ledger.rows[1]["resident_id"]
    ledger.rows[1]["resident_id"] = good[:17] + ("1" if good[17] != "1" else "2")
    page = _upload(client, ledger.csv(), "帮扶.csv")
    rows = re.findall(r'<tr data-testid="error-row"><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>',
                      page.get_data(as_text=True))
    assert rows == [("3", zh("Resident ID number"), zh(
        "The last character (check digit) of this resident ID number is wrong; please check for a "
        "mistyped digit."))]
    ledger.rows[1]["resident_id"] = good
    page = _upload(client, ledger.xlsx(), "帮扶.xlsx").get_data(as_text=True)
    assert 'data-testid="count-add">4<' in page and _count(db, ServiceItem) == 0
    token = re.search(r'name="previewed" type="hidden" value="([^"]+)"', page).group(1)
    done = client.post("/imports/assistance/confirm",
                       data={"previewed": token, "csrf_token": client.csrf_token("/imports/")})
    assert done.status_code == 302 and _count(db, ServiceItem) == 4
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.imported_row == 2))
    shown = client.get(f"/assistance/items/{item.id}")
    assert shown.status_code == 200 and 'data-testid="imported"' in shown.get_data(as_text=True)
    client.submit("/logout", page="/account")
    login_as(factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate))
    assert client.get("/imports/assistance/template.xlsx").status_code == 403


def test_the_shell_command_imports_assistance(app, db, clock, cast, tmp_path):
    path = tmp_path / "items.xlsx"
    path.write_bytes(_ledger(cast, clock, 4, first_id=900).xlsx())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "assistance", str(path), "--user", cast.supervisor.username])
    assert result.exit_code == 0, result.output
    assert _count(db, ServiceItem) == 0
    result = runner.invoke(args=["import", "assistance", str(path), "--user", cast.supervisor.username,
                                 "--commit"])
    assert result.exit_code == 0, result.output
    assert _count(db, ServiceItem) == 4
    assert db.session.scalar(sa.select(ImportBatch.kind)) == "assistance"


def test_imported_items_count_in_the_report_like_the_others(db, cast, clock, world):
    from datetime import date

    from caseflow.core.orgs.tree import subtree_ids
    from caseflow.reports import definitions

    today = local_date(clock.now)
    ledger = _ledger(cast, clock, 6, first_id=1000)  # two completed last year, four this year
    assistance.import_assistance(ledger.csv(), "report.csv", actor=cast.supervisor, now=clock.now)
    federation = subtree_ids(world.federation.id)
    last_year = definitions.items_by_kind_and_state(federation, date(today.year - 1, 1, 1),
                                                    date(today.year - 1, 12, 31))
    assert last_year == {("counselling", "completed"): 1, ("legal_aid", "completed"): 1}
    this_year = definitions.items_by_kind_and_state(federation, date(today.year, 1, 1), today)
    assert sum(this_year.values()) == 4 and this_year[("counselling", "sent")] == 1
