"""The judicial aid cases of the demo dataset (issue 5), told through the real service
functions, as the demo users, at moments in the past.

Two cases of the 5th procuratorial department, each opened from the demo referral that
asked for it (``caseflow.referrals.demo``, whose step runs first), so that their dates
follow that referral's registration, whatever day the demo was first loaded on:

1. 小雨 (docs/domain.md): a joint investigation by the prosecutor 张明 and the federation
   officer 王芳, three visits on the day the referral's comments agreed on (her street
   office, her community, her home), the household with every member, a proposal with
   the amount, findings, reasons and measures (skills training by the federation, job
   training and job leads by the employment service centre, follow-up by the
   federation), approved by the department's head 刘强, decided and paid before the
   referral's reply says so.
2. 阿兰 (the referral due in one day): a joint investigation with the street federation's
   officer 李娟, one visit at the hospital, the household, and 张明's proposal waiting
   for 刘强's approval.

When a referral is missing (a database loaded before its story existed, or changed by
hand), the case is opened directly for the same woman, with dates relative to today.
The step is idempotent: a story whose woman already has a case in the department is
skipped whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from stdnum.cn import ric

from caseflow.core.db import local_date
from caseflow.core.errors import DomainError
from caseflow.core.demo import DEMO_STEPS, DemoStep
from caseflow.core.people.models import Person
from caseflow.extensions import db
from caseflow.investigations.services import (
    cases as case_services, decision as decision_services, household as household_services,
    investigation as investigation_services,
)
from caseflow.investigations.models import (
    AidCase, CaseState, MeasureKind, PaymentMethod, PlaceKind, ReviewOutcome,
)
from caseflow.referrals.demo import (
    TOKEN_PREFIX as REFERRAL_TOKEN_PREFIX, WAITING_FOR_CASE, DemoBuilder, _WaitForCase,
)
from caseflow.referrals.models import Referral

STEP_NAME = "judicial aid cases (joint investigation, household, proposal, decision)"
DEPARTMENT5 = "jh-proc-5"
REGION = "420103"  # 武汉市江汉区


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _born(on: date, years: float) -> date:
    """A birth date that makes someone ``years`` old (rounded down) on ``on``."""
    return on - timedelta(days=round(years * 365.25))


def _resident_id(birth: date, seq: str) -> str:
    """An invented resident ID with its check digit (``seq``: three digits, the last
    even for a woman, odd for a man); it belongs to nobody."""
    body = f"{REGION}{birth:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")


@dataclass
class _Story:
    """One demo case and what happens to it, each step at its moment."""

    slug: str
    pseudonym: str
    recorder: str  # who recorded the woman (her organisation holds her record)
    steps: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)
    case: AidCase | None = None


class _DemoCases(DemoBuilder):
    def __init__(self, now: datetime):
        super().__init__(now)
        self.stories: list[_Story] = []

    # -- lookups --------------------------------------------------------------------

    def person(self, story: _Story) -> Person | None:
        """The woman as her recorder's organisation holds her (the referral's person)."""
        return db.session.scalar(sa.select(Person).where(
            Person.pseudonym == story.pseudonym,
            Person.organisation_id == self.user(story.recorder).organisation_id)
            .order_by(Person.id).limit(1))

    def referral(self, slug: str, sender: str) -> Referral | None:
        """The demo referral ``slug`` if the department has registered it."""
        return db.session.scalar(sa.select(Referral).where(
            Referral.created_by_id == self.user(sender).id,
            Referral.submission_token == REFERRAL_TOKEN_PREFIX + slug,
            Referral.receiver_org_id == self.org(DEPARTMENT5).id,
            Referral.state.in_(("registered", "replied", "closed"))))

    # -- the steps of a story -----------------------------------------------------------

    def story(self, slug: str, *, pseudonym: str, recorder: str) -> _Story:
        story = _Story(slug, pseudonym, recorder)
        self.stories.append(story)
        return story

    @staticmethod
    def _step(story: _Story, when: datetime, action: Callable[[], None]) -> None:
        story.steps.append((when, action))

    def open(self, story: _Story, when: datetime, *, referral: Referral | None,
             data: case_services.CaseInput, by: str = "prosecutor", handler: str = "prosecutor") -> None:
        def run():
            applicant = None if referral is not None else self.person(story)
            story.case = case_services.open_case(actor=self.user(by), now=when, data=data,
                                            handler=self.user(handler), applicant=applicant,
                                            referral=referral)
        self._step(story, when, run)

    def act(self, story: _Story, when: datetime, service: Callable, *, by: str, **kwargs) -> None:
        """At ``when``: ``service(case, actor=by, now=when, **kwargs)``."""
        def run():
            service(story.case, actor=self.user(by), now=when, **kwargs)
        self._step(story, when, run)

    def investigate(self, story: _Story, when: datetime, *, by: str, team: list[str],
                    plan: str) -> None:
        def run():
            investigation_services.start_investigation(story.case, actor=self.user(by), now=when, plan=plan,
                                         members=[self.user(name) for name in team])
        self._step(story, when, run)

    def visit(self, story: _Story, when: datetime, *, by: str, visited_on: date, place: PlaceKind,
              address: str, visitors: list[str], met: str, notes: str,
              others: str | None = None) -> None:
        def run():
            data = investigation_services.VisitInput(
                visited_on=visited_on, place_kind=place.value, address=address,
                visitor_ids=[self.user(name).id for name in visitors], other_visitors=others,
                met=met, notes=notes)
            investigation_services.record_visit(story.case, actor=self.user(by), now=when, data=data)
        self._step(story, when, run)

    def household(self, story: _Story, when: datetime, *, by: str, data: household_services.HouseholdInput,
                  members: list[household_services.MemberInput]) -> None:
        """The assessment, then its members a few minutes apart."""
        def run():
            household_services.save_household(story.case, actor=self.user(by), now=when, data=data,
                                    expected_version=None)
        self._step(story, when, run)
        for i, member in enumerate(members, start=1):
            self.act(story, when + timedelta(minutes=5 * i), household_services.save_member, by=by,
                     data=member)

    def propose(self, story: _Story, when: datetime, *, by: str,
                data: case_services.ProposalInput) -> None:
        self.act(story, when, case_services.propose, by=by, data=data)

    def approve(self, story: _Story, when: datetime, *, by: str, comment: str) -> None:
        self.act(story, when, case_services.review, by=by, outcome=ReviewOutcome.APPROVE.value,
                 comment=comment)

    def decide(self, story: _Story, when: datetime, *, by: str, amount: str, text: str) -> None:
        self.act(story, when, decision_services.decide, by=by, amount=amount, decided_on=local_date(when),
                 text=text)

    def pay(self, story: _Story, when: datetime, *, by: str, amount: str, reference: str) -> None:
        self.act(story, when, decision_services.record_payment, by=by, amount=amount,
                 paid_on=local_date(when), method=PaymentMethod.BANK_TRANSFER.value,
                 reference=reference)

    def measure(self, kind: MeasureKind, agency: str, details: str) -> case_services.MeasureInput:
        return case_services.MeasureInput(kind=kind.value, agency=self.org(agency), details=details)

    # -- the stories ------------------------------------------------------------------------

    def _anchor(self, referral: Referral | None, days_back: int) -> tuple[date, date]:
        """(application received, registered): the referral's, or ``days_back`` before
        today for a case opened directly."""
        d = self.days
        if referral is not None:
            return referral.received_on, local_date(referral.registered_at)
        registered = d.back(days_back)
        return d.before(registered), registered

    def reply_on(self, referral: Referral | None, slug: str) -> date | None:
        """The day the referral's reply says the aid was paid: its reply, or the reply
        waiting for this case (``referrals.demo.WAITING_FOR_CASE``)."""
        if referral is None:
            return None
        if referral.reply_on is not None:
            return referral.reply_on
        waiting = [when for when, waiting_slug, _action in WAITING_FOR_CASE if waiting_slug == slug]
        return local_date(min(waiting)) if waiting else None

    def build(self) -> None:
        self.build_xiaoyu()
        self.build_xiaoli()
        self.build_alan()

    def build_xiaoyu(self) -> None:
        """小雨: investigated jointly, approved, decided and paid."""
        d, at = self.days, self.at
        story = self.story("xiaoyu", pseudonym="小雨", recorder="fed.officer")
        referral = self.referral("xiaoyu-judicial-aid", "fed.officer")
        received, registered = self._anchor(referral, 78)
        opened = d.after(registered)
        visited = d.after(registered, 3)  # the day the referral's comments agreed on
        proposed = d.after(visited, 3)
        approved = d.after(proposed)
        decided = d.after(approved)
        paid = d.after(decided, 2)
        reply_on = self.reply_on(referral, "xiaoyu-judicial-aid")
        if reply_on is not None:
            # The referral's reply says the aid was paid: everything happens before it.
            paid = max(decided, min(paid, d.before(reply_on)))
        if paid >= self.today:
            paid = decided

        self.open(story, at(opened, 9, 10), referral=referral, data=case_services.CaseInput(
            application_received_on=received,
            offence=None if referral is not None else "故意伤害罪（致人死亡）",
            summary=(
                "区妇联信访接待中了解到：小雨的丈夫在一起刑事案件中遇害身亡，被告人无赔偿能力。"
                "小雨本人患严重脊柱疾病，无法就业，每月需支付医疗费用；两个孩子一个读小学、一个"
                "读职高；婆婆年逾八十，每月养老金约2000元。丈夫生前每月收入3000余元，是家庭主要"
                "经济来源。小雨不符合低保条件，申请国家司法救助。")))
        self.investigate(story, at(opened, 11, 30), by="prosecutor",
                         team=["prosecutor", "fed.officer"], plan=(
            f"与区妇联联合调查，{_md(visited)}上午依次走访：民族街道办事处，了解户籍、低保审核和"
            "已获救助情况；小雨所在社区，了解家庭成员情况和邻里反映；小雨家中，逐一核实家庭成员"
            "的就学、养老金、就业和医疗支出，收集医疗票据。据此确定救助金额和帮扶措施。"))

        street, community = "武汉市江汉区民族街道办事处", "武汉市江汉区民族街某社区居民委员会"
        team = ["prosecutor", "fed.officer"]
        self.visit(story, at(visited, 14, 30), by="prosecutor", visited_on=visited,
                   place=PlaceKind.STREET_OFFICE, address=street, visitors=team,
                   others="民族街妇联主席", met="街道社会救助科负责人、社区工作科工作人员", notes=(
            "街道社会救助科介绍：小雨及两个孩子户籍仍在孝感市农村老家，未迁入本市，不符合本市"
            "城市低保的户籍条件；因常年不在户籍地居住，户籍地也未将其纳入农村低保。街道已为两个"
            "孩子申请教育资助（学杂费减免），逢年过节由社区走访慰问，此外未获得其他救助。"))
        self.visit(story, at(visited, 14, 50), by="prosecutor", visited_on=visited,
                   place=PlaceKind.COMMUNITY, address=community, visitors=team,
                   met="社区党委书记、网格员、邻居两名", notes=(
            "社区反映：小雨一家与婆婆同住多年。小雨患严重脊柱疾病，行走困难，多年未能工作；丈夫"
            "生前在物流公司做货车司机，每月收入3200元左右，是家庭主要收入来源。丈夫遇害后，家庭"
            "靠婆婆的养老金维持，孩子的学费曾向亲戚借款。邻居证实家庭困难情况属实。"))
        self.visit(story, at(visited, 15, 20), by="fed.officer", visited_on=visited,
                   place=PlaceKind.HOME, address="武汉市江汉区民族街某社区（小雨家中）",
                   visitors=team, met="小雨本人、婆婆、两个孩子", notes=(
            "住房为婆婆名下的老旧房改房，约50平方米，无其他房产和车辆。查看了近三个月的医疗票据："
            "小雨每月门诊、康复理疗及药费约1500元。女儿在民族街某小学读四年级，儿子在某职业技术"
            "学校读二年级，两个孩子每月学习和交通等费用约900元。婆婆82岁，每月养老金约2000元，"
            "患高血压。小雨表示身体允许的情况下，希望学习可以在家完成的手工或网络客服工作。"))

        daughter_born, son_born = _born(visited, 10.5), _born(visited, 16.4)
        mother_born = _born(visited, 82.3)
        M = household_services.MemberInput  # noqa: N806
        self.household(story, at(visited, 16, 30), by="fed.officer", data=household_services.HouseholdInput(
            medical_costs="1500.00", schooling_costs="900.00", housing_costs="450.00",
            other_costs="1800.00", income_lost="3200.00", qualifies_minimum_allowance=False,
            minimum_allowance_reason=(
                "经民族街道办事处社会救助科核实：小雨及两个孩子户籍在孝感市农村老家，不符合本市"
                "城市低保的户籍条件；户籍地因其常年不在当地居住，也未纳入农村低保。"),
            other_help="街道为两个孩子申请了教育资助（学杂费减免）；社区逢年过节走访慰问。"),
            members=[
                M(pseudonym="小雨", relation="本人（申请人）", is_applicant=True,
                  work="无业（因病无法工作）", monthly_income="0.00",
                  health="严重脊柱疾病，行走困难，需长期治疗", disability="肢体功能受限"),
                M(pseudonym="小雨之女", relation="女儿", real_name="王子涵",
                  birth_date=daughter_born, resident_id=_resident_id(daughter_born, "062"),
                  schooling="小学四年级", health="健康"),
                M(pseudonym="小雨之子", relation="儿子", real_name="王浩然",
                  birth_date=son_born, resident_id=_resident_id(son_born, "071"),
                  schooling="职业技术学校二年级（中职）", health="健康"),
                M(pseudonym="小雨婆婆", relation="婆婆", real_name="李桂兰",
                  birth_date=mother_born,  # (no ID: 420103 has no numbers before 1983)
                  work="退休", monthly_income="2000.00", income_source="养老金",
                  health="高血压，行动不便"),
            ])

        self.propose(story, at(proposed, 16, 0), by="prosecutor", data=case_services.ProposalInput(
            amount="50000.00",
            findings=(
                "经与区妇联联合走访民族街道办事处、小雨所在社区及其家中核实：小雨的丈夫在刑事案件"
                "中遇害，被告人无赔偿能力，家庭失去每月约3200元的主要收入。家庭现有4人：小雨患严重"
                "脊柱疾病，无法就业，每月医疗支出约1500元；女儿读小学、儿子读中职，均为未成年人；"
                "婆婆82岁，每月养老金约2000元，是家庭唯一稳定收入。家庭每月支出约4650元，收支缺口"
                "约2650元。小雨因户籍原因不符合低保条件，除教育资助外未获得其他救助。"),
            reasons=(
                "小雨系刑事案件被害人的近亲属，因案件导致家庭主要收入来源丧失、生活陷入急迫困难，"
                "且无法通过诉讼获得赔偿，符合国家司法救助条件。综合家庭每月收支缺口、两个未成年"
                "子女的就学需要和小雨的长期医疗需要，建议给予司法救助金50000元。救助金只能缓解一时"
                "困难，建议同时提供技能培训、就业帮扶并持续跟踪回访。"),
            measures=[
                self.measure(MeasureKind.SKILLS_TRAINING, "jh-fed",
                             "根据小雨的身体状况，安排可居家完成的手工编织和网络客服技能培训。"),
                self.measure(MeasureKind.JOB_TRAINING, "jh-employment",
                             "将小雨纳入就业困难人员帮扶，提供就业培训，推荐适合其身体状况的居家或"
                             "灵活就业岗位信息。"),
                self.measure(MeasureKind.FOLLOW_UP, "jh-fed",
                             "区妇联会同民族街妇联每季度回访一次，关注小雨的身体状况、两个孩子的"
                             "就学和家庭生活，情况变化时及时告知本院。"),
            ]))
        self.approve(story, at(approved, 10, 30), by="proc.head",
                     comment="同意。救助金额与家庭困难程度相当；帮扶措施请区妇联、区就业服务中心落实。")
        self.decide(story, at(decided, 15, 0), by="prosecutor", amount="50000.00",
                    text="决定给予小雨国家司法救助金人民币伍万元整（50000.00元），一次性发放。")
        self.pay(story, at(paid, 11, 0), by="prosecutor", amount="50000.00",
                 reference=f"司法救助金专户转账{paid:%Y%m%d}-01")

    def build_xiaoli(self) -> None:
        """晓丽 (docs/domain.md): the referral's reply says the case was opened and the aid paid,
        counselling costs of her two children included; the measures are the story's:
        weekly counselling (adults and minors apart), legal aid for the car, job training."""
        d, at = self.days, self.at
        story = self.story("xiaoli", pseudonym="晓丽", recorder="fed.minzu")
        referral = self.referral("xiaoli-judicial-aid", "fed.minzu")
        received, registered = self._anchor(referral, 48)
        opened = d.after(registered)
        proposed = d.after(registered, 6)  # after the referral's note on the judgment
        approved = d.after(proposed)
        decided = d.after(approved)
        paid = d.after(decided, 2)
        reply_on = self.reply_on(referral, "xiaoli-judicial-aid")
        if reply_on is not None:
            paid = max(decided, min(paid, d.before(reply_on)))
        if paid >= self.today:
            paid = decided

        self.open(story, at(opened, 9, 20), referral=referral, data=case_services.CaseInput(
            application_received_on=received,
            offence=None if referral is not None else "故意伤害罪",
            summary=(
                "民族街妇联移送：晓丽遭受暴力犯罪侵害，本人及两名年幼子女均受到严重心理创伤；案发后"
                "无法正常工作，家庭收入中断，子女就学和心理治疗费用没有着落。被告人无赔偿能力。"
                "申请国家司法救助。")))
        self.investigate(story, at(opened, 10, 0), by="prosecutor",
                         team=["prosecutor", "fed.minzu"], plan=(
            "与民族街妇联联合调查：调取刑事判决书，核实被告人赔偿能力；由街道妇联补齐家庭收入"
            "材料；评估晓丽及两个孩子的心理疏导需要。"))
        self.propose(story, at(proposed, 15, 30), by="prosecutor", data=case_services.ProposalInput(
            amount="30000.00",
            findings=(
                "经调取刑事判决书并与民族街妇联联合核实：被告人无赔偿能力；晓丽案发后无法正常工作，"
                "家庭收入中断；晓丽及两名年幼子女创伤反应明显，经联合评审，心理疏导由每月一次改为"
                "每周一次，成人与未成年人分开进行。"),
            reasons=(
                "晓丽系刑事案件被害人，因遭受暴力犯罪侵害无法通过诉讼及时获得赔偿，生活陷入困难，"
                "符合国家司法救助条件。综合家庭生活困难和两名未成年子女的心理疏导费用，建议给予"
                "司法救助金30000元，并建议提供心理疏导、法律援助和就业培训。"),
            measures=[
                self.measure(MeasureKind.COUNSELLING, "jh-counselling",
                             "心理疏导每周一次，晓丽与两个孩子（未成年人）分开进行。"),
                self.measure(MeasureKind.LEGAL_AID, "jh-justice",
                             "晓丽名下登记车辆的权属纠纷需民事诉讼解决，由区司法局提供法律援助。"),
                self.measure(MeasureKind.JOB_TRAINING, "jh-employment",
                             "为晓丽安排就业培训，帮助其恢复工作。"),
            ]))
        self.approve(story, at(approved, 10, 0), by="proc.head",
                     comment="同意。心理疏导费用一并纳入救助金；法律援助、就业培训请相关单位落实。")
        self.decide(story, at(decided, 15, 0), by="prosecutor", amount="30000.00",
                    text="决定给予晓丽国家司法救助金人民币叁万元整（30000.00元），其中包括两名未成年"
                         "子女的心理疏导费用，一次性发放。")
        self.pay(story, at(paid, 11, 0), by="prosecutor", amount="30000.00",
                 reference=f"司法救助金专户转账{paid:%Y%m%d}-02")

    def build_alan(self) -> None:
        """阿兰: investigated jointly with the street federation, proposal awaiting approval."""
        d, at = self.days, self.at
        story = self.story("alan", pseudonym="阿兰", recorder="fed.minzu")
        referral = self.referral("alan-due-in-1", "fed.minzu")
        received, registered = self._anchor(referral, 25)
        opened = d.after(registered)
        visited = d.after(registered, 2)  # the referral's note: "已到医院看望阿兰"
        assessed = d.after(visited)
        proposed = d.after(registered, 4)  # the referral's note: "报部门负责人审批"
        proposed = max(assessed, min(proposed, d.back(1)))
        M = household_services.MemberInput  # noqa: N806

        self.open(story, at(opened, 9, 30), referral=referral, data=case_services.CaseInput(
            application_received_on=received,
            offence=None if referral is not None else "抢劫罪",
            summary=(
                "民族街妇联移送：阿兰在回家途中遭抢劫，头部受重伤，至今仍在住院治疗，已产生医疗"
                "费用4万余元；犯罪嫌疑人已被批准逮捕，但无赔偿能力；家中有一位患病的母亲需要她"
                "照顾。申请国家司法救助，情况紧急。")))
        self.investigate(story, at(opened, 10, 0), by="prosecutor",
                         team=["prosecutor", "fed.minzu"], plan=(
            "与民族街妇联联合调查：到医院看望阿兰，了解伤情和后续治疗、康复费用，收集医疗费用"
            "票据；核实家庭成员、收入和已获救助情况；向公安机关了解犯罪嫌疑人的赔偿能力。"))
        self.visit(story, at(visited, 15, 0), by="prosecutor", visited_on=visited,
                   place=PlaceKind.HOSPITAL, address="武汉市江汉区某医院神经外科病房",
                   visitors=["prosecutor", "fed.minzu"], met="阿兰本人、阿兰的母亲、主治医生", notes=(
            "阿兰颅脑损伤，已行手术，目前意识清醒，仍需住院约三周，出院后需康复治疗三至六个月。"
            "截至目前住院费用41236元，医保报销后自付约2.6万元，已向亲友借款垫付。阿兰受伤前在"
            "服装店做营业员，月收入约4000元，住院后收入中断。其母68岁，患糖尿病，没有养老金，"
            "平日由阿兰照顾，现由邻居临时帮忙。"))
        self.household(story, at(assessed, 10, 0), by="fed.minzu", data=household_services.HouseholdInput(
            medical_costs="5000.00", housing_costs="1200.00", other_costs="1000.00",
            income_lost="4000.00", qualifies_minimum_allowance=False,
            minimum_allowance_reason=(
                "阿兰受伤前有稳定收入，收入中断不满三个月，按规定暂不符合最低生活保障申请条件；"
                "出院后视家庭收入情况可再申请。"),
            other_help="民族街妇联已协助申请临时救助，尚在审批中。"),
            members=[
                M(pseudonym="阿兰", relation="本人（申请人）", is_applicant=True,
                  work="服装店营业员（受伤后停工）", monthly_income="0.00",
                  health="颅脑损伤术后，住院治疗中"),
                M(pseudonym="阿兰之母", relation="母亲", real_name="徐桂芝", age_years=68,
                  work="无", monthly_income="0.00", income_source="无养老金",
                  health="糖尿病，需长期服药"),
            ])
        self.propose(story, at(proposed, 15, 0), by="prosecutor", data=case_services.ProposalInput(
            amount="30000.00",
            findings=(
                "经与民族街妇联联合调查核实：阿兰遭抢劫致颅脑损伤，住院费用已达41236元，自付约2.6万元，"
                "出院后仍需康复治疗；受伤前月收入约4000元，现收入中断；其母68岁，患糖尿病，无养老金，"
                "需要照顾。犯罪嫌疑人无赔偿能力，家庭无其他收入来源。"),
            reasons=(
                "阿兰系刑事案件被害人，因遭受犯罪侵害受重伤，急需救治，无法通过诉讼及时获得赔偿，"
                "造成生活困难，符合国家司法救助条件。综合已发生的医疗费用和后续康复需要，建议给予"
                "司法救助金30000元，并建议提供心理疏导和社会救助。"),
            measures=[
                self.measure(MeasureKind.COUNSELLING, "jh-counselling",
                             "阿兰遭抢劫后夜间惊醒、不敢独自出门，出院后安排心理疏导。"),
                self.measure(MeasureKind.SOCIAL_ASSISTANCE, "jh-fed-minzu",
                             "协助办理临时救助；阿兰住院期间协调社区志愿者照看其母亲。"),
                self.measure(MeasureKind.FOLLOW_UP, "jh-fed-minzu",
                             "阿兰出院后上门回访，了解康复和生活情况。"),
            ]))

    # -- running ------------------------------------------------------------------------------

    def exists(self, story: _Story) -> bool:
        """Whether the woman already has a case in the department (from a previous run)."""
        person = self.person(story)
        return person is not None and db.session.scalar(sa.select(AidCase.id).where(
            AidCase.applicant_id == person.id,
            AidCase.organisation_id == self.org(DEPARTMENT5).id).limit(1)) is not None

    def run(self) -> list[AidCase]:
        """Tell the stories whose case is not there yet, all steps in time order (so that
        case numbers follow the opening order); returns the new cases."""
        steps = []
        new = [story for story in self.stories if not self.exists(story)]
        for i, story in enumerate(new):
            ordered = sorted(enumerate(story.steps), key=lambda step: (step[1][0], step[0]))
            assert ordered[0][0] == 0, f"demo case {story.slug}: a step before its opening"
            assert ordered[-1][1][0] < self.now, f"demo case {story.slug}: a step in the future"
            steps.extend((when, i, j, story, action) for j, (when, action) in ordered)
        for when, _i, _j, story, action in sorted(steps, key=lambda step: step[:3]):
            try:
                action()
            except DomainError as error:
                raise RuntimeError(f"demo case {story.slug}, step at {when.isoformat()} "
                                   f"({story.case.state if story.case else 'not opened'}): "
                                   f"{error.message}") from error
        db.session.flush()
        # The referrals whose reply names a case go on now that it is open.
        waiting = sorted(WAITING_FOR_CASE, key=lambda step: step[0])
        WAITING_FOR_CASE.clear()
        for when, slug, action in waiting:
            try:
                action()
            except (DomainError, _WaitForCase) as error:
                raise RuntimeError(f"demo referral {slug}, step at {when.isoformat()}: "
                                   f"{getattr(error, 'message', 'its reply names no case')}") from error
        db.session.flush()
        return [story.case for story in new]


def load_case_demo(now: datetime, log: Callable[[str], None] = print) -> None:
    demo = _DemoCases(now)
    demo.build()
    new = demo.run()
    log(f"  judicial aid cases: {len(new)} new, {len(demo.stories)} in the demo")
    for case in new:
        log(f"    {case.number} {case.applicant.pseudonym}: {CaseState(case.state).value}")


def register_demo_step() -> None:
    """Add the case step to the demo, once however often this is called."""
    if not any(step.name == STEP_NAME for step in DEMO_STEPS):
        DEMO_STEPS.append(DemoStep(STEP_NAME, load_case_demo))


register_demo_step()
