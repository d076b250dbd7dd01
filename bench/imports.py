#!/usr/bin/env python
"""Ledger import at 1,000 and 10,000 rows: preview and commit, time and peak memory, on
SQLite and PostgreSQL.

    .venv/bin/python bench/imports.py [--sizes 1000,10000] [--backends sqlite,postgresql]

For each backend and size the script builds a scratch database by the migrations with
the test district (``tests.factories.build_world``: the federation, its streets, the
procuratorate and its 5th department), a supervisor of the federation who imports and a
prosecutor who handles, and a ledger of that many referrals as an office keeps it
(``tests/imports/ledger.py``: 40% still open, the rest replied or closed last year, every
woman with a valid resident ID number), written as XLSX. Then, through the services the
page and the command call:

- preview: ``imports.services.preview_referrals`` (read the file, check every row, look
  the people up by the blind index); nothing written;
- commit: ``imports.services.import_referrals`` (the preview again, then every person and
  referral written and flushed, one audit row), then COMMIT.

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


def run(backend: str, size: int) -> dict:
    from caseflow.core.orgs.roles import Role
    from caseflow.extensions import db
    from caseflow.imports import services
    from caseflow.referrals.models import Referral
    from tests import factories
    from tests.imports.ledger import make_ledger

    url, drop = create_database(backend, label="imports")
    files_dir = tempfile.mkdtemp(prefix="caseflow-imports-files-")
    try:
        app = _app(url, files_dir)
        with app.app_context():
            world = factories.build_world(now=NOW)
            supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
            handler = factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                                          username="bench.handler")
            db.session.commit()
            ledger = make_ledger(size, today=NOW.date(), handler=handler.username)
            data = ledger.xlsx()
            figures = {"backend": backend, "rows": size, "file_kib": len(data) // 1024}

            def preview():
                result = services.preview_referrals(data, "bench.xlsx", actor=supervisor, now=NOW)
                assert result.to_add == size and not result.refused, result.counts()

            figures["preview_s"], _ = _measure(preview, traced=False)
            db.session.rollback()
            _, figures["preview_peak"] = _measure(preview, traced=True)
            db.session.rollback()

            def commit():
                services.import_referrals(data, "bench.xlsx", actor=supervisor, now=NOW)

            _, figures["commit_peak"] = _measure(commit, traced=True)
            db.session.rollback()
            figures["commit_s"], _ = _measure(lambda: (commit(), db.session.commit()), traced=False)
            added = db.session.scalar(sa.select(sa.func.count()).select_from(Referral)
                                      .where(Referral.imported_sha256.is_not(None)))
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
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for backend in args.backends.split(","):
        for size in sizes:
            log(f"{backend}: {size:,} rows…")
            rows.append(run(backend, size))
    log()
    log(f"{'backend':<11}{'rows':>7}{'file':>9}{'preview':>10}{'rows/s':>8}{'peak':>9}"
        f"{'commit':>10}{'rows/s':>8}{'peak':>9}")
    for f in rows:
        log(f"{f['backend']:<11}{f['rows']:>7,}{f['file_kib']:>6} KiB"
            f"{f['preview_s']:>9.1f}s{f['rows'] / f['preview_s']:>8,.0f}{f['preview_peak'] / MiB:>5.0f} MiB"
            f"{f['commit_s']:>9.1f}s{f['rows'] / f['commit_s']:>8,.0f}{f['commit_peak'] / MiB:>5.0f} MiB")
    by = {(f["backend"], f["rows"]): f for f in rows}
    if len(sizes) == 2:
        small, big = sizes
        for backend in args.backends.split(","):
            a, b = by[(backend, small)], by[(backend, big)]
            log(f"{backend}: {big // small}x the rows: preview peak x{b['preview_peak'] / a['preview_peak']:.1f}, "
                f"commit peak x{b['commit_peak'] / a['commit_peak']:.1f}, "
                f"commit time x{b['commit_s'] / a['commit_s']:.1f}")


if __name__ == "__main__":
    main()
