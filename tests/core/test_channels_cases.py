"""The hand-overs of judicial aid cases and assistance items on every channel (快转快反):
a real local SMTP server, and local HTTP servers standing for the SMS gateway and the
group-chat robot (``tests.core.test_channels``), reached through the real services.

Everyone asks for e-mail and SMS on hand-overs and every organisation has a robot, so
each hand-over must reach each person told exactly once per channel and each office
chat once, and nothing that names the person but her pseudonym may leave."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from caseflow.assistance import alerts as item_alerts, services as assistance
from caseflow.core.notifications.models import AlertPreference, Notification
from caseflow.core.notifications.services import in_locale, notification_text
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.roles import Role
from caseflow.investigations import alerts as case_alerts, services as cases
from caseflow.referrals import services as referrals
from tests import factories
from tests.assistance.helpers import AssistCast
from tests.core.test_channels import deliver, gateway, robot  # noqa: F401  (fixtures)
from tests.investigations.helpers import proposal_input
from tests.notices import chinese
from tests.referrals.helpers import referral_input

KINDS = (case_alerts.KIND_OPENED, case_alerts.KIND_PROPOSED, case_alerts.KIND_APPROVED,
         case_alerts.KIND_REJECTED, case_alerts.KIND_RETURNED, item_alerts.KIND_SENT,
         item_alerts.KIND_ACCEPTED, item_alerts.KIND_DECLINED)

#: The persons of the cases and what protects them: none of it may leave on any channel.
PERSONS = [  # pseudonym, real name, resident ID, phone, address
    ("小雨", "陈雨婷", factories.VALID_IDS[0], "13871234567", "武汉市江汉区某社区"),
    ("晓丽", "王晓丽", factories.VALID_IDS[1], "13507140088", "武汉市江汉区唐家墩街12号"),
    ("阿兰", "李兰芳", factories.VALID_IDS[2], "18627001234", "武汉市江汉区常青路8号"),
    ("小梅", "赵梅", None, "15927005678", "武汉市江汉区新华路3号"),
]
FREE_TEXT = ("陈雨婷的病历不全，请补充", "陈雨婷的案件不属本局受理范围")


def registered_referral(cast, now, person):
    ref = referrals.save_draft(actor=cast.officer, now=now, person=person,
                               receiver=cast.world.department5,
                               data=referral_input(consent_on=now.date()),
                               submission_token=uuid.uuid4().hex)
    referrals.send(ref, actor=cast.officer, now=now)
    return referrals.register(ref, actor=cast.prosecutor, now=now, registration_number=f"登-{ref.id}",
                              received_on=ref.received_on, handler=cast.prosecutor)


def investigating(cast, now, referral):
    case = cast.open(now, referral=referral)
    cases.start_investigation(case, actor=cast.prosecutor, now=now, plan="走访街道、社区和家庭。",
                              members=[cast.prosecutor, cast.officer])
    return case


def test_each_case_and_assistance_hand_over_reaches_every_channel_once_and_no_protected_field_leaves(
        app, db, clock, world, gateway, robot, smtp_server):  # noqa: F811  (fixtures)
    cast = AssistCast(world)
    chief = factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR}, org=world.procuratorate)
    persons = [cast.person] + [
        factories.make_person(world, cast.officer, pseudonym=p, real_name=name, resident_id=rid,
                              phone=phone, address=address)
        for p, name, rid, phone, address in PERSONS[1:]]
    # The referrals come first and are no part of this test: told in the app only.
    referred = [registered_referral(cast, clock.now, person) for person in persons]

    everyone = [u for u in db.session.scalars(sa.select(User).order_by(User.id)) if not u.admin_role]
    for n, user in enumerate(everyone):
        user.phone = f"+86139100000{n:02d}"
        user.alert_preferences = [AlertPreference(event="handover", channel=c, enabled=True)
                                  for c in ("email", "sms")]
    for org in db.session.scalars(sa.select(Organisation)):
        org.webhook_url = f"{robot.url}/cgi-bin/webhook/send?key={org.code}"
    db.session.flush()

    # Four cases opened from the referrals; three proposals answered each way; a fourth
    # proposed by the department's only supervisor, which only the chief above may approve.
    opened = [investigating(cast, clock.now, ref) for ref in referred]
    approved, rejected, returned, own = opened
    for case in (approved, rejected, returned):
        cases.propose(case, actor=cast.prosecutor, now=clock.now, data=proposal_input())
    cases.propose(own, actor=cast.proc_supervisor, now=clock.now, data=proposal_input(amount="12000"))
    cases.review(approved, actor=cast.proc_supervisor, now=clock.now, outcome="approve", comment=None)
    cases.review(rejected, actor=cast.proc_supervisor, now=clock.now, outcome="reject",
                 comment=FREE_TEXT[0])
    cases.review(returned, actor=cast.proc_supervisor, now=clock.now, outcome="return",
                 comment=FREE_TEXT[0])
    # Two items of 小雨's plan: one accepted by the counselling centre, one declined by the bureau.
    plan = cast.plan(clock.now)
    counselling = cast.sent_item(plan, clock.now)
    assistance.accept(counselling, actor=cast.counsellor, now=clock.now)
    legal = cast.legal_aid(plan, clock.now)
    assistance.send_to_provider(legal, actor=cast.officer, now=clock.now)
    assistance.decline(legal, actor=cast.justice_worker, now=clock.now, reason=FREE_TEXT[1])
    db.session.flush()

    notes = db.session.scalars(sa.select(Notification).where(Notification.kind.in_(KINDS))
                               .order_by(Notification.id)).all()
    told = Counter((n.user_id, n.kind, n.link) for n in notes)
    expected = Counter(
        [(u.id, case_alerts.KIND_OPENED, f"/cases/{c.id}") for c in opened
         for u in (cast.officer, cast.fed_supervisor)]
        + [(cast.proc_supervisor.id, case_alerts.KIND_PROPOSED, f"/cases/{c.id}")
           for c in (approved, rejected, returned)]
        + [(chief.id, case_alerts.KIND_PROPOSED, f"/cases/{own.id}")]
        + [(cast.prosecutor.id, case_alerts.KIND_APPROVED, f"/cases/{approved.id}"),
           (cast.prosecutor.id, case_alerts.KIND_REJECTED, f"/cases/{rejected.id}"),
           (cast.prosecutor.id, case_alerts.KIND_RETURNED, f"/cases/{returned.id}"),
           (cast.counsellor.id, item_alerts.KIND_SENT, f"/assistance/items/{counselling.id}"),
           (cast.officer.id, item_alerts.KIND_ACCEPTED, f"/assistance/items/{counselling.id}"),
           (cast.justice_worker.id, item_alerts.KIND_SENT, f"/assistance/items/{legal.id}"),
           (cast.officer.id, item_alerts.KIND_DECLINED, f"/assistance/items/{legal.id}")])
    assert told == expected

    mail, other = deliver(app, clock.now)
    assert mail.failed == other.failed == 0

    base = app.config["CASEFLOW_BASE_URL"].rstrip("/")
    users = {u.id: u for u in everyone}

    def sentence(note, user):
        return in_locale(user, lambda: notification_text(note.kind, note.params))

    # Each notification: exactly one e-mail to its reader and one SMS to her phone, and
    # nothing else reached the SMTP server or the gateway.
    for note in notes:
        user, link = users[note.user_id], base + note.link
        text = sentence(note, user)
        assert len([m for m in smtp_server.messages if m["to"] == [user.email]
                    and text in m["body"] and link in m["body"]]) == 1, (note.kind, user.email)
        assert len([s for s in gateway.accepted if s["to"] == user.phone
                    and text in s["text"] and s["text"].endswith(link)]) == 1, (note.kind, user.phone)
    assert len(smtp_server.messages) == len(gateway.accepted) == len(notes)

    # Each office chat hears each hand-over once, however many of its people were told.
    codes = {u.id: u.organisation.code for u in everyone}
    chats = Counter((r["path"].split("key=")[1], r["body"]["text"]["content"]) for r in robot.requests)
    assert chats == Counter({(codes[n.user_id], f"{chinese(n)}\n{base}{n.link}") for n in notes})
    assert len(robot.accepted) == len(robot.requests)

    # A second delivery sends nothing more.
    mail, other = deliver(app, clock.now + timedelta(minutes=5))
    assert mail.sent == other.sent == 0
    assert len(smtp_server.messages) == len(gateway.accepted) == len(notes)
    assert len(robot.requests) == sum(chats.values())

    # The proposer never hears of his own proposal, on any channel he has.
    for proposer, case in [(cast.prosecutor, c) for c in (approved, rejected, returned)] + [
            (cast.proc_supervisor, own)]:
        proposed = next(n for n in notes if n.kind == case_alerts.KIND_PROPOSED
                        and n.link == f"/cases/{case.id}")
        text = sentence(proposed, proposer)
        assert not [m for m in smtp_server.messages if m["to"] == [proposer.email] and text in m["body"]]
        assert not [s for s in gateway.accepted if s["to"] == proposer.phone and text in s["text"]]
        assert (proposer.id, case_alerts.KIND_PROPOSED, f"/cases/{case.id}") not in told

    # Every message names the case by its number and the person by her pseudonym only.
    messages = ([(m["to"][0], m["subject"] + m["body"]) for m in smtp_server.messages]
                + [(s["to"], s["text"]) for s in gateway.accepted]
                + [("chat", c["text"]["content"]) for c in robot.accepted])
    for case in opened:
        about = [body for _to, body in messages if f"/cases/{case.id}" in body]
        assert about and all(case.number in body and case.applicant.pseudonym in body
                             for body in about)
    for item in (counselling, legal):
        about = [body for _to, body in messages if f"/assistance/items/{item.id}" in body]
        assert about and all("小雨" in body for body in about)
    everything = json.dumps([smtp_server.messages, gateway.accepted, robot.accepted], ensure_ascii=False)
    for protected in [field for person in PERSONS for field in person[1:] if field] + list(FREE_TEXT):
        assert protected not in everything
