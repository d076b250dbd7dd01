"""The joint training journey in a real browser (caseflow/training), through the pages only:

1. the district federation's officer 王芳 records yesterday's session, organised with the
   5th procuratorial department (a session ending before it starts is refused beside the
   end time, her input kept);
2. she invites two street federations;
3. she records the attendance: 花楼街's chair by account (present), 满春街's chair
   (excused, with the reason), and a justice bureau worker without an account, by name
   and organisation;
4. she records that worker a second time and sees why not, beside the name, with what she
   typed kept and nothing saved;
5. she reads who has been trained this year: the chair with the session she attended,
   花楼街 among the organisations that sent someone, the organisations that sent nobody
   as the database counts them.

The session page and the report must fit a 375 px phone without scrolling sideways.
Elements are found by data-testid, name and value; what a page says is compared with the
app's own translation (``app_text``), the data typed here as it is. Screenshots go to
test-artifacts/browser-training-*.png.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.browser.test_referral_loop import (
    PHONE_WIDTH, app_text, in_app, no_horizontal_scroll, path_of, sign_in, submit, user_id,
)

pytestmark = pytest.mark.browser

TRAINING = "/training"
ORGANISER = "fed.officer"
HUALOU, MANCHUN = "江汉区花楼街妇女联合会", "江汉区满春街妇女联合会"
DEPARTMENT5 = "江汉区人民检察院第五检察部"
TITLE = "浏览器测试：联合培训 线索发现与司法救助"
PLACE = "浏览器测试：区妇联五楼会议室"
TRAINERS = "张明（第五检察部检察官）、王芳（区妇联）"
CONTENT = "浏览器测试：怎样发现线索，司法救助救什么。"
EXTERNAL, EXTERNAL_ORG = "陈晓红", "江汉区司法局"
EXCUSED_NOTE = "浏览器测试：区里开会，事先请假"


def organisation_id(live_server, name: str) -> int:
    from caseflow.core.orgs.models import Organisation

    return in_app(live_server, lambda s: s.scalar(sa.select(Organisation.id).where(Organisation.name == name)))


def yesterday(live_server):
    from caseflow.core.db import local_date, utcnow

    with live_server.app.app_context():
        return local_date(utcnow()) - timedelta(days=1)


def session_row(live_server, session_id: int) -> dict:
    from caseflow.training.models import TrainingSession

    def read(session):
        row = session.get(TrainingSession, session_id)
        return {"state": row.state, "title": row.title,
                "organisers": sorted(o.organisation.name for o in row.organisers),
                "topics": [t.value for t in row.topics],
                "invited": sorted(i.invitee_name for i in row.active_invitations),
                "attendance": sorted((a.name, a.organisation_name, a.status, a.note)
                                     for a in row.attendances)}
    return in_app(live_server, read)


def not_sent(live_server, username: str, year: int) -> list[str]:
    from caseflow.core.orgs.models import User
    from caseflow.training import queries

    def read(session):
        user = session.scalar(sa.select(User).where(User.username == username))
        return [row.organisation.name for row in queries.not_sent_anyone(user, year)]
    return in_app(live_server, read)


def display_name(live_server, username: str) -> str:
    from caseflow.core.orgs.models import User

    return in_app(live_server, lambda s: s.scalar(sa.select(User.display_name).where(User.username == username)))


def session_id_of(page) -> int:
    match = re.fullmatch(rf"{TRAINING}/(\d+)", path_of(page))
    assert match, f"not a training session page: {page.url}"
    return int(match.group(1))


def fill_session(form, live_server, day, *, end: str) -> None:
    form.locator("input[name=title]").fill(TITLE)
    form.locator("input[name=held_on]").fill(day.isoformat())
    form.locator("input[name=start_time]").fill("14:30")
    form.locator("input[name=end_time]").fill(end)
    form.locator("input[name=place]").fill(PLACE)
    form.locator("input[name=trainers]").fill(TRAINERS)
    form.locator(f"input[name=organiser_ids][value='{organisation_id(live_server, DEPARTMENT5)}']").check()
    for topic in ("spotting_leads", "aid_coverage"):
        form.locator(f"input[name=topics][value={topic}]").check()
    form.locator("textarea[name=content]").fill(CONTENT)


def record(page, *, user: int | None = None, name: str = "", organisation: str = "", status: str,
           note: str = "") -> None:
    form = page.get_by_test_id("attendance-form")
    if not form.is_visible():
        page.locator("details:has([data-testid=attendance-form]) > summary").click()
    form.locator("select[name=user_id]").select_option(str(user or 0))
    form.locator("input[name=external_name]").fill(name)
    form.locator("input[name=external_organisation]").fill(organisation)
    form.locator(f"input[name=status][value={status}]").check()
    form.locator("input[name=note]").fill(note)
    submit(page, "save-attendance")


# -- the steps ---------------------------------------------------------------------------------


def organiser_records_the_session(tab, live_server) -> int:
    page = tab.page
    sign_in(tab, ORGANISER)
    with page.expect_navigation():
        page.get_by_test_id("main-nav").locator(f"a[href='{TRAINING}']").click()
    with page.expect_navigation():
        page.get_by_test_id("new-session").click()
    assert path_of(page) == f"{TRAINING}/new"
    form = page.get_by_test_id("session-form")
    own = form.locator(f"input[name=organiser_ids][value='{organisation_id(live_server, '江汉区妇女联合会')}']")
    assert own.is_checked(), "her own organisation is not offered as organiser"
    day = yesterday(live_server)

    # It cannot end before it starts: said beside the end time, nothing typed lost.
    fill_session(form, live_server, day, end="13:00")
    submit(page, "save-session")
    assert path_of(page) == f"{TRAINING}/new", page.url
    form = page.get_by_test_id("session-form")
    error = form.locator("input[name=end_time] ~ [data-testid=error-end_time]")
    assert error.is_visible() and error.inner_text().strip() == app_text(
        live_server, "The session must end after it starts.")
    assert form.locator("input[name=title]").input_value() == TITLE
    assert form.locator("input[name=place]").input_value() == PLACE
    assert form.locator("textarea[name=content]").input_value() == CONTENT
    assert form.locator("input[name=topics][value=aid_coverage]").is_checked()
    assert form.locator(f"input[name=organiser_ids][value='{organisation_id(live_server, DEPARTMENT5)}']").is_checked()
    assert in_app(live_server, lambda s: s.scalar(sa.text(
        "SELECT count(*) FROM training_sessions WHERE title = :t"), {"t": TITLE})) == 0

    form.locator("input[name=end_time]").fill("16:30")
    submit(page, "save-session")
    session_id = session_id_of(page)
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("session-title").inner_text().strip() == TITLE
    assert page.get_by_test_id("session-when").inner_text().strip() == f"{day.isoformat()} 14:30–16:30"
    assert page.get_by_test_id("session-state").inner_text().strip() == app_text(live_server, "Scheduled")
    row = session_row(live_server, session_id)
    assert row["organisers"] == sorted(["江汉区妇女联合会", DEPARTMENT5])
    assert row["topics"] == ["spotting_leads", "aid_coverage"]
    return session_id


def organiser_invites_two_streets(tab, live_server, session_id: int) -> None:
    page = tab.page
    form = page.get_by_test_id("invite-form")
    assert form.is_visible(), "the invitation form should be open while nobody is invited"
    for name in (HUALOU, MANCHUN):
        form.locator(f"input[name=organisation_ids][value='{organisation_id(live_server, name)}']").check()
    submit(page, "send-invitations")
    assert path_of(page) == f"{TRAINING}/{session_id}", page.url
    assert page.locator(".alert-success").is_visible()
    invited = page.get_by_test_id("invitation").all_inner_texts()
    assert len(invited) == 2 and any(HUALOU in text for text in invited)
    assert session_row(live_server, session_id)["invited"] == sorted([HUALOU, MANCHUN])
    # Invited already: no longer offered.
    assert page.locator(f"[data-testid=invite-form] input[name=organisation_ids]"
                        f"[value='{organisation_id(live_server, HUALOU)}']").count() == 0


def organiser_records_the_attendance(tab, live_server, session_id: int) -> None:
    page = tab.page
    record(page, user=user_id(live_server, "chair.hualou"), status="present")
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("session-state").inner_text().strip() == app_text(live_server, "Held")
    record(page, user=user_id(live_server, "chair.manchun"), status="excused", note=EXCUSED_NOTE)
    record(page, name=EXTERNAL, organisation=EXTERNAL_ORG, status="present")
    assert path_of(page) == f"{TRAINING}/{session_id}", page.url
    rows = page.get_by_test_id("attendee")
    assert rows.count() == 3
    table = page.get_by_test_id("attendance").inner_text()
    assert EXTERNAL in table and EXTERNAL_ORG in table and EXCUSED_NOTE in table
    counts = page.get_by_test_id("attendance-counts").inner_text()
    assert counts.strip() == app_text(live_server, "present %(present)d · absent %(absent)d · excused %(excused)d",
                                      present=2, absent=0, excused=1)
    tab.screenshot("training-attendance")


def organiser_records_the_same_person_twice(tab, live_server, session_id: int) -> None:
    page = tab.page
    before = session_row(live_server, session_id)["attendance"]
    record(page, name=EXTERNAL, organisation=EXTERNAL_ORG, status="excused", note="浏览器测试：重复录入")
    assert path_of(page) == f"{TRAINING}/{session_id}/attendance", page.url
    form = page.get_by_test_id("attendance-form")
    assert form.is_visible()
    error = form.locator("[data-testid=error-external_name]")
    assert error.is_visible(), "recording the same person twice shows no message beside the name"
    message = error.inner_text().strip()
    assert message == app_text(
        live_server, "%(attendee)s is already recorded for this session (%(status)s); correct that "
                     "entry instead of recording it again.",
        attendee=f"{EXTERNAL}（{EXTERNAL_ORG}）", status=app_text(live_server, "Present"))
    assert form.locator("input[name=external_name]").input_value() == EXTERNAL
    assert form.locator("input[name=external_organisation]").input_value() == EXTERNAL_ORG
    assert form.locator("input[name=note]").input_value() == "浏览器测试：重复录入"
    assert form.locator("input[name=status][value=excused]").is_checked()
    assert page.locator(".alert-success").count() == 0
    assert session_row(live_server, session_id)["attendance"] == before
    tab.screenshot("training-twice")


def organiser_reads_who_has_been_trained(tab, live_server, session_id: int) -> None:
    page = tab.page
    page.goto(TRAINING)
    with page.expect_navigation():
        page.get_by_test_id("training-report").click()
    assert path_of(page) == f"{TRAINING}/report"
    year = int(page.locator("select[name=year]").input_value())
    chair = display_name(live_server, "chair.hualou")
    person = page.get_by_test_id("person-row").filter(has_text=chair)
    assert person.count() == 1, f"{chair} is not among the people trained"
    assert person.locator(f"a[href='{TRAINING}/{session_id}']").inner_text().strip() == TITLE
    hualou = page.get_by_test_id("organisation-row").filter(has_text=HUALOU)
    assert int(hualou.get_by_test_id("people-trained").inner_text()) >= 1
    # The justice bureau is not one of the federation's organisations.
    assert page.get_by_test_id("by-person").filter(has_text=EXTERNAL).count() == 0
    silent = [text.strip() for text in page.get_by_test_id("silent-organisation").all_inner_texts()]
    expected = not_sent(live_server, ORGANISER, year)
    assert [any(name in text for text in silent) for name in expected] == [True] * len(expected)
    assert len(silent) == len(expected) and HUALOU not in " ".join(silent)
    tab.screenshot("training-report")


def pages_fit_a_phone(new_tab, session_id: int) -> None:
    phone = new_tab(viewport={"width": PHONE_WIDTH, "height": 800})
    sign_in(phone, ORGANISER)
    for path in (f"{TRAINING}/{session_id}", f"{TRAINING}/report", TRAINING):
        phone.page.goto(path)
        assert no_horizontal_scroll(phone.page), f"{path} scrolls sideways at {PHONE_WIDTH} px"
    phone.page.goto(f"{TRAINING}/{session_id}")
    phone.screenshot("training-phone")
    phone.assert_no_problems()


def test_a_training_session_with_attendance_is_recorded(new_tab, live_server):
    tab = new_tab()
    session_id = organiser_records_the_session(tab, live_server)
    organiser_invites_two_streets(tab, live_server, session_id)
    organiser_records_the_attendance(tab, live_server, session_id)
    organiser_records_the_same_person_twice(tab, live_server, session_id)
    organiser_reads_who_has_been_trained(tab, live_server, session_id)
    tab.assert_no_problems()
    pages_fit_a_phone(new_tab, session_id)
