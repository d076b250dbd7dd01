"""The streaming XLSX writer, read back by openpyxl as a spreadsheet program would."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import column_index_from_string

from caseflow.reports import xlsx

CREATED = datetime(2026, 11, 27, 1, 0)


def _book(chunks) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))


def test_cells_styles_and_frame_read_back():
    sheet = xlsx.Sheet(name="线索移送台账", widths=[20, 12, 14, 8], frozen_rows=2)
    rows = [
        [("线索移送台账 <全部> & 其他", xlsx.TITLE)],
        [("编号", xlsx.BOLD), ("送达日期", xlsx.BOLD), ("金额（元）", xlsx.BOLD), ("次数", xlsx.BOLD)],
        [("江汉妇移〔2026〕1号", xlsx.PLAIN), (date(2026, 11, 27), xlsx.PLAIN),
         (Decimal("50000.00"), xlsx.AMOUNT_STYLE), (3, xlsx.PLAIN)],
        [("第一行\n第二行\t制表", xlsx.PLAIN), (None, xlsx.PLAIN), (Decimal("0.10"), xlsx.AMOUNT_STYLE),
         (None, xlsx.PLAIN)],
    ]
    book = _book(xlsx.stream(sheet, rows, title="线索移送台账", created=CREATED))
    ws = book.worksheets[0]
    assert ws.title == "线索移送台账"
    assert ws["A1"].value == "线索移送台账 <全部> & 其他"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert [c.value for c in ws[2]] == ["编号", "送达日期", "金额（元）", "次数"]
    assert all(c.font.b for c in ws[2])
    assert ws["A3"].value == "江汉妇移〔2026〕1号" and not ws["A3"].font.b
    assert ws["B3"].value == datetime(2026, 11, 27) and ws["B3"].is_date
    assert ws["B3"].number_format == "yyyy-mm-dd"
    assert ws["C3"].value == 50000 and ws["C3"].data_type == "n" and ws["C3"].number_format == "#,##0.00"
    assert ws["D3"].value == 3 and ws["D3"].data_type == "n"
    assert ws["A4"].value == "第一行\n第二行\t制表"
    assert ws["B4"].value is None and ws["C4"].value == 0.1
    assert ws.freeze_panes == "A3"
    assert [ws.column_dimensions[c].width for c in "ABCD"] == [20, 12, 14, 8]
    assert book.properties.title == "线索移送台账" and book.properties.creator == "caseflow"


def test_numbers_are_written_without_exponents():
    sheet = xlsx.Sheet(name="a", widths=[10, 10, 10])
    row = [(Decimal("1E+3"), xlsx.AMOUNT_STYLE), (Decimal("0.10"), xlsx.AMOUNT_STYLE), (12, xlsx.PLAIN)]
    data = b"".join(xlsx.stream(sheet, [row], title="a", created=CREATED))
    ws = _book([data]).worksheets[0]
    assert [c.value for c in ws[1]] == [1000, 0.1, 12]
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1000</v>" in xml and "E+" not in xml


def test_characters_xml_cannot_carry_are_dropped_not_fatal():
    sheet = xlsx.Sheet(name="a", widths=[10])
    book = _book(xlsx.stream(sheet, [[("备注\x00\x07\x1b结束", xlsx.PLAIN)]], title="a", created=CREATED))
    assert book.worksheets[0]["A1"].value == "备注结束"


def test_the_first_chunks_leave_before_all_rows_are_read():
    read = []

    def rows():
        for n in range(20_000):
            read.append(n)
            yield [(f"江汉妇移〔2026〕{n}号 某某街道某某社区的一段较长的备注文字 {n * 7919}", xlsx.PLAIN),
                   (date(2026, 1, 1), xlsx.PLAIN), (n, xlsx.PLAIN)]

    chunks = xlsx.stream(xlsx.Sheet(name="s", widths=[30, 12, 8]), rows(), title="s", created=CREATED)
    received = []
    for chunk in chunks:
        received.append((len(read), chunk))
    # The fixed parts leave before any row is read; rows leave in several chunks, each
    # sent while later rows were still unread.
    assert received[0][0] == 0
    during = [count for count, chunk in received if chunk and 0 < count < 20_000]
    assert len(during) >= 2
    ws = _book(chunk for _, chunk in received).worksheets[0]
    assert ws.max_row == 20_000 and ws["A20000"].value.startswith("江汉妇移〔2026〕19999号")


@given(st.integers(min_value=1, max_value=18_278))
def test_column_letters_are_excels(index):
    assert column_index_from_string(xlsx.column_letter(index)) == index


def test_sheet_names_excel_accepts():
    assert xlsx.sheet_name("台账[2026]: 全部/部分?") == "台账 2026   全部 部分"
    assert len(xlsx.sheet_name("长" * 40)) == 31
    assert xlsx.sheet_name(" / ") == "Sheet"
