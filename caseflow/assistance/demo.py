"""The assistance plans of the demo dataset (issue 6), told through the real service
functions, as the demo users, at moments in the past.

晓丽 (docs/domain.md): a violent crime; she and her two young children traumatised. 李娟 of
民族街妇联, who recorded her, opens her plan a few days after the crime (the plan runs in
the opener's organisation), her two children joining it as family members:

- counselling by 心晴心理, monthly at first, accepted by 周敏, two sessions with the
  children present; then, on the day of the joint review the judicial aid referral's
  comment reports, **weekly**, with adults and minors seen separately (the reason is in
  the timeline), and weekly sessions since;
- counselling of their own for each child (minors), weekly, seen separately, from the
  review on; the daughter's last weekly session was missed (overdue today);
- legal aid from 区司法局 for the ownership dispute over the car registered to her,
  sent before the procuratorate's reply to the legal aid referral says the bureau has
  taken it, accepted by 赵静, a meeting with the lawyer, the lawsuit filed and pending;
- job training from 区就业服务中心, accepted by 孙丽, weekly classes;
- skills training, sent to 区就业服务中心 yesterday, waiting for its answer;
- follow-up by 李娟 herself, monthly; the last contact is a few days overdue.

Its dates follow the demo referrals about her (``caseflow.referrals.demo``: the judicial
aid referral's offence date and the day of its joint review comment, the reply to the
legal aid referral), whatever day they were loaded on; without them (or when they are
too recent to tell the story before today), they are relative to today.

小雨's aid case (``caseflow.investigations.demo``) ends with its approved measures ready
to be taken over: they are left so. The investigations demo (and its tests) present the
case that way, and the take-over is the action the demo's officers can try themselves
(``services.plan_from_aid_case``, the aid case page's button).

The step is idempotent: a woman who already has a plan (open or closed) in the
organisation of the officer who would open it is skipped whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from caseflow.assistance import services
from caseflow.assistance.models import AssistancePlan, Frequency, ItemKind, ServiceItem
from caseflow.core.calendar.rules import add_months
from caseflow.core.db import local_date
from caseflow.core.demo import DEMO_STEPS, DemoStep
from caseflow.core.errors import DomainError
from caseflow.core.people.models import Person
from caseflow.extensions import db
from caseflow.investigations.demo import DEPARTMENT5, STEP_NAME as CASE_STEP_NAME
from caseflow.referrals.demo import TOKEN_PREFIX as REFERRAL_TOKEN_PREFIX, DemoBuilder
from caseflow.referrals.models import Referral

STEP_NAME = "assistance plans (counselling, legal aid, job training, follow-up)"
ONE_DAY = timedelta(days=1)

COUNSELLING, JUSTICE, EMPLOYMENT = "jh-counselling", "jh-justice", "jh-employment"

#: Why 晓丽's counselling became weekly (the joint review of the referral's comment).
WEEKLY_REASON = (
    "联合评审意见：{crime}暴力犯罪案发后，晓丽和两个孩子的创伤反应仍然明显（夜间惊醒、回避外出，"
    "儿子不愿上学），每月一次的疏导间隔过长。经区妇联、民族街妇联、第五检察部与心晴心理咨询"
    "服务中心联合评审，心理疏导由每月一次改为每周一次，成人与未成年人分开进行，两个孩子另行"
    "安排未成年人心理疏导。")
LEGAL_MATTER = (
    "晓丽名下登记的一辆小型轿车被他人占用，对方主张车辆系其出资购买，双方就车辆权属发生争议，"
    "需通过民事诉讼确认车辆归晓丽所有并返还车辆。")


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


@dataclass
class _Story:
    """One demo plan and what happens to it, each step at its moment."""

    slug: str
    pseudonym: str
    opener: str  # the officer who opens the plan (her organisation runs it)
    steps: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    plan: AssistancePlan | None = None
    items: dict[str, ServiceItem] = field(default_factory=dict)


class _DemoPlans(DemoBuilder):
    def __init__(self, now: datetime):
        super().__init__(now)
        self.stories: list[_Story] = []

    # -- lookups --------------------------------------------------------------------

    def person(self, pseudonym: str, recorder: str) -> Person:
        person = db.session.scalar(sa.select(Person).where(
            Person.pseudonym == pseudonym,
            Person.organisation_id == self.user(recorder).organisation_id)
            .order_by(Person.id).limit(1))
        if person is None:
            raise LookupError(f"demo person {pseudonym} is missing; the demo core loads it")
        return person

    def referral(self, slug: str, sender: str) -> Referral | None:
        """The demo referral ``slug`` if the 5th department has registered it."""
        return db.session.scalar(sa.select(Referral).where(
            Referral.created_by_id == self.user(sender).id,
            Referral.submission_token == REFERRAL_TOKEN_PREFIX + slug,
            Referral.receiver_org_id == self.org(DEPARTMENT5).id,
            Referral.state.in_(("registered", "replied", "closed"))))

    # -- the steps of a story -----------------------------------------------------------

    def story(self, slug: str, *, pseudonym: str, opener: str) -> _Story:
        story = _Story(slug, pseudonym, opener)
        self.stories.append(story)
        return story

    @staticmethod
    def _step(story: _Story, when: datetime, action: Callable[[], None]) -> None:
        story.steps.append((when, action))

    def open(self, story: _Story, when: datetime, *, summary: str) -> None:
        def run():
            story.plan = services.open_plan(
                actor=self.user(story.opener), now=when, summary=summary,
                person=self.person(story.pseudonym, story.opener))
        self._step(story, when, run)

    def member(self, story: _Story, when: datetime, *, person: tuple[str, str],
               relation: str) -> None:
        """At ``when``: ``person`` (pseudonym, recorder), already recorded, joins the plan."""
        def run():
            services.add_family_member(story.plan, actor=self.user(story.opener), now=when,
                                       relation=relation, person=self.person(*person))
        self._step(story, when, run)

    def add(self, story: _Story, key: str, when: datetime, *, kind: ItemKind, provider: str,
            frequency: Frequency, beneficiary: tuple[str, str] | None = None,
            details: str, legal_matter: str | None = None, by: str | None = None) -> None:
        """At ``when``: add the item ``key``, starting that day. ``beneficiary``:
        (pseudonym, recorder) of a family member, the woman herself when None."""
        def run():
            who = (self.person(*beneficiary) if beneficiary is not None
                   else story.plan.person)
            story.items[key] = services.add_item(
                story.plan, actor=self.user(by or story.opener), now=when,
                data=services.ItemInput(
                    kind=kind.value, beneficiary=who, provider=self.org(provider),
                    officer=self.user(by or story.opener), frequency=frequency.value,
                    starts_on=local_date(when), details=details, legal_matter=legal_matter))
        self._step(story, when, run)

    def act(self, story: _Story, key: str, when: datetime, service: Callable, *, by: str,
            **kwargs) -> None:
        """At ``when``: ``service(item, actor=by, now=when, **kwargs)``."""
        def run():
            service(story.items[key], actor=self.user(by), now=when, **kwargs)
        self._step(story, when, run)

    def send(self, story: _Story, key: str, when: datetime, *, by: str | None = None) -> None:
        self.act(story, key, when, services.send_to_provider, by=by or story.opener)

    def accept(self, story: _Story, key: str, when: datetime, *, by: str) -> None:
        self.act(story, key, when, services.accept, by=by)

    def session(self, story: _Story, key: str, held_on: date, *, by: str, attended: str,
                notes: str, seen_separately: bool | None = None, outcome: str | None = None,
                hour: int = 17, minute: int = 0) -> None:
        """A session held on ``held_on``, recorded that day at ``hour``:``minute``."""
        self.act(story, key, self.at(held_on, hour, minute), services.record_session, by=by,
                 data=services.SessionInput(held_on=held_on, attended=attended, notes=notes,
                                            seen_separately=seen_separately, outcome=outcome))

    # -- dates ----------------------------------------------------------------------------

    def weekly(self, first: date, *, until: date, skip_last: bool = False) -> list[date]:
        """Weekly session days from ``first``, each the next due day (or the last working
        day before it, when that is a rest day), all before ``until``; so the next one
        after the last is due on or after ``until``. ``skip_last``: the last one was
        missed (its due day is before ``until``)."""
        days: list[date] = []
        due = first
        while due < until:
            held = self.days.on_or_before(due)
            if days and held <= days[-1] or held < first:
                held = due  # a long holiday: the session is held all the same
            days.append(held)
            due = held + timedelta(days=7)
        if skip_last and len(days) > 1:
            days.pop()
        return days

    def xiaoli_anchors(self) -> tuple[date, date, date]:
        """(the crime, the joint review that made counselling weekly, the procuratorate's
        reply that the justice bureau has taken the legal aid): from the demo referrals
        when they tell it early enough, else relative to today."""
        d = self.days
        fallback = (self.today - timedelta(days=90), d.back(46), d.back(41))
        aid = self.referral("xiaoli-judicial-aid", "fed.minzu")
        legal = self.referral("xiaoli-legal-aid", "fed.minzu")
        if aid is None or aid.offence_on is None or legal is None or legal.replied_at is None:
            return fallback
        crime = aid.offence_on
        review = d.after(local_date(aid.registered_at), 2)  # the referral's comment that day
        replied = local_date(legal.replied_at)
        if not (crime + timedelta(days=40) < review <= d.back(30)
                and crime + timedelta(days=20) < replied <= d.back(20)):
            return fallback
        return crime, review, replied

    # -- the stories ------------------------------------------------------------------------

    def build(self) -> None:
        self.build_xiaoli()

    def build_xiaoli(self) -> None:
        d, at = self.days, self.at
        story = self.story("xiaoli", pseudonym="晓丽", opener="fed.minzu")
        crime, review, replied = self.xiaoli_anchors()
        son, daughter = ("晓丽之子", "fed.minzu"), ("晓丽之女", "fed.minzu")

        # Opened two working days after the crime; counselling monthly, follow-up monthly.
        opened = d.after(crime, 2)
        accepted = d.after(opened)
        first = d.after(accepted)
        second = d.on_or_before(add_months(first, 1))
        if second >= review:
            second = d.before(review)  # the second monthly session, a little early
        self.open(story, at(opened, 9, 0), summary=(
            f"晓丽于{_md(crime)}遭受暴力犯罪侵害，本人及两名年幼子女（儿子、女儿）均受到严重心理"
            "创伤，家庭收入中断。民族街妇联会同区妇联为其安排心理疏导，协调法律援助和就业帮扶，"
            "并持续跟踪回访。"))
        self.member(story, at(opened, 9, 5), person=son, relation="儿子")
        self.member(story, at(opened, 9, 10), person=daughter, relation="女儿")
        self.add(story, "counselling", at(opened, 9, 20), kind=ItemKind.COUNSELLING,
                 provider=COUNSELLING, frequency=Frequency.MONTHLY, details=(
            "案发后晓丽情绪极度紧张、失眠，两个孩子受到惊吓。由心晴心理咨询服务中心每月上门"
            "心理疏导一次，母子三人一同进行。"))
        self.send(story, "counselling", at(opened, 9, 40))
        self.add(story, "follow-up", at(opened, 10, 0), kind=ItemKind.FOLLOW_UP,
                 provider="jh-fed-minzu", frequency=Frequency.MONTHLY, details=(
            "民族街妇联每月回访一次：晓丽及两个孩子的身心状况、生活和就学情况、各项帮扶的落实。"))
        self.send(story, "follow-up", at(opened, 10, 10))
        self.accept(story, "follow-up", at(opened, 10, 15), by="fed.minzu")
        self.accept(story, "counselling", at(accepted, 9, 30), by="counsellor")

        together = "晓丽、晓丽之子、晓丽之女（母子三人一同进行）"
        self.session(story, "counselling", first, by="counsellor", attended=together,
                     seen_separately=False, notes=(
            "首次上门疏导。晓丽反复回忆案发经过，夜间难以入睡；两个孩子害怕独处，儿子不愿去学校。"
            "进行情绪稳定化训练，教授放松呼吸方法，建立安全感。"),
                     outcome="情绪初步稳定，约定每月一次。")
        self.session(story, "counselling", second, by="counsellor", attended=together,
                     seen_separately=False, notes=(
            "第二次疏导。晓丽睡眠略有改善，但仍回避外出；孩子在母亲面前压抑情绪，儿子仍夜间"
            "惊醒。母子同场时孩子不愿表达，建议成人与未成年人分开疏导并提高频次。"),
                     outcome="建议提请联合评审，调整疏导频次和方式。")

        # The joint review: weekly, adults and minors separately; the children's own items.
        self.act(story, "counselling", at(review, 11, 0), services.change_frequency,
                 by="fed.minzu", frequency=Frequency.WEEKLY.value,
                 reason=WEEKLY_REASON.format(crime=_md(crime)))
        for key, child, what in (("son-counselling", son, "儿子上小学，目睹母亲受害后惊恐、失眠、"
                                                          "不愿上学"),
                                 ("daughter-counselling", daughter, "女儿年幼，受惊吓后黏人、"
                                                                   "夜间哭闹")):
            self.add(story, key, at(review, 11, 10), kind=ItemKind.COUNSELLING,
                     provider=COUNSELLING, frequency=Frequency.WEEKLY, beneficiary=child,
                     details=f"{what}。按联合评审意见，由儿童心理咨询师每周单独疏导一次，不与成人同场。")
            self.send(story, key, at(review, 11, 20))
            self.accept(story, key, at(review, 15, 0), by="counsellor")

        weekly_from = d.after(review)
        for i, held in enumerate(self.weekly(weekly_from, until=self.today)):
            self.session(story, "counselling", held, by="counsellor", hour=17,
                         attended="晓丽（成人单独进行）", seen_separately=True, notes=(
                "每周疏导（成人单独）。" + ("首次单独疏导：晓丽能够较完整地讲述案发后的感受，"
                                          "讨论如何在孩子面前表达情绪。" if i == 0 else
                                          "睡眠和外出情况继续改善，练习应对闪回的方法。")))
        for held in self.weekly(weekly_from, until=self.today):
            self.session(story, "son-counselling", held, by="counsellor", minute=10,
                         attended="晓丽之子（未成年人单独进行，家长在室外等候）", seen_separately=True,
                         notes="儿童心理疏导：沙盘游戏和绘画表达，讨论上学路上的担心。")
        for held in self.weekly(weekly_from, until=self.today, skip_last=True):
            self.session(story, "daughter-counselling", held, by="counsellor", minute=20,
                         attended="晓丽之女（未成年人单独进行，家长在室外等候）", seen_separately=True,
                         notes="儿童心理疏导：游戏治疗，建立安全感，练习与母亲短暂分离。")

        # Legal aid for the car, taken by the justice bureau before the procuratorate's reply.
        sent = max(d.before(replied, 6), d.after(opened))
        taken = d.after(sent, 2)
        met = d.after(taken, 2)
        filed = min(d.after(met, 8), d.back(3))
        self.add(story, "legal-aid", at(sent, 10, 0), kind=ItemKind.LEGAL_AID, provider=JUSTICE,
                 frequency=Frequency.ONCE, legal_matter=LEGAL_MATTER, details=(
            "晓丽经济困难，无力聘请律师。经第五检察部协调，请区司法局为其提供法律援助，代理车辆"
            "权属纠纷民事诉讼。"))
        self.send(story, "legal-aid", at(sent, 10, 10))
        self.accept(story, "legal-aid", at(taken, 14, 0), by="justice.worker")
        self.act(story, "legal-aid", at(met, 9, 0), services.reveal_beneficiary,
                 by="justice.worker", purpose="指派律师代理车辆权属纠纷诉讼，核对当事人身份")
        self.session(story, "legal-aid", met, by="justice.worker", hour=16,
                     attended="晓丽、法律援助律师", notes=(
            "指派律师会见晓丽，了解车辆购买、登记和被占用的经过，收集机动车登记证书、购车发票和"
            "付款记录，确定以确认车辆所有权并返还车辆为诉讼请求。"))
        self.act(story, "legal-aid", at(filed, 16, 30), services.update_legal_matter,
                 by="justice.worker", matter=LEGAL_MATTER, lawsuit_outcome=(
            f"诉讼进行中：{_md(filed)}已向江汉区人民法院提起民事诉讼，请求确认车辆归晓丽所有并"
            "返还车辆，法院已立案受理，尚未开庭。"))

        # Job training, then skills training sent yesterday.
        added = d.back(21)
        self.add(story, "job-training", at(added, 10, 0), kind=ItemKind.JOB_TRAINING,
                 provider=EMPLOYMENT, frequency=Frequency.WEEKLY, details=(
            "晓丽案发后失去工作，心理状况好转后表示希望尽快就业。请区就业服务中心安排就业培训"
            "（每周一次课），并提供就业岗位信息。"))
        self.send(story, "job-training", at(added, 10, 10))
        self.accept(story, "job-training", at(d.after(added), 9, 30), by="employment.worker")
        for i, held in enumerate(self.weekly(d.after(added, 3), until=self.today)):
            self.session(story, "job-training", held, by="employment.worker", hour=17, minute=30,
                         attended="晓丽", notes=(
                "就业培训第一课：职业指导和就业意向评估。晓丽有收银和客服工作经验，希望从事时间"
                "灵活、便于接送孩子的工作。" if i == 0 else
                "就业培训：求职技能、简历制作和模拟面试；介绍了两个社区附近的客服岗位。"))
        asked = d.back(1)
        self.add(story, "skills-training", at(asked, 15, 0), kind=ItemKind.SKILLS_TRAINING,
                 provider=EMPLOYMENT, frequency=Frequency.ONCE, details=(
            "根据就业意向评估，推荐晓丽参加区就业服务中心下期电商客服职业技能培训班（可取得"
            "职业技能等级证书），请安排名额。"))
        self.send(story, "skills-training", at(asked, 15, 10))

        # Follow-up: monthly contacts, the last one due a few days ago and not made yet.
        missed = d.back(3)
        contacts, contact = [], add_months(missed, -1)
        while (held := d.on_or_before(contact)) > opened:
            contacts.insert(0, held)
            contact = add_months(contact, -1)
        for i, held in enumerate(contacts):
            self.session(story, "follow-up", held, by="fed.minzu", hour=18, attended="晓丽", notes=(
                "上门回访：晓丽情绪仍不稳定，白天由邻居陪伴；心理疏导已开始，车辆被占用一事已"
                "记录，将协调法律援助。" if i == 0 else
                "上门回访：了解晓丽和两个孩子的情况，心理疏导、法律援助和就业帮扶按计划进行；"
                "儿子已恢复上学。"))

    # -- running ------------------------------------------------------------------------------

    def exists(self, story: _Story) -> bool:
        """Whether the woman already has a plan in the opener's organisation."""
        person = self.person(story.pseudonym, story.opener)
        return db.session.scalar(sa.select(AssistancePlan.id).where(
            AssistancePlan.person_id == person.id,
            AssistancePlan.organisation_id == self.user(story.opener).organisation_id)
            .limit(1)) is not None

    def run(self) -> list[_Story]:
        """Tell the stories whose plan is not there yet, all steps in time order; returns
        the new ones."""
        steps = []
        new = [story for story in self.stories if not self.exists(story)]
        for i, story in enumerate(new):
            ordered = sorted(enumerate(story.steps), key=lambda step: (step[1][0], step[0]))
            assert ordered[0][0] == 0, f"demo plan {story.slug}: a step before its opening"
            assert ordered[-1][1][0] < self.now, f"demo plan {story.slug}: a step in the future"
            steps.extend((when, i, j, story, action) for j, (when, action) in ordered)
        for when, _i, _j, story, action in sorted(steps, key=lambda step: step[:3]):
            try:
                action()
            except DomainError as error:
                raise RuntimeError(f"demo plan {story.slug}, step at {when.isoformat()}: "
                                   f"{error.message}") from error
        db.session.flush()
        return new


