"""Domain errors: services raise these with a message a person can read.

Routes turn them into a flash message or an error page, never a 500.
"""
from __future__ import annotations


class DomainError(Exception):
    """Something the user asked for cannot be done; ``message`` says why."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The actor lacks the role, organisation or permission for this."""

    status_code = 403


def require(allowed: bool, message: str) -> None:
    """A service's permission check: refuse with ``message`` unless ``allowed``."""
    if not allowed:
        raise NotAllowed(message)


class NotFound(DomainError):
    status_code = 404


class InvalidTransition(DomainError):
    """The record is not in a state that allows this change."""

    status_code = 409


class Conflict(DomainError):
    """The change collides with another record or a concurrent edit."""

    status_code = 409


class ValidationFailed(DomainError):
    """The input is not acceptable; ``field`` names the form field when there is one."""

    status_code = 400


class FieldErrors(ValidationFailed):
    """Several fields refused at once: ``errors`` holds (field, message) in the order the
    checks ran, so that a form shows every one beside its field in one round."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        super().__init__("\n".join(str(message) for _name, message in errors),
                         field=errors[0][0])
        self.errors = errors


def field_errors(error: DomainError) -> list[tuple[str | None, str]]:
    """(field, message) pairs of a refusal: several for ``FieldErrors``, else one."""
    return list(getattr(error, "errors", None) or [(error.field, error.message)])


class Checks:
    """Runs a service's input checks to the end and refuses once with all they found,
    instead of stopping at the first bad field (a form then shows one error per round)::

        checks = Checks()
        with checks:
            name = clean_name(...)       # a refusal naming a field is kept, the block left
        with checks:
            phone = clean_phone(...)
        checks.done()                    # raises FieldErrors with every error kept

    Only refusals that name a field are collected; anything else (a permission, a
    conflict with no field) propagates at once, as before. A value a failed block should
    have set stays as it was, so later checks must not depend on it (``checks.failed(f)``).
    """

    def __init__(self):
        self.refusals: list[DomainError] = []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, DomainError) and not isinstance(error, NotAllowed) and error.field:
            self.refusals.append(error)
            return True
        return False

    @property
    def errors(self) -> list[tuple[str | None, str]]:
        return [pair for refusal in self.refusals for pair in field_errors(refusal)]

    def failed(self, name: str) -> bool:
        return any(field == name for field, _message in self.errors)

    def done(self) -> None:
        """Refuse with what was found: one refusal as it was raised (a ``Conflict`` stays
        one), several as ``FieldErrors``."""
        if len(self.refusals) == 1:
            raise self.refusals[0]
        if self.refusals:
            raise FieldErrors(self.errors)
