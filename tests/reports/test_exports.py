"""Ledger exports: the referral, aid case and assistance ledgers as XLSX and CSV.

Each export is opened the way a supervisor's spreadsheet would (openpyxl, csv) and compared
cell by cell with the records; formula injection; who may export what (a street
federation's ledger holds only its referrals, partners get 403 on referrals and cases, no
real name or ID number anywhere); the audit row; and a streamed response."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote, unquote

import openpyxl
import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.roles import Role
from caseflow.investigations import services as case_services
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import Referral
from caseflow.reports.export import BOM, HEADER_ROW, neutralise
from caseflow.reports.ledgers import ASSISTANCE_COLUMNS, CASE_COLUMNS, PARTNER_COLUMNS, REFERRAL_COLUMNS
from tests import factories
from tests.assistance.helpers import AssistCast
from tests.conftest import zh
from tests.referrals.helpers import referral_input

TODAY = date(2026, 11, 27)  # the local date of the default clock
REAL_NAME, RESIDENT_ID = "陈雨婷", factories.VALID_IDS[0]


@pytest.fixture
def cast(world, db):
    return AssistCast(world)


def msgids(columns) -> list[str]:
    return [c.heading._args[0] for c in columns]


def english(world, user):
    user.locale = "en"
    return user


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return book.worksheets[0]


def sheet_rows(sheet) -> list[list]:
    """The ledger rows (after the headings), as cells."""
    return [list(row) for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]


def headings(sheet) -> list[str]:
    return [c.value for c in next(sheet.iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW))]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def switch(client, login_as, user):
    """Sign the current user out and ``user`` in."""
    client.submit("/logout", page="/account")
    return login_as(user)


def referral_from(world, officer, *, pseudonym="小芳", receiver=None, now, **overrides):
    """A referral sent by ``officer``'s organisation about a person it recorded."""
    person = factories.make_person(world, officer, pseudonym=pseudonym, real_name=REAL_NAME,
                                   resident_id=None)
    ref = referral_services.save_draft(
        actor=officer, now=now, person=person, receiver=receiver or world.department5,
        data=referral_input(**overrides), submission_token=uuid.uuid4().hex)
    return referral_services.send(ref, actor=officer, now=now)


# -- the referral ledger ------------------------------------------------------------------


def test_referral_xlsx_compares_cell_by_cell_with_the_records(client, login_as, cast, clock, db):
    sent = cast.sent(clock.now, is_urgent=True, offence="故意伤害")
    replied = cast.registered(clock.now)
    referral_services.reply(replied, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                            text="不符合条件", reply_on=TODAY)
    login_as(english(cast.world, cast.officer))

    response = client.get("/exports/referrals.xlsx?box=outbox&year=2026")
    sheet = workbook(response)

    assert sheet.title == "Referral ledger"
    assert sheet["A1"].value == "Referral ledger"
    assert sheet["A2"].value.startswith(f"Exported by {cast.officer.display_name}")
    assert "2026-11-27 09:00" in sheet["A2"].value
    assert sheet["A3"].value == "Filter: Outbox; Year: 2026"
    assert headings(sheet) == msgids(REFERRAL_COLUMNS)
    rows = sheet_rows(sheet)
    assert len(rows) == 2
    by_number = {row[0].value: row for row in rows}
    for ref in (sent, replied):
        row = by_number[ref.number]
        values = [c.value for c in row]
        assert values[1] == "Federation → procuratorate"
        assert values[2:5] == [cast.world.federation.short_name, cast.world.department5.short_name,
                               cast.person.pseudonym]
        assert values[5] == "Petition reception"
        assert values[7] == ref.circumstances
        assert values[8] == "Judicial aid、Psychological counselling"
        assert values[11] == datetime(2026, 11, 27)  # sent on: a real date
        assert row[11].is_date and row[11].number_format == "yyyy-mm-dd"
        assert values[12] == datetime.combine(ref.received_on, datetime.min.time())
        assert values[15] == datetime.combine(ref.reply_due_on, datetime.min.time())
    assert [c.value for c in by_number[sent.number]][6] == "故意伤害"
    assert by_number[sent.number][9].value == "Yes"
    assert by_number[sent.number][10].value == "Sent, awaiting registration"
    assert by_number[sent.number][13].value is None  # not registered yet
    replied_values = [c.value for c in by_number[replied.number]]
    assert replied_values[9:11] == ["No", "Replied"]
    assert replied_values[13:15] == [replied.registration_number, cast.prosecutor.display_name]
    assert replied_values[16] == datetime(2026, 11, 27)
    assert replied_values[17] == "Not eligible"
    # In the lists' order: the urgent one first.
    assert rows[0][0].value == sent.number


