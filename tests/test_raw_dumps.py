"""Evidence for the hostile review's "still in clear": the demo is loaded into a database of
its own (a SQLite file, and PostgreSQL when configured), files with known content are
attached to a referral, an aid case and a training session through the services, and then
the raw bytes are searched as someone holding the disk would: the SQLite file (and any
journal beside it), ``pg_dump``'s output, and every file under the attachment directory.
None may hold a demo person's real name, resident ID number, phone number or address
(the visits' copies of it included), nor any of the attachments' content or SHA-256.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from caseflow.core import demo as core_demo
from caseflow.core.demo import load_demo
from caseflow.extensions import db as _db
from caseflow.referrals import demo as referral_demo
from caseflow.reports import demo as report_demo
from tests import factories
from tests.conftest import POSTGRES_URL, create_database, make_app, migrate_to_head

LOADED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
PERSONS = [*core_demo.PERSONS, *referral_demo.PERSONS, *report_demo.PERSONS]

#: Files whose content must never be found: an ID card scan, a hospital bill, the slides.
#: Each is longer than one encryption segment, so the later segments are searched too.
FILES = {
    "referral": b"%PDF-1.4\n" + "身份证正反面扫描件 ID-CARD-SCAN-7f3a ".encode() * 6000,
    "case": b"\x89PNG\r\n\x1a\n" + "住院费用清单 HOSPITAL-BILL-91c2 ".encode() * 6000,
    "training": b"%PDF-1.7\n" + "培训课件 TRAINING-SLIDES-5d08 ".encode() * 6000,
}


def _forms(text: str) -> list[bytes]:
    """How a value would lie in the raw bytes: UTF-8, and JSON-escaped (``\\u9648...``)."""
    return [text.encode("utf-8"), json.dumps(text)[1:-1].encode("ascii")]


def _secrets() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for pseudonym, _by, real_name, resident_id, phone, _address in PERSONS:
        for label, value in (("real name", real_name), ("resident ID", resident_id),
                             ("phone", phone), ("address", _address)):
            if value:
                found[f"{pseudonym}'s {label}"] = _forms(value)
    for name, data in FILES.items():
        marker = data[9:9 + 60]  # past the signature, which is the same in every PDF
        found[f"the {name} attachment's content"] = [marker, data[-60:]]
    return found


def _pg_dump(url: str, app) -> bytes:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    if shutil.which("pg_dump"):
        done = subprocess.run(["pg_dump", "--no-owner", plain], capture_output=True, timeout=120)
        if done.returncode == 0:
            return done.stdout
    # No usable pg_dump: every text and JSON column of every table, cast to text.
    chunks = []
    with app.app_context():
        inspector = sa.inspect(_db.engine)
        with _db.engine.connect() as conn:
            for table in inspector.get_table_names():
                for column in inspector.get_columns(table):
                    if isinstance(column["type"], (sa.String, sa.Text, sa.JSON)):
                        chunks.extend((value or "").encode() for value in conn.scalars(
                            sa.text(f'SELECT CAST("{column["name"]}" AS TEXT) FROM "{table}"')))
    return b"\n".join(chunks)


def _raw_dumps(backend: str, tmp_path: Path) -> dict[str, bytes]:
    url, drop = create_database(backend, tmp_path / backend)
    files_dir = tmp_path / backend / "attachments"
    app = make_app(url, CASEFLOW_ATTACHMENT_DIR=str(files_dir))
    migrate_to_head(app)
    try:
        with app.app_context():
            load_demo(now=LOADED_AT, log=lambda *_: None)
            factories.attach_to_demo(LOADED_AT, referral=("身份证.pdf", FILES["referral"]),
                                     case=("住院费用.png", FILES["case"]),
                                     training=("课件.pdf", FILES["training"]))
            _db.session.commit()
            _db.engine.dispose()  # SQLite: checkpoint and close, so the file holds it all
        dumps = {}
        if backend == "sqlite":
            database = Path(make_url(url).database)
            for path in database.parent.glob(database.name + "*"):  # with -wal, -journal
                dumps[f"SQLite file {path.name}"] = path.read_bytes()
        else:
            dumps["pg_dump"] = _pg_dump(url, app)
        stored = sorted(p for p in files_dir.rglob("*") if p.is_file())
        assert len(stored) == len(FILES)
        dumps["attachment directory"] = b"".join(p.read_bytes() for p in stored) + "\n".join(
            str(p.relative_to(files_dir)) for p in stored).encode()
        dumps["attachment names"] = "\n".join(str(p) for p in stored).encode()
        return dumps
    finally:
        with app.app_context():
            _db.engine.dispose()
        drop()


def _in_clear(dumps: dict[str, bytes]) -> list[str]:
    sha256s = [hashlib.sha256(data).hexdigest().encode() for data in FILES.values()]
    found = [f"{secret} in the {where}" for secret, forms in _secrets().items()
             for where, raw in dumps.items() if any(form in raw for form in forms)]
    found += [f"an attachment's SHA-256 in the {where}" for where, raw in dumps.items()
              if where.startswith("attachment") and any(s in raw for s in sha256s)]
    return found


def _demo_is_there(database: bytes) -> None:
    """Pseudonyms are kept in clear by design: finding each shows the dump is the demo's
    and is searched in the right encoding."""
    missing = [p[0] for p in PERSONS if not any(f in database for f in _forms(p[0]))]
    assert missing == []


def test_the_sqlite_file_and_the_attachments_hold_nothing_in_clear(tmp_path):
    dumps = _raw_dumps("sqlite", tmp_path)
    _demo_is_there(b"".join(raw for where, raw in dumps.items() if where.startswith("SQLite")))
    assert _in_clear(dumps) == []


@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: set CASEFLOW_TEST_DATABASE_URL")
def test_the_postgresql_dump_and_the_attachments_hold_nothing_in_clear(tmp_path):
    dumps = _raw_dumps("postgresql", tmp_path)
    _demo_is_there(dumps["pg_dump"])
    assert _in_clear(dumps) == []


def test_the_search_finds_what_is_there():
    """The search itself, on bytes that do hold the secrets, so that an empty result above
    means the secrets are absent, not that the search is blind."""
    _pseudonym, _by, real_name, resident_id, phone, _address = core_demo.PERSONS[0]
    raw = json.dumps({"n": real_name}).encode() + resident_id.encode() + FILES["case"][-200:]
    found = _in_clear({"probe": raw})
    assert f"{core_demo.PERSONS[0][0]}'s real name in the probe" in found
    assert f"{core_demo.PERSONS[0][0]}'s resident ID in the probe" in found
    assert "the case attachment's content in the probe" in found
