"""``caseflow backup`` and ``caseflow restore``, run as the operator runs them: the demo
(and two attachments sealed by the real file store) in a database of its own, on SQLite
and on PostgreSQL; the archive restored into a new empty database and attachment folder;
then every table's row count and content hash, and every stored file's bytes, compared.

Restores that must be refused (a database with tables, a folder with files, a damaged
archive, a database of the other kind) leave everything as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.core import backup, files
from caseflow.core.crypto import key_id
from caseflow.core.demo import load_demo
from caseflow.extensions import db as _db
from tests import factories
from tests.conftest import BACKENDS, POSTGRES_URL, create_database, make_app, migrate_to_head

LOADED_AT = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
#: Two files bigger than one sealed segment (64 kB), so the members are several segments long.
FILES = {
    "referral": b"%PDF-1.4\n" + os.urandom(150_000),
    "case": b"\x89PNG\r\n\x1a\n" + os.urandom(90_000),
}


# -- helpers ---------------------------------------------------------------------------------


def _normalised(value) -> str:
    if value is None:
        return "\x00NULL"
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table_digests(app) -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 over its rows in primary-key order, each value
    as text."""
    found = {}
    with app.app_context():
        engine = _db.engine
        with engine.connect() as conn:
            inspector = sa.inspect(conn)  # on SQLite a second connection would wait for this one
            for table in inspector.get_table_names():
                columns = [c["name"] for c in inspector.get_columns(table)]
                order = inspector.get_pk_constraint(table)["constrained_columns"] or columns
                quote = conn.dialect.identifier_preparer.quote
                rows = conn.execute(sa.text(
                    f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} "
                    f"ORDER BY {', '.join(map(quote, order))}")).all()
                digest = hashlib.sha256()
                for row in rows:
                    digest.update("\x1f".join(map(_normalised, row)).encode() + b"\x1e")
                found[table] = (len(rows), digest.hexdigest())
        engine.dispose()
    return found


def stored_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.is_dir() else {}


def _head(app) -> str:
    from caseflow.core.schema import schema_state

    with app.app_context():
        return ",".join(schema_state(app).code)


def has_no_tables(app) -> bool:
    with app.app_context():
        with _db.engine.connect() as conn:
            tables = backup._all_tables(conn)
        _db.engine.dispose()
    return tables == []


