"""caseflow served by gunicorn inside a test: start it, wait for its first answer, ask it,
stop it. Used by the tests that need real processes (schema refusal, packaging, sign-in
races, metrics across workers, the production units)."""
from __future__ import annotations

import contextlib
import http.client
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from tests.conftest import free_port

#: The gunicorn of the environment running the tests.
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def start_gunicorn(python: Path, env: dict, cwd: Path) -> tuple[subprocess.Popen, int]:
    """``python -m gunicorn`` (the environment of ``python``, e.g. an installed wheel's)
    serving ``caseflow.wsgi:app`` with one worker on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [str(python), "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--timeout", "60", "caseflow.wsgi:app"],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, port


def request(port: int, path: str, headers: dict | None = None, *,
            timeout: float = 30) -> tuple[int, str]:
    """One GET: the status and the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _output(process: subprocess.Popen) -> str:
    stream = process.stderr or process.stdout
    return stream.read() if stream is not None else ""


def first_answer(port: int, path: str, *processes: subprocess.Popen, timeout: float = 30,
                 headers: dict | None = None, accept: Callable[[int], bool] = lambda status: True,
                 output: Callable[[subprocess.Popen], str] = _output) -> tuple[int, str]:
    """The first answer of a server that is starting whose status ``accept`` takes. Fails
    when one of ``processes`` (the server, and what must run beside it) ends, saying what
    it wrote (``output``), or when ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = request(port, path, headers, timeout=10)
            if accept(status):
                return status, body
        except OSError:
            pass
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args[0]} exited with {process.returncode}:\n"
                                     f"{output(process)[-3000:]}")
        assert time.monotonic() < deadline, f"no answer on port {port} within {timeout} s"
        time.sleep(0.2)


def stop(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def served_in_thread(app, *, name: str) -> Iterator[str]:
    """``app`` served by werkzeug from a thread of this process on a free port; yields its
    base URL, and on leaving stops the server and lets go of the database connections."""
    from werkzeug.serving import make_server

    from caseflow.extensions import db

    # One line per request from the server thread would bury any failure's own output.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        werkzeug_log.setLevel(level)
        with app.app_context():
            db.engine.dispose()
