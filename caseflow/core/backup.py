"""Backups: one archive holding the database, the attachments and a manifest; and the
restore into an empty database, checked against that manifest.

The archive is a plain tar (the parts are compressed or encrypted already)::

    database.pgdump | database.sqlite3   pg_dump --format=custom, or SQLite's online backup
    attachments/<ab>/<name>.cfe           the stored files as they are: sealed, see core.files
    manifest.json                         last: versions, the schema revision, every table's
                                          row count, and the SHA-256 and size of every member

The keys are never in it: CASEFLOW_DATA_KEY (which opens the protected fields and the
attachments) and CASEFLOW_SECRET_KEY are kept apart from the backups, so that a copied
archive alone opens nothing.

The database is read first, in one snapshot (PostgreSQL: an exported snapshot that
pg_dump shares with the row counts; SQLite: the backup API copies every page in one
read transaction, and the counts are taken from the copy), then the attachments. Files
are only added and never changed in place, so every file the database names is there.
An archive is written under a temporary name beside its final one and renamed when
complete: a failed backup leaves no archive under a name that looks whole.

A restore reads the whole archive and checks every member against the manifest before
it touches anything; it refuses a database with any table in it and an attachment
folder with any file in it, and a database of the other kind.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

FORMAT = "caseflow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments"
DATABASE_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
KEYS_NOTE = ("CASEFLOW_DATA_KEY (it opens the protected identity fields and the attachments) "
             "and CASEFLOW_SECRET_KEY are not in this archive, nor the environment file: "
             "keep a copy of them apart from the backups; without the data key a restored "
             "database's protected fields and files cannot be read.")
#: caseflow-20261127T010000Z.tar: sorts by time; ``--keep-days`` deletes only these.
ARCHIVE_NAME = re.compile(r"caseflow-(\d{8}T\d{6}Z)\.tar")
STAMP = "%Y%m%dT%H%M%SZ"
CHUNK = 1024 * 1024
#: Exit status of ``caseflow restore`` when it refused before writing anything (1: failed).
REFUSED = 3


class BackupError(RuntimeError):
    """A backup or restore that could not be done; the message says why, for a person."""


class Refused(BackupError):
    """A restore refused before anything was written: a damaged archive, a database or
    attachment folder that is not empty, a database of the other kind."""


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: dict
    seconds: float
    pruned: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    manifest: dict
    revision: str
    tables: dict[str, int]  # the restored counts
    attachments: int
    seconds: float
    problems: list[str]  # where the restored database differs from the manifest

    @property
    def ok(self) -> bool:
        return not self.problems


# -- helpers ---------------------------------------------------------------------------------


def human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def _files(count: int) -> str:
    return f"{count} file" + ("" if count == 1 else "s")


def _data_key_ids(app: Flask) -> list[str]:
    """Fingerprints of the configured data keys, the current one first."""
    from caseflow.core.crypto import cipher_for_app, key_id

    cipher = cipher_for_app(app)
    return [key_id(key) for key in (cipher.current, *cipher.previous)]


def _kind(app: Flask) -> str:
    name = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if name not in DATABASE_MEMBER:
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def _engine():
    from caseflow.extensions import db

    return db.engine


def _attachment_root(app: Flask) -> Path:
    from caseflow.core.files import storage_root

    return storage_root(app)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("caseflow")
    except PackageNotFoundError:
        return "unknown"


def _tables(conn) -> list[str]:
    """The tables of the app's schema, by name (alembic_version included)."""
    if conn.dialect.name == "sqlite":
        return list(conn.scalars(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")))
    return list(conn.scalars(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")))


def _all_tables(conn) -> list[str]:
    """Any table or view in any schema that is not the server's own: what makes a
    database not empty."""
    if conn.dialect.name == "sqlite":
        return list(conn.scalars(sa.text(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")))
    return list(conn.scalars(sa.text(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND table_schema NOT LIKE 'pg_toast%' AND table_schema NOT LIKE 'pg_temp%' "
        "ORDER BY 1")))


def _quote(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _counts_and_revision(conn) -> tuple[dict[str, int], str]:
    counts = {table: conn.scalar(sa.text(f"SELECT COUNT(*) FROM {_quote(conn, table)}"))
              for table in _tables(conn)}
    revision = ""
    if "alembic_version" in counts:
        revisions = conn.scalars(sa.text("SELECT version_num FROM alembic_version"))
        revision = ",".join(sorted(revisions))
    return counts, revision


class _Hashing:
    """A file read through SHA-256, for ``tarfile.addfile``."""

    def __init__(self, source: BinaryIO):
        self.source, self.sha256, self.size = source, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


# -- PostgreSQL tools --------------------------------------------------------------------


def _pg_tool(app: Flask, name: str) -> str:
    directory = app.config.get("CASEFLOW_PG_BIN_DIR") or ""
    found = shutil.which(name, path=directory) if directory else shutil.which(name)
    if not found:
        where = f"in CASEFLOW_PG_BIN_DIR ({directory})" if directory else "on the PATH"
        raise BackupError(f"{name} was not found {where}; install postgresql-client of the "
                          "server's major version or set CASEFLOW_PG_BIN_DIR, e.g. "
                          "/usr/lib/postgresql/15/bin")
    return found


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pg_connection(app: Flask) -> tuple[str, dict[str, str]]:
    """``--dbname`` as a libpq connection string without the password, and the environment
    carrying host, port, user and password (never on the command line, which ``ps`` shows)."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                            ("PGPASSWORD", url.password)):
        if value is not None and value != "":
            env[variable] = str(value)
    parts = [f"dbname={_conninfo_value(url.database or '')}"]
    for key, value in url.query.items():
        values = value if isinstance(value, tuple) else (value,)
        if key == "password":
            env["PGPASSWORD"] = str(values[-1])
        else:
            parts.append(f"{key}={_conninfo_value(str(values[-1]))}")
    return " ".join(parts), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise BackupError(f"{what} failed (exit {done.returncode}): {detail}")


# -- writing a backup ----------------------------------------------------------------------


def _dump_postgresql(app: Flask, target: Path, progress: Callable) -> tuple[dict, str, dict]:
    pg_dump = _pg_tool(app, "pg_dump")
    conninfo, env = _pg_connection(app)
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    host = url.host or url.query.get("host") or "the default socket"
    port = f":{url.port}" if url.port else ""
    progress(f"Database: pg_dump of {url.database} on {host}{port}")
    engine = _engine()
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            # This transaction waits, idle, while pg_dump runs: exempt from the role's
            # idle_in_transaction_session_timeout (deploy/postgresql-setup.sql), which
            # would end it, and the snapshot with it, on a long dump.
            conn.execute(sa.text("SET LOCAL idle_in_transaction_session_timeout = 0"))
            # pg_dump reads the same snapshot as the counts below: they describe one moment.
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            counts, revision = _counts_and_revision(conn)
            server = conn.scalar(sa.text("SHOW server_version"))
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                  f"--dbname={conninfo}"], env, "pg_dump")
    tool = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout.strip()
    return counts, revision, {"server_version": server, "tool": tool}


def _dump_sqlite(app: Flask, target: Path, progress: Callable) -> tuple[dict, str, dict]:
    source_path = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    progress(f"Database: SQLite online backup of {source_path}")
    if not source_path or not Path(source_path).is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    source = sqlite3.connect(source_path, timeout=15)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # every page in one step: one read transaction, one moment
        copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
    finally:
        source.close()
        copy.close()
    engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            counts, revision = _counts_and_revision(conn)
    finally:
        engine.dispose()
    return counts, revision, {"server_version": sqlite3.sqlite_version}


def _add(archive: tarfile.TarFile, name: str, source: BinaryIO, size: int, mtime: float) -> dict:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    reader = _Hashing(source)
    archive.addfile(info, reader)
    if reader.size != size:  # pragma: no cover  (tarfile raises first when a file shrinks)
        raise BackupError(f"{name} changed while it was being read")
    return {"name": name, "size": size, "sha256": reader.sha256.hexdigest()}


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_backup(app: Flask, directory: str | Path, now: datetime,
                 progress: Callable[[str], None] = print) -> BackupResult:
    """Write ``caseflow-<now>.tar`` into ``directory`` (created if missing, mode 0700)."""
    started = time.monotonic()
    kind = _kind(app)
    directory = Path(directory)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create {directory}: {error.strerror}") from None
    now = now.astimezone(timezone.utc)
    final = directory / f"caseflow-{now.strftime(STAMP)}.tar"
    if final.exists():
        raise BackupError(f"{final} exists already; one backup per second")
    root = _attachment_root(app)
    try:
        handle, partial_name = tempfile.mkstemp(dir=directory, prefix=f".{final.name}.",
                                                suffix=".part")  # mode 0600
    except OSError as error:
        raise BackupError(f"cannot write into {directory}: {error.strerror}") from None
    partial = Path(partial_name)
    try:
        with tempfile.TemporaryDirectory(dir=directory, prefix=".caseflow-dump.") as work, \
                os.fdopen(handle, "wb") as out:
            dump = Path(work) / DATABASE_MEMBER[kind]
            if kind == "postgresql":
                counts, revision, database = _dump_postgresql(app, dump, progress)
            else:
                counts, revision, database = _dump_sqlite(app, dump, progress)
            database.update(kind=kind, member=DATABASE_MEMBER[kind])
            progress(f"  {human(dump.stat().st_size)}, {len(counts)} tables, "
                     f"{sum(counts.values())} rows, schema revision {revision or 'none'}")
            members = []
            with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
                with dump.open("rb") as source:
                    members.append(_add(archive, dump.name, source, dump.stat().st_size,
                                        now.timestamp()))
                dump.unlink()
                # not the store's own half-written files (".<name>.part", see core.files)
                files = sorted(p for p in root.rglob("*") if p.is_file() and not
                               (p.name.startswith(".") and p.name.endswith(".part"))
                               ) if root.is_dir() else []
                progress(f"Attachments: {_files(len(files))} from {root}")
                total = 0
                for path in files:
                    relative = path.relative_to(root).as_posix()
                    with path.open("rb") as source:
                        stat = os.fstat(source.fileno())
                        members.append(_add(archive, f"{ATTACHMENTS}/{relative}", source,
                                            stat.st_size, stat.st_mtime))
                    total += stat.st_size
                progress(f"  {human(total)}")
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "caseflow_version": _version(),
                    "created_at": now.isoformat(),
                    "database": database,
                    "schema_revision": revision,
                    "tables": counts,
                    "attachments": {"files": len(files), "bytes": total},
                    "keys": "not included",
                    "keys_note": KEYS_NOTE,
                    # SM3 fingerprint, as in every sealed file's header: names the key a
                    # restore needs, and tells nothing of it.
                    "data_key_id": _data_key_ids(app)[0],
                    "members": members,
                }
                body = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(now.timestamp()), 0o600
                archive.addfile(info, io.BytesIO(body))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, final)  # never over an archive of the same name
            partial.unlink()
        except FileExistsError:
            raise BackupError(f"{final} exists already; one backup per second") from None
        except OSError:  # a file system without hard links
            if final.exists():
                raise BackupError(f"{final} exists already; one backup per second") from None
            os.rename(partial, final)
        _fsync_directory(directory)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise BackupError(f"writing the backup failed: {error}") from error
        raise
    size = final.stat().st_size
    seconds = time.monotonic() - started
    progress(f"Written {final} ({human(size)}) in {seconds:.1f} s")
    return BackupResult(final, size, manifest, seconds)


def prune_backups(directory: str | Path, now: datetime, keep_days: int,
                  progress: Callable[[str], None] = print) -> list[Path]:
    """Delete the archives named ``caseflow-<time>.tar`` made more than ``keep_days`` days
    before ``now`` (by the time in the name); any other file is left alone."""
    if keep_days < 1:
        raise BackupError("--keep-days must be at least 1")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=keep_days)
    removed = []
    try:
        for path in sorted(Path(directory).iterdir()):
            match = ARCHIVE_NAME.fullmatch(path.name)
            if not match or not path.is_file():
                continue
            try:
                made = datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc)
            except ValueError:  # caseflow-20261399T…: not a time, not one of ours
                continue
            if made < cutoff:
                path.unlink()
                removed.append(path)
                progress(f"Deleted {path.name} (older than {keep_days} days)")
    except OSError as error:
        raise BackupError(f"deleting old archives in {directory} failed: {error}") from None
    return removed


# -- restoring -------------------------------------------------------------------------------


def _open_archive(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise Refused(f"{path} is not a file")
    try:
        return tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError) as error:
        raise Refused(f"{path} is not a caseflow backup archive ({error})") from None


def _safe_member_name(name: str) -> bool:
    """The database member, or a file at least one folder down in ``attachments/``."""
    parts = PurePosixPath(name).parts
    plain = (not name.startswith("/") and ".." not in parts and "." not in parts
             and "\\" not in name and "\x00" not in name)
    return plain and (name in DATABASE_MEMBER.values()
                      or (len(parts) >= 2 and parts[0] == ATTACHMENTS))


def read_manifest(path: str | Path) -> dict:
    with _open_archive(Path(path)) as archive:
        return _manifest_of(archive, Path(path))


def _manifest_of(archive: tarfile.TarFile, path: Path) -> dict:
    try:
        member = archive.getmember(MANIFEST)
        manifest = json.loads(archive.extractfile(member).read())
    except (KeyError, AttributeError):
        raise Refused(f"{path} has no {MANIFEST}: not a caseflow backup") from None
    except (ValueError, tarfile.TarError) as error:
        raise Refused(f"{path}: the manifest cannot be read ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused(f"{path} is not a caseflow backup (its manifest is not one)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise Refused(f"{path} has backup format {manifest.get('format_version')}; this "
                          f"caseflow reads format {FORMAT_VERSION}")
    members, database = manifest.get("members"), manifest.get("database")
    well_formed = (
        isinstance(members, list) and isinstance(database, dict)
        and isinstance(manifest.get("tables"), dict)
        and all(isinstance(m, dict) and isinstance(m.get("name"), str)
                and isinstance(m.get("size"), int) and isinstance(m.get("sha256"), str)
                for m in members)
        and database.get("kind") in DATABASE_MEMBER
        and database.get("member") == DATABASE_MEMBER[database["kind"]])
    if not well_formed:
        raise Refused(f"{path}: the manifest is not well formed")
    return manifest


def verify_archive(path: str | Path, progress: Callable[[str], None] = print) -> dict:
    """Every member's size and SHA-256 against the manifest, nothing missing and nothing
    extra; returns the manifest. Reads the whole archive, writes nothing."""
    path = Path(path)
    with _open_archive(path) as archive:
        manifest = _manifest_of(archive, path)
        expected = {m["name"]: m for m in manifest.get("members", [])}
        kind = manifest.get("database", {}).get("kind")
        if DATABASE_MEMBER.get(kind) not in expected:
            raise Refused(f"{path}: the manifest names no database of a known kind")
        seen = set()
        try:
            for member in archive:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected:
                    raise Refused(f"{path} holds {member.name!r}, which its manifest does "
                                      "not list")
                if member.name in seen:
                    raise Refused(f"{path} holds {member.name!r} twice")
                if not member.isfile() or not _safe_member_name(member.name):
                    raise Refused(f"{path}: {member.name!r} is not a plain file name")
                seen.add(member.name)
                digest = hashlib.sha256()
                source = archive.extractfile(member)
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                want = expected[member.name]
                if member.size != want["size"] or digest.hexdigest() != want["sha256"]:
                    raise Refused(f"{path} is damaged: {member.name} does not match the "
                                      "checksum in its manifest")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise Refused(f"{path} is damaged or cut short ({error})") from None
        missing = sorted(set(expected) - seen)
        if missing:
            raise Refused(f"{path} is incomplete: {', '.join(missing[:5])} missing")
    progress(f"  all {len(seen) + 1} members match")
    return manifest


def _refuse_unless_empty(app: Flask, root: Path) -> None:
    with _engine().connect() as conn:
        tables = _all_tables(conn)
    if tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise Refused(f"the database is not empty ({len(tables)} tables: {shown}); a "
                      "backup is restored only into an empty database. Create a new one "
                      "(see the restore drill in the README) and point "
                      "CASEFLOW_DATABASE_URL at it.")
    if root.is_dir() and any(p.is_file() for p in root.rglob("*")):
        raise Refused(f"the attachment folder {root} has files in it; a backup is "
                      "restored only into an empty one (CASEFLOW_ATTACHMENT_DIR)")


def _extract_checked(archive: tarfile.TarFile, want: dict, target: Path) -> None:
    """One member to ``target`` (written beside it, then renamed), its SHA-256 checked again
    as it is written: the archive may not change between the check and the restore."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out:
            source = archive.extractfile(archive.getmember(want["name"]))
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != want["sha256"]:
            raise BackupError(f"{want['name']} changed since the archive was checked")
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _restore_postgresql(app: Flask, dump: Path, progress: Callable) -> None:
    pg_restore = _pg_tool(app, "pg_restore")
    conninfo, env = _pg_connection(app)
    database = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    progress(f"Database: pg_restore into {database}")
    _engine().dispose()
    # One transaction: if anything fails, the database is left empty as it was.
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--dbname={conninfo}", str(dump)], env, "pg_restore")


def _restore_sqlite(app: Flask, copy: Path, progress: Callable) -> None:
    target = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    progress(f"Database: SQLite backup API into {target}")
    _engine().dispose()
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target, timeout=15)
    try:
        verdict = source.execute("PRAGMA quick_check").fetchall()
        if verdict != [("ok",)]:
            raise BackupError(f"the archived SQLite database is damaged: {verdict[:3]}")
        source.backup(destination)  # page by page under SQLite's own locks: all or nothing
        destination.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite restore failed: {error}") from None
    finally:
        source.close()
        destination.close()


def restore_backup(app: Flask, path: str | Path,
                   progress: Callable[[str], None] = print) -> RestoreResult:
    """Restore ``path`` into the app's database and attachment folder, both empty."""
    started = time.monotonic()
    path = Path(path)
    kind = _kind(app)
    manifest = read_manifest(path)
    archived = manifest.get("database", {}).get("kind")
    if archived != kind:
        raise Refused(f"the archive holds a {archived} database and this caseflow uses "
                      f"{kind}: a backup is restored into a database of the same kind")
    needed = manifest.get("data_key_id")
    if needed and needed not in _data_key_ids(app):
        raise Refused(f"the archive was sealed under the data key {needed} (its fingerprint); "
                      f"this server's CASEFLOW_DATA_KEY is {_data_key_ids(app)[0]} and no "
                      "CASEFLOW_DATA_KEY_PREVIOUS matches. Put that key (from its copy kept "
                      "apart from the backups) in the environment file first: without it the "
                      "protected fields and the attachments cannot be opened")
    root = _attachment_root(app)
    _refuse_unless_empty(app, root)
    progress(f"Checking every member of {path} ({human(path.stat().st_size)}) against the "
             "manifest")
    manifest = verify_archive(path, progress)
    members = {m["name"]: m for m in manifest["members"]}
    attachments = [m for name, m in sorted(members.items())
                   if name.startswith(ATTACHMENTS + "/")]
    written: list[Path] = []
    with _open_archive(path) as archive:
        try:
            progress(f"Attachments: {_files(len(attachments))} into {root}")
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            for want in attachments:
                target = root.joinpath(*PurePosixPath(want["name"]).parts[1:])
                _extract_checked(archive, want, target)
                written.append(target)
            # Beside the attachments, on the data disk: /tmp may be a small tmpfs.
            with tempfile.TemporaryDirectory(dir=root.parent, prefix=".caseflow-restore.") as work:
                dump = Path(work) / manifest["database"]["member"]
                _extract_checked(archive, members[manifest["database"]["member"]], dump)
                if kind == "postgresql":
                    _restore_postgresql(app, dump, progress)
                else:
                    _restore_sqlite(app, dump, progress)
        except BaseException as error:
            for target in written:  # the folder was empty: leave it so
                target.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise BackupError(f"the restore failed, the database and the attachment "
                                  f"folder are left empty: {error}") from error
            raise
    with _engine().connect() as conn:
        counts, revision = _counts_and_revision(conn)
    problems = []
    if revision != manifest.get("schema_revision"):
        problems.append(f"schema revision {revision or 'none'}, the manifest says "
                        f"{manifest.get('schema_revision')}")
    for table in sorted(set(manifest["tables"]) | set(counts)):
        if counts.get(table) != manifest["tables"].get(table):
            problems.append(f"table {table}: {counts.get(table, 'missing')} rows, the manifest "
                            f"says {manifest['tables'].get(table, 'missing')}")
    return RestoreResult(manifest, revision, counts, len(written), time.monotonic() - started,
                         problems)


# -- the commands ----------------------------------------------------------------------------


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--keep-days", type=click.IntRange(min=1), default=None, metavar="N",
              help="After a successful backup, delete this folder's caseflow-*.tar archives "
                   "older than N days.")
@with_appcontext
def backup_command(directory: str, keep_days: int | None):
    """Write one archive (database, attachments, manifest; never the keys) into DIRECTORY."""
    from caseflow.core.console import BOLD, GREEN, RED, colour as _colour
    from caseflow.core.db import utcnow

    app = current_app._get_current_object()
    now = utcnow()
    click.echo(_colour(f"Backing up caseflow into {directory}", BOLD))
    try:
        result = write_backup(app, directory, now, progress=click.echo)
        if keep_days is not None:
            result.pruned = prune_backups(directory, now, keep_days, progress=click.echo)
    except BackupError as error:
        click.echo(_colour(f"Backup failed: {error}", RED), err=True)
        sys.exit(1)
    click.echo(_colour(f"Backup complete: {result.path.name}, {human(result.size)}. The keys are "
                       "not in it: keep CASEFLOW_DATA_KEY and CASEFLOW_SECRET_KEY apart.", GREEN))


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--check-only", is_flag=True,
              help="Only check every member against the manifest and print what the archive "
                   "holds; the database and the attachment folder are not touched.")
@with_appcontext
def restore_command(archive: str, check_only: bool):
    """Restore an archive of `caseflow backup` into an EMPTY database and attachment
    folder, then check the row counts and the schema revision against its manifest."""
    from caseflow.core.console import BOLD, GREEN, RED, YELLOW, colour as _colour

    app = current_app._get_current_object()
    if check_only:
        click.echo(_colour(f"Checking {archive}", BOLD))
        try:
            manifest = verify_archive(archive, progress=click.echo)
        except BackupError as error:
            click.echo(_colour(f"Not a sound archive: {error}", RED), err=True)
            sys.exit(REFUSED)
        counts = manifest["tables"]
        click.echo(f"Made {manifest['created_at']} by caseflow {manifest['caseflow_version']}: "
                   f"{manifest['database']['kind']} at schema revision "
                   f"{manifest['schema_revision']}, {len(counts)} tables, "
                   f"{sum(counts.values())} rows, {_files(manifest['attachments']['files'])}; "
                   f"needs data key {manifest.get('data_key_id')}")
        click.echo(_colour("The archive is whole: every member matches its manifest.", GREEN))
        return
    click.echo(_colour(f"Restoring {archive}", BOLD))
    try:
        result = restore_backup(app, archive, progress=click.echo)
    except Refused as error:
        click.echo(_colour(f"Restore refused, nothing was changed: {error}", RED), err=True)
        sys.exit(REFUSED)
    except BackupError as error:
        click.echo(_colour(f"Restore failed: {error}", RED), err=True)
        sys.exit(1)
    manifest = result.manifest
    click.echo(f"Archive made {manifest['created_at']} by caseflow {manifest['caseflow_version']}")
    click.echo(f"Restored {len(result.tables)} tables, {sum(result.tables.values())} rows, "
               f"{_files(result.attachments)} in {result.seconds:.1f} s")
    if not result.ok:
        for problem in result.problems:
            click.echo(_colour(f"  differs: {problem}", RED), err=True)
        click.echo(_colour("The restored database does not match the manifest.", RED), err=True)
        sys.exit(1)
    click.echo(_colour(f"Checked against the manifest: schema revision {result.revision} and the "
                       f"row counts of all {len(result.tables)} tables match.", GREEN))
    from caseflow.core.schema import schema_state

    state = schema_state(app)
    if not state.current:  # an archive of an older caseflow: upgrade before serving
        click.echo(_colour(state.describe(), YELLOW))
    click.echo(f"Sealed under data key {manifest.get('data_key_id')}, one of this server's "
               "data keys (CASEFLOW_DATA_KEY, CASEFLOW_DATA_KEY_PREVIOUS).")