def caseflow(args: list[str], *, url: str, attachments: Path, instance: Path,
             keys: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    env.update(CASEFLOW_DATABASE_URL=url, CASEFLOW_ATTACHMENT_DIR=str(attachments),
               CASEFLOW_INSTANCE_PATH=str(instance), CASEFLOW_SECRET_KEY=keys["SECRET_KEY"],
               CASEFLOW_DATA_KEY=keys["CASEFLOW_DATA_KEY"])
    return subprocess.run([sys.executable, "-c", "from caseflow.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=120)


@dataclass
class Source:
    backend: str
    tmp: Path
    keys: dict
    url: str
    attachments: Path
    archive: Path
    backups: Path
    decoys: dict[str, Path]
    output: str
    digests: dict
    files: dict[str, bytes]

    def app(self, url=None, attachments=None):
        folder = attachments or self.attachments
        return make_app(url or self.url, CASEFLOW_ATTACHMENT_DIR=str(folder), **self.keys)

    def run(self, args, *, url=None, attachments=None):
        return caseflow(args, url=url or self.url, attachments=attachments or self.attachments,
                        instance=self.tmp / "instance", keys=self.keys)

    def empty_target(self, name: str, backend: str | None = None):
        """A new empty database (and its dropper) and a folder for its attachments."""
        where = self.tmp / name
        where.mkdir()
        url, drop = create_database(backend or self.backend, where)
        return url, drop, where / "attachments"


@pytest.fixture(scope="module", params=BACKENDS)
def source(request, tmp_path_factory):
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"backup-{backend}")
    (tmp / "source").mkdir()
    keys = {"SECRET_KEY": secrets.token_hex(32), "CASEFLOW_DATA_KEY": secrets.token_hex(16)}
    url, drop = create_database(backend, tmp / "source")
    attachments = tmp / "source" / "attachments"
    app = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(attachments), **keys)
    migrate_to_head(app)
    with app.app_context():
        load_demo(now=LOADED_AT, log=lambda *_: None)
        factories.attach_to_demo(LOADED_AT, referral=("scan.pdf", FILES["referral"]),
                                 case=("bill.png", FILES["case"]))
        _db.session.commit()
        _db.engine.dispose()
    backups = tmp / "backups"
    backups.mkdir()
    # Archives older and younger than the 30 days kept, and a file of another name.
    wall = datetime.now(timezone.utc)  # the command reads the clock

    def made(days_ago):
        return backups / f"caseflow-{(wall - timedelta(days=days_ago)).strftime(backup.STAMP)}.tar"

    decoys = {"old": made(31), "young": made(29), "other": backups / "caseflow-notes.tar"}
    for path in decoys.values():
        path.write_bytes(b"not an archive")
    src = Source(backend, tmp, keys, url, attachments, Path(), backups, decoys, "",
                 table_digests(app), stored_files(attachments))
    done = src.run(["backup", str(backups), "--keep-days", "30"])
    assert done.returncode == 0, done.stderr
    written = sorted(p for p in backups.iterdir() if backup.ARCHIVE_NAME.fullmatch(p.name)
                     and p not in decoys.values())
    assert len(written) == 1, sorted(backups.iterdir())
    src.archive, src.output = written[0], done.stdout
    yield src
    with app.app_context():
        _db.engine.dispose()
    drop()


# -- the round trip --------------------------------------------------------------------------


def test_a_restored_backup_has_every_row_and_every_file(source):
    assert len(source.files) == len(FILES)  # the store sealed them: names and bytes not the content
    url, drop, attachments = source.empty_target("restored")
    try:
        target = source.app(url, attachments)
        checked = target.test_cli_runner().invoke(
            backup.restore_command, ["--check-only", str(source.archive)])
        assert checked.exit_code == 0 and "The archive is whole" in checked.output
        assert has_no_tables(target)  # a check writes nothing
        done = source.run(["restore", str(source.archive)], url=url, attachments=attachments)
        assert done.returncode == 0, done.stderr
        assert "row counts of all" in done.stdout and "match" in done.stdout
        restored = source.app(url, attachments)
        assert table_digests(restored) == source.digests
        assert stored_files(attachments) == source.files
        with restored.app_context():  # and the data key of the source opens them
            for data in FILES.values():
                assert files.read(hashlib.sha256(data).hexdigest()) == data
            _db.engine.dispose()
    finally:
        drop()


def test_the_archive_and_its_manifest(source):
    assert source.archive.stat().st_mode & 0o777 == 0o600
    assert "Written" in source.output and "Attachments: 2 files" in source.output
    with tarfile.open(source.archive) as archive:
        names = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())
    assert names[-1] == "manifest.json"
    assert manifest["database"]["kind"] == source.backend
    assert manifest["schema_revision"] == _head(source.app())
    assert manifest["tables"] == {t: count for t, (count, _digest) in source.digests.items()}
    assert manifest["keys"] == "not included"
    assert manifest["data_key_id"] == key_id(bytes.fromhex(source.keys["CASEFLOW_DATA_KEY"]))
    assert {m["name"] for m in manifest["members"]} == set(names) - {"manifest.json"}
    assert sorted(n for n in names if n.startswith("attachments/")) == \
        ["attachments/" + n for n in source.files]
    for member in manifest["members"]:
        if member["name"].startswith("attachments/"):
            data = source.files[member["name"].removeprefix("attachments/")]
            assert member == {"name": member["name"], "size": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}


def test_no_key_is_in_the_archive(source):
    raw = source.archive.read_bytes()
    data_key = source.keys["CASEFLOW_DATA_KEY"]
    for secret in (data_key.encode(), data_key.upper().encode(), bytes.fromhex(data_key),
                   source.keys["SECRET_KEY"].encode()):
        assert secret not in raw
    # the probe is not blind: the database's own words are found in the raw bytes
    assert _head(source.app()).encode() in raw and b"referral_attachments" in raw


def test_keep_days_deletes_only_old_archives_of_its_own_name(source):
    assert not source.decoys["old"].exists()
    assert source.decoys["young"].exists() and source.decoys["other"].exists()
    assert source.archive.exists()
    assert f"Deleted {source.decoys['old'].name}" in source.output


# -- refusals ------------------------------------------------------------------------------


def test_restore_into_a_database_with_tables_is_refused_and_changes_nothing(source):
    done = source.run(["restore", str(source.archive)])
    assert done.returncode == backup.REFUSED
    assert "the database is not empty" in done.stderr and "nothing was changed" in done.stderr
    assert table_digests(source.app()) == source.digests
    assert stored_files(source.attachments) == source.files


