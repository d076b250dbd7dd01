"""The joint training of the demo dataset (issue 6), told through the real service
functions, as the demo users, at moments in the past.

docs/domain.md: "The federation trained the chairs of its 12 street federations together with
prosecutors: how to spot a lead, how a case starts, what aid covers." So, in the demo's
year:

1. a session the district federation and the 5th procuratorial department organised, a
   few weeks before today, for the chairs of the 12 street federations (each street
   federation invited, its chair recorded by account) and the department's prosecutors
   (invited by name); ten chairs present, one excused, one absent, the justice bureau's
   worker there by name (partners have no part in training, so she attends as an outside
   attendee);
2. an upcoming session, announced yesterday, with the same 12 street federations invited.

The demo has one street officer account (李娟 of 民族街妇联), so the step first creates an
account for each street federation's chair the way the core demo creates its users. The
step is idempotent: a session whose title is there already is not recorded again, and a
chair whose account exists is not created again.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

import sqlalchemy as sa

from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.demo import DEMO_PASSWORD, DEMO_STEPS, STREETS, DemoStep, demo_password_hash
from caseflow.core.orgs import services as org_services
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import Role
from caseflow.extensions import db
from caseflow.referrals.demo import _Days
from caseflow.training import services
from caseflow.training.models import AttendanceStatus, Topic, TrainingSession

STEP_NAME = "joint training (the street federation chairs' session, an upcoming one)"

#: The chair (主席) of each street federation: (street code, display name).
CHAIRS = [
    ("minzu", "周玉梅"), ("hualou", "吴秀英"), ("manchun", "郑桂芳"), ("minyi", "冯淑华"),
    ("xinhua", "何丽萍"), ("wansong", "许雪梅"), ("tangjiadun", "高秀兰"), ("beihu", "罗慧敏"),
    ("qianjin", "梁晓燕"), ("changqing", "宋红霞"), ("hanxing", "唐静怡"), ("gaosaoshu", "韩美玲"),
]
#: The chairs who did not come: (street code, status, note).
NOT_PRESENT = {
    "wansong": (AttendanceStatus.EXCUSED, "参加区人大代表集中视察，事先请假，会后补学课件"),
    "gaosaoshu": (AttendanceStatus.ABSENT, None),
}

CHAIRS_SESSION = "联合培训：妇女权益保障线索发现与国家司法救助"
UPCOMING_SESSION = "联合培训：快转快反与联合调查实务"


def chair_username(street_code: str) -> str:
    return f"chair.{street_code}"


def _org(code: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=local_zone()).astimezone(timezone.utc)


def ensure_chairs(now: datetime) -> int:
    """An account for each street federation's chair, as the core demo creates its users."""
    created = 0
    for code, name in CHAIRS:
        username = chair_username(code)
        if _user(username) is None:
            org_services.create_account(
                actor=None, now=now, username=username, display_name=name,
                email=f"{username}@demo.example.com", organisation=_org(f"jh-fed-{code}"),
                password=DEMO_PASSWORD, roles=frozenset({Role.FEDERATION_OFFICER}), is_demo=True,
                password_hash=demo_password_hash())
            created += 1
    return created


def _session_exists(title: str) -> bool:
    query = sa.select(TrainingSession.id).where(TrainingSession.title == title).limit(1)
    return db.session.scalar(query) is not None


def _streets() -> list[Organisation]:
    return [_org(f"jh-fed-{code}") for code, _name in STREETS]


def _chairs_day(days: _Days, today: date) -> date:
    """A working day some weeks ago, in the demo's year (early in January: the first
    working day of the year, or yesterday when there is none before today)."""
    day = days.back(30)
    if day.year < today.year:
        day = days.on_or_after(date(today.year, 1, 2))
        if day >= today:
            day = days.back(1)
    return day


def record_chairs_session(days: _Days, today: date) -> TrainingSession:
    return record_chairs_training(days, _chairs_day(days, today), CHAIRS_SESSION)


