"""The message catalogues keep up with the source.

Every message that the Python code (``_``, ``gettext``, ``ngettext``, ``_l``,
``lazy_gettext``) and the Jinja templates (``{{ _('...') }}``) hold must have a
translation in each catalogue: Simplified Chinese (the default) and English. A message
without one would show up in English on a Chinese page, or not at all in a plural.

When a test here fails, refresh the catalogues from the top of the repository (babel.cfg's
patterns start with ``caseflow/``, so the input directory is ``.``)::

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location \\
        --sort-output --omit-header -o caseflow/translations/messages.pot .
    .venv/bin/pybabel update -i caseflow/translations/messages.pot -d caseflow/translations \\
        --no-wrap --omit-header --ignore-obsolete

then translate the new entries of ``caseflow/translations/*/LC_MESSAGES/messages.po`` (no
fuzzy entries) and run ``make test``, which compiles the catalogues first.
"""
from __future__ import annotations

import gettext
import html as html_module
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import page_text

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "caseflow" / "translations"
LOCALES = ("zh_CN", "en")
#: Babel's own keywords and the lazy ones the code uses for forms and enums.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

#: A Python %-format placeholder: %(name)s, %(count)d, %s, %.2f ... (%% is no placeholder).
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?"  # the name of a mapping key
    r"[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"  # flags, width, precision, length
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"


def _read_mapping():
    try:
        from babel.messages.frontend import parse_mapping_cfg
    except ImportError:  # Babel < 2.14
        from babel.messages.frontend import parse_mapping as parse_mapping_cfg
    with open(ROOT / "babel.cfg", encoding="utf-8") as fileobj:
        return parse_mapping_cfg(fileobj)


