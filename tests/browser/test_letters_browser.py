"""The official letters in a real browser, on the demo data: the prosecutor 张明, with his
pages in English, downloads the reply letter (回告函) as a PDF; the letter is in Chinese,
issued by 江汉区人民检察院 (never the 5th department) with its own letter number
(江汉检函〔year〕N号). The print view is Chinese too, while its controls follow his language.
Screenshots go to test-artifacts/browser-letters-*.png."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests.browser.test_referral_loop import path_of, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

USERNAME = "prosecutor"
PROCURATORATE = "江汉区人民检察院"
DEPARTMENT = "江汉区人民检察院第五检察部"


def _replied_referral(live_server) -> tuple[int, str, str]:
    from caseflow.core.orgs.models import Organisation
    from caseflow.extensions import db
    from caseflow.referrals.models import Referral

    with live_server.app.app_context():
        department = db.session.scalar(sa.select(Organisation.id).where(Organisation.code == "jh-proc-5"))
        row = db.session.execute(sa.select(Referral.id, Referral.number, Referral.reply_number).where(
            Referral.receiver_org_id == department, Referral.reply_number.is_not(None))
            .order_by(Referral.id)).first()
        db.session.remove()
    assert row is not None, "the demo has no reply letter of the procuratorate"
    return row


def _switch_language(page, to: str) -> None:
    with page.expect_navigation():
        page.get_by_test_id("locale-switch").click()
    assert page.evaluate("document.documentElement.lang") == to


def test_the_prosecutor_in_english_downloads_the_reply_letter_in_chinese(new_tab, live_server):
    referral_id, number, reply_number = _replied_referral(live_server)
    assert reply_number.startswith("江汉检函〔")
    tab = new_tab()
    page = tab.page
    sign_in(tab, USERNAME)
    _switch_language(page, "en")
    try:
        page.goto(f"/referrals/{referral_id}")
        assert "Referral" in page.inner_text("body")  # his pages are in English
        with page.expect_download() as info:
            page.get_by_test_id("download-reply-pdf").click()
        download = info.value
        assert download.suggested_filename == f"回告函{reply_number}.pdf"
        reader = PdfReader(io.BytesIO(open(download.path(), "rb").read()))
        page_box = reader.pages[0].mediabox
        assert abs(float(page_box.width) - 595.3) <= 1 and abs(float(page_box.height) - 841.9) <= 1
        text = "\n".join(p.extract_text() for p in reader.pages)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == PROCURATORATE and DEPARTMENT not in lines[:3]
        assert reply_number in text and "— 1 —" in text and "特此回告。" in text
        assert any(f"关于{number}线索办理情况的回告函" in line for line in lines)
        for english in ("Reply", "referral", "Outcome", "Handler"):
            assert english not in text, f"the letter has English in it: {english}"

        page.goto(f"/referrals/{referral_id}/reply-letter")
        assert path_of(page) == f"/referrals/{referral_id}/reply-letter"
        sheet = page.get_by_test_id("reply-letter").inner_text()
        assert PROCURATORATE in sheet and reply_number in sheet and "特此回告。" in sheet
        assert "Reply" not in sheet and "Back to the referral" in page.inner_text("body")
        tab.screenshot("letters-reply-letter-english-user")
        tab.assert_no_problems()
    finally:
        page.goto("/")
        _switch_language(page, "zh-CN")