def test_headings_and_filter_are_in_chinese_for_a_chinese_user(client, login_as, cast, clock):
    cast.sent(clock.now)
    login_as(cast.officer)  # zh_CN, the default
    sheet = workbook(client.get("/exports/referrals.xlsx?box=outbox&state=sent"))
    row = headings(sheet)
    for msgid in ("Number", "Direction", "Pseudonym", "Where the lead came from", "Circumstances",
                  "State", "Received on", "Registration number", "Handler", "Reply due", "Outcome"):
        assert zh(msgid) in row
    assert zh("Outbox") in sheet["A3"].value and zh("Sent, awaiting registration") in sheet["A3"].value
    assert sheet_rows(sheet)[0][1].value == zh("Federation → procuratorate")


def test_referral_csv_has_a_bom_and_parses(client, login_as, cast, clock):
    ref = cast.registered(clock.now)
    login_as(english(cast.world, cast.prosecutor))
    response = client.get("/exports/referrals.csv?box=inbox")
    rows = csv_rows(response)
    assert rows[0] == msgids(REFERRAL_COLUMNS)
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == ref.number and row[4] == cast.person.pseudonym
    assert row[10] == "Registered, being handled"
    assert row[11] == "2026-11-27" and row[12] == ref.received_on.isoformat()
    assert row[15] == ref.reply_due_on.isoformat() and row[16] == ""
    disposition = response.headers["Content-Disposition"]
    assert disposition == (f"attachment; filename=\"referrals-2026-11-27.csv\"; "
                           f"filename*=UTF-8''{quote('Referral ledger-2026-11-27.csv')}")


def test_the_file_name_is_the_ledger_in_the_users_language(client, login_as, cast, clock):
    cast.sent(clock.now)
    login_as(cast.officer)
    response = client.get("/exports/referrals.xlsx?box=outbox")
    title = workbook(response)["A1"].value
    name = unquote(response.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert name == f"{title}-2026-11-27.xlsx"


def test_the_filters_are_the_list_pages_filters(client, login_as, cast, clock):
    urgent = cast.sent(clock.now, is_urgent=True)
    cast.sent(clock.now)
    login_as(cast.officer)
    sheet = workbook(client.get("/exports/referrals.xlsx?box=outbox&urgent=y"))
    assert [r[0].value for r in sheet_rows(sheet)] == [urgent.number]
    # An officer who is not a supervisor asking for "all" gets her inbox, as on the page.
    rows = csv_rows(client.get("/exports/referrals.csv?box=all"))
    assert len(rows) == 1


# -- formula injection ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example.com","点击")', "+1", "-2+3",
                                  "@SUM(A1:A9)", "=cmd|' /C calc'!A0"])
def test_formulas_are_neutralised_in_both_formats(client, login_as, world, cast, clock, text):
    ref = referral_from(world, cast.officer, pseudonym=text[:20], now=clock.now,
                        circumstances=text, offence=text)
    login_as(cast.officer)
    sheet = workbook(client.get("/exports/referrals.xlsx?box=outbox"))
    [row] = sheet_rows(sheet)
    for index in (4, 6, 7):
        assert row[index].data_type == "s"  # text, never a formula
        assert row[index].value.startswith("'")
    assert row[7].value == "'" + text
    assert row[4].value == "'" + ref.person.pseudonym
    [_, line] = csv_rows(client.get("/exports/referrals.csv?box=outbox"))
    assert line[7] == "'" + text and line[6] == "'" + text and line[4] == "'" + ref.person.pseudonym


