"""Is the database's schema the one this code was written for?

The app serves only on a database at the migrations' head. On an older schema (a deploy
that forgot `caseflow db upgrade`) or a revision this code does not know (a newer
caseflow upgraded it, and this one was rolled back to), every page would fail in its own
way, half-way through; instead:

* ``caseflow.wsgi`` refuses to start, with a message naming both revisions and the
  command, so gunicorn does not boot;
* a running app answers every request but ``/healthz`` and static files with 503 and a
  page saying the database must be upgraded, until it is (then it serves, no restart).

The command line (``caseflow db upgrade``, ``caseflow demo``, ...) is never refused. A
good answer is kept for the life of the app (each process checks once); a bad one is
asked again at the next request.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from caseflow.extensions import db

#: Endpoints that answer whatever the schema: the load balancer's health check (it reports
#: the schema itself), the token-guarded metrics (their request counts still matter) and
#: static files (the refusal page's own style sheet).
EXEMPT_ENDPOINTS = {"health.healthz", "health.metrics", "static"}

UPGRADE_COMMAND = "caseflow db upgrade"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps
_CACHE_KEY = "caseflow.schema_current"


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to do."""


@dataclass(frozen=True)
class SchemaState:
    database: tuple[str, ...]  # the revisions in alembic_version (none: an empty database)
    code: tuple[str, ...]  # the heads of the migration scripts this code carries
    unknown: tuple[str, ...]  # database revisions no script of this code has

    @property
    def current(self) -> bool:
        return set(self.database) == set(self.code)

    def describe(self) -> str:
        """For operators (logs, the console): English, with the revisions and the fix."""
        code = ", ".join(self.code)
        if self.current:
            return f"The database schema is at {code}, this code's head."
        if not self.database:
            return (f"The database has no caseflow schema (no Alembic revision); this code "
                    f"needs {code}. Run `{UPGRADE_COMMAND}` first.")
        database = ", ".join(self.database)
        if self.unknown:
            return (f"The database schema is at revision {database}, which this code does not "
                    f"know (its head is {code}): the database was upgraded by a newer "
                    f"caseflow. Deploy that version (or newer) instead of this one.")
        return (f"The database schema is at revision {database}, older than this code's head "
                f"{code}. Run `{UPGRADE_COMMAND}` with this version, then start it again.")


@lru_cache(maxsize=None)
def _scripts(directory: str):
    from alembic.script import ScriptDirectory

    return ScriptDirectory(directory)


def _migrations_directory(app: Flask) -> str:
    return app.extensions["migrate"].directory


def code_heads(app: Flask) -> tuple[str, ...]:
    """The heads of the migration scripts this code carries (no database asked)."""
    return tuple(sorted(_scripts(_migrations_directory(app)).get_heads()))


def read_schema_state(app: Flask, connection) -> SchemaState:
    """Compare the revisions on ``connection`` with the scripts' head(s)."""
    from alembic.util import CommandError

    scripts = _scripts(_migrations_directory(app))
    # Read directly, not through Alembic's MigrationContext, which logs two lines per call.
    database = ()
    if sa.inspect(connection).has_table(VERSION_TABLE):
        database = tuple(sorted(connection.execute(
            sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()))
    unknown = []
    for revision in database:
        try:
            scripts.get_revision(revision)
        except CommandError:
            unknown.append(revision)
    return SchemaState(database=database, code=code_heads(app),
                       unknown=tuple(unknown))


def schema_state(app: Flask, connection=None) -> SchemaState:
    """The schema's state, read from the database (on ``connection`` if given, else on one
    of the app's own). A current state is remembered for the app's lifetime."""
    if connection is not None:
        state = read_schema_state(app, connection)
    else:
        with app.app_context():
            try:
                with db.engine.connect() as own:
                    state = read_schema_state(app, own)
            finally:
                # No connection left in the pool: with gunicorn's --preload this runs in
                # the master, whose pool the forked workers would otherwise share.
                db.engine.dispose()
    if state.current:
        app.extensions[_CACHE_KEY] = True
    return state


def is_known_current(app: Flask) -> bool:
    return app.extensions.get(_CACHE_KEY, False)


def require_current_schema(app: Flask) -> None:
    """Raise SchemaNotCurrent unless the database is at this code's head. A database that
    cannot be reached raises nothing: the requests will find out, and answer when it is
    back (a worker restarted during a database restart must still boot)."""
    if is_known_current(app):
        return
    try:
        state = schema_state(app)
    except DBAPIError as error:  # unreachable: see above
        app.logger.warning("The database schema could not be checked at start (%s); the "
                           "first requests will check it.", error)
        return
    if not state.current:
        raise SchemaNotCurrent(f"caseflow refuses to start: {state.describe()}")


def refuse_until_current():
    """before_request: 503 on every page (not /healthz, not static) until the schema is
    at head."""
    app = current_app._get_current_object()
    if is_known_current(app):
        return None
    try:
        # The request's own connection (a test's transaction too); it ends with the request.
        state = schema_state(app, db.session.connection())
    except SQLAlchemyError as error:  # unreachable: let the request meet it itself
        db.session.rollback()
        app.logger.warning("The database schema could not be checked: %s", error)
        return None
    if state.current:
        return None
    db.session.rollback()
    # Who is signed in is not looked up, by this page or by the answers that are not
    # refused (the response hooks ask): the accounts' own table may be what is outdated.
    g._login_user = app.login_manager.anonymous_user()
    endpoint = request.endpoint or ""
    if endpoint in EXEMPT_ENDPOINTS or endpoint.endswith(".static"):
        return None
    app.logger.error("Refusing requests: %s", state.describe())
    if state.unknown:
        message = _("caseflow cannot serve: its database was upgraded by a newer version of "
                    "caseflow than this one. The system administrator must deploy that "
                    "version again.")
    else:
        message = _("caseflow cannot serve yet: its database must be upgraded to this "
                    "version first. The system administrator runs “caseflow db upgrade”; "
                    "the pages come back by themselves once it has finished.")
    return render_template("errors/error.html", code=503, message=message), 503, \
        {"Retry-After": "60"}


def init_app(app: Flask) -> None:
    """Before every other request hook (CSRF's too), so none of them reads an outdated
    schema and every refused request gets the same page."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_until_current)
