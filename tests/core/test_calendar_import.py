"""Loading an official schedule: a preview of the due dates that move, then the load, which
makes exactly those moves and records each in the referral's timeline."""
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.calendar import routes as calendar_routes, services
from caseflow.core.calendar.models import CalendarDay, CalendarYear
from caseflow.referrals import services as referral_services
from caseflow.referrals.models import Referral, ReferralEvent
from tests import factories
from tests.conftest import CSRF_PATTERN, page_text
from tests.core.test_calendar_loaded_year import SCHEDULE_2027
from tests.referrals.helpers import Cast

D = date


def at(day: date) -> datetime:
    """09:00 in Wuhan on ``day``."""
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def cast(world):
    return Cast(world)


@pytest.fixture
def admin(world):
    return factories.make_user(world, roles={"system_admin"})


@pytest.fixture
def referrals(cast, db):
    """Open referrals received in January and February 2027, before its schedule is known,
    with what the package's guesses gave them; and one withdrawn."""
    made = {}
    for key, day in [("eve", D(2027, 1, 5)), ("friday", D(2027, 1, 12)), ("saturday", D(2027, 1, 20)),
                     ("agreed", D(2027, 1, 4)), ("registration", D(2027, 2, 3)),
                     ("withdrawn", D(2027, 1, 6))]:
        made[key] = cast.sent(at(day))
    referral_services.withdraw(made["withdrawn"], actor=cast.officer, now=at(D(2027, 1, 6)),
                               reason="当事人撤回")
    db.session.flush()
    guessed = {key: (ref.statutory_due_on, ref.due_is_provisional, ref.registration_due_on)
               for key, ref in made.items()}
    assert guessed["eve"] == (D(2027, 2, 11), True, D(2027, 1, 8))  # 5-10 Feb guessed rest
    assert guessed["friday"] == (D(2027, 2, 12), True, D(2027, 1, 15))
    assert guessed["saturday"] == (D(2027, 2, 22), True, D(2027, 1, 25))
    assert guessed["agreed"] == (D(2027, 2, 4), True, D(2027, 1, 7))
    assert guessed["registration"] == (D(2027, 3, 3), True, D(2027, 2, 12))
    return made


#: (referral, reply due from → to, registration due from → to) that the made-up schedule makes.
EXPECTED_MOVES = {
    ("eve", D(2027, 2, 11), D(2027, 2, 5), D(2027, 1, 8), D(2027, 1, 8)),
    ("friday", D(2027, 2, 12), D(2027, 2, 15), D(2027, 1, 15), D(2027, 1, 15)),
    ("saturday", D(2027, 2, 22), D(2027, 2, 20), D(2027, 1, 25), D(2027, 1, 25)),
    ("agreed", D(2027, 2, 4), D(2027, 2, 4), D(2027, 1, 7), D(2027, 1, 7)),
    ("registration", D(2027, 3, 3), D(2027, 3, 3), D(2027, 2, 12), D(2027, 2, 15)),
}


def _moves(change, referrals) -> set:
    names = {ref.number: key for key, ref in referrals.items()}
    assert all(not m.is_provisional and m.was_provisional for m in change.moves)
    assert {m.subject for m in change.moves} == {"小雨"}
    return {(names[m.label], m.due_from, m.due_to, m.registration_from, m.registration_to)
            for m in change.moves}


def _saved(db) -> dict:
    return {
        "days": db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)),
        "years": db.session.scalar(sa.select(sa.func.count()).select_from(CalendarYear)),
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(ReferralEvent)),
        "audit": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
        "dues": db.session.execute(sa.select(Referral.id, Referral.statutory_due_on,
                                             Referral.due_is_provisional, Referral.registration_due_on)
                                   .order_by(Referral.id)).all(),
    }


def test_the_preview_lists_exactly_the_moves_the_load_makes_and_saves_nothing(
        db, clock, admin, referrals):
    now = at(D(2027, 2, 4))
    before = _saved(db)
    preview = services.preview_schedule(SCHEDULE_2027, actor=admin, now=now, source="2027.csv")
    assert _moves(preview, referrals) == EXPECTED_MOVES
    assert _saved(db) == before
    assert not services.load_calendar().is_official(2027)
    assert {d.day for d in preview.changed_days} >= {D(2027, 2, 5), D(2027, 2, 11), D(2027, 2, 20),
                                                     D(2027, 5, 4), D(2027, 12, 30)}
    assert D(2027, 2, 8) not in {d.day for d in preview.changed_days}  # rest either way

    loaded = services.import_schedule(SCHEDULE_2027, actor=admin, now=now, source="2027.csv")
    assert loaded.moves == preview.moves and loaded.changed_days == preview.changed_days
    for key, due_from, due_to, reg_from, reg_to in EXPECTED_MOVES:
        ref = db.session.get(Referral, referrals[key].id)
        assert (ref.statutory_due_on, ref.reply_due_on, ref.due_is_provisional,
                ref.registration_due_on) == (due_to, due_to, False, reg_to)
        event = db.session.scalars(sa.select(ReferralEvent).where(
            ReferralEvent.referral_id == ref.id, ReferralEvent.kind == "due_moved")).one()
        assert (event.data["from"], event.data["to"], event.data["provisional"]) == (
            due_from.isoformat(), due_to.isoformat(), False)
        assert (event.data["registration_from"], event.data["registration_to"]) == (
            reg_from.isoformat(), reg_to.isoformat())
        assert "2027" in event.text
        assert ("登记" in event.text or "Registration" in event.text) == (reg_from != reg_to)
        audit = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "referral.due_moved", AuditEvent.object_id == str(ref.id))).one()
        assert audit.after["statutory_due_on"] == due_to.isoformat()
    withdrawn = db.session.get(Referral, referrals["withdrawn"].id)
    assert withdrawn.due_is_provisional  # closed records keep what they had


