"""The story's year of the demo dataset (issue 7): docs/domain.md's figures as closed history.

The other demo steps are relative to today: referrals in every state, due soon or
overdue, received up to about a hundred days back. The story in docs/domain.md is a year's
total, though: the district federation sent the procuratorate's 5th department two
referrals, the procuratorate referred three women back to the federation after granting
aid (five referrals between the two sides), six judicial aid cases were handled and six
women helped. This step tells that year through the real services, as the demo users, so
that the report for it shows 5 / 6 / 6 and anyone can check the figures by hand:

- 小慧 and 小萍: referred by the district federation, registered the next working day,
  each a case opened from the referral, investigated jointly, approved, decided and paid,
  then the referral replied (within the month) and closed by the federation;
- 秋菊, 小霞 and 小玲: applications the procuratorate met in its own cases; once the aid
  is paid, each is referred to the federation (counselling; job and skills training; social
  assistance), which registers, replies within the month, and the procuratorate closes;
- 桂香: an application decided and paid, nothing more asked for;
- in May, the joint training of the 12 street federations' chairs with the prosecutors
  (as the training step's live session: ten chairs present, one excused, one absent).

Every case has a joint investigation (张明 of the 5th department and a federation
officer), at least one visit, 张明's proposal and 刘强's approval. Nothing is left open,
so no reminder ever concerns the story's year.

The story's year is the last calendar year that no live record can reach, whatever day
the demo is loaded on (``story_year``). The step is idempotent: once the story's
referrals exist (keyed by their submission tokens ``story-<slug>``), it adds nothing;
and it adds nothing to a year that already holds other referrals or cases, whose figures
it would blur.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from caseflow.core.db import local_date
from caseflow.core.demo import DEMO_STEPS, DemoStep
from caseflow.core.errors import DomainError
from caseflow.core.money import format_amount
from caseflow.core.people import services as people_services
from caseflow.core.people.models import Person
from caseflow.extensions import db
from caseflow.investigations import services as case_services
from caseflow.investigations.demo import STEP_NAME as CASE_STEP_NAME
from caseflow.investigations.models import AidCase, PaymentMethod, PlaceKind, ReviewOutcome
from caseflow.referrals import services as referral_services
from caseflow.referrals.demo import (
    DEPARTMENT5, FEDERATION, STEP_NAME as REFERRAL_STEP_NAME, DemoBuilder,
)
from caseflow.referrals.models import ConsentMethod, HelpKind, LeadSource, Referral, ReplyOutcome
from caseflow.training import demo as training_demo

STEP_NAME = "the story's year (five referrals, six judicial aid cases, six women helped)"
#: The story's year's joint training of the 12 street federations' chairs.
CHAIRS_TRAINING = "{year}年街道妇联主席联合培训：线索发现、案件启动与司法救助"
TOKEN_PREFIX = "story-"

#: How far back the live demo reaches, in calendar days, with a margin: its oldest
#: referral is received on the last working day at least 100 days before today (up to a
#: week earlier across a long holiday), its consent a few working days before that, and
#: 晓丽's plan opens about 90 days back. Offence dates reach further, but they are facts
#: about the crime, not records of the work, and no figure counts them.
LIVE_SPAN_DAYS = 140


def story_year(today: date) -> int:
    """The calendar year of the story: the last full year before the earliest day the
    live demo loaded on ``today`` can reach (loaded on 10 January 2027, that is 2025:
    the live records reach back into 2026)."""
    return (today - timedelta(days=LIVE_SPAN_DAYS)).year - 1


# Invented identities with valid check digits (even 17th digit: women); they belong to
# nobody. Pseudonyms differ from the live demo's women.
# (pseudonym, recorded by, real name, resident ID, phone, address)
PERSONS = [
    ("小慧", "fed.officer", "刘慧", "420103198405113265", "13907122201", "武汉市江汉区花楼街某社区"),
    ("小萍", "fed.officer", "孙萍", "420103198709235480", "13907122202", "武汉市江汉区新华街某社区"),
    ("秋菊", "prosecutor", "邓秋菊", "420103199002147641", "13907122203", "武汉市江汉区万松街某社区"),
    ("小霞", "prosecutor", "曹霞", "420103198612031828", "13907122204", "武汉市江汉区唐家墩街某社区"),
    ("小玲", "prosecutor", "彭玲", "42010319920628404X", "13907122205", "武汉市江汉区民族街某社区"),
    ("桂香", "prosecutor", "谢桂香", "420103198508176269", "13907122206", "武汉市江汉区前进街某社区"),
]


@dataclass(frozen=True)
class _Visit:
    place: PlaceKind
    address: str
    met: str
    notes: str


@dataclass(frozen=True)
class _Back:
    """The procuratorate's referral to the federation once the aid is paid."""
    help: tuple[HelpKind, ...]
    circumstances: str
    registrar: str
    outcome: ReplyOutcome
    reply: str


