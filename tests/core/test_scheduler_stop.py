"""``caseflow scheduler`` stops cleanly: on SIGTERM (systemd's stop) and SIGINT (Ctrl-C)
it starts no new run, lets the running job finish, says so, and exits 0.

The clock runs in a child process of its own (a signal is sent to a whole process), with
one slow job in place of the real ones, so that the signal surely lands mid-run."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import logging, sys, time, types
from caseflow.core.scheduler import runner
from caseflow.core.scheduler.registry import ScheduledJob

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

def slow(app, job):
    print("run began", flush=True)
    time.sleep(1.5)
    print("run finished", flush=True)

runner.JOBS = {"slow": ScheduledJob(name="slow", func=None, every_seconds=3600)}
runner.run_job = slow
runner.serve(types.SimpleNamespace(config={"CASEFLOW_TIMEZONE": "Asia/Shanghai"}))
print("serve returned", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_clock_stops_after_the_running_job_and_exits_0(signum):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while "run began" not in lines:
            line = process.stdout.readline()
            assert line, "the clock ended before its first run:\n" + "".join(lines)
            lines.append(line.strip())
            assert time.monotonic() < deadline
        process.send_signal(signum)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines += out.splitlines()
    assert process.returncode == 0, "\n".join(lines)
    # The run in progress was let finish, then the clock stopped and said so.
    order = [line for line in lines if line in {"run began", "run finished", "scheduler stopped",
                                                 "serve returned"}]
    assert order == ["run began", "run finished", "scheduler stopped", "serve returned"], lines
    assert any(line.startswith(f"scheduler stopping on {signum.name}") for line in lines), lines
