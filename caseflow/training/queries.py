"""The lists of joint training: the sessions a user may see, and who has been trained,
counted by the database (GROUP BY, NOT EXISTS) for the user's organisation and those
below it in a calendar year of the district."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from caseflow.core.db import local_zone
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.orgs.policy import visible_organisation_ids
from caseflow.training.models import (
    AttendanceStatus, SessionState, TrainingAttendance, TrainingInvitation, TrainingOrganiser,
    TrainingSession,
)
from caseflow.training.policy import TRAINING_KINDS

PRESENT = AttendanceStatus.PRESENT.value


@dataclass
class SessionFilters:
    year: int | None = None
    state: str = ""
    #: Sessions starting from ``start`` to ``end`` (district days, both included).
    start: date | None = None
    end: date | None = None
    #: Only the sessions the user's organisation (or one below it) organised or had someone
    #: present at: the sessions the four-mechanisms report counts.
    took_part: bool = False


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first moment of ``year`` and of the next, in the district's time, as UTC."""
    zone = local_zone()

    def start(y: int) -> datetime:
        return datetime.combine(date(y, 1, 1), time(0), tzinfo=zone).astimezone(timezone.utc)

    return start(year), start(year + 1)


def in_year(year: int):
    first, after = year_bounds(year)
    return sa.and_(TrainingSession.starts_at >= first, TrainingSession.starts_at < after)


def visible_sessions(user):
    """Sessions organised by the user's organisation (or one below it), and those the
    user, their organisation or one below it was invited to or attended; none for those
    who have no part in training."""
    from caseflow.training.policy import can_list_sessions

    if not can_list_sessions(user):
        return sa.false()
    visible = visible_organisation_ids(user)
    organised = sa.select(TrainingOrganiser.session_id).where(TrainingOrganiser.organisation_id.in_(visible))
    invitee = aliased(User)
    invited = (sa.select(TrainingInvitation.session_id)
               .outerjoin(invitee, invitee.id == TrainingInvitation.user_id)
               .where(TrainingInvitation.withdrawn_at.is_(None),
                      sa.or_(TrainingInvitation.organisation_id.in_(visible),
                             TrainingInvitation.user_id == user.id, invitee.organisation_id.in_(visible))))
    attended = sa.select(TrainingAttendance.session_id).where(sa.or_(
        TrainingAttendance.user_id == user.id, TrainingAttendance.organisation_id.in_(visible)))
    return TrainingSession.id.in_(sa.union(organised, invited, attended))


def session_list(user, filters: SessionFilters):
    query = sa.select(TrainingSession).where(visible_sessions(user))
    if filters.year:
        query = query.where(in_year(filters.year))
    if filters.state:
        query = query.where(TrainingSession.state == filters.state)
    zone = local_zone()
    if filters.start:
        query = query.where(TrainingSession.starts_at >= datetime.combine(
            filters.start, time(0), tzinfo=zone).astimezone(timezone.utc))
    if filters.end:
        query = query.where(TrainingSession.starts_at < datetime.combine(
            filters.end + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc))
    if filters.took_part:
        visible = visible_organisation_ids(user)
        organised = sa.select(TrainingOrganiser.session_id).where(TrainingOrganiser.organisation_id.in_(visible))
        present = sa.select(TrainingAttendance.session_id).where(
            TrainingAttendance.organisation_id.in_(visible), TrainingAttendance.status == PRESENT)
        query = query.where(TrainingSession.id.in_(sa.union(organised, present)))
    return query.order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())


