"""The letters as DOCX (python-docx), and the decision and report as PDF and DOCX: the
same elements as the print view, opened the way an office's document system would."""
from __future__ import annotations

import io
from urllib.parse import quote

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm
from pypdf import PdfReader

from caseflow.core.documents.letter import cn_date
from caseflow.referrals import services
from tests.investigations.helpers import CaseCast

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _docx(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("wordprocessingml.document")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return docx.Document(io.BytesIO(response.data))


def _check_layout(document, issuer: str, number: str, title: str):
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    assert abs(section.top_margin - Mm(37)) < Mm(0.5) and abs(section.left_margin - Mm(28)) < Mm(0.5)
    text_width = section.page_width - section.left_margin - section.right_margin
    text_height = section.page_height - section.top_margin - section.bottom_margin
    assert abs(text_width - Mm(156)) < Mm(0.5) and abs(text_height - Mm(225)) < Mm(0.5)
    paragraphs = document.paragraphs
    head, line_below = paragraphs[0], paragraphs[0]._p.pPr.find(qn("w:pBdr"))
    assert head.text == issuer and head.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert str(head.runs[0].font.color.rgb) == "CC0000"
    bottom = line_below.find(qn("w:bottom"))
    assert bottom.get(qn("w:val")) == "thickThinSmallGap" and bottom.get(qn("w:color")) == "CC0000"
    assert paragraphs[1].text == number and paragraphs[1].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert paragraphs[2].text == title and paragraphs[2].alignment == WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    assert "PAGE" in footer._p.xml and footer.text.startswith("— ") and footer.text.endswith(" —")
    return [p.text for p in paragraphs]


def test_the_reply_letter_as_docx(world, db, clock, client, login_as):
    cast = CaseCast(world)
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.procuratorate.letter_prefix = "测检函"
    cast.prosecutor.phone = "13800001111"
    ref = cast.registered(clock.now)
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                   text="经审查不符合司法救助条件", reply_on=clock.now.date())
    login_as(cast.officer)
    response = client.get(f"/referrals/{ref.id}/reply-letter.docx")
    document = _docx(response)
    assert f"filename*=UTF-8''{quote('回告函测检函')}" in response.headers["Content-Disposition"]
    texts = _check_layout(document, world.procuratorate.name, f"测检函〔{clock.now.year}〕1号",
                          f"关于{ref.number}线索办理情况的回告函")
    assert f"{world.federation.name}：" in texts and "特此回告。" in texts
    assert "（联系人：" + cast.prosecutor.display_name + "，联系电话：13800001111）" in texts
    assert texts[-2:] == [world.procuratorate.name, cn_date(clock.now.date())]


def test_the_referral_letter_as_docx(world, db, clock, client, login_as):
    cast = CaseCast(world)
    ref = cast.sent(clock.now)
    login_as(cast.officer)
    texts = _check_layout(_docx(client.get(f"/referrals/{ref.id}/letter.docx")), world.federation.name,
                          ref.number, f"关于{cast.person.pseudonym}的线索移送函")
    assert any("丈夫因刑事案件去世" in t for t in texts)


@pytest.mark.parametrize("path, title", [("decision-letter", "司法救助决定书"),
                                         ("report", "关于{pseudonym}司法救助申请的联合调查报告")])
def test_the_decision_and_the_report_as_pdf_and_docx(world, db, clock, client, login_as, path, title):
    cast = CaseCast(world)
    world.department5.documents_issued_as_id = world.procuratorate.id
    case = cast.decided(clock.now)
    title = title.format(pseudonym=case.applicant.pseudonym)
    login_as(cast.prosecutor)
    texts = _check_layout(_docx(client.get(f"/cases/{case.id}/{path}.docx")), world.procuratorate.name,
                          case.number, title)
    assert texts[-1] == cn_date(clock.now.date()) and texts[-2] == world.procuratorate.name
    response = client.get(f"/cases/{case.id}/{path}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    lines = [line.strip() for line in text.splitlines()]
    for expected in (world.procuratorate.name, case.number, case.applicant.pseudonym,
                     cn_date(clock.now.date()), "— 1 —", "联系人："):
        assert expected in text, expected
    assert any(title in line for line in lines), "the title is broken over lines"
    lines = [line for line in lines if line]
    assert lines[0] == world.procuratorate.name  # the letterhead, never the department