def test_neutralise_touches_only_text_that_starts_a_formula():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("\r=1") == "'\r=1"
    assert neutralise("小雨 = 化名") == "小雨 = 化名"
    assert neutralise(-5) == -5 and neutralise(None) is None and neutralise(date(2026, 1, 1)) == date(2026, 1, 1)


#: Formula starts that a plain ``startswith`` missed: fullwidth and small forms as an IME
#: types them, the minus sign, invisible prefixes (zero-width space, BOM, word joiner,
#: right-to-left mark, ideographic and plain spaces, a newline) and the DDE pipe.
DISGUISED_FORMULAS = ["＝HYPERLINK(\"http://evil.example.com\")", "＋1", "－2", "＠SUM(A1:A9)",
                      "﹦1+1", "\u2212" + "3", "\u200b=1+1", "\ufeff+1", "\u2060@SUM(A1)",
                      "\u200f-1", "\u3000=1", "  =1", "\n=1", "|cmd' /C calc'!A0",
                      "｜cmd' /C calc'!A0", "\u200b\u200b｜x"]


def _written(text) -> tuple[openpyxl.cell.Cell, str]:
    """``text`` as one cell of a one-column ledger, written as XLSX and as CSV and read back
    the way a spreadsheet would (the forms strip leading whitespace, the writers must not
    rely on it)."""
    from caseflow.reports.export import csv_chunks, xlsx_chunks
    from caseflow.reports.ledgers import Column, Export

    export = Export(name="t", title="t", columns=[Column("Text")], statement=None, convert=None)
    book = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx_chunks(
        export, [(text,)], lines=["t", "by", ""], created=datetime(2026, 11, 27, 8, 0)))))
    [[cell]] = [list(r) for r in book.worksheets[0].iter_rows(min_row=HEADER_ROW + 1)]
    data = b"".join(csv_chunks(export, [(text,)])).decode("utf-8-sig")
    [_, [line]] = list(csv.reader(io.StringIO(data, newline="")))
    return cell, line


@pytest.mark.parametrize("text", DISGUISED_FORMULAS)
def test_the_writers_neutralise_each_disguise(text):
    cell, line = _written(text)
    assert cell.data_type == "s" and cell.value == "'" + text
    assert line == "'" + text


@pytest.mark.parametrize("text", [t for t in DISGUISED_FORMULAS if t == t.strip()])
def test_disguised_formulas_are_neutralised_in_both_formats(client, login_as, world, cast, clock, text):
    referral_from(world, cast.officer, now=clock.now, circumstances=text, offence=text)
    login_as(cast.officer)
    [row] = sheet_rows(workbook(client.get("/exports/referrals.xlsx?box=outbox")))
    assert row[7].data_type == "s" and row[7].value == "'" + text
    assert row[6].value == "'" + text
    [_, line] = csv_rows(client.get("/exports/referrals.csv?box=outbox"))
    assert line[7] == "'" + text and line[6] == "'" + text


@pytest.mark.parametrize("text", DISGUISED_FORMULAS)
def test_neutralise_catches_each_disguise(text):
    assert neutralise(text) == "'" + text


def test_neutralise_leaves_text_with_an_operator_inside_alone():
    for text in ("小雨｜晓丽", "a=1", "\u200b小雨", "1-2", "　", "邮箱 a@b.cn", "Ａ＝1"):
        assert neutralise(text) == text


# -- who sees what ------------------------------------------------------------------------


