"""Shared builders for the referral tests."""
from __future__ import annotations

import uuid
from datetime import date

from caseflow.core.orgs.roles import Role
from caseflow.referrals import services
from tests import factories


def referral_input(**overrides) -> services.ReferralInput:
    values = dict(source="petition_reception", circumstances="丈夫因刑事案件去世，家庭陷入困境。",
                  help_requested=["judicial_aid", "counselling"], is_urgent=False,
                  consent_on=date(2026, 11, 20), consent_method="written")
    values.update(overrides)
    return services.ReferralInput(**values)


class Cast:
    """The people of one referral story, in the test world."""

    def __init__(self, world):
        self.world = world
        self.officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
        self.fed_supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
        self.street_officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER},
                                                  org=world.street_a)
        self.prosecutor = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
        self.other_prosecutor = factories.make_user(world, roles={Role.PROSECUTOR},
                                                    org=world.department5)
        self.proc_supervisor = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                                   org=world.department5)
        self.partner = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
        self.person = factories.make_person(world, self.officer, resident_id=factories.VALID_IDS[0])

    def draft(self, now, *, actor=None, **overrides):
        actor = actor or self.officer
        overrides.setdefault("consent_on", min(date(2026, 11, 20), now.date()))
        return services.save_draft(actor=actor, now=now, person=self.person,
                                   receiver=self.world.department5, data=referral_input(**overrides),
                                   submission_token=uuid.uuid4().hex)

    def sent(self, now, **overrides):
        ref = self.draft(now, **overrides)
        return services.send(ref, actor=self.officer, now=now)

    def registered(self, now, **overrides):
        ref = self.sent(now, **overrides)
        return services.register(ref, actor=self.prosecutor, now=now, registration_number=f"登-{ref.id}",
                                 received_on=ref.received_on, handler=self.prosecutor)
