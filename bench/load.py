#!/usr/bin/env python
"""caseflow under load, and through two faults, on a PostgreSQL cluster of its own.

    .venv/bin/python bench/load.py [--users 20] [--seconds 60] [--fault-seconds 40]
        [--workers 4] [--think 0] [--no-replica]

What it does, in order (progress lines as it goes; Ctrl-C stops everything cleanly):

1. Starts a throwaway PostgreSQL 15 cluster: ``initdb`` into a temporary directory and
   ``pg_ctl start`` on a free port, listening on 127.0.0.1 only (run as the ``postgres``
   user through ``runuser`` when the script runs as root). It never touches another
   cluster. With ``CASEFLOW_BENCH_DATABASE_URL`` set it uses that database instead (an
   empty one, which it migrates; the database restart is then skipped).
2. Migrates, loads the demo (``caseflow.core.demo.load_demo``) and adds 20 bench accounts
   through the accounts service, half at the women's federation, half at the
   procuratorate's 5th department; every other one a supervisor too (who sees the
   report). They share the demo password and, like the demo's accounts, need no
   password change.
3. Starts gunicorn with 4 workers (``caseflow.wsgi:app`` and ``deploy/gunicorn.conf.py``
   when they exist: the production settings, with the bind, the workers and the log files
   of the bench) and
   the scheduler (``caseflow scheduler``), its e-mail going to a local SMTP sink.
4. Load: 20 users, each a thread with its own connection, cookie jar and CSRF token,
   signed in, then looping without a pause (``--think`` adds one) for ``--seconds``
   (``CASEFLOW_BENCH_SECONDS``): a referral list (inbox, outbox, all: 30 %), a referral's
   page (30 %), the home page (10 %), the four-mechanisms report (8 %, supervisors;
   others a list), a comment (12 %) and a new referral sent (10 %: the form, the draft,
   the send). Every page is checked (status, and for a write the success message on the
   page the redirect leads to). A sampler asks ``/healthz`` twice a second.
   Printed: requests per second, p50/p95/max per page kind, errors, ``/healthz``; and
   whether the goal holds: no error, every page's p95 at most 1 s.
5. Faults, under a second phase of the same load (``--fault-seconds``,
   ``CASEFLOW_BENCH_FAULT_SECONDS``): one gunicorn worker killed with SIGKILL (the master
   starts another), then the cluster restarted (``pg_ctl restart -m fast``). For each:
   the errors the users saw, and how long until every request succeeded again, with
   nobody acting.
6. Every write a user saw acknowledged by a success page (sends, comments) is looked up
   in the database: all must be there.
7. Optionally (default on, ``--no-replica`` skips it): a streaming replica of the cluster
   (``pg_basebackup -R``, started on another port), a second gunicorn with
   ``CASEFLOW_REPLICA_DATABASE_URL`` pointing at it, and the report timed from the replica
   and from the primary while the same load runs on the first gunicorn.

Everything started is stopped at the end and the temporary directory removed.
The machine's load average is printed at the start and the end: on a shared machine the
figures are noisy.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("CASEFLOW_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
GOAL_P95 = 1.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TOKEN = re.compile(r'name="submission_token"[^>]*value="([^"]*)"')
REFERRAL_LINK = re.compile(r'href="/referrals/(\d+)"')
SUCCESS = 'class="alert alert-success"'
FAILURE = 'class="alert alert-danger"'
PAGE_KINDS = ("list", "detail", "home", "report", "new form", "save draft", "send", "comment")
COLOUR = sys.stdout.isatty()


def colour(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if COLOUR else text


def green(text):
    return colour(text, "32")


def red(text):
    return colour(text, "31")


def bold(text):
    return colour(text, "1")


START = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


# -- PostgreSQL ----------------------------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster in a temporary directory, on a port of its own."""

    def __init__(self, base: Path, name: str):
        self.dir = base / name
        self.log = base / f"{name}.log"
        self.port = free_port()
        self.running = False

    @staticmethod
    def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def init(self) -> None:
        self._as_postgres([PG_BIN / "initdb", "-D", self.dir, "-U", "postgres", "-A", "trust",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])

    def options(self) -> str:
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                f"-c max_connections=200 -c hot_standby_feedback=on")

    def start(self) -> None:
        self._as_postgres([PG_BIN / "pg_ctl", "-D", self.dir, "-l", self.log, "-w", "-t", "60",
                           "-o", self.options(), "start"])
        self.running = True

    def restart(self) -> None:
        self._as_postgres([PG_BIN / "pg_ctl", "-D", self.dir, "-l", self.log, "-w", "-t", "60",
                           "-m", "fast", "restart"])

    def stop(self) -> None:
        if self.running:
            try:
                self._as_postgres([PG_BIN / "pg_ctl", "-D", self.dir, "-w", "-t", "60", "-m", "fast",
                                   "stop"])
            except subprocess.CalledProcessError as error:
                say(f"pg_ctl stop ({self.dir.name}) failed: {error.stderr.strip()}")
            self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def standby_of(self, primary: "Cluster") -> None:
        """This cluster as a streaming replica of ``primary`` (base backup with -R)."""
        self._as_postgres([PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port,
                           "-U", "postgres", "-D", self.dir, "-R", "-X", "stream", "--no-sync"])


