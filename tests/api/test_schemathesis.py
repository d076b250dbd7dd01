"""schemathesis against the API's own OpenAPI document, on each database the suite runs on
(issue 17: "0 server errors, 0 responses that break the schema").

A live caseflow (its own database, migrated, with the demo loaded, served by a thread of
this process like the browser tests' server) is called by schemathesis's command line in a
subprocess, for every operation the document lists (the write operations included, as the
document gains them), once with a prosecutor's read-write token and once with a federation
officer's. The checks: no 5xx (not_a_server_error), every status documented
(status_code_conformance), every Content-Type documented (content_type_conformance), every
body valid against its schema (response_schema_conformance). Deterministic generation (the
same requests every run); the federation officer's run skips the coverage phase (the
prosecutor's covers the same boundary values) to keep each database within about a minute.

A run that tested nothing is a failure too: schemathesis's JSON report must say that every
operation of the document was tested and that test cases were generated.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis  # noqa: F401  (without it this module fails to import: never a silent skip)
import sqlalchemy as sa

from tests.conftest import BACKENDS, DEFAULT_NOW, Clock, create_database, make_app, migrate_to_head
from tests.servers import served_in_thread

#: schemathesis's command line, installed beside the interpreter running the tests.
ST = Path(sys.executable).parent / "st"
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
#: Who calls (a demo user), and which of schemathesis's phases run with their token.
RUNS = {
    "prosecutor": ("examples", "coverage", "fuzzing", "stateful"),
    "fed.officer": ("examples", "fuzzing", "stateful"),
}


def phases_for(backend: str, username: str) -> tuple[str, ...]:
    """The coverage phase (a thousand boundary and invalid values, the same on any database)
    runs once, on SQLite; PostgreSQL gets the examples, fuzzing and stateful phases, which
    reach its own behaviour (its integer range, its constraints), in a suite that must stay
    short."""
    phases = RUNS[username]
    return phases if backend == "sqlite" else tuple(p for p in phases if p != "coverage")


#: Test cases per operation in the fuzzing phase (the coverage phase makes its own).
MAX_EXAMPLES = 10
#: No run may take longer than this (seconds); a hung server fails the test.
TIMEOUT = 240


@dataclass
class Served:
    url: str
    tokens: dict[str, str]
    backend: str


@pytest.fixture(params=BACKENDS)
def served(request, tmp_path):
    """caseflow with the demo and a read-write token per demo user of ``RUNS``, at a fixed
    time (the demo's), with no rate limit that schemathesis's calls could reach."""
    from caseflow.api.services import create_token
    from caseflow.core.demo import load_demo
    from caseflow.core.orgs.models import User
    from caseflow.extensions import db

    url, drop = create_database(request.param, tmp_path)
    if request.param == "postgresql":
        _commit_without_waiting_for_the_disk(url)
    app = make_app(url, CASEFLOW_CLOCK=Clock(DEFAULT_NOW), CASEFLOW_API_RATE_LIMIT=1_000_000)
    migrate_to_head(app)
    with app.app_context():
        load_demo(now=DEFAULT_NOW, log=lambda *_: None)
        tokens = {}
        for username in RUNS:
            user = db.session.scalars(sa.select(User).where(User.username == username)).one()
            tokens[username] = create_token(actor=user, now=DEFAULT_NOW, name="schemathesis",
                                            scopes="read write", days=30)[1]
        db.session.commit()
        db.engine.dispose()
    try:
        with served_in_thread(app, name="caseflow-schemathesis") as base_url:
            yield Served(url=base_url, tokens=tokens, backend=request.param)
    finally:
        drop()


def _commit_without_waiting_for_the_disk(url: str) -> None:
    """Every API call commits (the token's last use, its rate window): this throwaway
    database need not wait for the disk at each commit (``synchronous_commit = off`` loses
    no consistency, only the last commits on a crash)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            name = sa.make_url(url).database
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        engine.dispose()


def _operations(url: str) -> set[str]:
    """``METHOD /path`` of every operation the document lists, as schemathesis names them,
    but the document's own (schemathesis reads it, and does not test where it read it)."""
    with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=30) as response:
        document = json.load(response)
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
            } - {"GET /openapi.json"}


def run_schemathesis(served: Served, username: str,
                     report_dir: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """schemathesis's command line with ``username``'s token: (the finished process, its
    JSON report)."""
    report = report_dir / f"{username}.json"
    command = [
        str(ST), "run", f"{served.url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {served.tokens[username]}",
        "--checks", ",".join(CHECKS),
        "--phases", ",".join(phases_for(served.backend, username)),
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",  # the same test cases every run
        "--workers", "1",
        "--request-timeout", "30",
        "--no-color",
        "--report", "json", "--report-json-path", str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=report_dir)
    assert report.exists(), (f"schemathesis wrote no report (exit {done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")
    return done, json.loads(report.read_text())


def test_every_operation_answers_as_its_document_says(served, tmp_path):
    assert ST.exists(), f"schemathesis's command line is not at {ST}: pip install -e '.[test]'"
    listed = _operations(served.url)
    assert {"GET /cases", "GET /cases/{case_id}", "GET /notifications", "GET /referrals"} <= listed
    for username in RUNS:
        started = time.monotonic()
        done, report = run_schemathesis(served, username, tmp_path)
        output = f"{done.stdout}\n{done.stderr}"
        print(f"schemathesis on {served.backend} as {username}: {time.monotonic() - started:.1f} s, "
              f"{report['test_cases']['generated']} test cases")
        assert done.returncode == 0 and report["exit_code"] == 0, (
            f"schemathesis as {username} on {served.backend} found problems (exit {done.returncode}):\n"
            f"{output}")
        assert report["failures"] == [] and report["errors"] == [], output
        operations = report["operations"]
        assert operations["total"] == operations["selected"] == operations["tested"] == len(listed), (
            f"not every operation of the document was tested: {operations}; none of "
            f"{sorted(listed - set(report['valid_rates']))} \n{output}")
        assert operations["errored"] == 0 and operations["skipped"] == 0, output
        assert report["test_cases"]["generated"] >= len(listed), output
        assert report["complete"] and report["stop_reason"] == "completed", output
