"""One structure for the official letters (GB/T 9704-2012, 信函格式): each domain builds a
``Letter`` for its document, one template (``documents/letter.html``) lays it out.

The letters are always in Chinese whatever the user's language: ``render_letter`` builds
and renders them under the zh_CN locale (the labels the domains take from their tables
come out in Chinese) and the document text itself is written in Chinese by the builders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup

#: The standard's text area is 156 mm wide; the title (二号, 22 pt) shrinks to stay on one line.
TEXT_WIDTH_MM = 156
TITLE_PT = 22.0
MM_PER_PT = 25.4 / 72


def cn_date(day: date | None) -> str:
    """2026年12月5日: the date as official letters write it."""
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


@dataclass
class Letter:
    issuer: str
    number: str
    title: str
    signed_on: date | None
    addressee: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    contact_name: str | None = None
    contact_phone: str | None = None
    #: The stable name tests and scripts find the sheet by (data-testid).
    testid: str = "letter"
    #: The file name of a download, without extension (移送函-江汉妇移〔2026〕3号).
    filename: str = "函"
    #: A line under the signature saying who produced this copy, when and why (the
    #: real-name decision: 本件由 张三 于 2026年12月5日 10:32 生成（实名，用于送达）).
    mark: str | None = None

    @property
    def signed_on_text(self) -> str:
        return cn_date(self.signed_on)

    @property
    def title_pt(self) -> float:
        """The title's size: 二号 (22 pt), smaller when it would not fit on one line."""
        width = len(self.title) * MM_PER_PT  # full-width characters, the widest case
        return min(TITLE_PT, math.floor(2 * TEXT_WIDTH_MM / width) / 2 if width else TITLE_PT)

    @property
    def title_class(self) -> str:
        """The stylesheet's class of that size (no inline style: the pages' CSP forbids it):
        ``title-44`` is 22 pt, ``title-24`` 12 pt, in half points."""
        return f"title-{max(24, int(self.title_pt * 2))}"

    @property
    def contact(self) -> str:
        """联系人：张明，联系电话：13800000000 (or the name alone)."""
        if not self.contact_name:
            return ""
        if self.contact_phone:
            return f"联系人：{self.contact_name}，联系电话：{self.contact_phone}"
        return f"联系人：{self.contact_name}"


def contact_of(user, issuer=None) -> tuple[str | None, str | None]:
    """The contact line's name and phone: the acting officer's name with the phone of their
    account when they gave one, else their office's phone (their organisation's, else the
    issuer's), as a letter writes it (027-85551234, 13812345678)."""
    from caseflow.core.people.validation import written_phone

    if user is None:
        return None, None
    offices = (user.organisation, issuer)
    phone = user.phone or next((o.office_phone for o in offices if o is not None and o.office_phone),
                               None)
    return user.display_name, written_phone(phone) or None


def build_letter(build: Callable[[], Letter]) -> Letter:
    """Build a letter under the zh_CN locale (labels the builder reads come out in Chinese)."""
    with force_locale("zh_CN"):
        return build()


def render_letter(letter: Letter, *, back_url: str | None = None, back_label: str = "",
                  toolbar: str = "", extra: str = "", inline_css: str = "") -> str:
    """The letter's page, in Chinese: the print view (``back_url``, ``back_label`` and the
    ``toolbar`` are the user's, in their language) or a file's source (``inline_css``).
    ``extra``: markup placed after the body paragraphs but the last (the report's tables)."""
    with force_locale("zh_CN"):
        return render_template("documents/letter.html", letter=letter, back_url=back_url,
                               back_label=back_label, toolbar=toolbar, extra=extra,
                               inline_css=Markup(inline_css))  # our own stylesheet
