"""The filters' button of a list on a phone (macros.html, filters; issue 18): it folds the
filter form, and says how many filters the list is filtered by, so that a folded filter is
never forgotten. The folding itself is tested in Chromium (tests/browser/test_phone_lists.py)."""
from __future__ import annotations

import re

from caseflow.core.orgs.models import Role


def _toggle(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'<button[^>]*data-testid="filters-toggle"[^>]*>(.*?)</button>\s*'
                      r'<div class="collapse d-sm-block" id="([\w-]+)" data-testid="filters">\s*'
                      r'<form method="get"', html, re.S)
    assert found, "the filter form is not folded behind its button"
    return found.group(1)


def test_the_button_folds_the_form_and_counts_the_filters_in_use(client, login_as):
    login_as(Role.PROSECUTOR)
    assert "badge" not in _toggle(client, "/referrals?box=inbox")
    # Empty fields (as a submitted form sends them) and the box are no filters.
    assert "badge" not in _toggle(client, "/referrals?box=inbox&q=&state=&year=")
    shown = _toggle(client, "/referrals?box=inbox&q=xiaoyu&state=sent&year=&overdue=y")
    assert re.search(r'<span class="badge[^"]*" aria-hidden="true">3</span>', shown), shown
    assert re.search(r'<span class="visually-hidden">[^<]*3[^<]*</span>', shown), shown
    assert "badge" not in _toggle(client, "/cases")  # another list, the same macro
