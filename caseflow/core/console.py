"""Colour for the command line's messages: only when they go to a terminal."""
from __future__ import annotations

import sys

GREEN, YELLOW, RED, BOLD, RESET = "\033[32m", "\033[33m", "\033[31m", "\033[1m", "\033[0m"


def colour(text: str, colour_code: str) -> str:
    return f"{colour_code}{text}{RESET}" if sys.stdout.isatty() else text
