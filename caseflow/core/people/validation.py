"""Checks for resident ID numbers and phone numbers, by kept libraries.

Each check returns the normalised value or raises ``ValidationFailed`` with a message
that says what is wrong, in the user's language.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from flask_babel import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from caseflow.core.errors import ValidationFailed


ID_SHAPE = re.compile(r"\d{17}[\dX]")


def normalise_resident_id(text: str) -> str:
    value = ric.compact(text or "").upper()
    if len(value) == 18 and not ID_SHAPE.fullmatch(value):
        # stdnum reports a letter in the last place as a wrong check digit; say what it is.
        raise ValidationFailed(
            _("A resident ID number is 17 digits followed by a digit or X."), field="resident_id"
        )
    try:
        return ric.validate(value)
    except stdnum_errors.InvalidLength:
        raise ValidationFailed(
            _("A resident ID number has 18 characters; this one has %(count)d.", count=len(value)),
            field="resident_id",
        ) from None
    except stdnum_errors.InvalidComponent:
        raise ValidationFailed(
            _("The birth date or region code inside this resident ID number is not possible."),
            field="resident_id",
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationFailed(
            _("The last character (check digit) of this resident ID number is wrong; "
              "please check for a mistyped digit."),
            field="resident_id",
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationFailed(
            _("A resident ID number is 17 digits followed by a digit or X."),
            field="resident_id",
        ) from None


def birth_date_from_resident_id(value: str) -> date:
    return ric.get_birth_date(value)


def gender_from_resident_id(value: str) -> str:
    # The 17th digit is odd for men and even for women (GB 11643).
    return "male" if int(value[16]) % 2 else "female"


def normalise_phone(text: str) -> str:
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationFailed(
            _("This is not a phone number; use digits, e.g. 13812345678 or 027-85551234."),
            field="phone",
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            _("This phone number does not exist in the Chinese numbering plan; "
              "check the number of digits and the area code."),
            field="phone",
        ) from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str) -> str:
    number = phonenumbers.parse(value, "CN")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def written_phone(value: str | None) -> str:
    """A number as offices write it on a letter: a landline with its area code joined by a
    dash (027-85551234), a mobile as its eleven digits (13812345678); a value that is not a
    number is given back as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE and " " in national:
        area, rest = national.split(" ", 1)
        return f"{area}-{rest.replace(' ', '')}"
    return national.replace(" ", "")


#: Letters that draw nothing (Hangul fillers, the braille blank): a purpose of them is empty.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: A purpose needs at least this many visible characters.
PURPOSE_MINIMUM = 2


def clean_purpose(text: str | None) -> str:
    """A purpose for the access log, as it will be written: control and formatting
    characters (zero-width spaces and joiners, direction marks, NUL) removed and runs of
    whitespace made one space. Refused unless at least two visible characters remain, so
    that a purpose of invisible characters is no purpose."""
    kept = "".join(ch for ch in (text or "")
                   if not unicodedata.category(ch).startswith("C") and ch not in BLANK_LETTERS
                   or ch in "\t\n")
    cleaned = " ".join(kept.split())
    visible = [ch for ch in cleaned
               if not ch.isspace() and unicodedata.category(ch) not in ("Mn", "Me", "Zs")]
    if len(visible) < PURPOSE_MINIMUM:
        raise ValidationFailed(
            _("Say in words why you need to see it (at least two visible characters; "
              "spaces and invisible characters do not count)."), field="purpose")
    return cleaned
