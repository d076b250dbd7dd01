"""The declarative base, column conventions and the clock every service is given."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.functions import FunctionElement
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones, so values are normalised to UTC on the way in and marked
    UTC on the way out; a naive datetime is a programming error and is refused.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


def utcnow() -> datetime:
    """The current time, aware UTC. Tests replace the clock with ``CASEFLOW_CLOCK``."""
    if has_app_context():
        clock = current_app.config.get("CASEFLOW_CLOCK")
        if clock is not None:
            return clock()
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    name = "Asia/Shanghai"
    if has_app_context():
        name = current_app.config.get("CASEFLOW_TIMEZONE", name)
    return ZoneInfo(name)


def local_date(moment: datetime) -> date:
    """The calendar date in the district (Asia/Shanghai unless configured) at ``moment``."""
    return moment.astimezone(local_zone()).date()


def to_local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(local_zone())


class local_day(FunctionElement):
    """In SQL, the district's calendar date of a UTC moment (a DATE, comparable with date
    columns). On SQLite, which knows no time zones, by the zone's offset (Asia/Shanghai has
    had no daylight saving time since 1991). The zone and the offset are bound parameters,
    so a statement using this is cached once whatever the zone."""
    type = sa.Date()
    name = "local_day"
    inherit_cache = True

    def __init__(self, moment):
        zone = local_zone()
        hours = int(zone.utcoffset(datetime(2000, 1, 1)).total_seconds() // 3600)
        super().__init__(moment, sa.literal(zone.key, sa.String), sa.literal(f"{hours:+d} hours", sa.String))


@compiles(local_day, "sqlite")
def _local_day_on_sqlite(element, compiler, **kw):
    moment, _zone, offset = element.clauses
    return f"date({compiler.process(moment, **kw)}, {compiler.process(offset, **kw)})"


@compiles(local_day)
def _local_day_elsewhere(element, compiler, **kw):
    moment, zone, _offset = element.clauses
    return f"CAST(timezone({compiler.process(zone, **kw)}, {compiler.process(moment, **kw)}) AS DATE)"


def enum_values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


def check_in(column: str, enum_cls) -> str:
    """SQL text for a CHECK that ``column`` holds one of the enum's values."""
    values = ", ".join(f"'{value}'" for value in enum_values(enum_cls))
    return f"{column} IN ({values})"


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    # SQLite only enforces foreign keys when asked, and pysqlite's own transaction
    # handling breaks SAVEPOINTs; we take over BEGIN ourselves (see _begin_sqlite).
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection):
    # IMMEDIATE takes the write lock at the start, so concurrent writers queue on the
    # busy timeout instead of failing with "database is locked" when a read lock
    # cannot be upgraded. SQLite thus serialises transactions; PostgreSQL is the
    # database for many concurrent users. A read-only engine (core/replica.py, marked by
    # its execution option) cannot take the write lock and needs none: a plain BEGIN.
    if connection.dialect.name == "sqlite":
        read_only = connection.get_execution_options().get("caseflow_read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
