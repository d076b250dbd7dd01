"""Chinese typography: a label and its value are joined by the full-width colon “：” in
Chinese and by ": " in English.

The catalogue's Chinese never has an ASCII colon after a word; the templates never put a
literal ":" after a translated label (they use the translated separator ``_(': ')``); and a
Chinese page reads “调查组成员：”, the English one "Team: ".
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import TRANSLATIONS_DIR, page_text, zh
from tests.investigations.helpers import CaseCast

PACKAGE = Path(__file__).resolve().parents[1] / "caseflow"
CATALOGUE = Path(TRANSLATIONS_DIR) / "zh_CN" / "LC_MESSAGES" / "messages.po"
#: An ASCII colon that ends a label: before a space or at the end (not "https://", "10:00").
ASCII_LABEL_COLON = re.compile(r":(?=\s|$)")
#: In a template: a literal colon right after an expression or a block ({{ _('Team') }}:).
TEMPLATE_COLON = re.compile(r"(\}\}|%\}):(?=[\s<]|$)", re.M)


def _messages():
    with CATALOGUE.open("rb") as po:
        for message in read_po(po):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
            strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
            yield ids, [s for s in strings if s]


def test_no_chinese_message_has_an_ascii_colon_after_a_word():
    wrong = [(ids[0], s) for ids, strings in _messages() for s in strings
             if ASCII_LABEL_COLON.search(s)]
    assert not wrong, wrong


def test_a_message_ending_in_a_colon_ends_in_the_full_width_one_in_chinese():
    endings = [(ids[0], s) for ids, strings in _messages() for s in strings
               if ids[0].rstrip().endswith(":")]
    assert endings  # "Locked accounts:", "Please correct these entries:", ...
    wrong = [(i, s) for i, s in endings if not s.rstrip().endswith("：")]
    assert not wrong, wrong


def test_the_label_separator_is_the_full_width_colon_in_chinese():
    assert zh(": ") == "："


def test_no_template_writes_a_literal_colon_after_a_label():
    found = [f"{path.relative_to(PACKAGE)}:{text.count(chr(10), 0, match.start()) + 1}"
             for path in sorted(PACKAGE.rglob("templates/**/*.html"))
             for text in [path.read_text(encoding="utf-8")]
             for match in TEMPLATE_COLON.finditer(text)]
    assert not found, f"use {{{{ _(': ') }}}} after a label: {found}"


@pytest.fixture
def cast(world, db):
    return CaseCast(world)


def test_a_chinese_page_joins_label_and_value_with_the_full_width_colon(client, login_as, cast, clock, db):
    case = cast.proposed(clock.now, amount="50000")
    user = login_as(cast.prosecutor)
    text = page_text(client.get(f"/cases/{case.id}"))
    for label in ("Team", "Plan", "Aid amount proposed", "Findings", "Reasons"):
        assert zh(label) + "：" in text, label
    assert ": " not in text.replace("https://", "")  # no ASCII separator left
    user.locale = "en"
    db.session.flush()
    text = page_text(client.get(f"/cases/{case.id}"))
    assert "Team: " in text and "Aid amount proposed: 50,000.00" in text and "：" not in text