def _ready_aid_cases() -> list:
    """The demo's aid cases whose approved measures wait to be taken over."""
    from caseflow.investigations.models import AidCase, MeasureState, RecommendedMeasure

    return db.session.scalars(sa.select(AidCase).where(sa.exists().where(
        RecommendedMeasure.case_id == AidCase.id,
        RecommendedMeasure.state == MeasureState.READY.value)).order_by(AidCase.id)).all()


def load_assistance_demo(now: datetime, log: Callable[[str], None] = print) -> None:
    demo = _DemoPlans(now)
    demo.build()
    new = demo.run()
    log(f"  assistance plans: {len(new)} new, {len(demo.stories)} in the demo")
    today = local_date(now)
    for story in new:
        items = story.plan.items
        overdue = sum(item.is_overdue(today) for item in items)
        log(f"    {story.pseudonym} ({story.plan.organisation.short_name}): "
            f"{len(story.plan.members)} family members, {len(items)} items, {overdue} overdue")
    for case in _ready_aid_cases():
        log(f"    {case.number} {case.applicant.pseudonym}: approved measures left to take over")


def register_demo_step() -> None:
    """Add the assistance step to the demo (after the aid cases), once however often
    this is called."""
    if not any(step.name == STEP_NAME for step in DEMO_STEPS):
        assert any(step.name == CASE_STEP_NAME for step in DEMO_STEPS)
        DEMO_STEPS.append(DemoStep(STEP_NAME, load_assistance_demo))


register_demo_step()
