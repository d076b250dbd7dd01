"""The letters as DOCX files (python-docx) for the offices' document systems: the same
elements as the print view and the PDF, in the letter format of GB/T 9704-2012."""
from __future__ import annotations

import io
from html.parser import HTMLParser

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from caseflow.core.documents.letter import Letter

RED = RGBColor(0xCC, 0x00, 0x00)
BODY_FONT, TITLE_FONT, HEADING_FONT = "仿宋", "方正小标宋简体", "黑体"
BODY_PT = 16


def _font(run, east_asian: str, size: float, *, bold=False, color=None) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = east_asian
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
    if color is not None:
        run.font.color.rgb = color


def _paragraph(doc, text: str, *, align=None, indent=True, font=BODY_FONT, size=BODY_PT,
               bold=False, color=None, before=0, keep_with_next=False):
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(0)
    fmt.line_spacing = Pt(28)
    if indent:
        fmt.first_line_indent = Pt(2 * size)
    if align is not None:
        p.alignment = align
    fmt.keep_with_next = keep_with_next
    fmt.keep_together = True
    _font(p.add_run(text), font, size, bold=bold, color=color)
    return p


def _double_line(paragraph) -> None:
    """The red double line under the issuer: a paragraph border, thick over thin."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "thickThinSmallGap"), ("w:sz", "24"), ("w:space", "4"),
                       ("w:color", "CC0000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _page_number_footer(section) -> None:
    """— 1 —: the PAGE field between dashes, centred at the foot."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), "宋体", 14)
    run = p.add_run()
    _font(run, "宋体", 14)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText" if text.strip() == "PAGE" else "w:t")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)
    _font(p.add_run(" —"), "宋体", 14)


class _Blocks(HTMLParser):
    """Headings, paragraphs and table rows of a letter's extra markup (the report's sections)."""

    def __init__(self):
        super().__init__()
        self.blocks: list[tuple[str, object]] = []
        self._text: list[str] = []
        self._row: list[str] | None = None
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "p", "td", "th"):
            self._in, self._text = tag, []
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        text = "".join(self._text).strip()
        if tag in ("h2", "p") and self._in == tag:
            self.blocks.append((tag, text))
            self._in = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(text)
            self._in = None
        elif tag == "tr" and self._row is not None:
            self.blocks.append(("tr", self._row))
            self._row = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)


def letter_docx(letter: Letter, *, extra: str = "") -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    # The standard's text area, 156 × 225 mm, 37 mm from the top and 28 mm from the left.
    section.top_margin, section.left_margin = Mm(37), Mm(28)
    section.right_margin, section.bottom_margin = Mm(210 - 28 - 156), Mm(297 - 37 - 225)
    section.footer_distance = Mm(20)
    _page_number_footer(section)

    issuer = _paragraph(doc, letter.issuer, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
                        font=TITLE_FONT, size=30, bold=True, color=RED)
    issuer.paragraph_format.line_spacing = None
    _double_line(issuer)
    _paragraph(doc, letter.number, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False, before=6)
    _paragraph(doc, letter.title, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, font=TITLE_FONT,
               size=letter.title_pt, bold=True, before=24).paragraph_format.space_after = Pt(24)
    if letter.addressee:
        _paragraph(doc, letter.addressee, indent=False)
    for text in letter.paragraphs[:-1]:
        _paragraph(doc, text)
    if extra:
        parser = _Blocks()
        parser.feed(str(extra))
        rows = [cells for kind, cells in parser.blocks if kind == "tr"]
        table = None
        for kind, value in parser.blocks:
            if kind == "h2":
                _paragraph(doc, value, font=HEADING_FONT)
            elif kind == "p":
                _paragraph(doc, value)
            elif kind == "tr":
                if table is None:
                    table = doc.add_table(rows=0, cols=max(len(r) for r in rows))
                    table.style = "Table Grid"
                cells = table.add_row().cells
                for cell, text in zip(cells, value):
                    _font(cell.paragraphs[0].add_run(text), BODY_FONT, 12)
    # The closing block keeps together with the next paragraph down to the date.
    if letter.paragraphs:
        _paragraph(doc, letter.paragraphs[-1], keep_with_next=True)
    for index, attachment in enumerate(letter.attachments):
        _paragraph(doc, ("附件：" if index == 0 else "　　　") + attachment, before=14 if index == 0 else 0,
                   keep_with_next=True)
    if letter.contact:
        _paragraph(doc, f"（{letter.contact}）", before=14, keep_with_next=True)
    # Room for the seal above the issuer's name; the date under it, both on the right.
    name = _paragraph(doc, letter.issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False,
                      before=62, keep_with_next=True)
    name.paragraph_format.right_indent = Pt(2 * BODY_PT)
    date = _paragraph(doc, letter.signed_on_text, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    date.paragraph_format.right_indent = Pt(2 * BODY_PT)
    if letter.mark:  # who produced a real-name copy, and when
        _paragraph(doc, letter.mark, indent=False, before=14, size=12)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
