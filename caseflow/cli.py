"""The ``caseflow`` command: Flask's CLI for this app plus the project's own commands."""
from __future__ import annotations

import sys
from datetime import datetime, time, timezone

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from caseflow.core.console import BOLD, GREEN, RED, YELLOW, colour as _colour


def _create_app(*args, **kwargs) -> Flask:
    from caseflow import create_app
    from caseflow.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as error:
        click.echo(_colour(f"caseflow cannot start: {error}", RED), err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
# The installed package's version (importlib.metadata), answered eagerly: before any app,
# setting or database is looked at.
@click.version_option(None, "--version", "-V", package_name="caseflow", prog_name="caseflow",
                      message="%(prog)s %(version)s")
def main():
    """caseflow: judicial aid referrals between the women's federation and the procuratorate."""


def _add_check_command() -> None:
    from caseflow.core.monitoring import check_command

    # On the group itself, not on the app's commands: it must also run (and answer UNKNOWN,
    # exit 3) when the app cannot be configured.
    main.add_command(check_command)


_add_check_command()


def _now_for(today: str | None) -> datetime:
    from caseflow.core.db import local_zone, utcnow

    if not today:
        return utcnow()
    day = datetime.strptime(today, "%Y-%m-%d").date()
    return datetime.combine(day, time(9, 0), tzinfo=local_zone()).astimezone(timezone.utc)


def register_commands(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(users_group)
    app.cli.add_command(orgs_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(calendar_group)
    app.cli.add_command(reminders_group)
    app.cli.add_command(outbox_group)
    from caseflow.core.backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("demo")
@click.option("--today", metavar="YYYY-MM-DD", help="Pretend today is this date (default: today).")
@click.option("--if-empty", is_flag=True, help="Load only into a database with no organisations.")
@with_appcontext
def demo_command(today: str | None, if_empty: bool):
    """Load the demo dataset (idempotent) and print the demo logins."""
    from caseflow.core.demo import DEMO_PASSWORD, demo_logins, load_demo
    from caseflow.core.orgs.models import Organisation
    from caseflow.extensions import db

    if if_empty and db.session.scalar(sa.select(sa.func.count(Organisation.id))):
        click.echo("The database has data already; the demo data is not loaded again.")
    else:
        click.echo(_colour("Loading the demo data…", BOLD))
        load_demo(now=_now_for(today), log=click.echo)
        db.session.commit()
    click.echo(_colour("Demo logins (password for all: ", BOLD)
               + _colour(DEMO_PASSWORD, GREEN) + _colour(")", BOLD))
    for username, name, org, roles in demo_logins():
        click.echo(f"  {_colour(username.ljust(18), GREEN)} {name}  {org}  [{roles}]")


@click.group("users")
def users_group():
    """Manage accounts from the server's shell."""


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="The person's full name.")
@click.option("--email", required=True)
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. jh-fed.")
@click.option("--role", "roles", multiple=True, required=True,
              help="A role; repeat for several (e.g. --role system_admin).")
@click.password_option(help="Temporary password; the user changes it at first sign-in.")
@with_appcontext
def create_user(username, display_name, email, org_code, roles, password):
    """Create an account, e.g. the first system administrator of a deployment."""
    from caseflow.core.db import utcnow
    from caseflow.core.errors import DomainError
    from caseflow.core.orgs.models import Organisation
    from caseflow.core.orgs.roles import Role
    from caseflow.core.orgs.services import create_account
    from caseflow.extensions import db

    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise click.BadParameter(f"no organisation has the code {org_code!r}", param_hint="--org")
    try:
        wanted = frozenset(Role(r) for r in roles)
    except ValueError:
        raise click.BadParameter(
            "roles are: " + ", ".join(r.value for r in Role), param_hint="--role") from None
    try:
        user = create_account(actor=None, now=utcnow(), username=username,
                              display_name=display_name, email=email, organisation=org,
                              password=password, roles=wanted)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(_colour(f"Not created: {error.message}", RED), err=True)
        sys.exit(1)
    click.echo(_colour(f"Created {user.username} in {org.name}; they must change the password "
                       "at first sign-in.", GREEN))


@click.group("orgs")
def orgs_group():
    """Organisations from the server's shell (the first one of a new deployment)."""


@orgs_group.command("create")
@click.option("--code", required=True, help="Short code, e.g. jh-fed (used by --org).")
@click.option("--name", required=True, help="Full name, e.g. 江汉区妇女联合会.")
@click.option("--short-name", help="Name in lists (default: the full name).")
@click.option("--kind", required=True, type=click.Choice(["federation", "procuratorate", "partner"]))
@click.option("--parent", "parent_code", help="Code of the organisation this one is a unit of.")
@click.option("--referral-prefix", help="Prefix of its referral numbers, e.g. 江妇移.")
@click.option("--letter-prefix", help="Prefix of its letter numbers (replies), e.g. 江汉妇函.")
@click.option("--office-phone", help="Office phone for its letters' contact line, e.g. 027-85551234.")
@with_appcontext
def create_org(code, name, short_name, kind, parent_code, referral_prefix, letter_prefix, office_phone):
    """Create an organisation; the system administrator manages them in the app after."""
    from caseflow.core.db import utcnow
    from caseflow.core.errors import DomainError
    from caseflow.core.orgs.models import Organisation
    from caseflow.core.orgs.services import create_organisation
    from caseflow.extensions import db

    parent = None
    if parent_code:
        parent = db.session.scalar(sa.select(Organisation).where(Organisation.code == parent_code))
        if parent is None:
            raise click.BadParameter(f"no organisation has the code {parent_code!r}",
                                     param_hint="--parent")
    try:
        org = create_organisation(actor=None, now=utcnow(), code=code, name=name,
                                  short_name=(short_name or name)[:40], kind=kind, parent=parent,
                                  referral_prefix=referral_prefix, letter_prefix=letter_prefix,
                                  office_phone=office_phone)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(_colour(f"Not created: {error.message}", RED), err=True)
        sys.exit(1)
    click.echo(_colour(f"Created {org.name} ({org.code}).", GREEN))


@click.group("keys")
def keys_group():
    """The data key that seals protected identity fields."""


@keys_group.command("generate")
def generate_key():
    """Print a new random data key (32 hex digits)."""
    from caseflow.core.crypto import generate_key as make

    click.echo(make())


@keys_group.command("rotate")
@click.option("--new-key", required=True, envvar="CASEFLOW_NEW_DATA_KEY",
              help="The new key (32 hex digits); or set CASEFLOW_NEW_DATA_KEY.")
@click.option("--batch", default=500, show_default=True, help="Rows per progress line.")
@with_appcontext
def rotate_keys(new_key: str, batch: int):
    """Re-encrypt every protected field under a new key, in one transaction."""
    from caseflow.core.keys import rotate

    try:
        count = rotate(current_app, new_key, batch=batch, progress=click.echo)
    except ValueError as error:
        click.echo(_colour(f"Nothing changed: {error}", RED), err=True)
        sys.exit(1)
    click.echo(_colour(f"Re-encrypted {count} persons under the new key.", GREEN))
    click.echo("Now set CASEFLOW_DATA_KEY to the new key and add the old one to "
               "CASEFLOW_DATA_KEY_PREVIOUS, then restart the web and scheduler processes.")


# On the group itself too: `caseflow keys generate` makes the key a new server's settings
# need, so it must run before there are any settings (no app is built for it; `rotate`
# builds one when it runs).
main.add_command(keys_group)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@with_appcontext
def scheduler_command(once: bool):
    """Run the clock that runs the scheduled jobs (never inside web workers)."""
    import logging

    from caseflow.core.notifications import jobs as _delivery  # noqa: F401  (registers jobs)
    from caseflow.core.scheduler import jobs  # noqa: F401
    from caseflow.core.scheduler.runner import run_all_once, serve

    from caseflow.core.logs import setup_logging

    # Text as before, or JSON lines when CASEFLOW_LOG_FORMAT=json.
    setup_logging(current_app.config, level=logging.INFO,
                  text_format="%(asctime)s scheduler %(message)s")
    # APScheduler logs two lines per run; outbox_wake runs every 5 seconds. Our runner logs
    # each job that did something, and APScheduler's warnings (missed runs) still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    if once:
        for run in run_all_once(app):
            # idle: a job that had nothing to do and was not run (outbox_wake)
            colour = {"succeeded": GREEN, "idle": GREEN, "partial": YELLOW}.get(run.status, RED)
            click.echo(f"{run.job}: {_colour(run.status, colour)} {run.detail or ''}")
        return
    serve(app)


@click.group("calendar")
def calendar_group():
    """The working-day calendar and the deadline rules."""


@calendar_group.command("due")
@click.argument("received", metavar="DATE")
@click.option("--working-days", type=int, default=None,
              help="N working days after DATE instead of the one-month reply deadline.")
@with_appcontext
def calendar_due(received: str, working_days: int | None):
    """Print the reply due date for a referral received on DATE (ISO first; then
    `provisional` when the official schedule of that year is not known yet)."""
    from datetime import date

    from caseflow.core.calendar.services import load_calendar

    try:
        day = date.fromisoformat(received)
    except ValueError:
        raise click.BadParameter(f"{received!r} is not a date like 2026-03-15",
                                 param_hint="DATE") from None
    calendar = load_calendar()
    due = (calendar.reply_due(day) if working_days is None
           else calendar.add_working_days(day, working_days))
    click.echo(due.day.isoformat() + (" provisional" if due.is_provisional else ""))


#: Exit status of ``calendar import`` when it showed the preview but was not told to load.
NOT_CONFIRMED = 3


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _print_schedule_change(change) -> None:
    def due(day, provisional=False):
        return (day.isoformat() if day else "-") + (" (provisional)" if day and provisional else "")

    def kind(working):
        return "working" if working else "rest"

    click.echo(f"Official schedule for {', '.join(map(str, change.years))}: {change.days} days listed.")
    click.echo(f"Open referrals whose due dates change: {len(change.moves)}")
    for move in change.moves:
        line = (f"  {move.label}  {move.subject}  reply due {due(move.due_from, move.was_provisional)}"
                f" -> {due(move.due_to, move.is_provisional)}")
        if move.registration_moved:
            line += f"; registration due {due(move.registration_from)} -> {due(move.registration_to)}"
        click.echo(line)
    click.echo(f"Days that differ from the calendar now: {len(change.changed_days)}")
    for d in change.changed_days:
        click.echo(f"  {d.day.isoformat()} {d.day:%a}  {kind(d.was_working)} -> {kind(d.is_working)}"
                   + (f"  {d.note}" if d.note else ""))
    for d in change.kept_corrections:
        click.echo(f"  {d.day.isoformat()} stays {kind(d.was_working)} (an administrator's correction;"
                   f" the schedule says {kind(d.is_working)})")
    if change.removed_days:
        click.echo("Days of the earlier schedule no longer listed: "
                   + ", ".join(day.isoformat() for day in change.removed_days))


@calendar_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Load after the preview without asking.")
@with_appcontext
def calendar_import(path: str, yes: bool):
    """Load an official schedule: a CSV of date,working|rest[,note]. Prints which open
    due dates move first, then asks; without a terminal, only --yes loads (else exit 3)."""
    from pathlib import Path

    from caseflow.core.calendar.services import import_schedule, preview_schedule
    from caseflow.core.db import utcnow
    from caseflow.core.errors import DomainError
    from caseflow.extensions import db

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        click.echo(_colour("Nothing loaded: the file is not UTF-8 text.", RED), err=True)
        sys.exit(1)
    source = Path(path).name
    try:
        _print_schedule_change(preview_schedule(text, actor=None, now=utcnow(), source=source))
    except DomainError as error:
        db.session.rollback()
        click.echo(_colour(f"Nothing loaded: {error.message}", RED), err=True)
        sys.exit(1)
    if not yes:
        if not _stdin_is_terminal():
            click.echo(_colour("Nothing loaded: this was the preview. Run again with --yes to load it.",
                               RED), err=True)
            sys.exit(NOT_CONFIRMED)
        if not click.confirm("Load this schedule?", default=False):
            click.echo("Nothing loaded.")
            sys.exit(NOT_CONFIRMED)
    try:
        change = import_schedule(text, actor=None, now=utcnow(), source=source)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(_colour(f"Nothing loaded: {error.message}", RED), err=True)
        sys.exit(1)
    moved = sum(1 for move in change.moves if move.date_moved)
    click.echo(_colour(f"Loaded the official calendar for {', '.join(map(str, change.years))}; "
                       f"{moved} due dates moved, {len(change.moves)} recorded in their timelines.",
                       GREEN))


@click.group("reminders")
def reminders_group():
    """Deadline reminders."""


@reminders_group.command("run")
@click.option("--as-of", "as_of", metavar='"YYYY-MM-DD HH:MM"',
              help="Sweep as of this local time instead of now.")
@with_appcontext
def reminders_run(as_of: str | None):
    """Run one reminder sweep (referral deadlines, then proposals waiting for approval,
    then assistance items unanswered or with a missed session) and print how many
    reminders it queued."""
    from caseflow.core.db import local_zone, utcnow
    from caseflow.core.notifications.reminders import sweeps_in_order
    from caseflow.extensions import db

    if as_of:
        try:
            moment = datetime.strptime(as_of, "%Y-%m-%d %H:%M").replace(tzinfo=local_zone())
        except ValueError:
            raise click.BadParameter(f"{as_of!r} is not like \"2026-11-27 09:00\"",
                                     param_hint="--as-of") from None
        now = moment.astimezone(timezone.utc)
    else:
        now = utcnow()
    # The sweeps the domains registered, each committed on its own; one line, the referral
    # counts first: scripts read "N reminders queued (…)" from it.
    parts = []
    for registered in sweeps_in_order():
        parts.append(registered.run(now))
        db.session.commit()
    click.echo("; ".join(parts))


@click.group("outbox")
def outbox_group():
    """The e-mail outbox."""


@outbox_group.command("send")
@with_appcontext
def outbox_send():
    """Deliver what is queued (e-mails, then SMS and office chat messages) and print how
    many were sent and failed."""
    from caseflow.core.db import utcnow
    from caseflow.core.notifications.delivery import current_sender, deliver_due, deliver_messages

    app = current_app._get_current_object()
    sent = failed = 0
    for deliver in (lambda: deliver_due(app, now=utcnow(), sender=current_sender()),
                    lambda: deliver_messages(now=utcnow())):
        while True:
            result = deliver()
            sent, failed = sent + result.sent, failed + result.failed
            if result.sent == 0:  # nothing left, or only failures (retried after a backoff)
                break
    colour = GREEN if failed == 0 else YELLOW
    click.echo(_colour(f"{sent} sent, {failed} failed", colour))
