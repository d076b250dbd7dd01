"""Text as the services take it from a form: trimmed, required or optional."""
from __future__ import annotations

import re

from caseflow.core.errors import ValidationFailed

SPACES = re.compile(r"\s+")


def clean_spaces(value: str | None) -> str:
    """Text as typed, without leading, trailing or repeated spaces."""
    return SPACES.sub(" ", value or "").strip()


def required_text(value: str | None, field_name: str, message: str) -> str:
    """The text trimmed; refused with ``message`` (naming the field) when nothing is left."""
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, field=field_name)
    return value


def optional_text(value: str | None) -> str | None:
    """The text trimmed, or None when nothing is left."""
    return (value or "").strip() or None
