#!/usr/bin/env python
"""Ledger import at 1,000 and 10,000 rows: preview and commit, time and peak memory, on
SQLite and PostgreSQL, for each kind of ledger: referrals, judicial aid cases, assistance
items.

    .venv/bin/python bench/imports.py [--sizes 1000,10000] [--backends sqlite,postgresql]
                                      [--kinds referrals,cases,assistance]

For each backend, kind and size the script builds a scratch database by the migrations with
the test district (``tests.factories.build_world``: the federation, its streets, the
procuratorate and its 5th department, the district's justice bureau) and the users the
ledgers name, and a ledger of that many rows as an office keeps it, written as XLSX:

- referrals (``tests/imports/ledger.py``): 40% still open, the rest replied or closed last
  year; imported by a supervisor of the federation;
- cases (``tests/imports/case_ledger.py``): a third still being investigated, a third
  decided and a third paid last year; every tenth of the investigated ones awaiting
  approval (amount and day proposed); imported by a supervisor of the procuratorate;
- assistance (``tests/imports/item_ledger.py``): two items a woman, completed last year
  or sent, accepted, running or planned this year; the completed and running ones with
  their session dates (three and two); every tenth item for a daughter the import records;
  imported by a supervisor of the federation.

Every woman has a valid resident ID number. Then, through the services the page and the
command call:

- preview: ``engine.preview`` (read the file, check every row, look the people up by the
  blind index); nothing written;
- commit: ``engine.import_ledger`` (the preview again, then every person, record, timeline
  entry and session written and flushed a chunk at a time, one audit row), then COMMIT.

Each is run once for its time and once under ``tracemalloc`` for the peak of Python
allocations (the commit's traced run is rolled back, so the timed one writes into an
empty database). The file's bytes are made before measuring and not counted.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import warnings  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from bench.scratch import create_database  # noqa: E402

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
MiB = 1024 * 1024


def log(message: str = "") -> None:
    print(message, flush=True)


def _app(url: str, files_dir: str):
    import flask_migrate

    from caseflow import create_app
    from caseflow.config import TestConfig
    from caseflow.extensions import db

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, CASEFLOW_CLOCK=lambda: NOW,
                  CASEFLOW_ATTACHMENT_DIR=files_dir)
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return app


def _measure(call, *, traced: bool) -> tuple[float, int]:
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    peak = 0
    if traced:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return seconds, peak


def _ledger(kind: str, size: int, world) -> tuple[bytes, object, type]:
    """The ledger's bytes, the user who imports it and the model its rows become."""
    from datetime import timedelta

    from caseflow.assistance.models import ServiceItem
    from caseflow.core.orgs.roles import Role
    from caseflow.investigations.models import AidCase
    from caseflow.referrals.models import Referral
    from tests import factories

    today = NOW.date()
    if kind == "referrals":
        from tests.imports.ledger import make_ledger

        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
        handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                      username="bench.handler")
        return make_ledger(size, today=today, handler=handler.username).xlsx(), supervisor, Referral
    if kind == "cases":
        from tests.imports.case_ledger import PREFIX, make_case_ledger

        world.procuratorate.aid_case_prefix = PREFIX
        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.procuratorate)
        handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                      username="bench.handler")
        ledger = make_case_ledger(size, today=today, handler=handler.username,
                                  approver=supervisor.username)
        for row in ledger.rows[::30]:  # investigated (i % 3 == 0): every tenth awaits approval
            row.update(proposed_amount="15000", proposed_on=row["application_received_on"])
        return ledger.xlsx(), supervisor, AidCase
    from tests.imports.item_ledger import make_item_ledger

    supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
    officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_a,
                                  username="bench.officer")
    ledger = make_item_ledger(size, today=today, officer=officer.username, provider="测试区司法局")
    for i, row in enumerate(ledger.rows):
        last = row.get("last_session_on")
        if last is not None:
            step = 7 if last - row["starts_on"] < timedelta(days=14) else 30
            count = 2 if step == 7 else 3
            days = [last - timedelta(days=step * k) for k in reversed(range(count))]
            row["session_dates"] = "、".join(d.isoformat() for d in days if d >= row["starts_on"])
        if i % 10 == 9:
            row.update(beneficiary=f"女儿{i}", relation="女儿")
    return ledger.xlsx(), supervisor, ServiceItem


