"""``caseflow import referrals|cases|assistance FILE --user U [--commit]``: the same preview
and import as the pages, from the server's shell, with a progress bar and the preview as a
table."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from caseflow.core.console import GREEN, RED, YELLOW, colour


@click.group("import")
def import_group():
    """Import an office's existing ledger (XLSX or CSV) as the template lays it out."""


class _Bar:
    """click's progress bar on stderr, fed (done, total) by the services; the total is an
    estimate until the file has been read (blank rows are not counted)."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        self.bar.length = max(self.bar.length, total)
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.length = self.bar.pos  # what was read in the end
            self.bar.render_progress()
            self.bar.__exit__(None, None, None)
            self.bar = None


def _table(rows: list[tuple], headings: tuple) -> str:
    widths = [max(_width(str(r[i])) for r in [headings, *rows]) for i in range(len(headings))]
    lines = ["  ".join(_pad(str(cell), w) for cell, w in zip(line, widths))
             for line in [headings, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _run(kind_name: str, file: Path, username: str, commit: bool) -> None:
    """Preview (and with ``commit`` import) a ledger of one kind, as the pages do."""
    from flask_babel import gettext as _

    from caseflow.core.db import utcnow
    from caseflow.core.errors import DomainError
    from caseflow.core.orgs.models import User
    from caseflow.extensions import db
    from caseflow.imports import engine
    from caseflow.imports.kinds import KINDS

    kind = KINDS[kind_name]
    actor = db.session.scalar(sa.select(User).where(User.username == username))
    if actor is None:
        raise click.BadParameter(f"no account has the user name {username!r}", param_hint="--user")
    data, now = file.read_bytes(), utcnow()
    bar = _Bar(_("Checking"))
    try:
        preview = engine.preview(kind, data, file.name, actor=actor, now=now, progress=bar)
    except DomainError as error:
        click.echo(colour(str(error.message), RED), err=True)
        sys.exit(1)
    finally:
        bar.close()
    counts = preview.counts()
    click.echo(_table([(_("Rows in the file"), counts["rows"]), (str(kind.to_add_label), counts["added"]),
                       (_("People found by their resident ID number"), counts["people_matched"]),
                       (_("People to record"), counts["people_added"]),
                       (_("Already in caseflow (skipped)"), counts["already"]),
                       (_("Rows with errors"), counts["refused"])], (_("Preview"), "")))
    if preview.refused:
        click.echo("")
        click.echo(_table([(e.row, e.column, e.message) for e in preview.errors],
                          (_("Row"), _("Column"), _("What is wrong"))))
        click.echo(colour(engine.ngettext_rows(preview.refused), RED), err=True)
        sys.exit(1)
    if not commit:
        click.echo(colour(_("Nothing is saved yet. Run again with --commit to import."), YELLOW))
        return
    bar = _Bar(_("Importing"))
    try:
        preview = engine.import_ledger(kind, data, file.name, actor=actor, now=now, progress=bar)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(colour(str(error.message), RED), err=True)
        sys.exit(1)
    finally:
        bar.close()
    counts = preview.counts()
    click.echo(colour(kind.done_message(file=preview.filename, added=counts["added"],
                                        already=counts["already"], matched=counts["people_matched"],
                                        new=counts["people_added"]), GREEN))


FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
USER = click.option("--user", "username", required=True,
                    help="The supervisor importing (her organisation's reach decides what may come in).")
COMMIT = click.option("--commit", is_flag=True,
                      help="Write the rows; without it only the preview is shown.")


@import_group.command("referrals")
@FILE
@USER
@COMMIT
@with_appcontext
def import_referrals_command(file: Path, username: str, commit: bool):
    """Preview (and with --commit import) a referral ledger. Exits 1 when rows have errors:
    nothing is written then."""
    _run("referrals", file, username, commit)


@import_group.command("cases")
@FILE
@USER
@COMMIT
@with_appcontext
def import_cases_command(file: Path, username: str, commit: bool):
    """Preview (and with --commit import) a judicial aid case ledger (a supervisor of the
    procuratorate). Exits 1 when rows have errors: nothing is written then."""
    _run("cases", file, username, commit)


@import_group.command("assistance")
@FILE
@USER
@COMMIT
@with_appcontext
def import_assistance_command(file: Path, username: str, commit: bool):
    """Preview (and with --commit import) an assistance ledger, one service item a row (a
    supervisor of the federation). Exits 1 when rows have errors: nothing is written then."""
    _run("assistance", file, username, commit)