def test_loading_again_moves_nothing_and_replaces_the_earlier_schedule(db, clock, admin, referrals):
    services.import_schedule(SCHEDULE_2027, actor=admin, now=at(D(2027, 2, 4)), source="2027.csv")
    again = services.import_schedule(SCHEDULE_2027, actor=admin, now=at(D(2027, 2, 5)), source="2027.csv")
    assert again.moves == [] and again.changed_days == [] and again.removed_days == []
    # The State Council corrects the schedule: 12 Feb is a working day after all.
    corrected = "\n".join(line for line in SCHEDULE_2027.splitlines() if not line.startswith("2027-02-12"))
    change = services.import_schedule(corrected, actor=admin, now=at(D(2027, 2, 6)), source="2027b.csv")
    assert change.removed_days == [D(2027, 2, 12)]
    assert [(m.label, m.due_from, m.due_to, m.registration_from, m.registration_to)
            for m in change.moves] == [
        (referrals["friday"].number, D(2027, 2, 15), D(2027, 2, 12), D(2027, 1, 15), D(2027, 1, 15)),
        (referrals["registration"].number, D(2027, 3, 3), D(2027, 3, 3), D(2027, 2, 15), D(2027, 2, 12))]
    assert services.load_calendar().is_working_day(D(2027, 2, 12))


def test_an_administrators_correction_stays_stronger_than_a_schedule_loaded_later(
        db, clock, admin, referrals):
    services.set_day(D(2027, 2, 20), is_working=False, note="区机关停电", actor=admin,
                     now=at(D(2027, 1, 25)))
    preview = services.preview_schedule(SCHEDULE_2027, actor=admin, now=at(D(2027, 2, 4)), source="x")
    assert [(d.day, d.was_working, d.is_working) for d in preview.kept_corrections] == [
        (D(2027, 2, 20), False, True)]
    change = services.import_schedule(SCHEDULE_2027, actor=admin, now=at(D(2027, 2, 4)), source="x")
    assert change.kept_corrections == preview.kept_corrections
    calendar = services.load_calendar()
    assert not calendar.is_working_day(D(2027, 2, 20))
    assert calendar.reply_due(D(2027, 1, 20)).day == D(2027, 2, 22)
    # Loading the schedule again keeps the correction too.
    services.import_schedule(SCHEDULE_2027, actor=admin, now=at(D(2027, 2, 5)), source="x")
    assert not services.load_calendar().is_working_day(D(2027, 2, 20))


def test_only_the_system_administrator_previews(db, clock, cast):
    from caseflow.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.preview_schedule(SCHEDULE_2027, actor=cast.proc_supervisor, now=clock.now, source="x")


# -- the Calendar page ---------------------------------------------------------------------


def _upload(client, text: bytes, name="2027.csv"):
    return client.submit("/admin/calendar/import",
                         {"schedule": (io.BytesIO(text), name)}, page="/admin/calendar")


