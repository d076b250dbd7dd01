"""Password hashing (scrypt) and the password rules of a level-3 system."""
from __future__ import annotations

import string

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from caseflow.core.errors import ValidationFailed

MIN_LENGTH = 10
MIN_KINDS = 3


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


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            _("A password has at least %(count)d characters.", count=MIN_LENGTH), field="password"
        )
    if character_kinds(password) < MIN_KINDS:
        raise ValidationFailed(
            _("A password mixes letters, digits and symbols (all three kinds)."), field="password"
        )
