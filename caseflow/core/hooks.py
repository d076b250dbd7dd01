"""Hooks: where a domain adds to what the core or another domain does, without either
importing it. Every hook point is declared here, in one registry (``HOOKS``); the domains
add their functions in ``caseflow.domains`` or when their modules load, as they register
jobs, reminder sweeps, digest sections, panels and menu entries.

Two kinds:

- ``Hook``: a list of functions, each called (or asked) in the order added;
- ``Provided``: one function that exactly one domain provides; until it does, the default.
"""
from __future__ import annotations

from typing import Callable

#: Every hook point by its name.
HOOKS: dict[str, Hook | Provided] = {}


class Hook(list):
    """A hook point: the functions the domains added. ``add`` keeps each function once, as
    the tests build several apps in one process."""

    def __init__(self, name: str, doc: str):
        super().__init__()
        self.name, self.doc = name, doc
        HOOKS[name] = self

    def add(self, function: Callable) -> Callable:
        if function not in self:
            self.append(function)
        return function

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self)} functions>"


class Provided:
    """A hook point one domain answers: calling it calls the provider, or the default
    while no domain provides one."""

    def __init__(self, name: str, doc: str, default: Callable):
        self.name, self.doc, self.default = name, doc, default
        self.provider: Callable | None = None
        HOOKS[name] = self

    def provide(self, function: Callable) -> Callable:
        self.provider = function
        return function

    def __call__(self, *args, **kwargs):
        return (self.provider or self.default)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Provided {self.name}: {self.provider or self.default}>"


# -- people -------------------------------------------------------------------------------

PERSON_SHARED_WITH = Hook(
    "person.shared_with",
    "Other ways a person's record reaches a user (the receiving side of a referral about "
    "her, the team of her judicial aid case): each is (user, person) -> bool.")
MINOR_SHARED_WITH = Hook(
    "person.minor_shared_with",
    "Who else may see a minor's identity unmasked (the team of the judicial aid case whose "
    "household she belongs to): each is (user, person) -> bool.")

# -- organisations ------------------------------------------------------------------------

RECEIVING_GAPS = Hook(
    "organisation.receiving_gaps",
    "Why an organisation cannot act on the work routed to it (the referrals: nobody there "
    "may register one), shown on the administrator's organisations page: each takes the "
    "organisations and returns {id: reason}.")
RECEIVING_DEPARTMENT_LISTENERS = Hook(
    "organisation.receiving_department_changed",
    "Called as listener(org, actor=, now=) in the same transaction when an organisation's "
    "receiving department changes (the referrals move there what waits unregistered).")
LETTER_SERIES_LISTENERS = Hook(
    "organisation.letter_series_changed",
    "Called as listener(org, actor=, now=) in the same transaction when a change may have "
    "given organisations a letter series (a letter prefix, an issuer, a parent): the "
    "referrals number the replies whose letters waited for one.")

# -- calendar -----------------------------------------------------------------------------

CALENDAR_CHANGE_LISTENERS = Hook(
    "calendar.changed",
    "Called as listener(calendar, actor=, now=, reason=) after the working days changed; "
    "each returns the DueMoves it made (the referrals' due dates).")

# -- the referral and the case pages --------------------------------------------------------

RELATED_LINKS = Hook(
    "referral.related_links",
    "Links from a referral to what later modules made of it (the judicial aid case it "
    "opened): each is (user, referral) -> [(label, url, test id)].")
CASE_SECTIONS = Hook(
    "case.sections",
    "Sections that later modules add to the judicial aid case page (the assistance that "
    "followed): each is (user, case) -> Markup or None.")


def _no_reply_case_link(case, ref, *, actor, now) -> None:
    # Never reached without the investigations: no candidates, so no case to link.
    raise RuntimeError("no domain links judicial aid cases to referrals "
                       "(caseflow.domains wires the investigations' link_case_to_referral)")


REPLY_CASE_CANDIDATES = Provided(
    "referral.reply_case_candidates",
    "The judicial aid cases a reply \"case opened\" may name: (user, referral) -> [case, ...], "
    "each with id and number. Without the investigations, none.",
    default=lambda user, ref: [])
REPLY_CASE_LINK = Provided(
    "referral.reply_case_link",
    "Links the case a reply names to the referral: (case, referral, *, actor, now).",
    default=_no_reply_case_link)

# -- events -------------------------------------------------------------------------------

EVENT_SUBSCRIBERS = Hook(
    "event.published",
    "Called as subscriber(event) with a core.events.Event in the transaction of the state "
    "change that published it (a referral sent, a service item accepted): the API queues "
    "the service accounts' webhooks.")