@dataclass(frozen=True)
class _Case:
    """One woman's year: how her application came, the case, and what followed."""
    slug: str
    pseudonym: str
    month_day: tuple[int, int]  # when the application (or the referral) came, about
    offence: str
    offence_month_day: tuple[int, int]
    summary: str
    plan: str
    visits: tuple[_Visit, ...]
    findings: str
    amount: str
    reasons: str
    decision: str
    federation_officer: str = "fed.officer"  # the federation's member of the team
    letter: str | None = None  # the federation's referral letter, when it came that way
    back: _Back | None = None


def _yuan(amount: str) -> str:
    return f"{format_amount(amount)}元"


CASES = [
    _Case(
        slug="xiaohui", pseudonym="小慧", month_day=(3, 10), offence="故意伤害罪",
        offence_month_day=(1, 12),
        letter=(
            "小慧的丈夫在一起故意伤害案中被打成重伤，现高位截瘫，需要长期护理。小慧辞去超市"
            "工作在家照顾丈夫和7岁的儿子，家庭仅靠她打零工维持，没有稳定收入；被告人已被判刑，但无赔偿能力。"
            "区妇联信访接待中了解到以上情况，可能符合国家司法救助条件，特此移送，请依法审查。"),
        summary=(
            "区妇联移送：小慧的丈夫被他人故意伤害致高位截瘫，被告人无赔偿能力；小慧辞工照顾"
            "丈夫和年幼的儿子，家庭失去收入来源，申请国家司法救助。"),
        plan="与区妇联联合调查：走访小慧家中和所在社区，核实家庭成员、收入、医疗和护理支出。",
        visits=(
            _Visit(PlaceKind.HOME, "武汉市江汉区花楼街某社区（小慧家中）", "小慧本人、小慧的丈夫",
                   "小慧丈夫卧床，需专人护理，每月康复和药费约2200元；家庭唯一收入为小慧打零工"
                   "所得，约800元，已欠亲友借款3万余元。儿子读小学一年级。"),
            _Visit(PlaceKind.COMMUNITY, "武汉市江汉区花楼街某社区居民委员会", "社区网格员",
                   "社区证实小慧家庭困难情况属实，已协助申请临时救助2000元。"),
        ),
        findings=(
            "经与区妇联联合走访核实：小慧丈夫因案致高位截瘫，每月医疗康复支出约2200元；小慧"
            "为照顾丈夫无法全职工作，家庭月收入约800元，被告人无赔偿能力。"),
        amount="45000.00",
        reasons=(
            "小慧系刑事案件被害人的近亲属，家庭因案陷入生活困境，无法通过诉讼获得赔偿，符合"
            "国家司法救助条件。综合护理、医疗支出和子女就学需要，建议给予司法救助金45000元。"),
        decision="决定给予小慧国家司法救助金人民币肆万伍仟元整（45,000.00元），一次性发放。",
    ),
    _Case(
        slug="qiuju", pseudonym="秋菊", month_day=(4, 14), offence="故意伤害罪",
        offence_month_day=(2, 26),
        summary=(
            "本院在审查起诉一起故意伤害案中了解到：被害人秋菊被前夫持刀砍伤，左臂神经受损，"
            "无法继续从事缝纫工作，独自抚养12岁的儿子，被告人无赔偿能力。经告知，秋菊申请"
            "国家司法救助。"),
        plan="与区妇联联合调查：走访秋菊家中，核实伤情、收入、子女就学和已获救助情况。",
        visits=(
            _Visit(PlaceKind.HOME, "武汉市江汉区万松街某社区（秋菊家中）", "秋菊本人、秋菊的儿子",
                   "秋菊左臂活动受限，仍在康复治疗，每月费用约1200元；原在服装厂做缝纫工，月收入"
                   "约3500元，受伤后停工。儿子读六年级，案发后不愿与人交流，成绩下降。"),
        ),
        findings=(
            "经与区妇联联合走访核实：秋菊因案受伤后收入中断，每月康复费用约1200元，独自抚养"
            "未成年儿子，母子二人均有明显心理创伤，被告人无赔偿能力。"),
        amount="30000.00",
        reasons=(
            "秋菊系刑事案件被害人，因案受伤致收入中断、生活困难，无法通过诉讼获得赔偿，符合"
            "国家司法救助条件，建议给予司法救助金30000元；母子二人的心理疏导移送区妇联协调。"),
        decision="决定给予秋菊国家司法救助金人民币叁万元整（30,000.00元），一次性发放。",
        back=_Back(
            help=(HelpKind.COUNSELLING,), registrar="fed.head",
            circumstances=(
                "本院已对秋菊作出司法救助决定，救助金已发放。秋菊遭前夫伤害后长期失眠、情绪"
                "低落，其子（12岁）案发后不愿与人交流。请协调为母子二人提供心理疏导。"),
            outcome=ReplyOutcome.OTHER,
            reply=(
                "已安排心晴心理咨询服务中心为秋菊母子提供心理疏导，每两周一次，成人与未成年人"
                "分开进行，首次疏导已完成；万松街妇联将持续跟踪回访。")),
    ),
    _Case(
        slug="xiaoping", pseudonym="小萍", month_day=(6, 9), offence="交通肇事罪",
        offence_month_day=(3, 18),
        letter=(
            "小萍的丈夫在一起交通肇事案中死亡，肇事司机已被判刑，但无力赔偿。小萍患慢性肾病，"
            "需定期透析，两个孩子分别读初中和小学，家庭失去主要经济来源。区妇联热线接到求助，"
            "经核实，可能符合国家司法救助条件，特此移送，请依法审查。"),
        summary=(
            "区妇联移送：小萍的丈夫因交通肇事死亡，肇事者无赔偿能力；小萍患慢性肾病需定期透析，"
            "两个孩子在读，家庭生活困难，申请国家司法救助。"),
        plan="与区妇联联合调查：走访新华街道办事处和小萍家中，核实医疗支出、收入和已获救助情况。",
        visits=(
            _Visit(PlaceKind.STREET_OFFICE, "武汉市江汉区新华街道办事处", "街道社会救助科工作人员",
                   "小萍一家已纳入低保，每月低保金共1500余元；两个孩子享受教育资助。"),
            _Visit(PlaceKind.HOME, "武汉市江汉区新华街某社区（小萍家中）", "小萍本人、两个孩子",
                   "小萍每周透析三次，医保报销后每月自付约1800元；丈夫生前在快递公司工作，月收入"
                   "约5000元。家中无其他收入，房屋为租住，月租1200元。"),
        ),
        findings=(
            "经与区妇联联合走访核实：小萍丈夫因案死亡，家庭失去每月约5000元的主要收入；小萍"
            "每月透析自付约1800元，房租1200元，两个未成年子女在读，仅靠低保维持生活。"),
        amount="60000.00",
        reasons=(
            "小萍系刑事案件被害人的近亲属，因案导致家庭生活陷入急迫困境，无法通过诉讼获得赔偿，"
            "虽已纳入低保，仍难以负担医疗和子女就学支出，符合国家司法救助条件，建议给予司法"
            "救助金60000元。"),
        decision="决定给予小萍国家司法救助金人民币陆万元整（60,000.00元），一次性发放。",
    ),
    _Case(
        slug="xiaoxia", pseudonym="小霞", month_day=(7, 14), offence="故意伤害罪",
        offence_month_day=(4, 22),
        summary=(
            "本院在审查起诉一起故意伤害案中了解到：被害人小霞在餐馆工作时被醉酒顾客打伤，右手"
            "肌腱断裂，无法再从事厨房工作；丈夫常年患病，女儿读高中，被告人无赔偿能力。经告知，"
            "小霞申请国家司法救助。"),
        plan="与区妇联联合调查：走访小霞原工作单位和家中，核实伤情、收入和就业意愿。",
        visits=(
            _Visit(PlaceKind.EMPLOYER, "武汉市江汉区唐家墩街某餐馆", "餐馆负责人",
                   "小霞受伤前在后厨工作，月工资约3800元；受伤后无法从事后厨工作，已离职。"),
            _Visit(PlaceKind.HOME, "武汉市江汉区唐家墩街某社区（小霞家中）", "小霞本人、小霞的丈夫",
                   "丈夫患糖尿病并发症，每月药费约900元，无法工作；女儿读高二。小霞右手仍在康复，"
                   "希望学习家政或育婴技能，重新就业。"),
        ),
        findings=(
            "经与区妇联联合走访核实：小霞因案受伤致收入中断，丈夫患病无劳动能力，女儿在读高中，"
            "家庭无稳定收入，被告人无赔偿能力。小霞有就业意愿。"),
        amount="25000.00",
        reasons=(
            "小霞系刑事案件被害人，因案受伤致生活困难，无法通过诉讼获得赔偿，符合国家司法救助"
            "条件，建议给予司法救助金25000元；技能培训和就业帮扶移送区妇联协调。"),
        decision="决定给予小霞国家司法救助金人民币贰万伍仟元整（25,000.00元），一次性发放。",
        back=_Back(
            help=(HelpKind.JOB_TRAINING, HelpKind.SKILLS_TRAINING), registrar="fed.officer",
            circumstances=(
                "本院已对小霞作出司法救助决定，救助金已发放。小霞右手受伤后无法从事后厨工作，"
                "有意学习家政或育婴技能，请协调提供技能培训和就业岗位推荐。"),
            outcome=ReplyOutcome.REFERRED_ELSEWHERE,
            reply=(
                "已转介区就业服务中心，安排小霞参加育婴员技能培训（免费），结业后推荐家政服务"
                "岗位；唐家墩街妇联将跟踪其就业情况。")),
    ),
    _Case(
        slug="xiaoling", pseudonym="小玲", month_day=(8, 18), offence="故意杀人罪",
        offence_month_day=(5, 6), federation_officer="fed.minzu",
        summary=(
            "本院在办理一起故意杀人案中了解到：被害人的妻子小玲独自照顾患脑瘫的儿子和年迈的"
            "公婆，丈夫遇害后家庭失去主要收入，被告人已被判处死刑，无赔偿能力。经告知，小玲"
            "申请国家司法救助。"),
        plan="与民族街妇联联合调查：走访小玲家中和所在社区，核实家庭成员、收入和儿子的康复支出。",
        visits=(
            _Visit(PlaceKind.HOME, "武汉市江汉区民族街某社区（小玲家中）", "小玲本人、公婆",
                   "儿子9岁，脑瘫，每月康复训练费用约2500元；公婆均七十多岁，每月养老金合计约"
                   "2600元。丈夫生前开货车，月收入约6000元。"),
        ),
        findings=(
            "经与民族街妇联联合走访核实：小玲丈夫因案死亡，家庭失去每月约6000元的主要收入；"
            "儿子脑瘫需长期康复训练，公婆年迈，小玲无法外出工作，被告人无赔偿能力。"),
        amount="40000.00",
        reasons=(
            "小玲系刑事案件被害人的近亲属，因案导致家庭生活陷入急迫困境，无法通过诉讼获得赔偿，"
            "符合国家司法救助条件，建议给予司法救助金40000元；低保申请和残疾儿童康复救助移送"
            "区妇联协调。"),
        decision="决定给予小玲国家司法救助金人民币肆万元整（40,000.00元），一次性发放。",
        back=_Back(
            help=(HelpKind.SOCIAL_ASSISTANCE, HelpKind.OTHER), registrar="fed.officer",
            circumstances=(
                "本院已对小玲作出司法救助决定，救助金已发放。小玲的儿子患脑瘫需长期康复训练，"
                "请协调办理最低生活保障和残疾儿童康复救助。"),
            outcome=ReplyOutcome.OTHER,
            reply=(
                "民族街妇联已协助小玲向街道提交低保申请，并为其儿子办理残疾儿童康复救助，康复"
                "训练费用可按规定报销；街道妇联将每月上门回访。")),
    ),
    _Case(
        slug="guixiang", pseudonym="桂香", month_day=(10, 20), offence="抢劫罪",
        offence_month_day=(8, 29),
        summary=(
            "本院在审查起诉一起抢劫案中了解到：被害人桂香在下班途中遭抢劫，头部和右腿受伤，"
            "住院治疗花费2万余元，被告人无赔偿能力，桂香在小区做保洁，收入微薄。经告知，桂香"
            "申请国家司法救助。"),
        plan="与区妇联联合调查：走访桂香家中，核实医疗费用、收入和家庭情况。",
        visits=(
            _Visit(PlaceKind.HOME, "武汉市江汉区前进街某社区（桂香家中）", "桂香本人、桂香的丈夫",
                   "住院费用23480元，医保报销后自付约1.2万元，均向亲友借款；桂香出院后仍需复查，"
                   "两个月未能工作。丈夫在外打零工，月收入约2500元。"),
        ),
        findings=(
            "经与区妇联联合走访核实：桂香因案受伤，自付医疗费用约1.2万元，受伤后两个月无收入，"
            "家庭收入微薄，被告人无赔偿能力。"),
        amount="20000.00",
        reasons=(
            "桂香系刑事案件被害人，因案受伤急需救治，无法通过诉讼获得赔偿，造成生活困难，符合"
            "国家司法救助条件，建议给予司法救助金20000元。"),
        decision="决定给予桂香国家司法救助金人民币贰万元整（20,000.00元），一次性发放。",
    ),
]