@lru_cache(maxsize=None)
def extracted() -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """The messages of the current source: singular msgid -> (msgid, plural msgid, places).

    The patterns of babel.cfg name paths from the top of the repository
    (``caseflow/**.py``), so the extraction starts there.
    """
    method_map, options_map = _read_mapping()
    messages: dict[str, tuple[str, str | None, tuple[str, ...]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
        else:
            singular, plural = message, None
        if not singular:
            continue
        place = f"{filename}:{lineno}"
        if singular in messages:
            _, known_plural, places = messages[singular]
            messages[singular] = (singular, known_plural or plural, places + (place,))
        else:
            messages[singular] = (singular, plural, (place,))
    return messages


def load_catalogue(locale: str):
    path = po_path(locale)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing"
    with open(path, "rb") as fileobj:
        return read_po(fileobj, locale=locale)


def placeholders(text: str) -> Counter:
    found = Counter()
    position = 0
    for match in PLACEHOLDER.finditer(text):
        if match.group("conv") == "%":
            continue
        name = match.group("name")
        if name is None:
            name, position = f"#{position}", position + 1
        found[(name, match.group("conv"))] += 1
    return found


def show(found: Counter) -> str:
    return ", ".join(sorted(f"%({name}){conv}" if not name.startswith("#") else f"%{conv}"
                            for name, conv in found)) or "none"


def test_the_source_has_messages():
    """Guards the mapping: patterns that match no file would make every check below pass."""
    messages = extracted()
    assert len(messages) > 50, (
        f"only {len(messages)} messages extracted with babel.cfg from {ROOT}; "
        "do its patterns still match the source files?"
    )
    assert "Sign in" in messages


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    catalogue = load_catalogue(locale)
    problems: list[str] = []
    for singular, plural, places in sorted(extracted().values()):
        where = places[0] + (f" (+{len(places) - 1} more)" if len(places) > 1 else "")
        entry = catalogue.get(singular)
        if entry is None:
            problems.append(f"missing: {singular!r}  [{where}]")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {singular!r}  [{where}]")
        if plural is not None and not entry.pluralizable:
            problems.append(f"no plural forms: {singular!r} (plural {plural!r})  [{where}]")
            continue
        if entry.pluralizable:
            forms = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
            if len(forms) < catalogue.num_plurals or not all(forms):
                problems.append(
                    f"untranslated plural form: {singular!r} has {sum(1 for f in forms if f)} of "
                    f"{catalogue.num_plurals} forms  [{where}]"
                )
        elif not entry.string:
            problems.append(f"untranslated: {singular!r}  [{where}]")
    assert not problems, (
        f"{len(problems)} message(s) lack a translation in {po_path(locale).relative_to(ROOT)}:\n  "
        + "\n  ".join(problems)
        + "\nRefresh the catalogues (see this module's docstring) and translate them, "
        "with no fuzzy entries."
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    catalogue = load_catalogue(locale)
    problems: list[str] = []
    for entry in catalogue:
        if not entry.id or not entry.string:
            continue
        if entry.pluralizable:
            singular, plural = entry.id[0], entry.id[1]
            forms = [form for form in entry.string if form]
            allowed = placeholders(singular) | placeholders(plural)
            for index, form in enumerate(forms):
                found = placeholders(form)
                # The last form is the general one ("%(num)d minutes", or Chinese's only
                # form): it must say everything; the others may leave the number out.
                expected = placeholders(plural) if index == len(forms) - 1 else None
                wrong = expected is not None and set(found) != set(expected)
                if wrong or set(found) - set(allowed):
                    problems.append(
                        f"{singular!r} msgstr[{index}] has {show(found)}; "
                        f"expected {show(expected or allowed)}"
                    )
        else:
            expected, found = placeholders(entry.id), placeholders(entry.string)
            if set(found) != set(expected):
                problems.append(f"{entry.id!r} has {show(found)}; expected {show(expected)}")
    assert not problems, (
        f"placeholders differ between msgid and msgstr in {po_path(locale).relative_to(ROOT)}:\n  "
        + "\n  ".join(problems)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_headers(locale):
    """``pybabel update --omit-header`` (make extract-messages) drops the header; the
    locale then decides. A header that is there must not be fuzzy (``pybabel compile``
    would skip the whole catalogue) and must give Chinese its one plural form."""
    catalogue = load_catalogue(locale)
    assert catalogue.num_plurals == (1 if locale == "zh_CN" else 2)
    text = po_path(locale).read_text(encoding="utf-8")
    assert not re.search(r'^#,[^\n]*\bfuzzy\b[^\n]*\nmsgid ""\nmsgstr ""\n', text, flags=re.M), (
        f"the header of {po_path(locale).relative_to(ROOT)} is marked fuzzy"
    )
    header = re.search(r'"Plural-Forms: *([^"\\]*)', text)
    if header and locale == "zh_CN":
        assert header.group(1).strip() == "nplurals=1; plural=0;"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogues_are_current(locale):
    po, mo = po_path(locale), mo_path(locale)
    assert mo.exists(), (
        f"{mo.relative_to(ROOT)} is missing: compile with `make translations` "
        "(make test does it first)"
    )
    assert mo.stat().st_mtime >= po.stat().st_mtime, (
        f"{mo.relative_to(ROOT)} is older than {po.relative_to(ROOT)}: "
        "recompile with `make translations`"
    )
    with open(mo, "rb") as fileobj:
        compiled = read_mo(fileobj)

    def text(entry):
        if entry is None:
            return None
        return tuple(entry.string) if isinstance(entry.string, (list, tuple)) else entry.string

    stale = [entry.id for entry in load_catalogue(locale)
             if entry.id and entry.string and "fuzzy" not in entry.flags
             and text(compiled.get(entry.id, entry.context)) != text(entry)]
    assert not stale, (
        f"{mo.relative_to(ROOT)} does not hold these translations of the .po; recompile:\n  "
        + "\n  ".join(repr(s) for s in stale)
    )
    if locale == "zh_CN":
        with open(mo, "rb") as fileobj:
            plural_forms = gettext.GNUTranslations(fileobj).info().get("plural-forms", "")
        assert plural_forms.replace(" ", "") == "nplurals=1;plural=0;", plural_forms


LOCALE_SWITCH = re.compile(r'<(a|button)\b[^>]*data-testid="locale-switch"[^>]*>')


def switch_to_english(client, page: str) -> None:
    """Use the page's own language switch: a link (before sign-in, the login page takes
    ``?lang=``) or a form posted to /locale."""
    html = client.get(page).get_data(as_text=True)
    switch = LOCALE_SWITCH.search(html)
    assert switch, f"no language switch on {page}"
    href = re.search(r'href="([^"]+)"', switch.group(0))
    if switch.group(1) == "a" and href:
        response = client.get(html_module.unescape(href.group(1)))
    else:
        response = client.submit("/locale", {"locale": "en", "next": page}, page=page)
    assert response.status_code == 302, response.status_code


def test_login_page_in_both_languages(client):
    response = client.get("/login")
    assert response.status_code == 200
    chinese = page_text(response)
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)
    assert "登录" in chinese and "Sign in" not in chinese, (
        "the login page is not in Chinese: Flask-Babel asks for Babel's zh_Hans_CN, which "
        "caseflow/translations/zh_Hans_CN (a link to zh_CN) must provide"
    )

    switch_to_english(client, "/login")

    response = client.get("/login")
    english = page_text(response)
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "Sign in" in english
    assert "登录" not in english


def test_a_service_items_active_state_is_not_an_accounts_active(app):
    """One English word, two meanings: an item whose sessions are running (进行中) and an
    account that is enabled (启用); the item's label has a context of its own."""
    from flask_babel import force_locale, gettext

    from caseflow.assistance.models import ItemState

    with app.test_request_context(), force_locale("zh_CN"):
        assert str(ItemState.ACTIVE.label) == "进行中"
        assert gettext("Active") == "启用"
