#!/usr/bin/env python
"""Ledger exports at 10,000 and 100,000 referrals: time and memory, SQLite and PostgreSQL.

    .venv/bin/python bench/exports.py [--sizes 10000,100000] [--backends sqlite,postgresql]

For each backend the script builds a scratch database by the migrations with the demo
organisations and users, and grows it to each size in turn with the seeding of
``bench/referrals.py`` (its ``build_world`` and ``Seeder``: referrals with persons and
timeline events, bulk inserts). At each size it exports the referral ledger of a
supervisor of the district procuratorate (box ``all``: every referral but the federation's
drafts) as XLSX and
as CSV through the real app and Flask's test client, reading the body chunk by chunk and
throwing it away, as a browser saving it to disk would.

Each export runs in a fresh child process (``--child``), so that its memory figures are
its own and not the seeding's: once without tracing for the time, rows/s and the RSS
high-water (Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` when the child is
signed in and ready, so that it is the export's peak; shown with its growth over the RSS
when ready), once under ``tracemalloc`` for the peak of Python allocations
during the export. Flat memory: the peaks at 100,000 roughly equal those at 10,000; the
ratios are printed from the same run.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test
is used only to create (and at the end drop) a scratch database.

A benchmark, never part of the test suite.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

#: bench/referrals.py, loaded by path (bench/ is not a package).
_spec = importlib.util.spec_from_file_location("bench_referrals", ROOT / "bench" / "referrals.py")
seeding = sys.modules["bench_referrals"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seeding)

#: A supervisor of the district procuratorate (above the 5th department): every referral goes
#: to or comes from the procuratorate, so her "all" ledger holds all but the federation's drafts.
EXPORTER = "bench.exporter"
URL_OF = {"xlsx": "/exports/referrals.xlsx?box=all", "csv": "/exports/referrals.csv?box=all"}
MiB = 1024 * 1024


def log(message: str = "") -> None:
    print(message, flush=True)


# -- the child: one export, measured -----------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def _reset_high_water() -> None:
    """Linux: VmHWM restarts from the current RSS (so start-up's peak does not count)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return  # not Linux: the high-water mark then includes start-up


def child(url: str, fmt: str, trace: bool) -> dict:
    import tracemalloc

    from caseflow.extensions import db
    from tests.conftest import make_app

    app = make_app(url)
    client = seeding.Client(app, EXPORTER)
    client.request("get", "/account")  # everything imported and warm
    rss_before = _status_kib("VmRSS")
    _reset_high_water()
    if trace:
        tracemalloc.start()
        tracemalloc.reset_peak()
    started = time.perf_counter()
    response = client.request("get", URL_OF[fmt])
    assert response.status_code == 200, response.status_code
    size = chunks = 0
    first_byte = None
    for chunk in response.response:  # the CSV's generator keeps the request's context itself
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        chunks += 1
    response.close()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    with app.app_context():
        from caseflow.core.audit.models import AuditEvent

        rows = db.session.scalar(sa.select(AuditEvent.after).where(AuditEvent.action == "export.referrals")
                                 .order_by(AuditEvent.id.desc()).limit(1))["rows"]
        db.engine.dispose()
    high_water = _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"fmt": fmt, "rows": rows, "bytes": size, "chunks": chunks, "seconds": seconds,
            "first_byte": first_byte, "is_streamed": response.is_streamed,
            "rss_before_kib": rss_before, "rss_high_kib": high_water, "trace_peak": peak}


def run_child(url: str, fmt: str, trace: bool) -> dict:
    command = [sys.executable, __file__, "--child", url, fmt] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the parent: seed, measure, report ------------------------------------------------------------


