"""``make run PORT=…``: the links in the e-mails point at the port the app is served on.

The Makefile's own ``run`` target runs here, in a directory of its own (its SQLite
database, its instance/caseflow.env), with this test run's Python environment as the venv;
its scheduler delivers the demo's reminders to a real SMTP server of the test.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Mailbox, free_port

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"https?://[^\s)>\"']+")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # make, its shell, the web server and scheduler
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_run_port_is_the_port_of_the_links_in_emails(tmp_path):
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    venv = Path(sys.prefix)
    env = {k: v for k, v in os.environ.items() if k != "CASEFLOW_BASE_URL"}
    env.update(CASEFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'caseflow.db'}",
               CASEFLOW_INSTANCE_PATH=str(tmp_path), CASEFLOW_SMTP_HOST="127.0.0.1",
               CASEFLOW_SMTP_PORT=str(smtp.port))
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "run", f"PORT={port}",
             "HOST=127.0.0.1", f"VENV={venv}", f"BIN={Path(sys.executable).parent}",
             "-o", f"{venv}/.installed", "-o", "translations"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not any(LINK.search(m["body"]) for m in mailbox.messages):
            assert process.poll() is None, f"make run stopped:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no e-mail with a link:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
    finally:
        _stop(process)
        smtp.stop()
    links = [link for m in mailbox.messages for link in LINK.findall(m["body"])]
    assert links
    assert all(link.startswith(f"http://127.0.0.1:{port}/") for link in links), links
