"""Shared builders for the joint training tests: the people of a district's training,
and a session as an organiser records it."""
from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.roles import Role
from caseflow.training import services
from tests import factories

#: A week before the default clock's day (2026-11-27): the session is in the past.
HELD_ON = date(2026, 11, 20)


def session_input(world, **overrides) -> services.SessionInput:
    values = dict(title="联合培训：线索发现与司法救助", held_on=HELD_ON, start_time=time(14, 30),
                  end_time=time(17, 0), place="区妇联四楼会议室", trainers="张明（第五检察部检察官）",
                  organisers=[world.federation, world.department5],
                  topics=["spotting_leads", "starting_a_case", "aid_coverage"],
                  content="怎样发现线索，案件怎样启动，司法救助救什么。")
    values.update(overrides)
    return services.SessionInput(**values)


def audit_rows(db, session, action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "training_sessions", AuditEvent.object_id == str(session.id),
        AuditEvent.action == action).order_by(AuditEvent.id)).all()


def training_audit_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.object_type == "training_sessions"))


class TrainingCast:
    """The district federation's officer organises with the 5th department; the street
    federation A is invited; street B is another organisation; the partner and the
    administrator have no part in training."""

    def __init__(self, world):
        self.world = world
        self.organiser = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
        self.fed_supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
        self.prosecutor = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
        self.proc_supervisor = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR},
                                                   org=world.procuratorate)
        self.chair_a = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_a)
        self.chair_b = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_b)
        self.partner = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
        self.admin = factories.make_user(world, roles={Role.SYSTEM_ADMIN}, org=world.federation)

    def session(self, now, *, actor=None, **overrides):
        return services.create_session(actor=actor or self.organiser, now=now,
                                       data=session_input(self.world, **overrides))

    def invited(self, now, **overrides):
        session = self.session(now, **overrides)
        services.invite(session, actor=self.organiser, now=now,
                        organisations=[self.world.street_a], users=[self.prosecutor])
        return session

    def held(self, now, **overrides):
        session = self.invited(now, **overrides)
        services.record_attendance(session, actor=self.organiser, now=now, user=self.chair_a,
                                   status="present")
        return session
