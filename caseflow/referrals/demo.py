"""The referrals of the demo dataset (issue 3): every state and every deadline situation,
in both directions, relative to the demo's "today" (``caseflow demo --today DATE``).

Each demo referral is a small story told through the real service functions, as the demo
users, at moments in the past computed from today with the working-day calendar: a
referral that must be "due in 3 days" is received on the day whose one-month reply
deadline falls 3 days from today. When no received day gives the wanted deadline (it is a
rest day, and deadlines move past rest days), the story takes the nearest earlier
deadline and the receiving supervisor extends it to the wanted day.

The stories follow docs/domain.md: 小雨 and 晓丽 and a few more invented women (化名, with
identities that belong to nobody). The step is idempotent: a referral is keyed by its
creator and a fixed submission token ``demo-<slug>``, and a story whose referral exists
is skipped whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

import sqlalchemy as sa

from caseflow.core import hooks
from caseflow.core.calendar.rules import WorkingCalendar
from caseflow.core.calendar.services import load_calendar
from caseflow.core.db import local_date, local_zone
from caseflow.core.demo import DEMO_STEPS, PERSONS as CORE_PERSONS, DemoStep
from caseflow.core.errors import DomainError
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.core.settings.services import get_setting
from caseflow.extensions import db
from caseflow.referrals import services
from caseflow.referrals.models import ConsentMethod, HelpKind, LeadSource, Referral, ReplyOutcome

STEP_NAME = "referrals (both directions, every deadline situation)"
TOKEN_PREFIX = "demo-"

#: Steps that wait for a judicial aid case: a reply "case opened" names its case, which the
#: case step (``caseflow.investigations.demo``, run after this one) opens first; from the
#: reply on, the story's steps wait here, in time order, and that step runs them.
WAITING_FOR_CASE: list[tuple[datetime, str, Callable[[], None]]] = []


class _WaitForCase(Exception):
    """A reply "case opened" before its case exists: the story goes on in the case step."""
ONE_DAY = timedelta(days=1)

FEDERATION, DEPARTMENT5 = "jh-fed", "jh-proc-5"

#: How each receiver writes its registration numbers (登记备案).
REGISTRATION_PREFIX = {DEPARTMENT5: "江汉检五登", FEDERATION: "江汉妇登"}

# More invented women for the referrals (the demo core holds 小雨, 晓丽 and her children).
# Valid resident IDs (GB 11643 check digit, even 17th digit: women) that belong to nobody.
# (pseudonym, recorded by, real name, resident ID, phone, address)
PERSONS = [
    ("小燕", "fed.officer", "刘燕", "420103198309140220", "13907121101", "武汉市江汉区满春街某社区"),
    ("小静", "fed.officer", "周静", "420103198403030466", "13907121102", "武汉市江汉区民意街某社区"),
    ("小红", "fed.officer", "吴红梅", "420103198802260648", "13907121103", "武汉市江汉区新华街某社区"),
    ("秀英", "fed.officer", "李秀英", "420103198506300289", "13907121104", "武汉市江汉区万松街某社区"),
    ("小娟", "fed.officer", "郑娟", "420103198611210445", "13907121105", "武汉市江汉区唐家墩街某社区"),
    ("春兰", "fed.officer", "何春兰", "420103198602150428", "13907121106", "武汉市江汉区北湖街某社区"),
    ("小琳", "fed.officer", "杨琳", "420103199508090662", "13907121107", "武汉市江汉区前进街某社区"),
    ("阿兰", "fed.minzu", "徐兰", "420103198905170880", "13907121108", "武汉市江汉区民族街某社区"),
    ("小梅", "fed.minzu", "马小梅", "420103199204180829", "13907121109", "武汉市江汉区民族街某社区"),
    ("小芳", "prosecutor", "胡芳", "420103198703220261", "13907121110", "武汉市江汉区常青街某社区"),
    ("阿珍", "prosecutor", "罗珍", "420103198407100484", "13907121111", "武汉市江汉区民族街某社区"),
    ("小琴", "prosecutor", "林琴", "420103199001050629", "13907121112", "武汉市江汉区汉兴街某社区"),
    ("春梅", "prosecutor", "高春梅", "420103199108120842", "13907121113", "武汉市江汉区姑嫂树街某社区"),
]


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _case_number(offence_on: date, seq: int) -> str:
    return f"（{offence_on.year}）鄂0103刑初{seq}号"


class _Days:
    """Working-day arithmetic around the demo's today."""

    def __init__(self, calendar: WorkingCalendar, today: date):
        self.calendar, self.today = calendar, today

    def working(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def on_or_before(self, day: date) -> date:
        while not self.working(day):
            day -= ONE_DAY
        return day

    def on_or_after(self, day: date) -> date:
        return self.calendar.next_working_day(day)[0]

    def after(self, day: date, count: int = 1) -> date:
        return self.calendar.add_working_days(day, count).day

    def before(self, day: date, count: int = 1) -> date:
        for _ in range(count):
            day = self.on_or_before(day - ONE_DAY)
        return day

    def back(self, days: int) -> date:
        """The last working day at least ``days`` days before today."""
        return self.on_or_before(self.today - timedelta(days=days))

    def reply_due(self, received_on: date) -> date:
        return self.calendar.reply_due(received_on).day

    def registration_due(self, received_on: date, working_days: int) -> date:
        return self.calendar.add_working_days(received_on, working_days).day

    def receipt_for(self, target: date) -> tuple[date, date]:
        """(received day, statutory reply due date): the latest received day, a working day
        if one fits, whose due date is ``target``; when none is (``target`` is a rest day),
        the latest whose due date is the last one before ``target``."""
        exact, earlier = [], []
        for days_back in range(20, 75):  # a month, plus at most a long holiday
            received = target - timedelta(days=days_back)
            due = self.reply_due(received)
            if due == target:
                exact.append(received)
            elif due < target:
                earlier.append((due, received))
        if exact:
            working = [d for d in exact if self.working(d)]
            return (working or exact)[0], target
        best = max(due for due, _r in earlier)
        candidates = [r for due, r in earlier if due == best]
        working = [d for d in candidates if self.working(d)]
        return (working or candidates)[0], best


@dataclass
class _Story:
    """One demo referral and what happens to it, each step at its moment."""

    slug: str
    sender: str
    pseudonym: str
    receiver: str
    data: services.ReferralInput
    steps: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    ref: Referral | None = None
    reply_at: datetime | None = None

    @property
    def token(self) -> str:
        return TOKEN_PREFIX + self.slug


class DemoBuilder:
    """What each demo step's builder shares (referrals, aid cases, plans, the story's year):
    the moment the demo is loaded at, today and its working days, the demo's users and
    organisations looked up once, and a local day and time as a UTC moment."""

    def __init__(self, now: datetime):
        self.now = now
        self.today = local_date(now)
        self.days = _Days(load_calendar(), self.today)
        self.zone = local_zone()
        self._users: dict[str, User] = {}
        self._orgs: dict[str, Organisation] = {}

    def user(self, username: str) -> User:
        if username not in self._users:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            if user is None:
                raise LookupError(f"demo user {username} is missing; the demo core loads it")
            self._users[username] = user
        return self._users[username]

    def org(self, code: str) -> Organisation:
        if code not in self._orgs:
            self._orgs[code] = db.session.scalar(
                sa.select(Organisation).where(Organisation.code == code))
        return self._orgs[code]

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(timezone.utc)

    def registration_number(self, receiver: Organisation, year: int) -> str:
        """The receiver's next free registration number of the year (登记备案)."""
        prefix, seq = REGISTRATION_PREFIX[receiver.code], 1
        while True:
            number = f"{prefix}〔{year}〕{seq}号"
            taken = db.session.scalar(sa.select(Referral.id).where(
                Referral.receiver_org_id == receiver.id, Referral.registration_number == number))
            if taken is None:
                return number
            seq += 1


class _DemoReferrals(DemoBuilder):
    def __init__(self, now: datetime):
        super().__init__(now)
        self.stories: list[_Story] = []

    # -- lookups --------------------------------------------------------------------

    def person(self, pseudonym: str, when: datetime) -> Person:
        """The demo person in her recorder's organisation; recorded now (at ``when``) if
        she is one of this module's and missing."""
        recorder = self.user(next(by for name, by, *_rest in (*CORE_PERSONS, *PERSONS)
                                  if name == pseudonym))
        person = db.session.scalar(sa.select(Person).where(
            Person.pseudonym == pseudonym, Person.organisation_id == recorder.organisation_id)
            .order_by(Person.id).limit(1))
        if person is not None:
            return person
        for name, _by, real_name, resident_id, phone, address in PERSONS:
            if name == pseudonym:
                return people_services.record_person(
                    actor=recorder, now=when, pseudonym=name,
                    identity=people_services.Identity(real_name=real_name, resident_id=resident_id,
                                                      phone=phone, address=address))
        raise LookupError(f"demo person {pseudonym} is missing; the demo core loads it")

    # -- the steps of a story -----------------------------------------------------------

    def story(self, slug: str, *, sender: str, pseudonym: str, receiver: str,
              data: services.ReferralInput) -> _Story:
        story = _Story(slug, sender, pseudonym, receiver, data)
        self.stories.append(story)
        return story

    @staticmethod
    def _step(story: _Story, when: datetime, action: Callable[[], None]) -> None:
        story.steps.append((when, action))

    def draft(self, story: _Story, when: datetime) -> None:
        def run():
            person = self.person(story.pseudonym, when - timedelta(hours=1))
            story.ref = services.save_draft(
                actor=self.user(story.sender), now=when, person=person,
                receiver=self.org(story.receiver), data=story.data, submission_token=story.token)
        self._step(story, when, run)

    def act(self, story: _Story, when: datetime, service: Callable, *, by: str | None = None,
            **kwargs) -> None:
        """At ``when``: ``service(referral, actor=by or the sender, now=when, **kwargs)``."""
        def run():
            service(story.ref, actor=self.user(by or story.sender), now=when, **kwargs)
        self._step(story, when, run)

    def send(self, story: _Story, when: datetime) -> None:
        self.act(story, when, services.send)

    def register(self, story: _Story, when: datetime, *, by: str, handler: str,
                 received_on: date) -> None:
        def run():
            number = self.registration_number(self.org(story.receiver), local_date(when).year)
            services.register(story.ref, actor=self.user(by), now=when, received_on=received_on,
                              registration_number=number, handler=self.user(handler))
        self._step(story, when, run)

    def note(self, story: _Story, when: datetime, *, by: str, text: str) -> None:
        self.act(story, when, services.add_note, by=by, text=text)

    def comment(self, story: _Story, when: datetime, *, by: str, text: str) -> None:
        self.act(story, when, services.comment, by=by, text=text)

    def extend(self, story: _Story, when: datetime, *, by: str, new_due_on: date,
               reason: str) -> None:
        self.act(story, when, services.extend_deadline, by=by, new_due_on=new_due_on, reason=reason)

    def reply(self, story: _Story, when: datetime, *, by: str, outcome: ReplyOutcome,
              text: str) -> None:
        if outcome != ReplyOutcome.AID_CASE_OPENED:
            self.act(story, when, services.reply, by=by, outcome=outcome.value, text=text,
                     reply_on=local_date(when))
            return

        def run():
            # The case opened from the referral (or for her), which the reply names.
            cases = hooks.REPLY_CASE_CANDIDATES(self.user(by), story.ref)
            if not cases:
                raise _WaitForCase
            services.reply(story.ref, actor=self.user(by), now=when, outcome=outcome.value,
                           text=text, reply_on=local_date(when), case_id=cases[0].id)
        story.reply_at = when
        self._step(story, when, run)

    def close(self, story: _Story, when: datetime, *, by: str) -> None:
        self.act(story, when, services.close, by=by)

    def return_(self, story: _Story, when: datetime, *, by: str, reason: str) -> None:
        self.act(story, when, services.return_referral, by=by, reason=reason)

    def withdraw(self, story: _Story, when: datetime, *, reason: str) -> None:
        self.act(story, when, services.withdraw, reason=reason)

    # -- the common shapes ---------------------------------------------------------------

    def filed_and_registered(self, story: _Story, received_on: date, *, registrar: str,
                             handler: str) -> date:
        """Drafted and sent on the received day (or the last working day before it, the
        letter arriving after), registered the next working day with the received day;
        returns the registration day."""
        send_day = self.days.on_or_before(received_on)
        self.draft(story, self.at(send_day, 8, 40))
        self.send(story, self.at(send_day, 9, 30))
        registered_on = self.days.after(received_on)
        self.register(story, self.at(registered_on, 10, 15), by=registrar, handler=handler,
                      received_on=received_on)
        return registered_on

    def due_in(self, story: _Story, days: int, *, registrar: str, handler: str,
               supervisor: str, notes: list[tuple[str, str]] = (),
               extension_reason: str = "需补充核实相关材料，经部门负责人批准，回告期限延长至{day}。",
               ) -> date:
        """A registered referral whose reply is due ``days`` days from today (negative:
        overdue). Progress notes (by, text) follow the registration two working days apart.
        When no received day gives that due date, ``supervisor`` extends the statutory one
        to it, giving ``extension_reason`` (``{day}``: the new date)."""
        target = self.today + timedelta(days=days)
        received_on, statutory = self.days.receipt_for(target)
        registered_on = self.filed_and_registered(story, received_on, registrar=registrar,
                                                  handler=handler)
        day = registered_on
        for by, text in notes:
            day = self.days.after(day, 2)
            if day >= self.today:
                break
            self.note(story, self.at(day, 16, 20), by=by, text=text)
        if statutory != target:
            # The wanted day is a rest day: the supervisor extends the statutory deadline.
            when = self.days.on_or_before(min(statutory, self.today) - ONE_DAY)
            when = max(when, registered_on)
            self.extend(story, self.at(when, 17, 10), by=supervisor, new_due_on=target,
                        reason=extension_reason.format(day=_md(target)))
        return registered_on

    # -- the stories ------------------------------------------------------------------------

    def build(self) -> None:
        d, at = self.days, self.at
        I = services.ReferralInput  # noqa: E741

        # 1. 小雨: joint investigation, judicial aid granted, reply on time, closed.
        received = d.back(80)
        offence_on = received - timedelta(days=110)
        xiaoyu = self.story("xiaoyu-judicial-aid", sender="fed.officer", pseudonym="小雨",
                            receiver=DEPARTMENT5, data=I(
            source=LeadSource.PETITION_RECEPTION.value, is_urgent=True,
            help_requested=[HelpKind.JUDICIAL_AID.value],
            criminal_case_number=_case_number(offence_on, 218), offence="故意伤害罪（致人死亡）",
            offence_on=offence_on, consent_on=d.before(received, 3),
            consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "小雨的丈夫在一起刑事案件中遇害身亡。小雨本人患严重脊柱疾病，无法就业，每月需"
                "支付医疗费用；两个孩子一个读小学、一个读职高；婆婆年逾八十，每月养老金约2000元。"
                "丈夫生前每月收入3000余元，是家庭主要经济来源，案发后家庭生活陷入困境。小雨不符合"
                "低保条件，经区妇联信访接待了解，可能符合国家司法救助条件，特此移送，请依法审查。")))
        registered = self.filed_and_registered(xiaoyu, received, registrar="prosecutor",
                                               handler="prosecutor")
        visit = d.after(registered, 3)
        self.comment(xiaoyu, at(registered, 15, 0), by="fed.officer", text=(
            "小雨家庭成员多、支出情况复杂，建议双方联合走访街道、社区和家中，逐一核实家庭成员、"
            "就学、养老金、就业和医疗支出情况，以便确定救助金额和帮扶措施。"))
        self.comment(xiaoyu, at(d.after(registered), 9, 40), by="prosecutor", text=(
            f"同意联合调查。拟于{_md(visit)}上午走访民族街道办事处、小雨所在社区及其家中，"
            "请区妇联派员参加。"))
        self.comment(xiaoyu, at(d.after(registered), 11, 5), by="fed.officer",
                     text=f"区妇联由王芳参加，{_md(visit)}上午九点在街道办事处会合。")
        self.note(xiaoyu, at(visit, 17, 0), by="prosecutor", text=(
            "已与区妇联联合走访街道、社区及家中：家庭成员4人（小雨、两个孩子和婆婆），两个孩子分别就读小学和职高，婆婆"
            "养老金每月约2000元，小雨每月医疗支出约1500元，家庭无其他稳定收入。"))
        self.note(xiaoyu, at(d.after(visit, 3), 16, 30), by="prosecutor",
                  text="司法救助审查报告已制作完毕，报部门负责人审批。")
        replied = d.on_or_before(d.reply_due(received) - timedelta(days=5))
        self.reply(xiaoyu, at(replied, 10, 0), by="prosecutor",
                   outcome=ReplyOutcome.AID_CASE_OPENED, text=(
            "已立司法救助案件。经与区妇联联合调查核实，小雨家庭因案导致生活陷入困境，"
            "符合国家司法救助条件，本院已决定给予司法救助金并发放到位。建议区妇联同步"
            "提供技能培训和就业信息，并持续跟踪回访。"))
        self.close(xiaoyu, at(d.after(replied, 2), 14, 0), by="fed.officer")

        # 2. 晓丽: judicial aid after a violent crime, urgent, replied on time (not yet closed).
        received = d.back(50)
        offence_on = received - timedelta(days=40)
        xiaoli = self.story("xiaoli-judicial-aid", sender="fed.minzu", pseudonym="晓丽",
                            receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value, is_urgent=True,
            help_requested=[HelpKind.JUDICIAL_AID.value],
            criminal_case_number=_case_number(offence_on, 305), offence="故意伤害罪",
            offence_on=offence_on, consent_on=d.before(received, 2),
            consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                f"晓丽于{offence_on.month}月遭受暴力犯罪侵害，本人及两名年幼子女均受到严重心理创伤。"
                "案发后晓丽无法正常工作，家庭收入中断，子女就学和心理治疗费用没有着落。区妇联与街道"
                "妇联已每月安排一次心理疏导。晓丽申请国家司法救助，特此移送，请依法审查办理。")))
        registered = self.filed_and_registered(xiaoli, received, registrar="proc.head",
                                               handler="prosecutor")
        self.comment(xiaoli, at(d.after(registered, 2), 10, 30), by="fed.minzu", text=(
            "晓丽和两个孩子的创伤反应仍然明显。经联合评审，建议心理疏导由每月一次改为每周一次，"
            "成人与未成年人分开进行。"))
        self.comment(xiaoli, at(d.after(registered, 3), 9, 15), by="prosecutor",
                     text="同意评审意见。本院在救助决定中一并考虑心理疏导费用，请街道妇联继续落实。")
        self.note(xiaoli, at(d.after(registered, 5), 16, 0), by="prosecutor",
                  text="已调取刑事判决书，被告人无赔偿能力；家庭收入材料已由街道妇联补齐。")
        replied = d.on_or_before(d.reply_due(received) - timedelta(days=3))
        self.reply(xiaoli, at(replied, 11, 0), by="prosecutor",
                   outcome=ReplyOutcome.AID_CASE_OPENED, text=(
            "已立司法救助案件。本院决定给予晓丽司法救助金，其中包括两名未成年子女的"
            "心理疏导费用，救助金已发放。"))

        # 3. 晓丽之子: a separate request, withdrawn before registration (joined to hers).
        xiaoli_send = d.on_or_before(received)
        son = self.story("xiaoli-son-judicial-aid", sender="fed.minzu", pseudonym="晓丽之子",
                         receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value,
            help_requested=[HelpKind.JUDICIAL_AID.value, HelpKind.COUNSELLING.value],
            criminal_case_number=_case_number(offence_on, 305), offence="故意伤害罪",
            offence_on=offence_on, consent_on=d.before(received, 2),
            consent_method=ConsentMethod.GUARDIAN.value,
            circumstances=(
                "晓丽之子年幼，目睹母亲遭受暴力侵害，出现惊恐、失眠、不愿上学等创伤反应，需要"
                "较长时间的心理治疗。监护人晓丽同意移送，申请为其单独办理司法救助。")))
        son_sent = d.after(xiaoli_send)
        self.draft(son, at(xiaoli_send, 14, 0))
        self.send(son, at(son_sent, 10, 0))
        self.withdraw(son, at(d.after(son_sent, 2), 11, 0), reason=(
            "经与承办检察官沟通，晓丽之子的救助需求并入晓丽本人的司法救助申请一并审查，本函撤回。"))

        # 4. 晓丽's car: legal aid is not the procuratorate's, referred on; replied late.
        received = d.back(75)
        car = self.story("xiaoli-legal-aid", sender="fed.minzu", pseudonym="晓丽",
                         receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value, help_requested=[HelpKind.LEGAL_AID.value],
            consent_on=d.before(received, 1), consent_method=ConsentMethod.ORAL_RECORDED.value,
            circumstances=(
                "晓丽名下登记的一辆小型轿车被他人占用，对方主张车辆系其出资购买，双方就车辆权属"
                "发生争议，需要通过民事诉讼解决。晓丽经济困难，无力聘请律师，请求协调法律援助。")))
        registered = self.filed_and_registered(car, received, registrar="prosecutor",
                                               handler="prosecutor")
        self.note(car, at(d.after(registered, 4), 15, 0), by="prosecutor",
                  text="经审查，车辆权属纠纷属民事争议，不属于司法救助范围，正与区司法局协调转介。")
        due = d.reply_due(received)
        self.comment(car, at(d.on_or_after(due + ONE_DAY), 9, 30), by="fed.minzu",
                     text="回告期限已到，请告知法律援助的协调情况。")
        self.reply(car, at(d.on_or_after(due + timedelta(days=4)), 15, 30), by="prosecutor",
                   outcome=ReplyOutcome.REFERRED_ELSEWHERE, text=(
                       "该车辆权属纠纷属民事争议，不属于国家司法救助范围。本院已转介区司法局法律援助，"
                       "区司法局已受理其法律援助申请并指派律师。因与区司法局协调受理事宜，回告迟于"
                       "期限，特此说明。"))

        # 5. 小燕: not eligible (full compensation paid), replied on time, closed.
        received = d.back(100)
        offence_on = received - timedelta(days=150)
        xiaoyan = self.story("xiaoyan-not-eligible", sender="fed.officer", pseudonym="小燕",
                             receiver=DEPARTMENT5, data=I(
            source=LeadSource.HOTLINE.value, help_requested=[HelpKind.JUDICIAL_AID.value],
            criminal_case_number=_case_number(offence_on, 97), offence="寻衅滋事罪",
            offence_on=offence_on, consent_on=d.before(received, 1),
            consent_method=ConsentMethod.ORAL_RECORDED.value,
            circumstances=(
                "小燕的丈夫在一起寻衅滋事案中被打伤，住院治疗一个月，出院后暂不能工作。小燕通过"
                "妇联热线反映家庭生活困难，希望申请司法救助。")))
        registered = self.filed_and_registered(xiaoyan, received, registrar="prosecutor",
                                               handler="prosecutor")
        replied = d.on_or_before(d.reply_due(received) - timedelta(days=8))
        self.reply(xiaoyan, at(replied, 10, 30), by="prosecutor", outcome=ReplyOutcome.NOT_ELIGIBLE,
                   text=("不符合救助条件。理由：被告人已在刑事附带民事诉讼中全额赔偿医疗费、误工费"
                         "等损失，小燕家庭人均收入高于本市最低生活保障标准，不属于因案导致生活陷入"
                         "急迫困境的情形。建议区妇联继续关注其家庭情况，情况变化时可再次移送。"))
        self.comment(xiaoyan, at(d.after(replied), 9, 0), by="fed.officer",
                     text="收到。已向当事人说明审查结果，区妇联将继续关注其家庭情况。")
        self.close(xiaoyan, at(d.after(replied), 9, 30), by="fed.officer")

        # 6-9. Registered and open, due in 7 days, in 1 day, today, overdue by 10 days.
        received = d.receipt_for(self.today + timedelta(days=7))[0]
        offence_on = received - timedelta(days=200)
        xiaojing = self.story("xiaojing-due-in-7", sender="fed.officer", pseudonym="小静",
                              receiver=DEPARTMENT5, data=I(
            source=LeadSource.PETITION_RECEPTION.value,
            help_requested=[HelpKind.JUDICIAL_AID.value],
            criminal_case_number=_case_number(offence_on, 412), offence="故意伤害罪",
            offence_on=offence_on, consent_on=d.before(received, 2),
            consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "小静遭前夫持刀伤害，左手肌腱断裂，经鉴定为轻伤一级。被告人已被判处有期徒刑，但"
                "无赔偿能力。小静独自抚养一名初中生，因伤无法继续从事保洁工作，申请司法救助。")))
        self.due_in(xiaojing, 7, registrar="prosecutor", handler="prosecutor",
                    supervisor="proc.head",
                    notes=[("prosecutor", "已调取刑事判决书及伤情鉴定意见，正在核实家庭收入情况。")])

        received = d.receipt_for(self.today + timedelta(days=1))[0]
        offence_on = received - timedelta(days=20)
        alan = self.story("alan-due-in-1", sender="fed.minzu", pseudonym="阿兰",
                          receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value, is_urgent=True,
            help_requested=[HelpKind.JUDICIAL_AID.value], offence="抢劫罪", offence_on=offence_on,
            consent_on=d.before(received, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "阿兰在回家途中遭抢劫，头部受重伤，至今仍在住院治疗，已产生医疗费用4万余元，家中"
                "还有一位患病老人需要照顾。犯罪嫌疑人已被批准逮捕，但无赔偿能力。情况紧急，请优先办理。")))
        self.due_in(alan, 1, registrar="proc.head", handler="prosecutor", supervisor="proc.head",
                    notes=[("prosecutor", "已到医院看望阿兰，了解伤情，医疗费用票据已收集。"),
                           ("prosecutor", "救助审查报告已报部门负责人审批，拟于期限内回告。")],
                    extension_reason="阿兰的医疗费用需待出院结算后确定，经部门负责人批准，回告期限"
                                     "延长至{day}。")

        received = d.receipt_for(self.today)[0]
        offence_on = received - timedelta(days=90)
        xiaohong = self.story("xiaohong-due-today", sender="fed.officer", pseudonym="小红",
                              receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value, help_requested=[HelpKind.JUDICIAL_AID.value],
            criminal_case_number=_case_number(offence_on, 356), offence="故意伤害罪",
            offence_on=offence_on, consent_on=d.before(received, 3),
            consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "小红之子在校外遭他人殴打致重伤，小红为照顾孩子辞去工作，家庭仅靠丈夫打零工维持，"
                "孩子后续康复费用没有着落，申请司法救助。")))
        self.due_in(xiaohong, 0, registrar="prosecutor", handler="proc.head",
                    supervisor="proc.head",
                    notes=[("proc.head", "救助金额已经检察委员会研究确定，待制作回告函。")])

        received = d.receipt_for(self.today - timedelta(days=10))[0]
        offence_on = received - timedelta(days=120)
        xiuying = self.story("xiuying-overdue-10", sender="fed.officer", pseudonym="秀英",
                             receiver=DEPARTMENT5, data=I(
            source=LeadSource.PETITION_RECEPTION.value,
            help_requested=[HelpKind.JUDICIAL_AID.value],
            offence="交通肇事罪", offence_on=offence_on,
            consent_on=d.before(received, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "秀英的丈夫在一起交通肇事逃逸案中死亡，肇事者至今未查获，家庭失去主要经济来源。"
                "秀英患有慢性病，女儿正在读大学，申请司法救助。")))
        self.due_in(
            xiuying, -10, registrar="prosecutor", handler="prosecutor", supervisor="proc.head",
            notes=[("prosecutor", "已函询区公安分局交通大队，了解案件侦查及赔偿情况，尚未回复。")],
            extension_reason="需向公安机关核实肇事者查找及赔偿情况，经部门负责人批准，回告期限延长至{day}。")
        due = self.today - timedelta(days=10)
        asked = d.on_or_after(due + timedelta(days=2))
        if asked < self.today:
            self.comment(xiuying, at(asked, 9, 20), by="fed.head",
                         text="该线索已超过回告期限，请告知办理进展。")
            self.comment(xiuying, at(asked, 15, 45), by="proc.head", text=(
                "因肇事者未到案，需向公安机关核实案件进展和赔偿情况，核实后即回告，请谅解。"))

        # 10. 小娟: the statutory deadline has passed, but the supervisor extended it.
        received = d.back(33)
        offence_on = received - timedelta(days=60)
        xiaojuan = self.story("xiaojuan-extended", sender="fed.officer", pseudonym="小娟",
                              receiver=DEPARTMENT5, data=I(
            source=LeadSource.HOTLINE.value, help_requested=[HelpKind.JUDICIAL_AID.value],
            offence="诈骗罪", offence_on=offence_on,
            consent_on=d.before(received, 1), consent_method=ConsentMethod.ORAL_RECORDED.value,
            circumstances=(
                "小娟遭遇电信网络诈骗，被骗积蓄十余万元，其中包括丈夫的住院治疗费用。丈夫病重，"
                "家庭陷入困境，申请司法救助。")))
        registered = self.filed_and_registered(xiaojuan, received, registrar="prosecutor",
                                               handler="prosecutor")
        statutory = d.reply_due(received)
        extended_on = max(registered,
                          d.on_or_before(min(statutory, self.today) - timedelta(days=3)))
        new_due = d.on_or_after(self.today + timedelta(days=12))
        self.extend(xiaojuan, at(extended_on, 16, 40), by="proc.head", new_due_on=new_due, reason=(
            f"涉案资金追缴情况需向公安机关核实，经部门负责人批准，回告期限延长至{_md(new_due)}。"))

        # 11. 小梅: sent yesterday (the last working day), not registered yet.
        sent = d.back(1)
        xiaomei = self.story("xiaomei-sent", sender="fed.minzu", pseudonym="小梅",
                             receiver=DEPARTMENT5, data=I(
            source=LeadSource.COMMUNITY_VISIT.value, help_requested=[HelpKind.JUDICIAL_AID.value],
            offence="故意伤害罪", offence_on=sent - timedelta(days=25),
            consent_on=sent - ONE_DAY, consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "小梅长期遭受丈夫家庭暴力，近期被殴打致轻伤二级，丈夫已被以故意伤害罪立案侦查。"
                "小梅带着两个孩子暂住娘家，没有收入来源，申请司法救助。")))
        self.draft(xiaomei, at(sent, 9, 0))
        self.send(xiaomei, at(sent, 16, 0))

        # 12. 春兰: outside the district's jurisdiction, returned.
        received = d.back(20)
        offence_on = received - timedelta(days=45)
        chunlan = self.story("chunlan-returned", sender="fed.officer", pseudonym="春兰",
                             receiver=DEPARTMENT5, data=I(
            source=LeadSource.HOTLINE.value, help_requested=[HelpKind.JUDICIAL_AID.value],
            offence="抢夺罪", offence_on=offence_on,
            consent_on=d.before(received, 1), consent_method=ConsentMethod.ORAL_RECORDED.value,
            circumstances=(
                "春兰的女儿在汉阳区某商场遭抢夺，摔倒致骨折，治疗花费较大。春兰家庭困难，申请司法救助。")))
        self.draft(chunlan, at(d.before(received), 16, 0))
        self.send(chunlan, at(received, 9, 45))
        returned = d.after(received)
        self.return_(chunlan, at(returned, 15, 0), by="prosecutor", reason=(
            "不属于本院管辖：该刑事案件由汉阳区公安分局侦查、汉阳区人民检察院审查起诉，案发地亦在"
            "汉阳区。建议向汉阳区人民检察院移送，或告知申请人直接向该院提出救助申请。"))
        self.comment(chunlan, at(d.after(returned), 10, 0), by="fed.officer",
                     text="收到，已告知当事人向汉阳区人民检察院申请，区妇联将协助准备材料。")

        # 13. 小琳: a draft waiting for her signed consent.
        drafted = d.back(1)
        self.draft(self.story("xiaolin-draft", sender="fed.officer", pseudonym="小琳",
                              receiver=DEPARTMENT5, data=I(
            source=LeadSource.PETITION_RECEPTION.value,
            help_requested=[HelpKind.JUDICIAL_AID.value],
            offence="故意伤害罪", offence_on=drafted - timedelta(days=12),
            circumstances=(
                "小琳的丈夫见义勇为时被犯罪嫌疑人刺伤，目前仍在重症监护室，已花费医疗费用8万余元。"
                "待小琳签署信息共享同意书后发出。"))), at(drafted, 11, 0))

        # The procuratorate's referrals to the federation, after granting judicial aid.
        # 14. 小芳: job training, replied on time by the federation, closed.
        received = d.back(60)
        xiaofang_job = self.story("xiaofang-job-training", sender="prosecutor", pseudonym="小芳",
                                  receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value,
            help_requested=[HelpKind.JOB_TRAINING.value, HelpKind.SKILLS_TRAINING.value],
            consent_on=d.before(received, 2), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "本院已对小芳作出司法救助决定。小芳原在超市务工，案发后为照顾女儿辞职，现有意从事"
                "家政服务工作，请协调提供技能培训和就业岗位推荐。")))
        registered = self.filed_and_registered(xiaofang_job, received, registrar="fed.officer",
                                               handler="fed.officer")
        self.note(xiaofang_job, at(d.after(registered, 2), 14, 30), by="fed.officer",
                  text="已与区就业服务中心对接，下期育婴员培训班尚有名额。")
        replied = d.on_or_before(d.reply_due(received) - timedelta(days=6))
        self.reply(xiaofang_job, at(replied, 10, 0), by="fed.officer",
                   outcome=ReplyOutcome.REFERRED_ELSEWHERE, text=(
                       "已转介区就业服务中心，安排小芳参加育婴员技能培训，并推荐两个家政服务岗位；"
                       "街道妇联将持续跟踪回访。"))
        self.close(xiaofang_job, at(d.after(replied), 10, 0), by="prosecutor")

        # 15. 小芳 again: counselling for mother and daughter, due in 3 days.
        received = d.receipt_for(self.today + timedelta(days=3))[0]
        xiaofang = self.story("xiaofang-counselling-due-in-3", sender="prosecutor", pseudonym="小芳",
                              receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value, help_requested=[HelpKind.COUNSELLING.value],
            consent_on=d.before(received, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "本院在办理小芳司法救助案件中了解到，小芳之女目睹父亲被害经过，至今夜间惊醒、"
                "不愿上学，小芳本人情绪低落。请协调为母女二人提供心理疏导。")))
        self.due_in(xiaofang, 3, registrar="fed.officer", handler="fed.officer",
                    supervisor="fed.head",
                    notes=[("fed.officer", "已联系心晴心理咨询服务中心，首次评估定于下周。")],
                    extension_reason="首次心理评估需待咨询师排期，经部门负责人批准，回告期限延长至{day}。")

        # 16. 阿珍: job training and social assistance, urgent, overdue by 1 day.
        received = d.receipt_for(self.today - ONE_DAY)[0]
        azhen = self.story("azhen-overdue-1", sender="proc.head", pseudonym="阿珍",
                           receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value, is_urgent=True,
            help_requested=[HelpKind.JOB_TRAINING.value, HelpKind.SOCIAL_ASSISTANCE.value],
            consent_on=d.before(received, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "阿珍的丈夫被害后，她独自抚养三个孩子。本院已给予司法救助，但救助金只能缓解一时"
                "困难。阿珍有就业意愿，请协调提供技能培训和就业帮扶，并协助申请临时救助。")))
        self.due_in(azhen, -1, registrar="fed.head", handler="fed.officer", supervisor="fed.head",
                    notes=[("fed.officer", "已与区就业服务中心对接，下期培训班下月开班；临时救助申请材料"
                                         "已交街道。")],
                    extension_reason="培训报名需先完成体检，经部门负责人批准，回告期限延长至{day}。")

        # 17. 小琴: counselling, replied late by the federation's supervisor.
        received = d.back(65)
        xiaoqin = self.story("xiaoqin-counselling", sender="proc.head", pseudonym="小琴",
                             receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value, help_requested=[HelpKind.COUNSELLING.value],
            consent_on=d.before(received, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "小琴遭受性侵害后出现严重抑郁情绪，本院已决定给予司法救助。请协调提供长期心理疏导，"
                "并注意保护当事人隐私。")))
        self.filed_and_registered(xiaoqin, received, registrar="fed.officer", handler="fed.officer")
        due = d.reply_due(received)
        self.comment(xiaoqin, at(d.on_or_after(due + ONE_DAY), 9, 10), by="proc.head",
                     text="回告期限已过，请告知心理疏导的安排情况。")
        self.reply(xiaoqin, at(d.on_or_after(due + timedelta(days=2)), 16, 0), by="fed.head",
                   outcome=ReplyOutcome.OTHER, text=(
                       "已安排心晴心理咨询服务中心每周一次心理疏导，首次疏导已完成。因需匹配女性"
                       "咨询师，回告迟于期限，特此说明。"))

        # 18. 春梅: sent a week ago, the federation has not registered it in time.
        registration_days = get_setting("registration_working_days")
        sent = d.back(6)
        while d.registration_due(sent, registration_days) >= self.today:
            sent = d.before(sent)
        chunmei = self.story("chunmei-registration-late", sender="prosecutor", pseudonym="春梅",
                             receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value,
            help_requested=[HelpKind.SOCIAL_ASSISTANCE.value, HelpKind.OTHER.value],
            consent_on=d.before(sent, 1), consent_method=ConsentMethod.WRITTEN.value,
            circumstances=(
                "春梅被丈夫故意伤害致残，生活不能完全自理，本院已给予司法救助。请协调社会救助和"
                "残疾人帮扶，并关注其子女的就学情况。")))
        self.draft(chunmei, at(d.before(sent), 16, 30))
        self.send(chunmei, at(sent, 10, 20))
        reminded = d.back(1)
        if reminded > d.registration_due(sent, registration_days):
            self.comment(chunmei, at(reminded, 10, 0), by="prosecutor",
                         text="此件已发出多日，请贵会尽快登记并指定承办人。")

        # 19. 小琴 again: skills training, a draft of the procuratorate's supervisor.
        drafted = d.back(2)
        self.draft(self.story("xiaoqin-skills-draft", sender="proc.head", pseudonym="小琴",
                              receiver=FEDERATION, data=I(
            source=LeadSource.CASE_HANDLING.value, help_requested=[HelpKind.SKILLS_TRAINING.value],
            consent_on=drafted - ONE_DAY, consent_method=ConsentMethod.ORAL_RECORDED.value,
            circumstances=(
                "小琴心理状况好转后表示希望学习电商运营技能，以便居家就业。请协调相关技能培训。"))),
            at(drafted, 15, 0))

    # -- running ------------------------------------------------------------------------------

    def exists(self, story: _Story) -> bool:
        return db.session.scalar(sa.select(Referral.id).where(
            Referral.created_by_id == self.user(story.sender).id,
            Referral.submission_token == story.token)) is not None

    def run(self) -> int:
        """Tell the stories whose referral is not there yet, all steps in time order (so
        that numbers follow the sending order); returns how many were new."""
        steps = []
        new = [story for story in self.stories if not self.exists(story)]
        for i, story in enumerate(new):
            ordered = sorted(enumerate(story.steps), key=lambda step: (step[1][0], step[0]))
            assert ordered[0][0] == 0, f"demo referral {story.slug}: a step before its draft"
            assert ordered[-1][1][0] < self.now, f"demo referral {story.slug}: a step in the future"
            steps.extend((when, i, j, story, action) for j, (when, action) in ordered)
        waiting = set()
        for when, _i, _j, story, action in sorted(steps, key=lambda step: step[:3]):
            if story.slug in waiting:
                WAITING_FOR_CASE.append((when, story.slug, action))
                continue
            try:
                action()
            except _WaitForCase:
                waiting.add(story.slug)
                WAITING_FOR_CASE.append((when, story.slug, action))
            except DomainError as error:
                raise RuntimeError(f"demo referral {story.slug}, step at {when.isoformat()} "
                                   f"({story.ref.state if story.ref else 'no draft'}): "
                                   f"{error.message}") from error
        db.session.flush()
        return len(new)


def load_referral_demo(now: datetime, log: Callable[[str], None] = print) -> None:
    demo = _DemoReferrals(now)
    demo.build()
    new = demo.run()
    log(f"  referrals: {new} new, {len(demo.stories)} in the demo")


def register_demo_step() -> None:
    """Add the referral step to the demo, once however often this is called."""
    if not any(step.name == STEP_NAME for step in DEMO_STEPS):
        DEMO_STEPS.append(DemoStep(STEP_NAME, load_referral_demo))


register_demo_step()
