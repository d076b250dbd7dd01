"""An assistance ledger's row for one of the woman's children, and its sessions: who
benefits by pseudonym (a family member caseflow knows in her plan, or one the import
records by pseudonym and relation only, never with an identity), the errors by row and
column when the ledger names someone caseflow cannot place; the sessions on the days the
ledger gives, counted in the report and setting the next session's due date."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from caseflow.assistance import policy as assistance_policy
from caseflow.assistance import services as assistance_services
from caseflow.assistance.models import (
    AssistanceEvent, AssistancePlan, PlanMember, ServiceItem, ServiceSession,
)
from caseflow.assistance.services import next_due
from caseflow.core.db import local_date
from caseflow.core.errors import ValidationFailed
from caseflow.core.people.models import Person
from caseflow.core.people.services import Identity, read_identity
from caseflow.imports import assistance
from tests import factories
from tests.conftest import page_text, zh
from tests.imports.item_ledger import make_item_ledger
from tests.imports.ledger import resident_id


@pytest.fixture
def cast(item_cast):
    return item_cast


def said(app, message: str, **variables) -> str:
    with app.test_request_context(), force_locale("zh_CN"):
        return gettext(message, **variables)


def _ledger(cast, clock, count: int, first_id: int):
    return make_item_ledger(count, today=local_date(clock.now), officer=cast.officer.username,
                            provider="测试区司法局", first_id=first_id)


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def family(db, world, cast, clock):
    """A woman of the ledger (no. 5000: 化名5000 there, 陈姐 in caseflow) with her open plan
    and her son, a minor, in it."""
    woman = factories.make_person(world, cast.supervisor, pseudonym="陈姐",
                                  resident_id=resident_id(5000), phone=None)
    plan = assistance_services.open_plan(actor=cast.supervisor, now=clock.now, person=woman)
    son = assistance_services.add_family_member(
        plan, actor=cast.supervisor, now=clock.now, relation="儿子", pseudonym="小宝",
        identity=Identity(real_name="陈小宝", birth_date=date(2015, 6, 1)))
    assert son.is_minor
    return woman, plan, son


def test_an_item_for_her_son_recorded_in_her_plan(app, client, login_as, db, cast, clock, family):
    woman, plan, son = family
    ledger = _ledger(cast, clock, 2, first_id=5000)  # her counselling (done) and legal aid (done)
    ledger.rows[1].update(beneficiary="小宝", relation="儿子")
    ledger.rows[0].update(beneficiary="陈姐")  # her pseudonym as caseflow has it: herself
    preview = assistance.import_assistance(ledger.xlsx(), "帮扶.xlsx", actor=cast.supervisor,
                                           now=clock.now)
    assert preview.counts()["added"] == 2 and preview.counts()["people_added"] == 0
    items = {i.imported_row: i for i in db.session.scalars(sa.select(ServiceItem))}
    assert (items[2].beneficiary_id, items[3].beneficiary_id) == (woman.id, son.id)
    assert {i.plan_id for i in items.values()} == {plan.id}
    # A child's identity is never shown to the agency, whatever the kind of help.
    legal = items[3]
    assert legal.needs_identity and assistance_policy.is_withheld_minor(cast.lawyer, legal)
    assert not assistance_policy.can_see_identity_for_item(cast.lawyer, legal)
    login_as(cast.supervisor)
    assert "小宝" in page_text(client.get(f"/assistance/items/{legal.id}"))
    # The same rows again (another file): already in caseflow, the son's too.
    again = assistance.preview_assistance(ledger.csv(), "副本.csv", actor=cast.supervisor,
                                          now=clock.now)
    assert again.counts()["already"] == 2 and not again.to_add


def test_a_child_caseflow_does_not_know_is_recorded_by_pseudonym_and_relation_only(db, cast, clock):
    ledger = _ledger(cast, clock, 4, first_id=5100)  # two women, two items each
    ledger.rows[0].update(beneficiary="小丫", relation="女儿")
    ledger.rows[1].update(beneficiary="小丫")  # the same daughter: recorded once
    ledger.rows[3].update(beneficiary="小丫", relation="女儿")  # another woman's daughter
    people = _count(db, Person)
    preview = assistance.import_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor,
                                           now=clock.now)
    # Two women and two daughters recorded.
    assert preview.counts()["people_added"] == 4 and _count(db, Person) == people + 4
    items = {i.imported_row: i for i in db.session.scalars(sa.select(ServiceItem))}
    daughter = db.session.get(Person, items[2].beneficiary_id)
    assert items[3].beneficiary_id == daughter.id and items[5].beneficiary_id not in (daughter.id,)
    assert daughter.pseudonym == "小丫" and not any(read_identity(daughter).as_text().values())
    members = db.session.scalars(sa.select(PlanMember).order_by(PlanMember.id)).all()
    first = members[0]
    assert (first.person_id, first.relation, first.plan_id) == (daughter.id, "女儿", items[2].plan_id)
    assert len(members) == 2 and members[1].plan_id == items[5].plan_id != items[2].plan_id
    added = db.session.scalars(
        sa.select(AssistanceEvent).where(AssistanceEvent.kind == "member_added")).all()
    assert [e.text for e in added] == ["女儿 小丫", "女儿 小丫"]
    # She is one of the plan's beneficiaries now, for the pages' own forms.
    plan = db.session.get(AssistancePlan, items[2].plan_id)
    assert daughter in assistance_services.beneficiaries_for(plan)


def test_who_benefits_errors_by_row_and_column_and_nothing_written(app, db, cast, clock, family):
    ledger = _ledger(cast, clock, 4, first_id=5000)  # rows 2, 3: the woman with the son
    ledger.rows[0].update(beneficiary="小明")  # nobody of hers, no relation
    ledger.rows[1].update(beneficiary="小宝", relation="女儿")  # recorded as her son
    ledger.rows[2].update(relation="女儿")  # a relation without who benefits
    ledger.rows[3].update(beneficiary="小" * 61, relation="女儿")
    before = (_count(db, ServiceItem), _count(db, Person), _count(db, PlanMember))
    preview = assistance.preview_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor,
                                            now=clock.now)
    who, relation = zh("Who benefits"), said(app, "Relation to her")
    assert [(e.row, e.column) for e in preview.errors] == [
        (2, who), (3, relation), (4, relation), (5, who)]
    assert preview.errors[0].message == said(
        app, "No family member of hers called “%(name)s” is in caseflow: write how she or he is "
        "related to her under “%(column)s” to record her or him with this item, or correct the "
        "pseudonym.", name="小明", column=relation)
    assert preview.errors[1].message == said(
        app, "%(name)s is recorded as her %(recorded)s, not her %(relation)s.", name="小宝",
        recorded="儿子", relation="女儿")
    # No identity of the son (a minor) in any message.
    assert not any("陈小宝" in e.message or "2015" in e.message for e in preview.errors)
    with pytest.raises(ValidationFailed):
        assistance.import_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor, now=clock.now)
    assert (_count(db, ServiceItem), _count(db, Person), _count(db, PlanMember)) == before


def test_the_sessions_on_the_ledgers_days(app, client, login_as, db, cast, clock, world):
    from caseflow.core.orgs.tree import subtree_ids
    from caseflow.reports import definitions

    today = local_date(clock.now)
    ledger = _ledger(cast, clock, 4, first_id=5200)  # completed, completed, sent, active
    done, running = ledger.rows[0], ledger.rows[3]
    days = [done["starts_on"] + timedelta(days=d) for d in (3, 33, 63)]
    done.update(session_dates="、".join(d.isoformat() for d in reversed(days)),
                last_session_on=days[-1])
    ran = [running["starts_on"], running["starts_on"] + timedelta(days=7)]
    running.update(session_dates=f"{ran[0]:%Y年%m月%d日}\n{ran[1].isoformat()}", last_session_on=None)
    assistance.import_assistance(ledger.xlsx(), "帮扶.xlsx", actor=cast.supervisor, now=clock.now)
    items = {i.imported_row: i for i in db.session.scalars(sa.select(ServiceItem))}
    held = {row: [s.held_on for s in db.session.scalars(
        sa.select(ServiceSession).where(ServiceSession.item_id == items[row].id)
        .order_by(ServiceSession.held_on))]
        for row in (2, 5)}
    assert held == {2: days, 5: ran}
    session = db.session.scalar(
        sa.select(ServiceSession).where(ServiceSession.item_id == items[2].id))
    assert (session.recorded_by_id, session.recorded_at) == (cast.supervisor.id, clock.now)
    assert session.notes == said(app, "Imported from %(file)s, row %(row)d.", file="帮扶.xlsx", row=2)
    # The running item's next session: one period after the latest.
    assert items[5].next_session_due_on == next_due(ran[1], items[5].frequency)
    # Counted in the report like sessions recorded in caseflow (row 3's: its last session).
    federation = subtree_ids(world.federation.id)
    assert definitions.session_counts(federation, date(today.year - 1, 1, 1), today)[0] == 3 + 1 + 2
    login_as(cast.supervisor)
    page = client.get(f"/assistance/items/{items[2].id}").get_data(as_text=True)
    assert all(d.isoformat() in page for d in days)


def test_the_last_session_alone_is_one_session(db, cast, clock):
    ledger = _ledger(cast, clock, 4, first_id=5300)
    assistance.import_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor, now=clock.now)
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.imported_row == 5))
    assert [s.held_on for s in item.sessions] == [ledger.rows[3]["last_session_on"]]


def test_session_dates_errors_by_row_and_column(app, db, cast, clock):
    # Completed, completed, sent, active, accepted, planned.
    ledger = _ledger(cast, clock, 6, first_id=5400)
    starts = ledger.rows[0]["starts_on"]
    ledger.rows[0].update(
        session_dates=f"{starts - timedelta(days=1)}、{starts + timedelta(days=5)}")
    ledger.rows[1].update(session_dates=f"{ledger.rows[1]['starts_on'] + timedelta(days=5)}",
                          last_session_on=ledger.rows[1]["starts_on"] + timedelta(days=9))
    ledger.rows[2].update(session_dates=str(local_date(clock.now)))  # sent: no session yet
    ledger.rows[3].update(session_dates="2025-02-30、下周")
    ledger.rows[4].update(session_dates=str(ledger.rows[4]["starts_on"] + timedelta(days=1)))
    ledger.rows[5].update(session_dates=str(local_date(clock.now) + timedelta(days=2)))
    preview = assistance.preview_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor,
                                            now=clock.now)
    dates, last, state = (said(app, "Session dates"), zh("Last session"), zh("State"))
    assert [(e.row, e.column) for e in preview.errors] == [
        (2, dates), (3, last), (4, dates), (5, dates), (6, state), (7, dates)]
    assert preview.errors[0].message == said(
        app, "A session on %(day)s is before the item's start date.",
        day=(starts - timedelta(days=1)).isoformat())
    assert "2025-02-30" in preview.errors[3].message
    assert not _count(db, ServiceSession)


def test_the_template_documents_who_benefits_and_the_sessions(app):
    from io import BytesIO

    from openpyxl import load_workbook

    with app.test_request_context(), force_locale("en"):
        book = load_workbook(BytesIO(assistance.assistance_template()))
    sheet = book.worksheets[0]
    headings = [c.value for c in sheet[1]]
    example = dict(zip(headings, [c.value for c in sheet[2]]))
    assert {"Who benefits", "Relation to her", "Session dates", "Last session"} <= set(headings)
    assert example["Session dates"] == "2023-05-10、2023-06-12、2023-07-10"
    assert example["Who benefits"] == example["Pseudonym*"]  # the woman herself
    # How to fill them in: a comment on the heading.
    notes = {c.value: c.comment.text for c in sheet[1] if c.comment is not None}
    assert notes["Session dates"] == "The date of every session held, with 、 between two dates."
    assert "pseudonym" in notes["Who benefits"] and "女儿" in notes["Relation to her"]


def test_the_case_template_says_how_a_case_awaits_approval(app):
    from io import BytesIO

    from openpyxl import load_workbook

    from caseflow.imports import cases

    with app.test_request_context(), force_locale("en"):
        sheet = load_workbook(BytesIO(cases.case_template())).worksheets[0]
    headings = [c.value for c in sheet[1]]
    assert {"Aid amount proposed (yuan)", "Proposed on", "Reasons for the amount"} <= set(headings)
    note = next(c.comment.text for c in sheet[1] if c.value == "Aid amount proposed (yuan)")
    assert "awaits approval" in note


def test_a_womans_rows_in_two_chunks_share_her_plan_and_history(db, cast, clock, monkeypatch):
    from caseflow.imports import engine

    chunks = engine._chunks
    monkeypatch.setattr(engine, "_chunks", lambda items: chunks(items, 3))
    ledger = _ledger(cast, clock, 6, first_id=5500)  # women 5500-5502, two rows each
    ledger.rows[3].update(beneficiary="小丫", relation="女儿")  # in the second chunk
    assistance.import_assistance(ledger.csv(), "帮扶.csv", actor=cast.supervisor, now=clock.now)
    items = {i.imported_row: i for i in db.session.scalars(sa.select(ServiceItem))}
    assert items[4].plan_id == items[5].plan_id and _count(db, AssistancePlan) == 3
    events = db.session.scalars(sa.select(AssistanceEvent).where(
        AssistanceEvent.plan_id == items[4].plan_id).order_by(AssistanceEvent.id)).all()
    assert [(e.kind, e.item_id) for e in events] == [
        ("plan_opened", None), ("item_added", items[4].id), ("member_added", None),
        ("item_added", items[5].id)]
