"""The import pages (template, upload, preview, confirmation) and the shell command, as a
supervisor uses them; errors in the user's language with their row and column."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from caseflow.core.audit.models import AuditEvent
from caseflow.core.db import local_date
from caseflow.core.orgs.roles import Role
from caseflow.imports.models import ImportBatch
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import page_text, zh
from tests.imports.ledger import make_ledger

CHECK_DIGIT = ("The last character (check digit) of this resident ID number is wrong; "
               "please check for a mistyped digit.")


def _ledger(clock, handler, count=4, **kw):
    return make_ledger(count, today=local_date(clock.now), handler=handler.username, first_id=7000, **kw)


def _upload(client, data: bytes, name: str):
    return client.submit("/imports/referrals", {"ledger": (io.BytesIO(data), name)},
                         page="/imports/", content_type="multipart/form-data")


def _referrals(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Referral))


def test_the_template_has_headings_drop_down_lists_and_an_example_row(client, login_as, supervisor):
    login_as(supervisor)
    response = client.get("/imports/referrals/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    headings = [c.value for c in sheet[1]]
    # In the user's language, the required ones marked.
    assert zh("Resident ID number") in headings
    assert zh("Circumstances") + "*" in headings
    example = {h.rstrip("*"): c.value for h, c in zip(headings, sheet[2])}
    assert example[zh("Pseudonym")] == "小慧"
    assert example[zh("Where the lead came from")] == zh("Petition reception")
    # The allowed values as drop-down lists, from the hidden sheet of lists.
    lists = book["lists"]
    assert lists.sheet_state == "hidden"
    source_column = headings.index(zh("Where the lead came from") + "*") + 1
    validations = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    letters = {str(v.sqref).split(":")[0].rstrip("0123456789") for v in validations}
    from openpyxl.utils import get_column_letter

    assert get_column_letter(source_column) in letters
    allowed = [c.value for c in lists[get_column_letter(source_column)] if c.value]
    assert zh("Petition reception") in allowed and zh("Hotline") in allowed


def test_upload_preview_then_confirm_writes_all_at_once(client, login_as, db, clock, supervisor, handler):
    login_as(supervisor)
    ledger = _ledger(clock, handler)
    before = _referrals(db)
    page = _upload(client, ledger.xlsx(), "妇联台账.xlsx")
    assert page.status_code == 200
    text = page_text(page)
    assert 'data-testid="not-saved"' in page.get_data(as_text=True)
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', page.get_data(as_text=True)))
    assert counts == {"rows": "4", "add": "4", "matched": "0", "people": "4", "already": "0",
                      "errors": "0"}
    assert "化名7000" in text
    assert _referrals(db) == before  # nothing written by the preview
    token = re.search(r'name="previewed" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    done = client.post("/imports/referrals/confirm",
                       data={"previewed": token.group(1), "csrf_token": client.csrf_token("/imports/")})
    assert done.status_code == 302 and done.location.endswith("/imports/")
    assert _referrals(db) == before + 4
    # An imported referral's page shows it with its original number.
    ref = db.session.scalar(sa.select(Referral).where(Referral.number == ledger.rows[0]["number"]))
    shown = client.get(f"/referrals/{ref.id}")
    assert shown.status_code == 200 and ledger.rows[0]["number"] in page_text(shown)
    assert 'data-testid="imported"' in shown.get_data(as_text=True)
    index = client.get("/imports/")
    assert "妇联台账.xlsx" in page_text(index)
    assert index.get_data(as_text=True).count('data-testid="batch-row"') == 1
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "ledger.import"))
    assert audit.actor_id == supervisor.id and audit.after["added"] == 4
    # The same file again: the preview says it adds nothing and offers no import.
    again = _upload(client, ledger.xlsx(), "妇联台账.xlsx")
    html = again.get_data(as_text=True)
    assert 'data-testid="count-already">4<' in html and 'data-testid="confirm"' not in html


def test_a_changed_or_foreign_confirmation_writes_nothing(client, login_as, db, clock, supervisor, handler, world):
    login_as(supervisor)
    page = _upload(client, _ledger(clock, handler).csv(), "a.csv")
    token = re.search(r'name="previewed" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    before = _referrals(db)
    tampered = client.post("/imports/referrals/confirm",
                           data={"previewed": token[:-2] + "xx", "csrf_token": client.csrf_token("/imports/")})
    assert tampered.status_code == 400
    assert zh("This preview has expired or was changed; choose the file again to see a new one.") \
        in page_text(tampered)
    # Another supervisor cannot confirm what this one previewed.
    client.submit("/logout", page="/account")
    login_as(factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation))
    other = client.post("/imports/referrals/confirm",
                        data={"previewed": token, "csrf_token": client.csrf_token("/imports/")})
    assert other.status_code == 400
    assert _referrals(db) == before and db.session.scalar(sa.select(ImportBatch)) is None


def test_bad_rows_are_listed_in_chinese_with_row_and_column_and_nothing_is_offered(
        client, login_as, db, clock, supervisor, handler):
    login_as(supervisor)
    ledger = _ledger(clock, handler, count=3)
    good_id = ledger.rows[2]["resident_id"]
    ledger.rows[2]["resident_id"] = good_id[:17] + ("1" if good_id[17] != "1" else "2")
    page = _upload(client, ledger.csv(), "台账.csv")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="error-row"><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>', html)
    assert rows == [("4", zh("Resident ID number"), zh(CHECK_DIGIT))]
    assert 'data-testid="count-errors">1<' in html and 'data-testid="confirm"' not in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.imported_sha256.is_not(None))) == 0


def test_an_english_user_reads_the_rules_broken_in_english(client, login_as, db, clock, world, handler):
    supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation, locale="en")
    login_as(supervisor)
    ledger = _ledger(clock, handler, count=2, open_share=0)
    row = ledger.rows[0]
    row["reply_on"] = row["received_on"] - timedelta(days=2)
    ledger.rows[1]["receiver"] = "某某区人民检察院"
    page = _upload(client, ledger.csv(), "ledger.csv")
    rows = re.findall(r'<tr data-testid="error-row"><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>',
                      page.get_data(as_text=True))
    assert ("2", "Reply date", "The reply date is before the received date.") in rows
    assert ("3", "Receiving organisation",
            "No organisation is called “某某区人民检察院”: write its name or code as caseflow knows it.") in rows


def test_a_file_that_is_no_ledger_is_refused_beside_the_upload(client, login_as, db, supervisor):
    login_as(supervisor)
    page = _upload(client, "姓名,电话\n张三,123\n".encode(), "other.csv")
    assert page.status_code == 400
    assert 'data-testid="error-ledger"' in page.get_data(as_text=True)
    assert zh("Pseudonym") in page_text(page)  # the missing headings are named


def test_the_home_page_offers_the_import_to_supervisors_only(client, login_as, world, supervisor):
    login_as(supervisor)
    assert 'href="/imports/"' in client.get("/").get_data(as_text=True)
    client.submit("/logout", page="/account")
    login_as(factories.make_user(world, roles={Role.FEDERATION_OFFICER}))
    assert 'href="/imports/"' not in client.get("/").get_data(as_text=True)


def test_the_shell_command_previews_refuses_bad_files_and_commits(app, db, clock, supervisor, handler,
                                                                 tmp_path):
    runner = app.test_cli_runner()
    ledger = _ledger(clock, handler, count=3)
    bad = make_ledger(3, today=local_date(clock.now), handler=handler.username, first_id=7100)
    bad.rows[1]["receiver"] = "某某区人民检察院"
    (tmp_path / "bad.csv").write_bytes(bad.csv())
    (tmp_path / "good.xlsx").write_bytes(ledger.xlsx())
    before = _referrals(db)

    result = runner.invoke(args=["import", "referrals", str(tmp_path / "bad.csv"),
                                 "--user", supervisor.username, "--commit"])
    assert result.exit_code == 1
    # The error's row and column in the table, then the refusal.
    assert re.search(r"^3\s+" + zh("Receiving organisation") + r"\s+.*某某区人民检察院", result.output, re.M)
    assert _referrals(db) == before

    result = runner.invoke(args=["import", "referrals", str(tmp_path / "good.xlsx"),
                                 "--user", supervisor.username])
    assert result.exit_code == 0, result.output
    assert _referrals(db) == before  # a preview only

    result = runner.invoke(args=["import", "referrals", str(tmp_path / "good.xlsx"),
                                 "--user", supervisor.username, "--commit"])
    assert result.exit_code == 0, result.output
    assert _referrals(db) == before + 3
    assert db.session.scalar(sa.select(ImportBatch.rows_added)) == 3


def test_a_supervisor_of_a_partner_agency_imports_nothing(client, login_as, world):
    login_as(factories.make_user(world, roles={Role.SUPERVISOR}, org=world.justice_bureau))
    page = client.get("/imports/")
    assert page.status_code == 403 and 'data-testid="forbidden"' in page.get_data(as_text=True)
    assert 'href="/imports/"' not in client.get("/").get_data(as_text=True)
