"""Amounts of money as every page, export, letter and message shows them.

One format everywhere: yuan with a comma between thousands and two decimals, 50,000.00
(the same in Chinese and English; the unit, 元 or "yuan", is the text's). Amounts are stored
exactly (``Numeric(12, 2)``); this only writes them.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def format_amount(value) -> str:
    """``50000`` → ``"50,000.00"``; ``None`` or ``""`` → ``""``. Takes a Decimal, an int, a
    float or the text of a number (as the audit and event rows keep amounts); rounds half up
    to the fen."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", ""))
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