def attendance_counts(session_ids: list[int]) -> dict[int, dict[str, int]]:
    """For a page of sessions: {session id: {status: count}}."""
    if not session_ids:
        return {}
    from caseflow.extensions import db

    rows = db.session.execute(
        sa.select(TrainingAttendance.session_id, TrainingAttendance.status, sa.func.count())
        .where(TrainingAttendance.session_id.in_(session_ids))
        .group_by(TrainingAttendance.session_id, TrainingAttendance.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for session_id, status, count in rows:
        counts.setdefault(session_id, {})[status] = count
    return counts


# -- who has been trained ---------------------------------------------------------------


def report_organisations(user) -> list[Organisation]:
    """The organisations the report covers: the user's and those below it that organise
    and attend training (federations and procuratorates)."""
    from caseflow.extensions import db

    return db.session.scalars(
        sa.select(Organisation).where(Organisation.id.in_(visible_organisation_ids(user)),
                                      Organisation.kind.in_(TRAINING_KINDS))
        .order_by(Organisation.kind, Organisation.code)).all()


def _counted(year: int):
    """Attendance rows of the sessions held (not cancelled) in ``year``."""
    return sa.and_(TrainingAttendance.session_id == TrainingSession.id,
                   TrainingSession.state != SessionState.CANCELLED.value, in_year(year))


@dataclass
class OrganisationRow:
    organisation: Organisation
    people: int
    sessions: int
    present: int
    absent: int
    excused: int
    last_at: datetime | None


def by_organisation(user, year: int) -> list[OrganisationRow]:
    """Per organisation in scope: the people trained (present at least once), the sessions
    they attended, and the attendance marks, in one GROUP BY; organisations that sent
    nobody have zeros."""
    from caseflow.extensions import db

    def when(status: str, value):
        return sa.case((TrainingAttendance.status == status, value))

    def tally(status: str):
        return sa.func.coalesce(sa.func.sum(sa.case((TrainingAttendance.status == status, 1), else_=0)), 0)

    totals = (
        sa.select(
            TrainingAttendance.organisation_id.label("organisation_id"),
            (sa.func.count(sa.distinct(when(PRESENT, TrainingAttendance.user_id)))
             + sa.func.count(sa.distinct(when(PRESENT, TrainingAttendance.external_name)))).label("people"),
            sa.func.count(sa.distinct(when(PRESENT, TrainingAttendance.session_id))).label("sessions"),
            tally(PRESENT).label("present"), tally(AttendanceStatus.ABSENT.value).label("absent"),
            tally(AttendanceStatus.EXCUSED.value).label("excused"),
            sa.func.max(when(PRESENT, TrainingSession.starts_at)).label("last_at"))
        .select_from(TrainingAttendance).join(TrainingSession, _counted(year))
        .where(TrainingAttendance.organisation_id.in_(visible_organisation_ids(user)))
        .group_by(TrainingAttendance.organisation_id)).subquery()
    rows = db.session.execute(
        sa.select(Organisation, totals.c.people, totals.c.sessions, totals.c.present, totals.c.absent,
                  totals.c.excused, totals.c.last_at)
        .outerjoin(totals, totals.c.organisation_id == Organisation.id)
        .where(Organisation.id.in_(visible_organisation_ids(user)), Organisation.kind.in_(TRAINING_KINDS))
        .order_by(Organisation.kind, Organisation.code)).all()
    zone = timezone.utc
    return [OrganisationRow(org, people or 0, sessions or 0, present or 0, absent or 0, excused or 0,
                            _aware(last_at, zone))
            for org, people, sessions, present, absent, excused, last_at in rows]


def _aware(value, zone):
    """MAX() over a UTC column comes back naive (or as text) on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


@dataclass
class SilentRow:
    organisation: Organisation
    invitations: int


def not_sent_anyone(user, year: int) -> list[SilentRow]:
    """The active federations and procuratorates in scope with nobody present at any
    session of ``year`` (NOT EXISTS), with how many of that year's sessions they (or one
    of their people) were invited to."""
    from caseflow.extensions import db

    visible = visible_organisation_ids(user)
    sent = (sa.select(TrainingAttendance.id).join(TrainingSession, _counted(year))
            .where(TrainingAttendance.organisation_id == Organisation.id,
                   TrainingAttendance.status == PRESENT))
    invitee = aliased(User)
    invited = (sa.select(sa.func.count(sa.distinct(TrainingInvitation.session_id)))
               .join(TrainingSession, sa.and_(TrainingSession.id == TrainingInvitation.session_id,
                                              TrainingSession.state != SessionState.CANCELLED.value,
                                              in_year(year)))
               .outerjoin(invitee, invitee.id == TrainingInvitation.user_id)
               .where(TrainingInvitation.withdrawn_at.is_(None),
                      sa.or_(TrainingInvitation.organisation_id == Organisation.id,
                             invitee.organisation_id == Organisation.id))
               .correlate(Organisation).scalar_subquery())
    rows = db.session.execute(
        sa.select(Organisation, invited)
        .where(Organisation.id.in_(visible), Organisation.kind.in_(TRAINING_KINDS), Organisation.is_active,
               ~sa.exists(sent))
        .order_by(Organisation.kind, Organisation.code)).all()
    return [SilentRow(org, count or 0) for org, count in rows]


@dataclass
class PersonRow:
    name: str
    organisation_name: str
    user_id: int | None
    sessions: int
    session_list: list[tuple[int, str, datetime]]


def _person_scope(user):
    """Attendance of people of the user's organisations; an outside attendee from an
    organisation the system does not know belongs to the session's organisers."""
    visible = visible_organisation_ids(user)
    organised_here = sa.exists().where(TrainingOrganiser.session_id == TrainingAttendance.session_id,
                                       TrainingOrganiser.organisation_id.in_(visible))
    return sa.or_(TrainingAttendance.organisation_id.in_(visible),
                  sa.and_(TrainingAttendance.organisation_id.is_(None), organised_here))


def by_person(user, year: int, organisation_id: int | None = None) -> list[PersonRow]:
    """Each person present at least once in ``year`` (users by account, outside attendees
    by name and organisation), with the number of sessions (GROUP BY) and which ones."""
    from caseflow.extensions import db

    person_org = sa.func.coalesce(Organisation.name, TrainingAttendance.external_organisation)
    name = sa.func.coalesce(User.display_name, TrainingAttendance.external_name)
    base = (sa.select(TrainingAttendance.user_id, name.label("name"), person_org.label("org"))
            .join(TrainingSession, _counted(year))
            .outerjoin(User, User.id == TrainingAttendance.user_id)
            .outerjoin(Organisation, Organisation.id == TrainingAttendance.organisation_id)
            .where(TrainingAttendance.status == PRESENT, _person_scope(user)))
    if organisation_id:
        base = base.where(TrainingAttendance.organisation_id == organisation_id)
    grouped = db.session.execute(
        base.add_columns(sa.func.count(sa.distinct(TrainingAttendance.session_id)))
        .group_by(TrainingAttendance.user_id, name, person_org)
        .order_by(person_org, name)).all()
    attended = db.session.execute(
        base.add_columns(TrainingSession.id, TrainingSession.title, TrainingSession.starts_at)
        .order_by(TrainingSession.starts_at)).all()
    sessions: dict[tuple, list] = {}
    for user_id, person, org, session_id, title, starts_at in attended:
        sessions.setdefault((user_id, person, org), []).append((session_id, title, starts_at))
    return [PersonRow(person, org, user_id, count, sessions.get((user_id, person, org), []))
            for user_id, person, org, count in grouped]


def report_years(user, today_year: int) -> list[int]:
    """The years with sessions the user may see, and the current one."""
    from caseflow.extensions import db

    from caseflow.core.db import local_date

    first, last = db.session.execute(
        sa.select(sa.func.min(TrainingSession.starts_at), sa.func.max(TrainingSession.starts_at))
        .where(visible_sessions(user))).one()
    years = {today_year}
    if first is not None:
        years |= set(range(local_date(_aware(first, timezone.utc)).year,
                           local_date(_aware(last, timezone.utc)).year + 1))
    return sorted(years, reverse=True)