def _private_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="caseflow-load-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    return base


# -- the app's processes -------------------------------------------------------------------


def app_environment(base: Path, database_url: str, smtp_port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    env.update(
        CASEFLOW_DATABASE_URL=database_url,
        CASEFLOW_SECRET_KEY=SECRET_KEY, CASEFLOW_DATA_KEY=DATA_KEY,
        CASEFLOW_SECURE_COOKIES="0",
        CASEFLOW_INSTANCE_PATH=str(base / "instance"),
        CASEFLOW_ATTACHMENT_DIR=str(base / "instance" / "attachments"),
        CASEFLOW_SMTP_HOST="127.0.0.1", CASEFLOW_SMTP_PORT=str(smtp_port),
        CASEFLOW_BASE_URL="http://127.0.0.1",
        **extra,
    )
    return env


SECRET_KEY = secrets.token_hex(32)
DATA_KEY = secrets.token_hex(16)


def prepare_database(env: dict, users: int) -> list[tuple[str, bool]]:
    """Migrate, load the demo, add the bench accounts; (username, is_supervisor) each."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        import flask_migrate

        from caseflow import create_app
        from caseflow.core import demo
        from caseflow.core.orgs import services as org_services
        from caseflow.core.orgs.models import Organisation, User
        from caseflow.core.orgs.roles import Role
        from caseflow.extensions import db

        app = create_app()
        now = datetime.now(timezone.utc)
        accounts = []
        with app.app_context():
            import logging

            logging.disable(logging.INFO)  # alembic's line per migration
            flask_migrate.upgrade()
            logging.disable(logging.NOTSET)
            demo.load_demo(now=now, log=lambda line: None)
            db.session.commit()
            import sqlalchemy as sa

            sides = {
                "fed": (db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-fed")),
                        Role.FEDERATION_OFFICER),
                "proc": (db.session.scalar(sa.select(Organisation).where(Organisation.code == "jh-proc-5")),
                         Role.PROSECUTOR),
            }
            for i in range(users):
                side = "fed" if i % 2 == 0 else "proc"
                supervisor = i % 4 in (0, 1)
                username = f"bench.{side}{i:02d}"
                org, role = sides[side]
                if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
                    roles = {role, Role.SUPERVISOR} if supervisor else {role}
                    org_services.create_account(
                        actor=None, now=now, username=username, display_name=f"压测{i:02d}",
                        email=f"{username}@bench.example.com", organisation=org,
                        password=demo.DEMO_PASSWORD, roles=frozenset(roles), is_demo=True,
                        password_hash=demo.demo_password_hash())
                accounts.append((username, supervisor))
            db.session.commit()
            db.engine.dispose()
        return accounts
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Gunicorn:
    def __init__(self, base: Path, env: dict, workers: int, name: str = "gunicorn"):
        self.port = free_port()
        self.base = base
        target = "caseflow.wsgi:app" if (ROOT / "caseflow" / "wsgi.py").exists() else "caseflow:create_app()"
        command = [str(BIN / "gunicorn")]
        config = ROOT / "deploy" / "gunicorn.conf.py"
        if config.exists():  # the production settings, the bind and workers from its variables
            command += ["-c", str(config)]
            env = dict(env, CASEFLOW_WEB_BIND=f"127.0.0.1:{self.port}", CASEFLOW_WEB_WORKERS=str(workers))
        else:
            command += ["--timeout", "60", "--graceful-timeout", "30"]
        command += ["--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                    "--access-logfile", str(base / f"{name}-access.log"),
                    "--error-logfile", str(base / f"{name}.log"),
                    "--pid", str(base / f"{name}.pid"), target]
        self.command = " ".join(command[1:])
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers = workers
        self.log = base / f"{name}.log"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _h, _b = request("127.0.0.1", self.port, "GET", "/login", timeout=5)
                if status == 200 and len(self.children()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- HTTP ------------------------------------------------------------------------------------


def request(host, port, method, path, *, body=None, headers=None, timeout=30):
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, response.msg, data
    finally:
        connection.close()


@dataclass
class Sample:
    kind: str
    started: float  # monotonic
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Recorder:
    samples: list = field(default_factory=list)
    health: list = field(default_factory=list)  # (started, seconds, status)
    sends: list = field(default_factory=list)  # referral ids acknowledged as sent
    comments: list = field(default_factory=list)  # comment texts acknowledged
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class PageError(Exception):
    pass


class User:
    """One signed-in browser: its cookie jar, CSRF token and the referrals it has seen."""

    def __init__(self, port: int, username: str, supervisor: bool, recorder: Recorder, rng: random.Random):
        self.port, self.username, self.supervisor = port, username, supervisor
        self.recorder, self.rng = recorder, rng
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.seen: list[int] = []
        self.commentable: list[int] = []

    # one request, timed and checked
    def call(self, kind: str, method: str, path: str, form: dict | None = None,
             expect: int = 200, check=None) -> tuple[object, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            status, msg, data = request("127.0.0.1", self.port, method, path, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as error:
            self.recorder.add(Sample(kind, started, time.monotonic() - started, False,
                                     f"{type(error).__name__}: {error}"[:120]))
            raise PageError(str(error)) from None
        seconds = time.monotonic() - started
        for cookie in msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        text = data.decode("utf-8", "replace")
        problem = None
        if status != expect:
            problem = f"HTTP {status} (expected {expect})"
            if status == 302 and "/login" in (msg.get("Location") or ""):
                problem += ": signed out"
        elif check is not None:
            problem = check(text, msg)
        self.recorder.add(Sample(kind, started, seconds, problem is None, problem or ""))
        if problem:
            raise PageError(problem)
        if (token := CSRF.search(text)):
            self.csrf = token.group(1)
        return msg, text

    def sign_in(self) -> None:
        self.call("sign-in page", "GET", "/login")
        self.call("sign in", "POST", "/login",
                  {"csrf_token": self.csrf, "username": self.username, "password": DEMO_PASSWORD},
                  expect=302)

    def follow(self, msg, *, success: bool) -> str:
        location = urllib.parse.urlsplit(msg.get("Location") or "").path
        if not location.startswith("/referrals/"):
            raise PageError(f"redirected to {location!r}")

        def check(text, _msg):
            if success and (SUCCESS not in text or FAILURE in text):
                return "no success message after the write"
            return None

        _msg, text = self.call("detail", "GET", location, check=check)
        return location

    def remember(self, text: str, commentable: bool) -> None:
        ids = [int(i) for i in REFERRAL_LINK.findall(text)]
        if ids:
            self.seen = (self.seen + ids)[-60:]
            if commentable:
                self.commentable = (self.commentable + ids)[-60:]

    # the actions
    def list_page(self):
        box = self.rng.choice(["inbox", "outbox", "all"])
        _msg, text = self.call("list", "GET", f"/referrals?box={box}",
                               check=lambda t, m: None if 'data-testid="referral-row"' in t
                               or "referral" in t else "not a referral list")
        self.remember(text, commentable=box == "inbox")

    def detail_page(self):
        if not self.seen:
            return self.list_page()
        self.call("detail", "GET", f"/referrals/{self.rng.choice(self.seen)}")

    def home_page(self):
        self.call("home", "GET", "/")

    def report_page(self):
        if not self.supervisor:
            return self.list_page()
        self.call("report", "GET", "/reports",
                  check=lambda t, m: None if 'data-testid="section-referral"' in t else "no report on the page")

    def comment(self):
        if not self.commentable:
            return self.list_page()
        referral = self.rng.choice(self.commentable)
        text = f"bench-{uuid.uuid4().hex[:12]} 压测评论"
        msg, _ = self.call("comment", "POST", f"/referrals/{referral}/comment",
                           {"csrf_token": self.csrf, "text": text}, expect=302)
        self.follow(msg, success=True)
        with self.recorder.lock:
            self.recorder.comments.append(text)

    def send(self):
        _msg, form_page = self.call("new form", "GET", "/referrals/new")
        select = re.search(r'<select[^>]*name="receiver_org_id"[^>]*>(.*?)</select>', form_page, re.S)
        receivers = re.findall(r'<option[^>]*value="(\d+)"', select.group(1) if select else "")
        if not receivers:
            raise PageError("no receiver to choose")
        token = TOKEN.search(form_page)
        tag = uuid.uuid4().hex[:12]
        msg, _ = self.call("save draft", "POST", "/referrals/new", {
            "csrf_token": self.csrf, "submission_token": token.group(1) if token else uuid.uuid4().hex,
            "person_id": "0", "pseudonym": f"压测{tag[:6]}", "real_name": "压测人",
            "receiver_org_id": receivers[0], "source": "hotline",
            "circumstances": f"bench-{tag} 压测线索：家庭困难。", "help_requested": ["counselling"],
            "consent_on": datetime.now(timezone.utc).date().isoformat(), "consent_method": "written",
        }, expect=302)
        location = self.follow(msg, success=True)
        referral = int(location.rstrip("/").rsplit("/", 1)[1])
        msg, _ = self.call("send", "POST", f"/referrals/{referral}/send", {"csrf_token": self.csrf},
                           expect=302)
        self.follow(msg, success=True)
        with self.recorder.lock:
            self.recorder.sends.append(referral)
        self.commentable.append(referral)
        self.seen.append(referral)

    ACTIONS = (("list", 30), ("detail", 30), ("home", 10), ("report", 8), ("comment", 12), ("send", 10))

    def loop(self, stop: threading.Event, think: float) -> None:
        names = [name for name, _w in self.ACTIONS]
        weights = [w for _n, w in self.ACTIONS]
        methods = {"list": self.list_page, "detail": self.detail_page, "home": self.home_page,
                   "report": self.report_page, "comment": self.comment, "send": self.send}
        while not stop.is_set():
            try:
                if not self.cookies.get("caseflow_session") or not self.csrf:
                    self.sign_in()
                methods[self.rng.choices(names, weights)[0]]()
            except PageError as error:
                if "signed out" in str(error):
                    self.cookies.clear()
                stop.wait(0.2)  # a failed page: the user looks at it for a moment
            if think:
                stop.wait(self.rng.uniform(0.5, 1.5) * think)


DEMO_PASSWORD = "Caseflow-demo-2026"


def health_sampler(port: int, recorder: Recorder, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, _m, _b = request("127.0.0.1", port, "GET", "/healthz", timeout=10)
        except (OSError, http.client.HTTPException):
            status = 0
        with recorder.lock:
            recorder.health.append((started, time.monotonic() - started, status))
        stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))


# -- figures ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(recorder: Recorder, since: float, until: float, title: str) -> bool:
    samples = [s for s in recorder.samples if since <= s.started < until]
    seconds = until - since
    kinds = defaultdict(list)
    for s in samples:
        kinds[s.kind].append(s)
    errors = [s for s in samples if not s.ok]
    print(bold(f"\n{title}: {len(samples)} requests in {seconds:.0f} s = {len(samples) / seconds:.1f} req/s, "
               f"{len(errors)} errors"))
    print(f"  {'page':<14}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}")
    goal = not errors
    for kind in (*PAGE_KINDS, "sign-in page", "sign in"):
        rows = kinds.get(kind)
        if not rows:
            continue
        times = [s.seconds for s in rows]
        p95 = pct(times, 0.95)
        page_ok = p95 <= GOAL_P95 or kind in ("sign-in page", "sign in")
        goal = goal and page_ok
        line = (f"  {kind:<14}{len(rows):>7}{pct(times, 0.5) * 1000:>9.0f}{p95 * 1000:>9.0f}"
                f"{max(times) * 1000:>9.0f}{sum(1 for s in rows if not s.ok):>8}")
        print(line if page_ok else red(line))
    health = [(t, s, st) for t, s, st in recorder.health if since <= t < until]
    if health:
        times = [s for _t, s, _st in health]
        statuses = defaultdict(int)
        for _t, _s, st in health:
            statuses[st] += 1
        print(f"  {'/healthz':<14}{len(health):>7}{pct(times, 0.5) * 1000:>9.0f}{pct(times, 0.95) * 1000:>9.0f}"
              f"{max(times) * 1000:>9.0f}   status: "
              + ", ".join(f"{k or 'no answer'} x{v}" for k, v in sorted(statuses.items())))
    if errors:
        kinds_of = defaultdict(int)
        for s in errors:
            kinds_of[f"{s.kind}: {s.detail}"] += 1
        for text, n in sorted(kinds_of.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {n} x {text}")
    return goal


def fault_report(recorder: Recorder, name: str, at: float, until: float, extra: str = "") -> dict:
    """The requests that ended between the fault and ``until`` (the next fault or the end)."""
    window = [s for s in recorder.samples if at <= s.started + s.seconds < until]
    errors = [s for s in window if not s.ok]
    health = [(t + d, st) for t, d, st in recorder.health if at <= t + d < until]
    bad_health = [t for t, st in health if st != 200]
    kinds_of = defaultdict(int)
    for s in errors:
        kinds_of[s.detail.split(":")[0] if "Error" in s.detail or "Disconnected" in s.detail
                 else s.detail] += 1
    print(bold(f"\nFault: {name}") + (f" ({extra})" if extra else ""))
    print(f"  requests that failed: {len(errors)} of {len(window)} that ended in this window"
          + (": " + ", ".join(f"{n} x {k}" for k, n in sorted(kinds_of.items(), key=lambda kv: -kv[1])[:5])
             if errors else ""))
    back = 0.0
    if errors:
        first = min(s.started + s.seconds for s in errors) - at
        back = max(s.started + s.seconds for s in errors) - at
        after = [s for s in window if s.started + s.seconds > at + back]
        print(f"  failures ended between {first:.1f} s and {back:.1f} s after the fault; every one of the "
              f"{len(after)} requests after that succeeded, nobody acting")
    else:
        print("  no request failed")
    if health:
        print(f"  /healthz: {len(bad_health)} of {len(health)} samples not 200"
              + (f", the last {max(bad_health) - at:.1f} s after the fault" if bad_health else ""))
    return {"errors": len(errors), "requests": len(window), "back": back}


#: Seconds between two database restarts of the fault phase (``--restarts``).
RESTART_SPACING = 2.5


def report_server_errors(log: Path) -> None:
    """Every traceback in the web service's log (Flask's "Exception on PATH", gunicorn's
    "Error handling request PATH", a failed finalizing...), by the line that announced it
    and the exception it ended with: what lies behind a 500 a user saw, printed before the
    temporary directory goes."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    kinds = Counter()
    for i, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        announced = re.sub(r"^\[[^]]*\] (\[[^]]*\] )*", "", lines[i - 1] if i else "")[:90]
        ending = next((later for later in lines[i + 1:i + 300]
                       if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Shutdown|Exit)\b", later)), "?")
        kinds[f"{announced} -> {ending[:150]}"] += 1
    if kinds:
        print("\nTracebacks in the web service's log:")
        for line, count in kinds.most_common():
            print(f"  {count} x {line}")
    else:
        print("\nTracebacks in the web service's log: none")


def count_in_database(url: str, recorder: Recorder) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            sent = 0
            ids = sorted(set(recorder.sends))
            for chunk in range(0, len(ids), 500):
                sent += conn.execute(sa.text(
                    "SELECT count(*) FROM referrals WHERE id = ANY(:ids) AND state <> 'draft' "
                    "AND sent_at IS NOT NULL AND number IS NOT NULL"),
                    {"ids": ids[chunk:chunk + 500]}).scalar_one()
            texts = sorted(set(recorder.comments))
            comments = 0
            for chunk in range(0, len(texts), 500):
                comments += conn.execute(sa.text(
                    "SELECT count(DISTINCT text) FROM referral_events WHERE kind = 'comment' "
                    "AND text = ANY(:texts)"), {"texts": texts[chunk:chunk + 500]}).scalar_one()
    finally:
        engine.dispose()
    ok = sent == len(ids) and comments == len(texts)
    line = (f"Acknowledged writes found in the database: sends {sent} of {len(ids)}, "
            f"comments {comments} of {len(texts)}")
    print(bold("\n" + (green(line + " — all there") if ok else red(line + " — MISSING"))))
    return ok


# -- the run ---------------------------------------------------------------------------------


class Load:
    def __init__(self, port: int, accounts, recorder: Recorder, think: float, seed: int = 1):
        self.stop = threading.Event()
        self.threads = []
        self.users = [User(port, name, supervisor, recorder, random.Random(seed + i))
                      for i, (name, supervisor) in enumerate(accounts)]
        self.threads = [threading.Thread(target=u.loop, args=(self.stop, think), daemon=True)
                        for u in self.users]
        self.threads.append(threading.Thread(target=health_sampler, args=(port, recorder, self.stop),
                                             daemon=True))

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        deadline = time.monotonic() + 35  # a request's own timeout is 30 s
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))


