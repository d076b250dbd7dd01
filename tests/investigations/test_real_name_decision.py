"""The real-name decision served on the applicant: produced only after a purpose, written
to the access log, marked with who produced it and when; refused (403, nothing logged) to
those who may not see her identity."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AccessEvent
from caseflow.core.db import local_zone
from caseflow.core.people.services import read_identity
from tests.investigations.helpers import CaseCast


@pytest.fixture
def cast(world):
    return CaseCast(world)


def _access_rows(db) -> list[AccessEvent]:
    return db.session.scalars(sa.select(AccessEvent).order_by(AccessEvent.id)).all()


@pytest.fixture
def decided(cast, db, clock):
    case = cast.decided(clock.now)
    cast.prosecutor.locale = "en"
    db.session.flush()
    return case


def test_the_purpose_form_comes_first_and_logs_nothing(decided, cast, db, client, login_as):
    login_as(cast.prosecutor)
    page = f"/cases/{decided.id}/decision-letter/real-name"
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="real-name-form"' in html and 'name="purpose"' in html
    real_name = read_identity(decided.applicant).real_name
    assert real_name and real_name not in html
    assert 'data-testid="real-name-decision"' in client.get(f"/cases/{decided.id}").get_data(as_text=True)
    # No purpose: refused beside the field, nothing logged, no name.
    response = client.submit(page, {"purpose": " \u200b "})
    assert response.status_code == 400 and real_name not in response.get_data(as_text=True)
    assert _access_rows(db) == []


def test_with_a_purpose_the_decision_names_her_and_says_who_made_it(decided, cast, db, clock, client,
                                                                    login_as):
    login_as(cast.prosecutor)
    page = f"/cases/{decided.id}/decision-letter/real-name"
    response = client.submit(page, {"purpose": "向申请人送达"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    real_name = read_identity(decided.applicant).real_name
    assert 'data-testid="decision-letter-real-name"' in html
    assert f"申请人：{real_name}" in html and "化名" not in html
    local = clock.now.astimezone(local_zone())
    mark = (f"本件由 {cast.prosecutor.display_name} 于 {local.year}年{local.month}月{local.day}日 "
            f"{local:%H:%M} 生成（实名，用于送达）")
    assert f'data-testid="document-mark">{mark}<' in html
    [row] = _access_rows(db)
    assert (row.actor_id, row.person_id, row.fields, row.purpose) == (
        cast.prosecutor.id, decided.applicant_id, "real_name", "向申请人送达")
    # The ordinary decision still names her by pseudonym only, with no mark.
    plain = client.get(f"/cases/{decided.id}/decision-letter").get_data(as_text=True)
    assert real_name not in plain and "document-mark" not in plain


def test_a_partner_worker_is_refused_and_nothing_is_logged(decided, cast, db, client, login_as):
    login_as(cast.partner)
    page = f"/cases/{decided.id}/decision-letter/real-name"
    assert client.get(page).status_code == 403
    assert client.submit(page, {"purpose": "向申请人送达"}, page="/").status_code == 403
    assert _access_rows(db) == []


def test_not_before_the_decision(cast, db, clock, client, login_as):
    case = cast.approved(clock.now)
    login_as(cast.prosecutor)
    assert client.get(f"/cases/{case.id}/decision-letter/real-name").status_code == 404


@pytest.mark.parametrize("file_format", ["pdf", "docx"])
def test_the_real_name_decision_downloads_with_its_mark(decided, cast, db, clock, client, login_as,
                                                        file_format):
    """For the office's document system or to print elsewhere: the same decision, her real
    name and the mark, as a file; the purpose logged once per file produced."""
    import io

    login_as(cast.prosecutor)
    response = client.submit(f"/cases/{decided.id}/decision-letter/real-name",
                             {"purpose": "发放救助金", "file_format": file_format})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    if file_format == "pdf":
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    else:
        from docx import Document

        text = "\n".join(p.text for p in Document(io.BytesIO(response.data)).paragraphs)
    text = text.replace(" ", "").replace("\n", "")  # the PDF wraps the mark
    real_name = read_identity(decided.applicant).real_name
    assert f"申请人：{real_name}" in text
    assert f"本件由{cast.prosecutor.display_name}于" in text and "生成（实名，用于送达）" in text
    [row] = _access_rows(db)
    assert (row.fields, row.purpose) == ("real_name", "发放救助金")
