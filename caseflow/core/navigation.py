"""Navigation entries that domains add (the core's own are in base.html)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string
    allowed: Callable  # (user) -> bool
    also: tuple[str, ...] = ()  # endpoints that count as this section


NAV_ITEMS: list[NavItem] = []


def add_nav_item(item: NavItem) -> None:
    if all(existing.endpoint != item.endpoint for existing in NAV_ITEMS):
        NAV_ITEMS.append(item)
