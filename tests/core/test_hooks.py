"""The hook points are one registry in the core (``core.hooks.HOOKS``); the app wires each
domain's function into its hook once, however many apps a process builds."""
from __future__ import annotations

from caseflow import create_app
from caseflow.core import hooks
from caseflow.core.calendar import services as calendar_services
from caseflow.core.orgs import services as org_services
from caseflow.core.people import policy as people_policy
from caseflow.investigations import policy as case_policy
from caseflow.investigations import services as case_services
from caseflow.referrals import policy as referral_policy


def test_every_hook_point_is_in_the_one_registry(app):
    assert set(hooks.HOOKS) == {
        "person.shared_with", "person.minor_shared_with", "organisation.receiving_gaps",
        "organisation.receiving_department_changed", "organisation.letter_series_changed",
        "calendar.changed",
        "referral.related_links", "case.sections", "referral.reply_case_candidates",
        "referral.reply_case_link", "event.published"}
    # The modules that call a hook hold the registry's own object, not a list of their own.
    assert people_policy.SHARED_WITH is hooks.PERSON_SHARED_WITH
    assert people_policy.MINOR_SHARED_WITH is hooks.MINOR_SHARED_WITH
    assert org_services.RECEIVING_GAPS is hooks.RECEIVING_GAPS
    assert org_services.RECEIVING_DEPARTMENT_LISTENERS is hooks.RECEIVING_DEPARTMENT_LISTENERS
    assert org_services.LETTER_SERIES_LISTENERS is hooks.LETTER_SERIES_LISTENERS
    assert calendar_services.CHANGE_LISTENERS is hooks.CALENDAR_CHANGE_LISTENERS


def test_the_domains_are_wired_in_once_however_many_apps_are_built(app):
    def functions() -> dict[str, list]:
        return {name: list(hook) for name, hook in hooks.HOOKS.items()
                if isinstance(hook, hooks.Hook)}

    before = functions()
    create_app({**app.config, "TESTING": True})
    after = functions()
    assert after == before
    assert hooks.PERSON_SHARED_WITH == [referral_policy.shares_person,
                                        case_policy.shares_case_person]
    assert hooks.MINOR_SHARED_WITH == [case_policy.on_team_of_minor]
    assert all(len(hook) == 1 for name, hook in after.items()
               if name not in ("person.shared_with", "person.minor_shared_with"))
    assert hooks.REPLY_CASE_CANDIDATES.provider is case_services.cases_for_reply
    assert hooks.REPLY_CASE_LINK.provider is case_services.link_case_to_referral


def test_a_provided_hook_answers_its_default_until_a_domain_provides_it():
    hook = hooks.Provided("test.only", "for this test", default=lambda x: [])
    try:
        assert hook(1) == []
        hook.provide(lambda x: [x, x])
        assert hook(2) == [2, 2]
    finally:
        del hooks.HOOKS["test.only"]