class _StoryYear(DemoBuilder):
    def __init__(self, now: datetime):
        super().__init__(now)
        self.year = story_year(self.today)
        self.steps: list[tuple[datetime, int, str, Callable[[], None]]] = []
        self.referrals: dict[str, Referral] = {}
        self.cases: dict[str, AidCase] = {}
        self.persons: dict[str, Person] = {}

    # -- lookups --------------------------------------------------------------------

    # -- the state of the database ------------------------------------------------------

    def told(self) -> bool:
        """Whether the story has been told already (in whichever year it was then)."""
        return db.session.scalar(sa.select(Referral.id).where(
            Referral.submission_token.like(TOKEN_PREFIX + "%")).limit(1)) is not None

    def crowded(self) -> bool:
        """Whether the year already holds referrals or cases that are not the story's."""
        first, last = date(self.year, 1, 1), date(self.year, 12, 31)
        referral = db.session.scalar(sa.select(Referral.id).where(
            Referral.received_on.between(first, last)).limit(1))
        case = db.session.scalar(sa.select(AidCase.id).where(sa.or_(
            AidCase.application_received_on.between(first, last),
            AidCase.decided_on.between(first, last))).limit(1))
        return referral is not None or case is not None

    # -- the steps ------------------------------------------------------------------------

    def step(self, when: datetime, label: str, action: Callable[[], None]) -> None:
        self.steps.append((when, len(self.steps), label, action))

    def record_person(self, pseudonym: str, when: datetime) -> None:
        _name, by, real_name, resident_id, phone, address = next(
            p for p in PERSONS if p[0] == pseudonym)

        def run():
            self.persons[pseudonym] = people_services.record_person(
                actor=self.user(by), now=when, pseudonym=pseudonym,
                identity=people_services.Identity(real_name=real_name, resident_id=resident_id,
                                                  phone=phone, address=address))
        self.step(when, f"{pseudonym}: recorded", run)

    def send_referral(self, slug: str, *, pseudonym: str, sender: str, receiver: str,
                      day: date, data: referral_services.ReferralInput) -> None:
        """Drafted and sent on ``day`` (its received day)."""
        def draft():
            self.referrals[slug] = referral_services.save_draft(
                actor=self.user(sender), now=self.at(day, 8, 40), person=self.persons[pseudonym],
                receiver=self.org(receiver), data=data, submission_token=TOKEN_PREFIX + slug)

        def send():
            referral_services.send(self.referrals[slug], actor=self.user(sender),
                                   now=self.at(day, 9, 30))
        self.step(self.at(day, 8, 40), f"{slug}: drafted", draft)
        self.step(self.at(day, 9, 30), f"{slug}: sent", send)

    def register_referral(self, slug: str, *, day: date, received_on: date, registrar: str,
                          handler: str) -> None:
        when = self.at(day, 10, 15)

        def run():
            ref = self.referrals[slug]
            referral_services.register(
                ref, actor=self.user(registrar), now=when, received_on=received_on,
                registration_number=self.registration_number(ref.receiver_org, day.year),
                handler=self.user(handler))
        self.step(when, f"{slug}: registered", run)

    def reply_referral(self, slug: str, *, day: date, by: str, outcome: ReplyOutcome,
                       text: Callable[[], str]) -> None:
        when = self.at(day, 10, 0)
        self.step(when, f"{slug}: replied", lambda: referral_services.reply(
            self.referrals[slug], actor=self.user(by), now=when, outcome=outcome.value,
            text=text(), reply_on=day,
            case_id=self.cases[slug].id if slug in self.cases else None))  # the case it names

    def close_referral(self, slug: str, *, day: date, by: str) -> None:
        when = self.at(day, 14, 0)
        self.step(when, f"{slug}: closed", lambda: referral_services.close(
            self.referrals[slug], actor=self.user(by), now=when))

    def case_steps(self, story: _Case, *, opened: date, application_on: date) -> date:
        """Opened on ``opened`` (from the story's referral when it has one), investigated
        jointly, proposed, approved by the department's head, decided and paid; returns the
        day of payment."""
        d, at = self.days, self.at
        prosecutor, team = "prosecutor", ["prosecutor", story.federation_officer]
        offence_on = date(self.year, *story.offence_month_day)

        def open_case():
            referral = self.referrals.get(story.slug)
            self.cases[story.slug] = case_services.open_case(
                actor=self.user(prosecutor), now=at(opened, 9, 10), handler=self.user(prosecutor),
                referral=referral, applicant=None if referral else self.persons[story.pseudonym],
                data=case_services.CaseInput(
                    summary=story.summary, application_received_on=application_on,
                    offence=story.offence, offence_on=offence_on))
        self.step(at(opened, 9, 10), f"{story.slug}: case opened", open_case)

        def investigate():
            case_services.start_investigation(
                self.cases[story.slug], actor=self.user(prosecutor), now=at(opened, 11, 0),
                plan=story.plan, members=[self.user(name) for name in team])
        self.step(at(opened, 11, 0), f"{story.slug}: investigation started", investigate)

        visited = d.after(opened, 2)
        for i, visit in enumerate(story.visits):
            when = at(visited, 14, 30) + timedelta(hours=i)

            def record(visit=visit, when=when):
                case_services.record_visit(
                    self.cases[story.slug], actor=self.user(prosecutor), now=when,
                    data=case_services.VisitInput(
                        visited_on=visited, place_kind=visit.place.value, address=visit.address,
                        visitor_ids=[self.user(name).id for name in team], met=visit.met,
                        notes=visit.notes))
            self.step(when, f"{story.slug}: visit", record)

        proposed = d.after(visited, 3)
        approved, decided, paid = d.after(proposed), d.after(proposed, 2), d.after(proposed, 4)
        self.step(at(proposed, 16, 0), f"{story.slug}: proposed", lambda: case_services.propose(
            self.cases[story.slug], actor=self.user(prosecutor), now=at(proposed, 16, 0),
            data=case_services.ProposalInput(findings=story.findings, amount=story.amount,
                                             reasons=story.reasons)))
        self.step(at(approved, 10, 30), f"{story.slug}: approved", lambda: case_services.review(
            self.cases[story.slug], actor=self.user("proc.head"), now=at(approved, 10, 30),
            outcome=ReviewOutcome.APPROVE.value,
            comment=f"同意。救助金额{_yuan(story.amount)}与家庭困难程度相当。"))
        self.step(at(decided, 15, 0), f"{story.slug}: decided", lambda: case_services.decide(
            self.cases[story.slug], actor=self.user(prosecutor), now=at(decided, 15, 0),
            amount=story.amount, decided_on=decided, text=story.decision))
        self.step(at(paid, 11, 0), f"{story.slug}: paid", lambda: case_services.record_payment(
            self.cases[story.slug], actor=self.user(prosecutor), now=at(paid, 11, 0),
            amount=story.amount, paid_on=paid, method=PaymentMethod.BANK_TRANSFER.value,
            reference=f"司法救助金专户转账{paid:%Y%m%d}-01"))
        return paid

    # -- the stories ------------------------------------------------------------------------

    def build(self) -> None:
        for story in CASES:
            if story.letter is not None:
                self.build_referred(story)
            else:
                self.build_direct(story)
        self.build_chairs_training()

    def build_chairs_training(self) -> None:
        """docs/domain.md: "The federation trained the chairs of its 12 street federations
        together with prosecutors" (as the training step's live session does)."""
        held = self.days.on_or_after(date(self.year, 5, 20))

        def run():
            training_demo.ensure_chairs(self.now)
            training_demo.record_chairs_training(self.days, held, CHAIRS_TRAINING.format(year=self.year))
        self.step(self.at(self.days.before(held, 7), 10, 0), "the street chairs' joint training", run)

    def build_referred(self, story: _Case) -> None:
        """The federation's referral, the case opened from it, then the reply and closing."""
        d = self.days
        received = d.on_or_after(date(self.year, *story.month_day))
        consent = d.before(received)
        self.record_person(story.pseudonym, self.at(consent, 15, 0))
        self.send_referral(story.slug, pseudonym=story.pseudonym, sender="fed.officer",
                           receiver=DEPARTMENT5, day=received,
                           data=referral_services.ReferralInput(
                               source=LeadSource.PETITION_RECEPTION.value,
                               help_requested=[HelpKind.JUDICIAL_AID.value], offence=story.offence,
                               offence_on=date(self.year, *story.offence_month_day),
                               consent_on=consent, consent_method=ConsentMethod.WRITTEN.value,
                               circumstances=story.letter))
        registered = d.after(received)
        self.register_referral(story.slug, day=registered, received_on=received,
                               registrar="proc.head", handler="prosecutor")
        paid = self.case_steps(story, opened=d.after(registered), application_on=received)
        replied = d.after(paid)
        case = lambda: self.cases[story.slug]  # noqa: E731  (opened by an earlier step)
        self.reply_referral(story.slug, day=replied, by="prosecutor",
                            outcome=ReplyOutcome.AID_CASE_OPENED, text=lambda: (
            f"已立司法救助案件（{case().number}）。经与区妇联联合调查核实，{story.pseudonym}家庭"
            f"因案陷入生活困境，符合国家司法救助条件，本院已决定给予司法救助金"
            f"{_yuan(story.amount)}，并已发放到位。"))
        self.close_referral(story.slug, day=d.after(replied), by="fed.officer")

    def build_direct(self, story: _Case) -> None:
        """An application the procuratorate met in its own case; once paid, the referral
        to the federation for the help that money is not."""
        d = self.days
        applied = d.on_or_after(date(self.year, *story.month_day))
        self.record_person(story.pseudonym, self.at(applied, 9, 0))
        paid = self.case_steps(story, opened=applied, application_on=applied)
        if story.back is None:
            return
        back, slug = story.back, f"{story.slug}-back"
        sent = d.after(paid, 3)
        self.send_referral(slug, pseudonym=story.pseudonym, sender="prosecutor",
                           receiver=FEDERATION, day=sent, data=referral_services.ReferralInput(
                               source=LeadSource.CASE_HANDLING.value,
                               help_requested=[h.value for h in back.help],
                               consent_on=paid, consent_method=ConsentMethod.WRITTEN.value,
                               circumstances=back.circumstances))
        self.register_referral(slug, day=d.after(sent), received_on=sent, registrar=back.registrar,
                               handler="fed.officer")
        replied = d.after(sent, 8)
        self.reply_referral(slug, day=replied, by="fed.officer", outcome=back.outcome,
                            text=lambda: back.reply)
        self.close_referral(slug, day=d.after(replied), by="prosecutor")

    # -- running ------------------------------------------------------------------------------

    def run(self) -> None:
        """Every step in time order (numbers follow the order of sending and opening)."""
        first, after = self.at(date(self.year, 1, 1), 0), self.at(date(self.year + 1, 1, 1), 0)
        for when, _seq, label, _action in self.steps:
            # The whole story stays inside its year: the year's report holds all of it.
            assert first <= when < min(after, self.now), f"story year {self.year}: {label} at {when}"
        for when, _seq, label, action in sorted(self.steps, key=lambda step: step[:2]):
            try:
                action()
            except DomainError as error:
                raise RuntimeError(f"story year {self.year}, {label} at {when.isoformat()}: "
                                   f"{error.message}") from error
        db.session.flush()
        for slug, ref in self.referrals.items():
            # The story says every referral was answered in time: a calendar that made one
            # late would make the demo contradict it.
            assert local_date(ref.registered_at) <= ref.registration_due_on, slug
            assert ref.state == "closed" and ref.reply_on <= ref.reply_due_on, slug


def load_story_year_demo(now: datetime, log: Callable[[str], None] = print) -> None:
    demo = _StoryYear(now)
    if demo.told():
        log("  the story's year: already there")
        return
    if demo.crowded():
        log(f"  the story's year {demo.year}: not added, the year already holds other "
            "referrals or cases")
        return
    demo.build()
    demo.run()
    cases = list(demo.cases.values())
    granted = sum(case.granted_amount for case in cases)
    log(f"  the story's year {demo.year}: {len(demo.referrals)} referrals, {len(cases)} judicial "
        f"aid cases, {len({c.applicant_id for c in cases})} women helped, {format_amount(granted)} yuan "
        f"(the report for {demo.year} shows them)")


def register_demo_step() -> None:
    """Add the story's year to the demo, after the live steps, once however often this
    is called."""
    if not any(step.name == STEP_NAME for step in DEMO_STEPS):
        names = [step.name for step in DEMO_STEPS]
        assert REFERRAL_STEP_NAME in names and CASE_STEP_NAME in names
        DEMO_STEPS.append(DemoStep(STEP_NAME, load_story_year_demo))


register_demo_step()