def run(backend: str, kind: str, size: int) -> dict:
    from caseflow.extensions import db
    from caseflow.imports import engine
    from caseflow.imports.kinds import KINDS
    from tests import factories

    url, drop = create_database(backend, label="imports")
    files_dir = tempfile.mkdtemp(prefix="caseflow-imports-files-")
    ledger_kind = KINDS[kind]
    try:
        app = _app(url, files_dir)
        with app.app_context():
            world = factories.build_world(now=NOW)
            data, supervisor, model = _ledger(kind, size, world)
            db.session.commit()
            figures = {"backend": backend, "kind": kind, "rows": size,
                       "file_kib": len(data) // 1024}

            def preview():
                result = engine.preview(ledger_kind, data, "bench.xlsx", actor=supervisor, now=NOW)
                assert result.to_add == size and not result.refused, (
                    result.counts(), [str(e) for e in result.errors[:3]])

            figures["preview_s"], _ = _measure(preview, traced=False)
            db.session.rollback()
            _, figures["preview_peak"] = _measure(preview, traced=True)
            db.session.rollback()

            def commit():
                engine.import_ledger(ledger_kind, data, "bench.xlsx", actor=supervisor, now=NOW)

            _, figures["commit_peak"] = _measure(commit, traced=True)
            db.session.rollback()
            figures["commit_s"], _ = _measure(lambda: (commit(), db.session.commit()), traced=False)
            added = db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                      .where(model.imported_sha256.is_not(None)))
            assert added == size, added
            db.session.remove()
            db.engine.dispose()
        return figures
    finally:
        drop()
        shutil.rmtree(files_dir, ignore_errors=True)


def main() -> None:
    # SQLite's expression indexes cannot be reflected (setup.cfg lets the tests through too).
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--kinds", default="referrals,cases,assistance")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    rows = []
    for backend in args.backends.split(","):
        for kind in kinds:
            for size in sizes:
                log(f"{backend}, {kind}: {size:,} rows…")
                rows.append(run(backend, kind, size))
    log()
    log(f"{'backend':<11}{'kind':<11}{'rows':>7}{'file':>9}{'preview':>10}{'rows/s':>8}{'peak':>9}"
        f"{'commit':>10}{'rows/s':>8}{'peak':>9}")
    for f in rows:
        log(f"{f['backend']:<11}{f['kind']:<11}{f['rows']:>7,}{f['file_kib']:>6} KiB"
            f"{f['preview_s']:>9.1f}s{f['rows'] / f['preview_s']:>8,.0f}"
            f"{f['preview_peak'] / MiB:>5.0f} MiB"
            f"{f['commit_s']:>9.1f}s{f['rows'] / f['commit_s']:>8,.0f}"
            f"{f['commit_peak'] / MiB:>5.0f} MiB")
    by = {(f["backend"], f["kind"], f["rows"]): f for f in rows}
    if len(sizes) == 2:
        small, big = sizes
        for backend in args.backends.split(","):
            for kind in kinds:
                a, b = by[(backend, kind, small)], by[(backend, kind, big)]
                log(f"{backend}, {kind}: {big // small}x the rows: preview peak "
                    f"x{b['preview_peak'] / a['preview_peak']:.1f}, commit peak "
                    f"x{b['commit_peak'] / a['commit_peak']:.1f}, commit time "
                    f"x{b['commit_s'] / a['commit_s']:.1f}")


if __name__ == "__main__":
    main()
