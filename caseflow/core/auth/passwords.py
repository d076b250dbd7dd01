"""Password hashing (scrypt) and the password rules of a level-3 system."""
from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from caseflow.core.errors import ValidationFailed

MIN_LENGTH = 10
MIN_KINDS = 3
#: A password made of fewer different characters than this is a repetition
#: (``aaaaaaaaa1!``), whatever its length.
MIN_DISTINCT = 5
#: A listed password of at least MIN_PADDED_CORE characters stays common with up to
#: MAX_ADDED characters added at either end.
MIN_PADDED_CORE = 6
MAX_ADDED = 3

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

# Unicode categories that print nothing: controls, format characters (the zero-width
# space, joiners, direction marks), surrogates, private use, unassigned, line and
# paragraph separators. A space is visible enough; other spaces (U+3000, no-break) are
# not told apart from it by eye, so they are refused too.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SYMBOLS = re.compile(r"[\W_]+")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def character_kinds(password: str) -> int:
    kinds = [
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    # Upper- and lower-case letters are one kind ("letters") in the rule.
    letters = kinds[0] or kinds[1]
    return sum([letters, kinds[2], kinds[3]])


def _is_visible(char: str) -> bool:
    if char == " ":
        return True
    category = unicodedata.category(char)
    return category not in _INVISIBLE_CATEGORIES and category != "Zs"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """A listed password, a listed one dressed up with symbols (``1qaz2wsx!@``) or with
    digits and symbols around it (``Password123!``), or a repetition (``aaaaaaaaa1!``)."""
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT:
        return True
    listed = common_passwords()
    core = _EDGE_NOISE.sub("", lowered)
    bare = _SYMBOLS.sub("", lowered)
    candidates = {lowered, bare}
    # A short core ("love" in "Love-2026!!!") is still a listed word with a suffix, but
    # below four letters nearly everything would match something in the list.
    if len(core) >= 4:
        candidates.add(core)
    # A long listed password with a few characters added before or after (1qaz2wsx!A).
    for extra in range(1, MAX_ADDED + 1):
        if len(bare) - extra >= MIN_PADDED_CORE:
            candidates.update({bare[:-extra], bare[extra:]})
    return bool(candidates & listed)


def _is_demo_password(password: str) -> bool:
    from caseflow.core.demo import DEMO_PASSWORD  # the demo imports the accounts' services

    return password.lower() == DEMO_PASSWORD.lower()


def check_password_rules(password: str, *, username: str | None = None,
                         allow_demo: bool = False) -> None:
    """Raise ``ValidationFailed`` (field ``password``) with the first rule ``password``
    breaks. ``username``: the account's, which the password must not contain.
    ``allow_demo``: only for the demo's own accounts, which keep its public password."""
    if allow_demo and _is_demo_password(password):
        return
    if not all(_is_visible(c) for c in password):
        raise ValidationFailed(
            _("A password may contain only visible characters: no control characters and no "
              "invisible ones such as zero-width spaces."), field="password")
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            _("A password has at least %(count)d characters.", count=MIN_LENGTH), field="password"
        )
    if character_kinds(password) < MIN_KINDS:
        raise ValidationFailed(
            _("A password mixes letters, digits and symbols (all three kinds)."), field="password"
        )
    if username and username.strip().lower() in password.lower():
        raise ValidationFailed(_("A password must not contain the username."), field="password")
    if _is_demo_password(password):
        raise ValidationFailed(
            _("This is the published password of the demo accounts; choose a password of your "
              "own."), field="password")
    if is_common(password):
        raise ValidationFailed(
            _("This password is too common or too easy to guess (a well-known password, a "
              "keyboard pattern or a repeated character); choose another."), field="password")
