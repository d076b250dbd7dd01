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