def test_restore_into_a_folder_with_files_is_refused(source):
    url, drop, attachments = source.empty_target("folder-not-empty")
    (attachments / "ab").mkdir(parents=True)
    (attachments / "ab" / "left-over.cfe").write_bytes(b"x")
    try:
        app = source.app(url, attachments)
        with app.app_context(), pytest.raises(backup.Refused, match="has files in it"):
            backup.restore_backup(app, source.archive, progress=lambda _line: None)
        assert has_no_tables(app)
        assert stored_files(attachments) == {"ab/left-over.cfe": b"x"}
    finally:
        drop()


def test_a_server_without_the_archive_data_key_is_refused(source):
    url, drop, attachments = source.empty_target("other-key")
    try:
        other_key = secrets.token_hex(16)
        app = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(attachments), CASEFLOW_DATA_KEY=other_key,
                       SECRET_KEY=source.keys["SECRET_KEY"])
        with app.app_context(), pytest.raises(backup.Refused, match="sealed under the data key"):
            backup.restore_backup(app, source.archive, progress=lambda _line: None)
        assert has_no_tables(app)
        assert stored_files(attachments) == {}
        # the key kept as the previous one is enough
        app.config["CASEFLOW_DATA_KEY_PREVIOUS"] = source.keys["CASEFLOW_DATA_KEY"]
        app.extensions.pop("caseflow_cipher", None)
        with app.app_context():
            assert backup.restore_backup(app, source.archive, progress=lambda _line: None).ok
            _db.engine.dispose()
    finally:
        drop()


def _flip_a_byte(archive: Path, copy: Path, member: str) -> None:
    shutil.copyfile(archive, copy)
    with tarfile.open(copy) as tar:
        info = tar.getmember(member)
    with copy.open("r+b") as raw:
        raw.seek(info.offset_data + info.size // 2)
        byte = raw.read(1)
        raw.seek(-1, os.SEEK_CUR)
        raw.write(bytes([byte[0] ^ 0x01]))


def test_a_damaged_archive_is_refused_before_anything_is_written(source):
    damaged = source.tmp / "damaged.tar"
    database_member = backup.DATABASE_MEMBER[source.backend]
    _flip_a_byte(source.archive, damaged, database_member)
    url, drop, attachments = source.empty_target("from-damaged")
    try:
        done = source.run(["restore", str(damaged)], url=url, attachments=attachments)
        assert done.returncode == backup.REFUSED
        assert f"{database_member} does not match the checksum" in done.stderr
        app = source.app(url, attachments)
        checked = app.test_cli_runner().invoke(backup.restore_command,
                                               ["--check-only", str(damaged)])
        assert checked.exit_code == backup.REFUSED and "does not match" in checked.output
        assert has_no_tables(app)
        assert stored_files(attachments) == {}
        # an attachment damaged, the database whole: refused too, before the first file
        attachment = next(n for n in tarfile.open(source.archive).getnames()
                          if n.startswith("attachments/"))
        _flip_a_byte(source.archive, damaged, attachment)
        with app.app_context(), pytest.raises(backup.Refused, match="does not match the checksum"):
            backup.restore_backup(app, damaged, progress=lambda _line: None)
        assert has_no_tables(app)
        assert stored_files(attachments) == {}
    finally:
        drop()


def test_an_archive_of_the_other_kind_of_database_is_refused(source):
    other = "postgresql" if source.backend == "sqlite" else "sqlite"
    if other == "postgresql" and not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set CASEFLOW_TEST_DATABASE_URL")
    url, drop, attachments = source.empty_target("other-kind", backend=other)
    try:
        app = source.app(url, attachments)
        with app.app_context(), pytest.raises(backup.Refused, match="same kind"):
            backup.restore_backup(app, source.archive, progress=lambda _line: None)
        assert has_no_tables(app)
    finally:
        drop()


# -- writing fails cleanly -----------------------------------------------------------------


def test_a_backup_that_fails_leaves_no_archive(source):
    out = source.tmp / "failing"
    app = source.app()

    def progress(line):
        if line.startswith("Attachments"):
            raise backup.BackupError("the disk is full (simulated)")

    with app.app_context():
        with pytest.raises(backup.BackupError, match="simulated"):
            backup.write_backup(app, out, LOADED_AT, progress)
        _db.engine.dispose()
    assert list(out.iterdir()) == []  # no archive, no partial file, no dump left behind


def test_without_pg_dump_the_backup_says_where_it_looked(source, tmp_path):
    if source.backend != "postgresql":
        pytest.skip("PostgreSQL only")
    app = source.app()
    app.config["CASEFLOW_PG_BIN_DIR"] = str(tmp_path)  # no pg_dump in it
    with app.app_context(), pytest.raises(backup.BackupError, match="pg_dump was not found"):
        backup.write_backup(app, tmp_path / "out", LOADED_AT, lambda _line: None)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: set CASEFLOW_TEST_DATABASE_URL")
def test_a_slow_pg_dump_outlasts_the_idle_transaction_timeout(tmp_path):
    """The deployment ends transactions idle for 15 minutes; the one holding the snapshot
    waits idle for as long as pg_dump runs. Here the limit is 1 s and pg_dump starts 2 s late."""
    url, drop = create_database("postgresql", tmp_path)
    try:
        app = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(tmp_path / "files"))
        migrate_to_head(app)
        name = sa.make_url(url).database
        with app.app_context(), _db.engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET '
                                 "idle_in_transaction_session_timeout = '1s'"))
            conn.commit()
            _db.engine.dispose()
        slow = tmp_path / "bin"
        slow.mkdir()
        real = shutil.which("pg_dump")
        (slow / "pg_dump").write_text(f'#!/bin/sh\nsleep 2\nexec {real} "$@"\n')
        (slow / "pg_dump").chmod(0o755)
        app.config["CASEFLOW_PG_BIN_DIR"] = str(slow)
        with app.app_context():
            result = backup.write_backup(app, tmp_path / "out", LOADED_AT, lambda _line: None)
            _db.engine.dispose()
        assert result.manifest["tables"]["alembic_version"] == 1
    finally:
        drop()