def test_a_street_federation_never_exports_another_streets_referrals(client, login_as, world, cast, clock):
    mine = referral_from(world, cast.street_officer, pseudonym="甲街某", now=clock.now)
    theirs = referral_from(world, cast.street_b_officer, pseudonym="乙街某", now=clock.now)
    district = cast.sent(clock.now)
    login_as(cast.street_officer)
    for box in ("outbox", "inbox", "mine", "all"):
        numbers = {row[0] for row in csv_rows(client.get(f"/exports/referrals.csv?box={box}"))[1:]}
        assert theirs.number not in numbers and district.number not in numbers
    numbers = {r[0].value for r in sheet_rows(workbook(client.get("/exports/referrals.xlsx?box=outbox")))}
    assert numbers == {mine.number}
    # Their district federation's supervisor sees both streets' referrals in "all".
    switch(client, login_as, cast.fed_supervisor)
    numbers = {row[0] for row in csv_rows(client.get("/exports/referrals.csv?box=all"))[1:]}
    assert {mine.number, theirs.number, district.number} <= numbers


@pytest.mark.parametrize("path", ["/exports/referrals.xlsx", "/exports/referrals.csv",
                                  "/exports/cases.xlsx", "/exports/cases.csv"])
def test_partner_workers_and_administrators_get_403_on_referrals_and_cases(client, login_as, cast, path):
    login_as(cast.partner)
    assert client.get(path).status_code == 403
    switch(client, login_as, Role.SYSTEM_ADMIN.value)
    assert client.get(path).status_code == 403


def test_no_real_name_or_id_number_in_any_export(client, login_as, cast, clock):
    """The cast's person 小雨 has a real name and an ID number on record (sealed); the
    exports hold her pseudonym only."""
    case = cast.decided(clock.now)
    plan = cast.plan(clock.now)
    cast.legal_aid(plan, clock.now)
    login_as(cast.fed_supervisor)
    assert REAL_NAME in ("陈雨婷",) and cast.person.pseudonym == "小雨"
    exports = []
    for name, query in (("referrals", "?box=all"), ("cases", ""), ("assistance", "")):
        for fmt in ("xlsx", "csv"):
            response = client.get(f"/exports/{name}.{fmt}{query}")
            assert response.status_code == 200
            if fmt == "csv":
                text = response.get_data().decode("utf-8-sig")
            else:
                sheet = workbook(response)
                text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
            exports.append(text)
            assert cast.person.pseudonym in text, name
            for secret in (REAL_NAME, RESIDENT_ID, "13871234567", "武汉市江汉区某社区"):
                assert secret not in text, (name, fmt, secret)
    assert case.number in exports[2]


# -- the aid case ledger ------------------------------------------------------------------


def test_case_xlsx_amounts_are_numbers_and_dates_dates(client, login_as, cast, clock):
    case = cast.decided(clock.now, granted="28000.50", decided_on=TODAY)
    case_services.record_payment(case, actor=cast.prosecutor, now=clock.now, amount="28000.50",
                                 paid_on=TODAY, method="bank_transfer")
    investigating = cast.investigating(clock.now)
    login_as(english(cast.world, cast.prosecutor))
    sheet = workbook(client.get("/exports/cases.xlsx"))
    assert headings(sheet) == msgids(CASE_COLUMNS)
    assert sheet["A1"].value == "Judicial aid case ledger"
    assert sheet["A3"].value == "Filter: none (everything you may see)"
    rows = {r[0].value: r for r in sheet_rows(sheet)}
    assert set(rows) == {case.number, investigating.number}
    row = rows[case.number]
    values = [c.value for c in row]
    assert values[1:6] == [cast.person.pseudonym, cast.world.department5.short_name,
                           cast.prosecutor.display_name, "Paid", case.referral.number]
    assert values[7] == datetime(2026, 11, 25) and values[8] == datetime(2026, 11, 27)
    for index, amount in ((9, 30000), (10, 28000.5), (12, 28000.5)):
        assert row[index].data_type == "n" and row[index].number_format == "#,##0.00"
        assert Decimal(str(values[index])) == Decimal(str(amount))
    assert values[11] == datetime(2026, 11, 27) and row[11].is_date
    assert values[13] == datetime(2026, 11, 27) and values[14] == "Bank transfer"
    open_values = [c.value for c in rows[investigating.number]]
    assert open_values[4] == "Being investigated" and open_values[9:] == [None] * 6