TICK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    """User + system CPU of one process, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, dict[int, int]]:
    """CPU ticks per process of each group: a parent and its children (gunicorn's
    workers, the postmaster's backends), and this process (the simulated users)."""
    snapshot = {}
    for name, parents in groups.items():
        pids = {pid for parent in parents for pid in (parent, *_children(parent))}
        snapshot[name] = {pid: _ticks(pid) for pid in pids}
    times = os.times()
    snapshot["bench client"] = {0: round((times.user + times.system) * TICK)}
    return snapshot


def cpu_report(before, after, requests: int, seconds: float) -> None:
    """CPU seconds per request by process group, measured rather than timed: the figure a
    shared machine disturbs least, and from it the requests per second that the
    machine's CPUs could serve if nothing else ran on them."""
    if not requests:
        return
    spent = {}
    for name, now in after.items():
        earlier = before.get(name, {})
        spent[name] = sum(max(0, ticks - earlier.get(pid, 0)) for pid, ticks in now.items()) / TICK
    server = sum(v for k, v in spent.items() if k != "bench client")
    parts = ", ".join(f"{name} {1000 * v / requests:.1f} ms" for name, v in spent.items())
    cores = os.cpu_count() or 1
    print(f"  CPU per request: {parts}; app + database {1000 * server / requests:.1f} ms "
          f"(the CPUs were {100 * sum(spent.values()) / (seconds * cores):.0f} % ours)")
    print(f"  => {cores} idle CPUs would serve about {cores * requests / sum(spent.values()):.0f} "
          f"requests/s with these users, {cores * requests / server:.0f} with the users elsewhere")


def run_phase(recorder: Recorder, seconds: float, label: str, events=()) -> tuple[float, float]:
    """Wait out a phase, printing progress every 10 s and running ``events`` (at, fn)."""
    start = time.monotonic()
    pending = sorted(events, key=lambda e: e[0])
    next_progress = start + 10
    while (now := time.monotonic()) < start + seconds:
        if pending and now >= start + pending[0][0]:
            _at, fn = pending.pop(0)
            fn()
            continue
        if now >= next_progress:
            done = [s for s in recorder.samples if s.started >= start]
            say(f"{label}: {now - start:.0f} s, {len(done)} requests, "
                f"{sum(1 for s in done if not s.ok)} errors")
            next_progress += 10
        time.sleep(0.1)
    return start, time.monotonic()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CASEFLOW_BENCH_SECONDS", 60)))
    parser.add_argument("--fault-seconds", type=float,
                        default=float(os.environ.get("CASEFLOW_BENCH_FAULT_SECONDS", 40)))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause between a user's pages, seconds (default: none)")
    parser.add_argument("--no-replica", action="store_true", help="skip the streaming replica part")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--restarts", type=int, default=1,
                        help=f"restart PostgreSQL this many times, {RESTART_SPACING:g} s apart, in "
                             "the fault phase (which grows to fit them)")
    args = parser.parse_args()
    # The restarts begin half-way through the fault phase and take about 3 s each; after
    # the last, 10 s more of load show the service back.
    args.fault_seconds = max(args.fault_seconds, 2 * (3 * args.restarts + 10))

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    say(f"caseflow load bench: {args.users} users, {args.workers} workers, "
        f"think time {args.think:g} s, {args.seconds:.0f} s of load, then faults for "
        f"{args.fault_seconds:.0f} s; {load_average()}")
    base = _private_dir()
    started: list = []  # things to stop, in reverse
    cluster = None
    recorder = Recorder()
    results = {}
    try:
        from aiosmtpd.controller import Controller

        class Sink:
            async def handle_DATA(self, server, session, envelope):
                return "250 OK"

        smtp_port = free_port()
        smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        started.append(("smtp sink", smtp.stop))

        given = os.environ.get("CASEFLOW_BENCH_DATABASE_URL")
        if given:
            database_url = given
            say(f"using CASEFLOW_BENCH_DATABASE_URL (no database restart in the faults)")
        else:
            cluster = Cluster(base, "primary")
            say(f"initdb into {cluster.dir}")
            cluster.init()
            cluster.start()
            started.append(("PostgreSQL (bench primary)", cluster.stop))
            say(f"PostgreSQL {cluster.port} started")
            import sqlalchemy as sa

            admin = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql("CREATE DATABASE caseflow")
            admin.dispose()
            database_url = cluster.url("caseflow")
        env = app_environment(base, database_url, smtp_port)
        say("migrating, loading the demo and the bench accounts")
        accounts = prepare_database(env, args.users)

        web = Gunicorn(base, env, args.workers)
        started.append(("gunicorn", web.stop))
        scheduler = subprocess.Popen([str(BIN / "caseflow"), "scheduler"], env=env, cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=open(base / "scheduler.log", "w"),
                                     stderr=subprocess.STDOUT)

        def stop_scheduler():
            if scheduler.poll() is None:
                scheduler.terminate()
                try:
                    scheduler.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    scheduler.kill()

        started.append(("scheduler", stop_scheduler))
        web.wait_ready()
        say(f"gunicorn {web.command}")
        say(f"scheduler pid {scheduler.pid}; {args.users} users signing in")

        load = Load(web.port, accounts, recorder, args.think)
        started.append(("load", load.finish))
        load.start()
        # Each worker's first pages load templates and catalogues: a warm-up, not measured.
        run_phase(recorder, 5, "warm-up")
        groups = {"web": [web.process.pid], "scheduler": [scheduler.pid]}
        if cluster is not None:
            groups["database"] = [int((cluster.dir / "postmaster.pid").read_text().split()[0])]
        cpu_before = cpu_snapshot(groups)
        since, until = run_phase(recorder, args.seconds, "load")
        cpu_after = cpu_snapshot(groups)
        results["goal"] = summary(recorder, since, until,
                                  f"Steady load, {args.users} users, {args.workers} workers")
        cpu_report(cpu_before, cpu_after, sum(1 for s in recorder.samples if since <= s.started < until),
                   until - since)
        verdict = (f"Goal (0 errors, every page p95 <= {GOAL_P95:.0f} s at {args.users} users): "
                   + ("HOLDS" if results["goal"] else "MISSED"))
        print(bold(green(verdict) if results["goal"] else red(verdict)))

        # -- faults
        faults = {}

        def kill_worker():
            victims = web.children()
            if not victims:
                say("no worker to kill")
                return
            victim = random.Random(7).choice(victims)
            faults["worker"] = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            say(f"fault 1: SIGKILL to gunicorn worker {victim}")

            def watch():
                while time.monotonic() - faults["worker"] < 30:
                    children = web.children()
                    if len(children) == args.workers and victim not in children:
                        faults["worker_replaced"] = time.monotonic() - faults["worker"]
                        return
                    time.sleep(0.05)

            threading.Thread(target=watch, daemon=True).start()

        def restart_database():
            if cluster is None:
                say("fault 2 skipped: the database is not the bench's own")
                return
            faults["database"] = time.monotonic()
            for n in range(args.restarts):
                if n:
                    time.sleep(RESTART_SPACING)
                say(f"fault 2: pg_ctl restart -m fast ({n + 1} of {args.restarts})")
                began = time.monotonic()
                cluster.restart()
                faults["database_restart_took"] = time.monotonic() - began
                say(f"PostgreSQL back after {faults['database_restart_took']:.1f} s (pg_ctl returned)")

        gap = args.fault_seconds / 3
        since, until = run_phase(recorder, args.fault_seconds, "faults",
                                 [(gap * 0.5, kill_worker), (gap * 1.5, restart_database)])
        summary(recorder, since, until, "Load during the faults")
        if "worker" in faults:
            end = faults.get("database", until)
            replaced = faults.get("worker_replaced")
            results["worker"] = fault_report(
                recorder, "one gunicorn worker killed (SIGKILL)", faults["worker"], end,
                f"the master had a new worker after {replaced:.1f} s" if replaced is not None
                else "no new worker seen within 30 s")
        if "database" in faults:
            times = "" if args.restarts == 1 else f" {args.restarts} times, {RESTART_SPACING:g} s apart"
            results["database"] = fault_report(
                recorder, f"PostgreSQL restarted (pg_ctl restart -m fast){times}", faults["database"],
                until, f"the last pg_ctl took {faults['database_restart_took']:.1f} s")
        print(f"\nscheduler still running after the faults: {'yes' if scheduler.poll() is None else 'NO'}")

        # -- the replica (optional)
        if cluster is not None and not args.no_replica:
            try:
                replica_part(base, cluster, env, accounts, args, started)
            except (subprocess.CalledProcessError, RuntimeError) as error:
                detail = getattr(error, "stderr", "") or str(error)
                say(f"replica part skipped: {detail.strip()[:300]}")

        load.finish()
        report_server_errors(base / "gunicorn.log")
        results["durable"] = count_in_database(database_url, recorder)
        say(f"done; {load_average()}")
        return 0 if results["durable"] else 1
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        return 130
    finally:
        # A second Ctrl-C must not leave a cluster or a gunicorn behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for name, stop in reversed(started):
            try:
                stop()
            except BaseException as error:  # keep stopping the rest
                say(f"stopping {name}: {error!r}")
        if args.keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def replica_part(base, cluster, env, accounts, args, started) -> None:
    """A streaming replica, a second gunicorn reading the report from it, and the report
    timed through both while the first gunicorn carries the load."""
    standby = Cluster(base, "standby")
    say("replica: pg_basebackup -R")
    standby.standby_of(cluster)
    standby.start()
    started.append(("PostgreSQL (bench standby)", standby.stop))
    say(f"replica: standby started on {standby.port}")
    env2 = dict(env, CASEFLOW_REPLICA_DATABASE_URL=standby.url("caseflow"))
    web2 = Gunicorn(base, env2, 2, name="gunicorn-replica")
    started.append(("gunicorn (replica)", web2.stop))
    web_primary = Gunicorn(base, env, 2, name="gunicorn-primary-report")
    started.append(("gunicorn (report on primary)", web_primary.stop))
    web2.wait_ready()
    web_primary.wait_ready()
    supervisors = [name for name, supervisor in accounts if supervisor][:2]
    seconds = min(30.0, args.seconds / 2)
    say(f"replica: the report through each, alternately, for {seconds:.0f} s, under the same load")
    rec = {"replica": Recorder(), "primary": Recorder()}
    stop = threading.Event()

    def loop(i, name):
        users = [User(web2.port, name, True, rec["replica"], random.Random(i)),
                 User(web_primary.port, name, True, rec["primary"], random.Random(i))]
        turn = i
        while not stop.is_set():
            user = users[turn % 2]
            turn += 1
            try:
                if not user.csrf:
                    user.sign_in()
                user.report_page()
            except PageError:
                stop.wait(0.2)

    threads = [threading.Thread(target=loop, args=(i, name), daemon=True)
               for i, name in enumerate(supervisors)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    print(bold("\nThe report from the streaming replica vs the primary: 2 supervisors asking for it "
               "back to back, alternately through a 2-worker gunicorn reading the replica and one "
               "reading the primary, while the main load runs (one machine: the replica shares its "
               "CPUs, so this shows the path works, not the relief of a machine of its own)"))
    print(f"  {'read from':<10}{'reports':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for label, r in rec.items():
        times = [s.seconds for s in r.samples if s.kind == "report"]
        errors = sum(1 for s in r.samples if not s.ok)
        print(f"  {label:<10}{len(times):>8}{pct(times, 0.5) * 1000:>9.0f}{pct(times, 0.95) * 1000:>9.0f}"
              f"{errors:>8}")
    import sqlalchemy as sa

    engine = sa.create_engine(cluster.url())
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT state, replay_lag, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
            "FROM pg_stat_replication")).first()
    engine.dispose()
    engine = sa.create_engine(standby.url("caseflow"))
    with engine.connect() as conn:
        in_recovery = conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()
        reads = conn.execute(sa.text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'caseflow'")).scalar()
    engine.dispose()
    if row:
        print(f"  the standby: {row[0]}, replay lag {row[1] or 'none measured (idle)'}, "
              f"{int(row[2] or 0)} bytes of WAL not yet replayed; in recovery: {in_recovery}; "
              f"transactions run on it: {reads}")
    else:
        print("  the standby is not connected to the primary")

if __name__ == "__main__":
    sys.exit(main())