def add_exporter(now) -> None:
    from caseflow.core.demo import DEMO_PASSWORD
    from caseflow.core.orgs import services as org_services
    from caseflow.core.orgs.models import Organisation
    from caseflow.core.orgs.roles import Role
    from caseflow.extensions import db

    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-proc"))
    org_services.create_account(
        actor=None, now=now, username=EXPORTER, display_name="导出测试", email="exporter@bench.example.com",
        organisation=org, password=DEMO_PASSWORD, roles=frozenset({Role.SUPERVISOR, Role.PROSECUTOR}),
        is_demo=True)
    db.session.commit()


def run_backend(backend: str, sizes: list[int], batch: int) -> dict:
    from caseflow.extensions import db
    from tests.conftest import make_app, migrate_to_head

    url, drop = seeding.create_database(backend)
    results = {}
    try:
        log(f"\n##### {backend}")
        app = make_app(url)
        migrate_to_head(app)
        now = datetime.now(timezone.utc)
        with app.app_context():
            world = seeding.build_world(now)
            add_exporter(now)
            db.engine.dispose()
        seeder = seeding.Seeder(world, now)
        seed_engine = sa.create_engine(url)
        for size in sizes:
            log(f"\n  -- growing to {size:,} referrals")
            seeder.grow(seed_engine, size, batch)
            seed_engine.dispose()
            for fmt in ("xlsx", "csv"):
                timed = run_child(url, fmt, trace=False)
                traced = run_child(url, fmt, trace=True)
                timed["trace_peak"] = traced["trace_peak"]
                timed["traced_seconds"] = traced["seconds"]
                results[(size, fmt)] = timed
                log(f"     {fmt:<4} {timed['rows']:>8,} rows  {timed['seconds']:7.2f} s  "
                    f"{timed['rows'] / timed['seconds']:8,.0f} rows/s  first byte {timed['first_byte']:.2f} s  "
                    f"{timed['bytes'] / MiB:6.1f} MiB in {timed['chunks']:,} chunks  "
                    f"tracemalloc peak {timed['trace_peak'] / MiB:6.1f} MiB  "
                    f"RSS high-water {timed['rss_high_kib'] / 1024:6.1f} MiB "
                    f"(+{(timed['rss_high_kib'] - timed['rss_before_kib']) / 1024:.1f} MiB over "
                    f"{timed['rss_before_kib'] / 1024:.1f} ready)  streamed={timed['is_streamed']}")
        return results
    finally:
        with app.app_context():
            db.engine.dispose()
        drop()


def report(backend: str, sizes: list[int], results: dict) -> None:
    small, large = sizes[0], sizes[-1]
    log(f"\n=== {backend}: referral ledger export, {small:,} -> {large:,} referrals (same run) ===")
    log("| format | size | rows | time | rows/s | tracemalloc peak | RSS high-water (+ over ready) |")
    log("|---|---|---|---|---|---|---|")
    for fmt in ("xlsx", "csv"):
        for size in sizes:
            r = results[(size, fmt)]
            log(f"| {fmt.upper()} | {size:,} | {r['rows']:,} | {r['seconds']:.1f} s | "
                f"{r['rows'] / r['seconds']:,.0f} | {r['trace_peak'] / MiB:.1f} MiB | "
                f"{r['rss_high_kib'] / 1024:.0f} MiB (+{(r['rss_high_kib'] - r['rss_before_kib']) / 1024:.1f}) |")
    for fmt in ("xlsx", "csv"):
        a, b = results[(small, fmt)], results[(large, fmt)]
        log(f"  {fmt}: rows x{b['rows'] / a['rows']:.1f}, time x{b['seconds'] / a['seconds']:.2f}, "
            f"tracemalloc peak x{b['trace_peak'] / a['trace_peak']:.2f}, "
            f"RSS growth over ready x{max(b['rss_high_kib'] - b['rss_before_kib'], 1) / max(a['rss_high_kib'] - a['rss_before_kib'], 1):.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, metavar=("URL", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.trace)))
        return 0
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    started = time.perf_counter()
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        report(backend, sizes, run_backend(backend, sizes, args.batch))
    log(f"\nrun took {time.perf_counter() - started:.0f}s; load average {os.getloadavg()[0]:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