def test_case_csv_and_its_filters(client, login_as, cast, clock):
    decided = cast.decided(clock.now)
    cast.investigating(clock.now)
    login_as(english(cast.world, cast.prosecutor))
    rows = csv_rows(client.get("/exports/cases.csv?state=decided"))
    assert rows[0] == msgids(CASE_COLUMNS)
    assert [r[0] for r in rows[1:]] == [decided.number]
    assert rows[1][9:12] == ["30000.00", "30000.00", TODAY.isoformat()]
    sheet = workbook(client.get("/exports/cases.xlsx?state=decided&year=2026"))
    assert sheet["A3"].value == "Filter: State: Decided, awaiting payment; Year: 2026"


def test_the_federation_exports_the_cases_of_its_referrals_only(client, login_as, world, cast, clock):
    theirs = cast.investigating(clock.now)
    street_ref = referral_from(world, cast.street_officer, now=clock.now)
    referral_services.register(street_ref, actor=cast.prosecutor, now=clock.now, registration_number="登-甲",
                               received_on=street_ref.received_on, handler=cast.prosecutor)
    street_case = cast.open(clock.now, referral=street_ref)
    login_as(cast.street_b_officer)
    assert csv_rows(client.get("/exports/cases.csv"))[1:] == []
    switch(client, login_as, cast.street_officer)
    assert [r[0] for r in csv_rows(client.get("/exports/cases.csv"))[1:]] == [street_case.number]
    assert theirs.number


# -- the assistance ledger -----------------------------------------------------------------


def test_assistance_ledger_one_row_per_item(client, login_as, cast, clock):
    from caseflow.assistance import services

    plan = cast.plan(clock.now)
    counselling = cast.accepted_item(plan, clock.now, frequency="weekly")
    services.record_session(counselling, actor=cast.counsellor, now=clock.now, data=services.SessionInput(
        held_on=date(2026, 11, 26), attended="本人", notes="情绪稳定"))
    legal = cast.legal_aid(plan, clock.now)
    login_as(english(cast.world, cast.officer))
    sheet = workbook(client.get("/exports/assistance.xlsx"))
    assert headings(sheet) == msgids(ASSISTANCE_COLUMNS)
    assert sheet["A3"].value == "Filter: State: In progress"
    rows = [[c.value for c in r] for r in sheet_rows(sheet)]
    assert [r[2] for r in rows] == ["Psychological counselling", "Legal aid"]
    first = rows[0]
    assert first[:2] == [cast.person.pseudonym, cast.person.pseudonym]
    assert first[3:7] == [counselling.provider.short_name, cast.officer.display_name, "Weekly", "Active"]
    assert first[7] == datetime(2026, 11, 20) and first[9] == datetime(2026, 11, 27)
    assert first[10] == 1 and first[11] == datetime(2026, 11, 26)
    assert first[12] == datetime.combine(counselling.next_session_due_on, datetime.min.time())
    assert first[13] == cast.world.federation.short_name
    assert rows[1][5:7] == ["Once", "Planned"] and rows[1][9] is None and rows[1][10] == 0
    assert legal.state == "planned"
    rows = csv_rows(client.get("/exports/assistance.csv?state=closed"))
    assert rows == [msgids(ASSISTANCE_COLUMNS)]


def test_a_partner_exports_only_the_items_sent_to_its_agency(client, login_as, cast, clock):
    plan = cast.plan(clock.now)
    legal = cast.legal_aid(plan, clock.now)
    from caseflow.assistance import services

    services.send_to_provider(legal, actor=cast.officer, now=clock.now)
    cast.sent_item(plan, clock.now)  # counselling: another agency's
    login_as(english(cast.world, cast.partner))
    rows = csv_rows(client.get("/exports/assistance.csv"))
    assert rows[0] == msgids(PARTNER_COLUMNS)
    assert "Person" not in rows[0] and "Organisation" not in rows[0]
    assert [(r[0], r[1]) for r in rows[1:]] == [(cast.person.pseudonym, "Legal aid")]
    sheet = workbook(client.get("/exports/assistance.xlsx?state=sent"))
    assert [c.value for c in sheet_rows(sheet)[0]][:2] == [cast.person.pseudonym, "Legal aid"]


