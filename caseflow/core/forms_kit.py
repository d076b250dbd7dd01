"""What every domain's forms and routes would otherwise write for themselves: a select's
choices from an enum's label table, the label tables a template reads by stored value, and
a service's refusal shown on the form."""
from __future__ import annotations

from flask import flash
from wtforms.fields.choices import SelectChoice

from caseflow.core.errors import DomainError
from caseflow.core.web import attach_error


def label_choices(labels: dict, blank=None) -> list[SelectChoice]:
    """A select's choices from ``{Enum.X: label}``, in the table's order; ``blank`` first
    (value "") when given."""
    options = [SelectChoice(key.value, label) for key, label in labels.items()]
    return ([SelectChoice("", blank)] if blank else []) + options


def value_labels(**tables: dict) -> dict[str, dict]:
    """The label tables a page's template reads, by name: ``{name: {stored value: label}}``."""
    return {name: {key.value: label for key, label in table.items()}
            for name, table in tables.items()}


def refused(form, error: DomainError) -> None:
    """A refusal beside the field it names (or each field, for several), else as a message."""
    if not attach_error(form, error):
        flash(error.message, "danger")
