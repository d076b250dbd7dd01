"""The official letters in the letter format of GB/T 9704-2012, built from one Letter
structure (core.documents.letter) and always in Chinese."""
from __future__ import annotations

import re
from datetime import date

from caseflow.core.documents.letter import Letter, cn_date
from caseflow.referrals import services
from tests.conftest import page_text
from tests.referrals.helpers import Cast


def _replied(cast, clock, world):
    world.department5.documents_issued_as_id = world.procuratorate.id
    world.procuratorate.letter_prefix = "测检函"
    cast.prosecutor.phone = "13800001111"
    ref = cast.registered(clock.now)
    return services.reply(ref, actor=cast.prosecutor, now=clock.now, outcome="not_eligible",
                          text="经审查不符合司法救助条件", reply_on=clock.now.date())


def test_a_date_in_chinese_and_a_long_title_shrinks_to_stay_on_one_line():
    assert cn_date(date(2026, 12, 5)) == "2026年12月5日"
    short = Letter(issuer="甲", number="", title="司法救助决定书", signed_on=None)
    assert short.title_pt == 22.0
    long = Letter(issuer="甲", number="", title="关于江汉妇移〔2026〕13号线索办理情况的回告函", signed_on=None)
    assert long.title_pt < 22.0
    assert len(long.title) * long.title_pt * 25.4 / 72 <= 156
    assert (short.title_class, long.title_class) == ("title-44", f"title-{int(long.title_pt * 2)}")


def test_the_reply_letter_in_the_letter_format_and_in_chinese_for_an_english_user(
        world, db, clock, client, login_as):
    cast = Cast(world)
    ref = _replied(cast, clock, world)
    login_as(cast.prosecutor)
    client.submit("/locale", {"locale": "en", "next": "/"}, page="/")
    response = client.get(f"/referrals/{ref.id}/reply-letter")
    html = response.get_data(as_text=True)
    text = page_text(response)
    # The user's own controls are in English; the letter itself is Chinese.
    assert "Back to the referral" in text
    assert "Reply" not in re.search(r'data-testid="reply-letter">(.*)</div>', html, re.S).group(1)
    assert f'<div class="issuer">{world.procuratorate.name}</div>' in html
    assert 'class="red-rule"' in html
    assert f"测检函〔{clock.now.year}〕1号" in text
    assert re.search(r"<h1 class=\"title title-\d+\">", html) and f"关于{ref.number}线索办理情况的回告函" in text
    assert f"{world.federation.name}：" in text
    assert "特此回告。" in text and "经审查不符合司法救助条件" in text
    assert "联系人：" in text and "13800001111" in text
    # The last paragraph, the contact line and the signature are one block (never parted).
    closing = re.search(r'<div class="closing">(.*?)</div>\s*</div>\s*</div>', html, re.S).group(1)
    assert "特此回告。" in closing and world.procuratorate.name in closing
    assert cn_date(ref.reply_on) in closing


def test_the_referral_letter_names_the_issuers_and_the_contact(world, db, clock, client, login_as):
    cast = Cast(world)
    cast.officer.phone = "13900002222"
    world.department5.documents_issued_as_id = world.procuratorate.id
    ref = cast.sent(clock.now)
    login_as(cast.officer)
    text = page_text(client.get(f"/referrals/{ref.id}/letter"))
    assert f"关于{cast.person.pseudonym}的线索移送函" in text and ref.number in text
    assert f"{world.procuratorate.name}：" in text  # the department's procuratorate
    assert f"联系人：{cast.officer.display_name}，联系电话：13900002222" in text
    assert cn_date(clock.now.date()) in text