# -- pure parts --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["attachments/../../etc/cron.d/x", "/etc/passwd", "attachments",
                                  "notes.txt"])
def test_an_archive_naming_a_file_outside_its_folders_is_refused(tmp_path, name):
    import io

    members = {"database.sqlite3": b"SQLite format 3\x00", name: b"x"}
    manifest = {"format": backup.FORMAT, "format_version": backup.FORMAT_VERSION,
                "database": {"kind": "sqlite", "member": "database.sqlite3"}, "tables": {},
                "members": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                            for n, d in members.items()]}
    path = tmp_path / "crafted.tar"
    with tarfile.open(path, "w") as tar:
        for member, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(backup.Refused, match="not a plain file name"):
        backup.verify_archive(path, progress=lambda _line: None)


def test_prune_keeps_the_days_asked_for(tmp_path):
    now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    ages = {"caseflow-20261027T015959Z.tar": "gone", "caseflow-20261027T020000Z.tar": "kept",
            "caseflow-20261126T020000Z.tar": "kept", "caseflow-20200101T000000Z.tar.part": "kept",
            "caseflow-20200101.tar": "kept", "notes-20200101T000000Z.tar": "kept",
            "caseflow-20201399T000000Z.tar": "kept"}
    for name in ages:
        (tmp_path / name).write_bytes(b"")
    removed = backup.prune_backups(tmp_path, now, 31, progress=lambda _line: None)
    assert [p.name for p in removed] == ["caseflow-20261027T015959Z.tar"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for name, fate in ages.items() if fate == "kept")


def test_the_postgresql_password_goes_in_the_environment_not_the_command_line():
    app = make_app("postgresql+psycopg://caseflow:s3cr%27t@db.example:5433/case'flow"
                   "?sslmode=require")
    conninfo, env = backup._pg_connection(app)
    assert "s3cr" not in conninfo
    assert conninfo == r"dbname='case\'flow' sslmode='require'"
    assert (env["PGPASSWORD"], env["PGHOST"], env["PGPORT"], env["PGUSER"]) == (
        "s3cr't", "db.example", "5433", "caseflow")
    # deploy/caseflow.env.example: the local socket, peer authentication, no password
    conninfo, env = backup._pg_connection(
        make_app("postgresql+psycopg://caseflow@/caseflow?host=/run/postgresql"))
    assert conninfo == "dbname='caseflow' host='/run/postgresql'"
    assert env["PGUSER"] == "caseflow" and env.get("PGPASSWORD") == os.environ.get("PGPASSWORD")
