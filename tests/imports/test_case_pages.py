"""The judicial aid case import on the import page and from the shell, as a supervisor of the
procuratorate uses it; errors in the user's language with their row and column."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.orgs.roles import Role
from caseflow.imports.models import ImportBatch
from caseflow.investigations.models import AidCase
from tests import factories
from tests.conftest import page_text, zh
from tests.imports.case_ledger import PREFIX, make_case_ledger
from tests.imports.ledger import make_ledger

CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; "
               "please check for a mistyped digit.")
ERROR_ROW = re.compile(r'<tr data-testid="error-row"><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>')


@pytest.fixture
def supervisor(world):
    world.procuratorate.aid_case_prefix = PREFIX
    return factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)


@pytest.fixture
def handler(world):
    return factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                               username="sun.jianchaguan")


def _ledger(clock, handler, supervisor, count=3, **kw):
    return make_case_ledger(count, today=local_date(clock.now), handler=handler.username,
                            approver=supervisor.username, first_id=8000, **kw)


def _upload(client, data: bytes, name: str):
    return client.submit("/imports/cases", {"cases-ledger": (io.BytesIO(data), name)},
                         page="/imports/", content_type="multipart/form-data")


def _cases(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AidCase))


def test_the_case_template_has_headings_drop_down_lists_and_an_example_row(client, login_as, supervisor):
    login_as(supervisor)
    page = client.get("/imports/")
    assert 'data-testid="card-cases"' in page.get_data(as_text=True)
    response = client.get("/imports/cases/template.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    headings = [c.value for c in sheet[1]]
    assert zh("Case number") + "*" in headings and zh("Application received on") + "*" in headings
    assert zh("Amount granted (yuan)") in headings and zh("From referral") in headings
    example = {h.rstrip("*"): c.value for h, c in zip(headings, sheet[2])}
    assert example[zh("Case number")] == "江汉检救〔2023〕1号" and example[zh("Handler")] == "张明"
    assert example[zh("Method")] == zh("Bank transfer")
    method = get_column_letter(headings.index(zh("Method")) + 1)
    validations = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert method in {str(v.sqref).split(":")[0].rstrip("0123456789") for v in validations}
    assert [c.value for c in book["lists"][method] if c.value] == [
        zh("Bank transfer"), zh("Cash"), zh("Other")]


def test_upload_preview_then_confirm_writes_all_at_once(client, login_as, db, clock, supervisor, handler):
    login_as(supervisor)
    ledger = _ledger(clock, handler, supervisor)
    page = _upload(client, ledger.xlsx(), "救助台账.xlsx")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', html))
    assert counts == {"rows": "3", "add": "3", "matched": "0", "people": "3", "already": "0",
                      "errors": "0"}
    assert "化名8000" in page_text(page) and ledger.rows[2]["number"] in page_text(page)
    assert _cases(db) == 0  # nothing written by the preview
    token = re.search(r'name="previewed" type="hidden" value="([^"]+)"', html).group(1)
    # A referral preview's confirmation does not import cases, nor the reverse.
    wrong = client.post("/imports/referrals/confirm",
                        data={"previewed": token, "csrf_token": client.csrf_token("/imports/")})
    assert wrong.status_code == 400 and _cases(db) == 0
    done = client.post("/imports/cases/confirm",
                       data={"previewed": token, "csrf_token": client.csrf_token("/imports/")})
    assert done.status_code == 302 and done.location.endswith("/imports/")
    assert _cases(db) == 3
    index = client.get("/imports/")
    assert "救助台账.xlsx" in page_text(index)
    assert index.get_data(as_text=True).count('data-testid="batch-row"') == 1
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import"))
    assert audit.actor_id == supervisor.id and audit.after == {
        "kind": "cases", "sha256": audit.after["sha256"], "rows": 3, "added": 3, "already": 0,
        "refused": 0, "people_matched": 0, "people_added": 3}
    # The imported paid case's page opens like any other.
    case = db.session.scalar(sa.select(AidCase).where(AidCase.number == ledger.rows[2]["number"]))
    assert case.state == "paid"
    shown = client.get(f"/cases/{case.id}")
    assert shown.status_code == 200 and ledger.rows[2]["number"] in page_text(shown)
    assert 'data-testid="imported"' in shown.get_data(as_text=True)
    # The same file again: the preview says it adds nothing and offers no import.
    again = _upload(client, ledger.xlsx(), "救助台账.xlsx").get_data(as_text=True)
    assert 'data-testid="count-already">3<' in again and 'data-testid="confirm"' not in again


def test_bad_rows_are_listed_in_chinese_with_row_and_column_and_nothing_is_offered(
        client, login_as, db, clock, supervisor, handler):
    login_as(supervisor)
    ledger = _ledger(clock, handler, supervisor)
    good = ledger.rows[1]["resident_id"]
    ledger.rows[1]["resident_id"] = good[:17] + ("1" if good[17] != "1" else "2")
    ledger.rows[2]["paid_on"] = "2099-01-01"
    page = _upload(client, ledger.csv(), "台账.csv")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ERROR_ROW.findall(html) == [
        ("3", zh("Resident ID number"), zh(CHECK_DIGIT)),
        ("4", zh("Paid on"), zh("The date %(day)s is in the future.", day="2099-01-01"))]
    assert 'data-testid="count-errors">2<' in html and 'data-testid="confirm"' not in html
    assert _cases(db) == 0


def test_a_file_that_is_no_case_ledger_is_refused_beside_its_upload(client, login_as, db, clock,
                                                                    supervisor, handler):
    login_as(supervisor)
    referrals = make_ledger(2, today=local_date(clock.now), handler=handler.username)
    page = _upload(client, referrals.csv(), "移送台账.csv")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'data-testid="error-cases-ledger"' in html and 'data-testid="error-ledger"' not in html
    assert zh("Case number") in page_text(page)  # the missing headings are named


def test_a_supervisor_of_the_federation_imports_no_cases(client, login_as, world):
    login_as(factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation))
    page = client.get("/imports/")
    assert page.status_code == 200 and 'data-testid="card-referrals"' in page.get_data(as_text=True)
    assert 'data-testid="card-cases"' not in page.get_data(as_text=True)
    assert client.get("/imports/cases/template.xlsx").status_code == 403


def test_the_shell_command_previews_refuses_bad_files_and_commits(app, db, clock, supervisor, handler,
                                                                 tmp_path):
    runner = app.test_cli_runner()
    bad = _ledger(clock, handler, supervisor)
    bad.rows[1]["resident_id"] = bad.rows[1]["resident_id"][:17] + (
        "1" if bad.rows[1]["resident_id"][17] != "1" else "2")
    (tmp_path / "bad.csv").write_bytes(bad.csv())
    result = runner.invoke(args=["import", "cases", str(tmp_path / "bad.csv"),
                                 "--user", supervisor.username, "--commit"])
    assert result.exit_code == 1
    assert re.search(r"^3\s+" + zh("Resident ID number") + r"\s+", result.output, re.M)
    assert _cases(db) == 0
    good = _ledger(clock, handler, supervisor)
    (tmp_path / "good.xlsx").write_bytes(good.xlsx())
    result = runner.invoke(args=["import", "cases", str(tmp_path / "good.xlsx"), "--user", supervisor.username])
    assert result.exit_code == 0, result.output
    assert _cases(db) == 0  # a preview only
    result = runner.invoke(args=["import", "cases", str(tmp_path / "good.xlsx"),
                                 "--user", supervisor.username, "--commit"])
    assert result.exit_code == 0, result.output
    assert _cases(db) == 3
    assert db.session.scalar(sa.select(ImportBatch.kind)) == "cases"
