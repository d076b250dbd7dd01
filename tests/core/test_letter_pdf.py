"""The letters as PDF files rendered on the server (WeasyPrint, free CJK fonts): what a
reader of the file finds in it (text extracted with pypdf)."""
from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from caseflow.core.documents.letter import cn_date
from caseflow.referrals import services
from tests.referrals.helpers import Cast

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _pdf(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def _lines(page) -> list[str]:
    return [line.strip() for line in page.extract_text().splitlines() if line.strip()]


def _a4(reader):
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595.3) <= 1 and abs(height - 841.9) <= 1


@pytest.fixture
def replied(world, db, clock):
    cast = Cast(world)
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.procuratorate.letter_prefix = "测检函"
    cast.prosecutor.phone = "13800001111"
    ref = cast.registered(clock.now)
    services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                   text="经审查不符合司法救助条件", reply_on=clock.now.date())
    return cast, ref


def test_the_reply_letter_pdf_holds_every_element_of_the_letter(replied, world, clock, client,
                                                               login_as):
    cast, ref = replied
    login_as(cast.officer)
    response = client.get(f"/referrals/{ref.id}/reply-letter.pdf")
    reader = _pdf(response)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('回告函测检函')}" in disposition
    _a4(reader)
    assert len(reader.pages) == 1
    lines = _lines(reader.pages[0])
    text = "\n".join(lines)
    title = f"关于{ref.number}线索办理情况的回告函"
    assert title in lines or any(title in line for line in lines), "the title is broken over lines"
    for expected in (world.procuratorate.name, f"测检函〔{clock.now.year}〕1号", f"{world.federation.name}：",
                     "经审查不符合司法救助条件", "特此回告。", "联系人：", "13800001111",
                     cn_date(ref.reply_on), "— 1 —"):
        assert expected in text, expected
    assert world.department5.name not in text


def test_a_long_referral_letter_keeps_body_text_with_the_signature_on_its_last_page(
        world, db, clock, client, login_as):
    cast = Cast(world)
    long_text = "。".join(f"第{i}段情况说明：当事人丈夫因刑事案件去世，家庭失去主要经济来源，子女就学困难" for i in range(40))
    ref = cast.sent(clock.now, circumstances=long_text)
    login_as(cast.officer)
    reader = _pdf(client.get(f"/referrals/{ref.id}/letter.pdf"))
    _a4(reader)
    assert len(reader.pages) >= 2
    last = "\n".join(_lines(reader.pages[-1]))
    assert world.federation.name in last and cn_date(clock.now.date()) in last  # the signature
    assert "请于" in last and "前回告" in last  # with body text, never alone
    assert f"— {len(reader.pages)} —" in last
    first = "\n".join(_lines(reader.pages[0]))
    assert f"关于{cast.person.pseudonym}的线索移送函" in first and ref.number in first and "— 1 —" in first