def record_chairs_training(days: _Days, held: date, title: str) -> TrainingSession:
    """The 12 street federations' chairs trained with the prosecutors on ``held``
    (announced a week before, attendance recorded after): the live demo's session, and
    the story's year's (``caseflow.reports.demo``)."""
    announced = days.before(held, 7)
    organiser, head = _user("fed.officer"), _user("fed.head")
    session = services.create_session(actor=organiser, now=_at(announced, 10), data=services.SessionInput(
        title=title, held_on=held, start_time=time(14, 30), end_time=time(17, 0),
        place="江汉区妇女联合会四楼会议室",
        trainers="张明（区人民检察院第五检察部检察官）、王芳（区妇联权益部）",
        organisers=[_org("jh-fed"), _org("jh-proc-5")],
        topics=[Topic.SPOTTING_LEADS.value, Topic.STARTING_A_CASE.value, Topic.AID_COVERAGE.value],
        content=(
            "落实区妇联与区人民检察院合作协议中的“四项制度”，对12个街道妇联主席开展联合培训：\n"
            "一、怎样发现线索：信访接待和社区走访中，哪些情况提示妇女可能因刑事案件陷入困境；\n"
            "二、案件怎样启动：填写移送函、取得本人同意，第五检察部登记备案、指定承办检察官，"
            "一个月内回告处理情况；\n"
            "三、司法救助救什么：救助的对象和条件、救助金额的确定，以及心理疏导、法律援助、"
            "技能培训等多元帮扶。\n"
            "结合小雨、晓丽两个案例（化名）讲解联合调查的做法。")))
    services.invite(session, actor=organiser, now=_at(announced, 10, 20), organisations=_streets(),
                    users=[_user("prosecutor"), _user("proc.head")])
    end = _at(held, 17, 10)
    record = []
    for code, _name in CHAIRS:
        status, note = NOT_PRESENT.get(code, (AttendanceStatus.PRESENT, None))
        record.append(dict(user=_user(chair_username(code)), status=status.value, note=note))
    record += [
        dict(user=_user("fed.officer"), status="present", note="授课"),
        dict(user=_user("prosecutor"), status="present", note="授课"),
        dict(user=head, status="present", note="主持"),
        dict(user=_user("proc.head"), status="present", note=None),
        dict(external_name="赵静", external_organisation="江汉区司法局", status="present",
             note="列席，介绍法律援助申请流程"),
    ]
    for i, entry in enumerate(record):
        services.record_attendance(session, actor=organiser, now=end + timedelta(minutes=i), **entry)
    return session


def record_upcoming_session(days: _Days, today: date) -> TrainingSession:
    held = days.on_or_after(today + timedelta(days=21))
    announced = days.back(1)
    organiser = _user("proc.head")
    session = services.create_session(actor=organiser, now=_at(announced, 15), data=services.SessionInput(
        title=UPCOMING_SESSION, held_on=held, start_time=time(9, 0), end_time=time(11, 30),
        place="江汉区人民检察院三楼会议室",
        trainers="刘强（区人民检察院第五检察部主任）、陈红（区妇联）",
        organisers=[_org("jh-proc-5"), _org("jh-fed")],
        topics=[Topic.REFERRING_LEADS.value, Topic.JOINT_INVESTIGATION.value, Topic.ASSISTANCE.value],
        content="线索移送后的登记备案和一个月回告；联合调查的走访、家庭情况核实；救助决定后的多元帮扶衔接。"))
    services.invite(session, actor=organiser, now=_at(announced, 15, 15), organisations=_streets())
    return session


def load_training_demo(now: datetime, log: Callable[[str], None] = print) -> None:
    chairs = ensure_chairs(now)
    log(f"  street federation chairs: {chairs} new, {len(CHAIRS)} in the demo")
    today = local_date(now)
    days = _Days(load_calendar(), today)
    new = 0
    for title, record in ((CHAIRS_SESSION, record_chairs_session),
                          (UPCOMING_SESSION, record_upcoming_session)):
        if not _session_exists(title):
            record(days, today)
            new += 1
    db.session.flush()
    log(f"  training sessions: {new} new, 2 in the demo")


def register_demo_step() -> None:
    """Add the training step to the demo, once however often this is called."""
    if not any(step.name == STEP_NAME for step in DEMO_STEPS):
        DEMO_STEPS.append(DemoStep(STEP_NAME, load_training_demo))


register_demo_step()