def test_the_page_previews_then_loads_on_confirmation(client, login_as, db, clock, admin, cast,
                                                      referrals, app, monkeypatch):
    clock.set(at(D(2027, 2, 4)))
    login_as(admin)
    before = _saved(db)
    preview = _upload(client, SCHEDULE_2027.encode())
    assert preview.status_code == 200
    text = page_text(preview)
    assert "尚未保存" in text
    assert f"{referrals['eve'].number} 小雨 2027-02-11 暂定 → 2027-02-05" in text
    assert "2027-02-12 暂定 → 2027-02-15" in text
    assert "2027-02-12 → 2027-02-15" in text  # the registration due date
    assert "2027-02-05 周五 休息日 工作日 " in text
    assert "2027-02-11 周四 工作日 休息日 春节" in text
    assert referrals["withdrawn"].number not in text
    assert _saved(db) == before

    html = preview.get_data(as_text=True)
    signed = re.search(r'name="schedule" type="hidden" value="([^"]+)"', html).group(1)
    token = CSRF_PATTERN.search(html).group(1)
    tampered = client.post("/admin/calendar/import/confirm",
                           data={"csrf_token": token, "schedule": signed[:-2] + "xx"})
    assert tampered.status_code == 400 and "重新选择文件" in page_text(tampered)
    monkeypatch.setattr(calendar_routes, "PREVIEW_MAX_AGE", timedelta(minutes=5))
    clock.advance(minutes=6)  # within the sign-in's idle limit
    expired = client.post("/admin/calendar/import/confirm", data={"csrf_token": token, "schedule": signed})
    assert expired.status_code == 400 and "已过期" in page_text(expired)
    assert _saved(db) == before
    clock.set(at(D(2027, 2, 4)))

    done = client.post("/admin/calendar/import/confirm", data={"csrf_token": token, "schedule": signed})
    assert done.status_code == 302
    page = page_text(client.get(done.headers["Location"]))
    assert "已导入2027年官方节假日安排，4个期限已相应调整。" in page.replace(" ", "")
    assert services.load_calendar().is_official(2027)

    officer = app.test_client()
    officer.post("/login", data={"username": cast.officer.username, "password": factories.PASSWORD,
                                 "csrf_token": CSRF_PATTERN.search(
                                     officer.get("/login").get_data(as_text=True)).group(1)})
    timeline = page_text(officer.get(f"/referrals/{referrals['registration'].id}"))
    assert "2027-03-03 → 2027-03-03 已导入 2027 年官方节假日安排 登记期限由 2027-02-12 调整为 2027-02-15。" in timeline


@pytest.mark.parametrize(("content", "message"), [
    ("2027-02-30,rest\n".encode(), "第 1 行"),
    ("2027-02-06,休息\n".encode("gbk"), "UTF-8"),
    (b"", "没有任何日期"),
])
def test_a_bad_file_is_refused_beside_the_field_and_nothing_is_saved(
        client, login_as, db, admin, content, message):
    login_as(admin)
    before = _saved(db)
    response = _upload(client, content)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    feedback = re.search(r'id="schedule"[^>]*>\s*<div[^>]*invalid-feedback[^>]*>(.*?)</div>', html, re.S)
    assert feedback and message in feedback.group(1), html[html.find('id="schedule"') - 200:][:800]
    assert _saved(db) == before


# -- the command line ----------------------------------------------------------------------


def test_the_command_previews_and_loads_only_with_yes_or_a_yes_answer(app, db, clock, referrals,
                                                                     tmp_path, monkeypatch):
    from caseflow import cli

    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    runner = app.test_cli_runner()
    before = _saved(db)

    shown = runner.invoke(args=["calendar", "import", str(path)])
    assert shown.exit_code == cli.NOT_CONFIRMED
    assert (f"{referrals['eve'].number}  小雨  reply due 2027-02-11 (provisional) -> 2027-02-05"
            in shown.output)
    assert "registration due 2027-02-12 -> 2027-02-15" in shown.output
    assert "2027-02-05 Fri  rest -> working" in shown.output
    assert "Run again with --yes" in shown.output
    assert _saved(db) == before

    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    declined = runner.invoke(args=["calendar", "import", str(path)], input="n\n")
    assert declined.exit_code == cli.NOT_CONFIRMED and "Nothing loaded." in declined.output
    assert _saved(db) == before

    accepted = runner.invoke(args=["calendar", "import", str(path)], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Loaded the official calendar for 2027; 4 due dates moved, 5 recorded" in accepted.output
    assert services.load_calendar().is_official(2027)


def test_the_command_with_yes_loads_without_asking(app, db, clock, referrals, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert "reply due 2027-02-22 (provisional) -> 2027-02-20" in result.output
    assert db.session.get(Referral, referrals["saturday"].id).statutory_due_on == D(2027, 2, 20)


def test_the_command_refuses_a_bad_file(app, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("2027-02-01,maybe\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(path), "--yes"])
    assert result.exit_code == 1 and "Nothing loaded" in result.output and "maybe" in result.output
    assert not services.load_calendar().is_official(2027)


def test_the_calendar_page_tells_schedule_days_from_corrections(client, login_as, db, clock, admin):
    services.import_schedule(SCHEDULE_2027, actor=admin, now=at(D(2026, 12, 1)), source="2027.csv")
    services.set_day(D(2027, 2, 5), is_working=False, note="区机关停电", actor=admin,
                     now=at(D(2026, 12, 2)))
    login_as(admin)
    text = page_text(client.get("/admin/calendar?year=2027"))
    assert "2027-02-05 休息日 区机关停电 逐日设置（优先于官方安排）" in text
    assert "2027-02-06 休息日 春节 官方安排" in text
    assert "仅以该安排为准" in text