# -- the audit row ------------------------------------------------------------------------


def test_each_export_is_written_to_the_audit_log(client, login_as, cast, clock, db):
    cast.sent(clock.now)
    cast.sent(clock.now, is_urgent=True)
    login_as(cast.officer)
    client.get("/exports/referrals.xlsx?box=outbox&urgent=y&page=3")
    client.get("/exports/cases.csv?state=paid")
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("export.%"))
                              .order_by(AuditEvent.id)).all()
    assert [(r.action, r.actor_id, r.object_type) for r in rows] == [
        ("export.referrals", cast.officer.id, "referrals"), ("export.cases", cast.officer.id, "cases")]
    assert rows[0].after == {"format": "xlsx", "filter": {"box": "outbox", "urgent": True}, "rows": 1}
    assert rows[1].after == {"format": "csv", "filter": {"state": "paid"}, "rows": 0}
    assert rows[0].organisation_id == cast.officer.organisation_id and rows[0].occurred_at == clock.now


def test_a_refused_export_writes_nothing(client, login_as, cast, db):
    login_as(cast.partner)
    assert client.get("/exports/referrals.csv").status_code == 403
    assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("export.%"))).all()


# -- the list pages link to their exports ---------------------------------------------------


def test_the_list_pages_link_to_the_exports_with_their_filters(client, login_as, cast, clock):
    login_as(cast.fed_supervisor)
    html = client.get("/referrals?box=all&state=sent&page=2").get_data(as_text=True)
    assert "/exports/referrals.xlsx?box=all&amp;state=sent" in html
    assert "/exports/referrals.csv?box=all&amp;state=sent" in html
    assert "page=2" not in html.split('data-testid="exports"')[1].split("</div>")[0]
    html = client.get("/cases?state=paid").get_data(as_text=True)
    assert "/exports/cases.xlsx?state=paid" in html and "/exports/cases.csv?state=paid" in html
    html = client.get("/assistance?state=closed").get_data(as_text=True)
    assert "/exports/assistance.xlsx?state=closed" in html
    switch(client, login_as, cast.partner)
    html = client.get("/assistance").get_data(as_text=True)
    assert "/exports/assistance.csv" in html


# -- streaming ------------------------------------------------------------------------------


def _copies(db, template: Referral, count: int) -> None:
    """``count`` copies of a sent referral, inserted in bulk (numbers continue its series)."""
    table = Referral.__table__
    db.session.flush()
    row = dict(db.session.execute(sa.select(table).where(table.c.id == template.id)).mappings().one())
    top = db.session.scalar(sa.select(sa.func.max(table.c.id)))
    rows = []
    for n in range(1, count + 1):
        copy = dict(row, id=top + n, number=f"{template.number}-{n}", number_seq=10_000 + n,
                    submission_token=f"copy{n}")
        rows.append(copy)
    db.session.execute(sa.insert(table), rows)


def test_two_thousand_rows_are_streamed(client, login_as, cast, clock, db):
    template = cast.sent(clock.now)
    _copies(db, template, 1999)
    login_as(cast.officer)
    response = client.get("/exports/referrals.csv?box=outbox")
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) > 1  # sent in pieces as the rows are read, not built whole first
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline="")))
    assert len(rows) == 2001
    response.close()
    response = client.get("/exports/referrals.xlsx?box=outbox")
    assert response.is_streamed
    assert len(sheet_rows(workbook(response))) == 2000
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.referrals")).all()
    assert [a.after["rows"] for a in audit] == [2000, 2000]
