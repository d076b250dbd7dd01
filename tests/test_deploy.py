"""The deployment files in deploy/ are checked with the tools that will read them.

systemd's units by ``systemd-analyze verify`` and by reading them (each runs the
programs the wheel installs, as the user and with the environment file the README
names); gunicorn's configuration by ``gunicorn --check-config`` (which loads the app);
the nginx site by ``nginx -t`` with a throw-away certificate; the PostgreSQL set-up
script by running it (twice) on the test server and migrating as the role it makes;
the environment file against caseflow/config.py. A tool that is not installed skips
its part.
"""
from __future__ import annotations

import configparser
import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow import config as settings
from tests.conftest import POSTGRES_URL, _postgres_admin_url, create_database, make_app, migrate_to_head

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VENV_BIN = Path(sys.executable).parent
#: Where the README installs things on the server.
SERVER_VENV = "/opt/caseflow/venv"
ENV_FILE = "/etc/caseflow/caseflow.env"
INSTANCE = "/var/lib/caseflow"
SERVICES = ["caseflow-web.service", "caseflow-scheduler.service", "caseflow-backup.service"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text())
    return parser


def exec_start(name: str) -> list[str]:
    return shlex.split(unit(name)["Service"]["ExecStart"])


def env_example() -> dict[str, str]:
    """Every setting the example names, set or commented out: name → value."""
    found = {}
    for line in (DEPLOY / "caseflow.env.example").read_text().splitlines():
        match = re.match(r"^#?(CASEFLOW_[A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def env_example_set() -> dict[str, str]:
    return {k: v for k, v in (line.split("=", 1) for line in
                              (DEPLOY / "caseflow.env.example").read_text().splitlines()
                              if line.startswith("CASEFLOW_"))}


# -- systemd -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_runs_an_installed_program_as_caseflow_with_the_env_file(name):
    service = unit(name)["Service"]
    program, *args = exec_start(name)
    assert program.startswith(f"{SERVER_VENV}/bin/")
    # The wheel's console script, or gunicorn, a dependency: both land in the venv's bin.
    assert (VENV_BIN / Path(program).name).exists(), program
    assert service["User"] == service["Group"] == "caseflow"
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["WorkingDirectory"] == INSTANCE
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes" and service["ProtectHome"] == "yes"


def test_the_web_service_runs_gunicorn_with_the_config_and_reloads_on_hup():
    service = unit("caseflow-web.service")["Service"]
    assert exec_start("caseflow-web.service")[1:] == ["--config", "/etc/caseflow/gunicorn.conf.py"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Restart"] == "on-failure" and service["Type"] == "notify"
    # What the app writes (attachments, metrics) is inside the one writable path.
    writable = service["ReadWritePaths"].split()
    env = env_example_set()
    for key in ("CASEFLOW_INSTANCE_PATH", "CASEFLOW_ATTACHMENT_DIR"):
        assert any(env[key] == p or env[key].startswith(p + "/") for p in writable), key
    # Long enough for gunicorn's own graceful stop.
    assert int(service["TimeoutStopSec"]) > gunicorn_setting("graceful_timeout")


def test_the_scheduler_and_the_backup_run_real_caseflow_commands():
    from caseflow.cli import scheduler_command
    from caseflow.core.backup import backup_command

    assert exec_start("caseflow-scheduler.service")[1:] == [scheduler_command.name]
    args = exec_start("caseflow-backup.service")[1:]
    assert args[0] == backup_command.name
    # The arguments are ones the command takes (parsed by the command itself).
    context = backup_command.make_context(backup_command.name, args[1:])
    assert str(context.params["keep_days"]) == "30"
    assert "/var/backups/caseflow" in args
    assert "ReadWritePaths=/var/backups/caseflow" in (DEPLOY / "caseflow-backup.service").read_text()


def test_the_timer_starts_the_backup_daily_and_catches_up():
    timer = unit("caseflow-backup.timer")["Timer"]
    assert timer["Unit"] == "caseflow-backup.service"
    assert timer["Persistent"] == "true"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", timer["OnCalendar"])
    assert unit("caseflow-backup.timer")["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze here")
def test_systemd_analyze_verify(tmp_path):
    """systemd's own check, with the venv's path in place of /opt/caseflow/venv (which
    does not exist here: verify checks that ExecStart is executable)."""
    names = SERVICES + ["caseflow-backup.timer"]
    for name in names:
        text = (DEPLOY / name).read_text().replace(SERVER_VENV, str(VENV_BIN.parent))
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / n) for n in names]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


# -- the environment file -------------------------------------------------------------------


def test_the_env_example_names_every_setting():
    read = set(re.findall(r"CASEFLOW_[A-Z0-9_]+", inspect.getsource(settings.from_environment)))
    read |= set(re.findall(r"CASEFLOW_[A-Z0-9_]+", (DEPLOY / "gunicorn.conf.py").read_text()))
    read -= {"CASEFLOW_"}
    missing = read - set(env_example())
    assert not missing, f"not in deploy/caseflow.env.example: {sorted(missing)}"
    unknown = set(env_example()) - read
    assert not unknown, f"in the example but read by nothing: {sorted(unknown)}"


def test_the_env_example_has_no_secrets_and_starts_once_they_are_filled_in(monkeypatch):
    env = env_example_set()
    for key in ("CASEFLOW_SECRET_KEY", "CASEFLOW_DATA_KEY", "CASEFLOW_SMTP_PASSWORD"):
        assert env[key] == "", f"{key} must be empty in the example"
    assert env["CASEFLOW_TRUSTED_PROXIES"] == "127.0.0.1"
    assert env["CASEFLOW_DATABASE_URL"] == "postgresql+psycopg://caseflow@/caseflow?host=/run/postgresql"
    assert sa.make_url(env["CASEFLOW_DATABASE_URL"]).query == {"host": "/run/postgresql"}
    for key in [k for k in os.environ if k.startswith("CASEFLOW_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # As shipped: refused, saying which key is missing.
    with pytest.raises(settings.ConfigurationError, match="CASEFLOW_SECRET_KEY"):
        settings.validate(settings.from_environment())
    import secrets

    from caseflow.core.crypto import generate_key

    monkeypatch.setenv("CASEFLOW_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("CASEFLOW_DATA_KEY", generate_key())
    config = settings.from_environment()
    settings.validate(config)
    assert config["SESSION_COOKIE_SECURE"] is True and config["DEBUG"] is False


# -- gunicorn --------------------------------------------------------------------------------


def gunicorn_setting(name: str):
    namespace: dict = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return namespace[name]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    url, _ = create_database("sqlite", tmp_path_factory.mktemp("deploy"))
    migrate_to_head(make_app(url))
    return url


def production_env(url: str, tmp_path: Path, **extra) -> dict:
    import secrets

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    env.update(env_example_set())
    env.update(CASEFLOW_DATABASE_URL=url, CASEFLOW_SECRET_KEY=secrets.token_hex(32),
               CASEFLOW_DATA_KEY="0f" * 16, CASEFLOW_INSTANCE_PATH=str(tmp_path),
               CASEFLOW_ATTACHMENT_DIR=str(tmp_path / "attachments"),
               CASEFLOW_METRICS_DIR=str(tmp_path / "metrics"), **extra)
    return env


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorn_check_config_loads_the_app(migrated_sqlite, tmp_path, log_format):
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "--check-config", "--config", str(DEPLOY / "gunicorn.conf.py")],
        env=production_env(migrated_sqlite, tmp_path, CASEFLOW_LOG_FORMAT=log_format),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gunicorn_settings(monkeypatch):
    assert gunicorn_setting("wsgi_app") == "caseflow.wsgi:app"
    assert gunicorn_setting("bind") == "127.0.0.1:8000"
    assert 3 <= gunicorn_setting("workers") <= 9
    # Forwarding headers are caseflow's to judge (ProxyFix), never gunicorn's.
    assert gunicorn_setting("forwarded_allow_ips") == ""
    assert gunicorn_setting("secure_scheme_headers") == {}
    assert "%(M)s" in gunicorn_setting("access_log_format")  # the request's time
    assert "%(q)s" not in gunicorn_setting("access_log_format")  # never the query
    monkeypatch.setenv("CASEFLOW_WEB_WORKERS", "2")
    monkeypatch.setenv("CASEFLOW_WEB_BIND", "0.0.0.0:9000")
    assert gunicorn_setting("workers") == 2 and gunicorn_setting("bind") == "0.0.0.0:9000"


def test_json_access_lines_carry_the_fields():
    import json
    import logging

    formatter = gunicorn_setting("AccessJsonFormatter")()
    atoms = {"{x-forwarded-for}i": "203.0.113.7", "h": "127.0.0.1", "m": "GET", "U": "/referrals",
             "H": "HTTP/1.1", "s": "200", "B": 5120, "M": 37, "{x-request-id}o": "ab12",
             "a": 'Mozilla "5"'}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (atoms,), None)
    line = json.loads(formatter.format(record))
    assert line["client"] == "203.0.113.7" and line["path"] == "/referrals"
    assert line["status"] == 200 and line["duration_ms"] == 37 and line["user_agent"] == 'Mozilla "5"'


# -- nginx -----------------------------------------------------------------------------------


def nginx_prefix(tmp_path: Path, *, https_port: int = 443, http_port: int = 80,
                 upstream: str = "127.0.0.1:8000", static: str | None = None) -> Path:
    """The site as it will be installed, its paths moved into ``tmp_path``, with a
    self-signed certificate, inside a minimal nginx.conf; returns that file."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=caseflow.example.gov.cn", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    (tmp_path / "logs").mkdir()
    site = (DEPLOY / "nginx-caseflow.conf").read_text()
    for old, new in (("/etc/ssl/caseflow/", f"{tmp_path}/"),
                     ("/opt/caseflow/static/", f"{static or tmp_path}/"),
                     ("/etc/nginx/caseflow-proxy.conf", str(DEPLOY / "nginx-caseflow-proxy.conf")),
                     ("/var/log/nginx/", f"{tmp_path}/logs/"), ("/var/www/acme", str(tmp_path)),
                     ("listen 443 ssl", f"listen {https_port} ssl"),
                     ("listen [::]:443 ssl", f"listen [::1]:{https_port} ssl"),
                     ("listen 80;", f"listen {http_port};"),
                     ("listen [::]:80;", f"listen [::1]:{http_port};"),
                     ("server 127.0.0.1:8000;", f"server {upstream};")):
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {tmp_path}/{kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
                    f"events {{}}\nhttp {{\n  include /etc/nginx/mime.types;\n"
                    f"  access_log {tmp_path}/logs/access.log;\n  {temp}\n"
                    f"  include {tmp_path}/site.conf;\n}}\n")
    return main


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(not (NGINX and shutil.which("openssl")), reason="no nginx or openssl here")
def test_nginx_accepts_the_site(tmp_path):
    main = nginx_prefix(tmp_path)
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(main)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_nginx_site_sets_every_forwarding_header_the_app_believes():
    """The app takes X-Forwarded-For/-Proto/-Host from the proxy (ProxyFix, one hop), so
    nginx must set each (not append to the client's), and drop the ones it does not use."""
    proxy = (DEPLOY / "nginx-caseflow-proxy.conf").read_text()
    sets = dict(re.findall(r"^proxy_set_header (\S+) (.+);$", proxy, flags=re.M))
    assert sets["X-Forwarded-For"] == "$remote_addr"
    assert sets["X-Forwarded-Proto"] == "$scheme" and sets["X-Forwarded-Host"] == "$host"
    for dropped in ("X-Forwarded-Port", "X-Forwarded-Prefix", "Forwarded"):
        assert sets[dropped] == '""'
    site = (DEPLOY / "nginx-caseflow.conf").read_text()
    assert "server 127.0.0.1:8000;" in site and gunicorn_setting("bind") == "127.0.0.1:8000"
    size = re.search(r"client_max_body_size (\d+)m;", site)
    from caseflow.core.files import MAX_BYTES

    assert int(size.group(1)) * 1024 * 1024 > MAX_BYTES + 64 * 1024


# -- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.skipif(not (POSTGRES_URL and shutil.which("psql")),
                    reason="no PostgreSQL (CASEFLOW_TEST_DATABASE_URL) or psql here")
def test_the_postgresql_setup_makes_a_role_that_can_migrate_its_database():
    admin = _postgres_admin_url()
    name = f"caseflow_setup_{uuid.uuid4().hex[:8]}"
    psql_url = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # and again: nothing fails on what exists
            result = subprocess.run(
                ["psql", psql_url, "-v", "ON_ERROR_STOP=1", "-v", f"role={name}",
                 "-v", f"database={name}", "-f", str(DEPLOY / "postgresql-setup.sql")],
                capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
        with engine.connect() as conn:
            database = conn.execute(sa.text(
                "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datconnlimit "
                "FROM pg_database WHERE datname = :n"), {"n": name}).one()
            role = conn.execute(sa.text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolconnlimit FROM pg_roles "
                "WHERE rolname = :n"), {"n": name}).one()
        assert tuple(database) == (name, "UTF8", 50)
        assert tuple(role) == (True, False, False, 50)
        # The role, as the services connect, builds caseflow's schema in its database.
        as_role = admin.set(username=name, password=None, database=name)
        app = make_app(as_role.render_as_string(hide_password=False))
        migrate_to_head(app)
        with sa.create_engine(as_role).connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM organisations")).scalar() == 0
            conn.close()
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        engine.dispose()


# -- nginx in front of gunicorn, for real ------------------------------------------------------

PUBLIC_HOST = "caseflow.example.gov.cn"


@pytest.mark.skipif(not (NGINX and shutil.which("openssl")), reason="no nginx or openssl here")
def test_through_nginx_over_https(tmp_path):
    """The site and gunicorn as deployed, on ports of their own: plain HTTP is sent to
    HTTPS; the sign-in works over HTTPS for the public host (the app saw https and the
    host through ProxyFix: Flask-WTF's referrer check passes) even when the browser
    sends forwarding headers of its own (nginx sets them); the cookie is Secure; one
    HSTS header; static files come from nginx, not the app."""
    import ssl
    from http.cookiejar import CookieJar
    from urllib import error, parse, request

    import caseflow
    from caseflow.extensions import db as _db
    from caseflow.core.orgs.roles import Role
    from tests import factories

    url, _ = create_database("sqlite", tmp_path)
    env = production_env(url, tmp_path / "instance")
    app = make_app(url, SECRET_KEY=env["CASEFLOW_SECRET_KEY"], CASEFLOW_DATA_KEY=env["CASEFLOW_DATA_KEY"])
    migrate_to_head(app)
    with app.app_context():
        from datetime import datetime, timezone

        world = factories.build_world(now=datetime.now(timezone.utc))
        username = factories.make_user(world, roles={Role.PROSECUTOR}).username
        _db.session.commit()
        _db.engine.dispose()
    from tests.conftest import free_port

    web_port, https_port, http_port = free_port(), free_port(), free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    main = nginx_prefix(prefix, https_port=https_port, http_port=http_port,
                        upstream=f"127.0.0.1:{web_port}",
                        static=str(Path(caseflow.__file__).parent / "static"))
    if os.geteuid() == 0:  # nginx's workers would be "nobody", who cannot enter tmp_path
        main.write_text("user root;\n" + main.read_text())
    web_log = tmp_path / "web.log"
    web = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"),
                            "--workers", "1", "--bind", f"127.0.0.1:{web_port}"],
                           env=env, stdout=web_log.open("w"), stderr=subprocess.STDOUT)
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(main), "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE

    class NoRedirect(request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    jar = CookieJar()
    opener = request.build_opener(request.HTTPSHandler(context=tls), request.HTTPCookieProcessor(jar),
                                  NoRedirect())

    def fetch(path, *, data=None, headers=None, scheme="https", port=https_port):
        req = request.Request(f"{scheme}://127.0.0.1:{port}{path}", headers={
            "Host": PUBLIC_HOST, "Referer": f"https://{PUBLIC_HOST}/login", **(headers or {})},
            data=None if data is None else parse.urlencode(data).encode())
        try:
            with opener.open(req, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except error.HTTPError as answer:
            return answer.code, answer.headers, answer.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            assert web.poll() is None, web_log.read_text()[-3000:]
            assert nginx.poll() is None, nginx.stdout.read()
            try:
                status, headers, page = fetch("/login")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "nginx and gunicorn did not answer within 30 s"
            time.sleep(0.3)
        assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
        assert [c for c in jar if c.name == "caseflow_session"][0].secure
        status, headers, _ = fetch("/login", scheme="http", port=http_port)
        assert status == 301 and headers["Location"] == f"https://{PUBLIC_HOST}/login"
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = {"username": username, "csrf_token": token, "password": factories.PASSWORD}
        # The app knows it is served over HTTPS: Flask-WTF's strict referrer check runs
        # and refuses a form posted from another site.
        assert fetch("/login", data=form, headers={"Referer": "https://evil.example/"})[0] == 400
        # The browser's own forwarding headers are replaced by nginx's.
        forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http",
                  "X-Forwarded-For": "198.51.100.1"}
        status, headers, page = fetch("/login", data=form, headers=forged)
        assert status == 302, page[:500]
        assert fetch("/")[0] == 200  # signed in: the Secure cookie travels over HTTPS
        status, headers, css = fetch("/static/css/caseflow.css")
        assert status == 200 and css
        assert "Content-Security-Policy" not in headers  # nginx's answer, not the app's
        assert headers.get_all("Cache-Control") == ["max-age=3600"]
        assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
    finally:
        nginx.terminate()
        web.terminate()
        nginx.wait(timeout=30)
        web.wait(timeout=45)
    log = web_log.read_text()
    # gunicorn saw nginx's X-Forwarded-For (the browser's address), not the forged one.
    assert re.search(r'^127\.0\.0\.1 127\.0\.0\.1 "POST /login HTTP/1\.1" 302', log, flags=re.M), log[-2000:]
    assert "198.51.100.1" not in log


# -- caseflow-admin: commands as the services run them ----------------------------------------


def test_sh_reads_the_env_file_as_systemd_does():
    result = subprocess.run(["sh", "-c", 'set -a; . "$0"; set +a; env', str(DEPLOY / "caseflow.env.example")],
                            env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("CASEFLOW_"))
    assert seen == env_example_set()


def test_caseflow_admin_runs_a_command_as_caseflow_with_the_env_file(migrated_sqlite, tmp_path):
    """The wrapper, with the venv's path for /opt/caseflow/venv and a stand-in runuser that
    records the user asked for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runuser").write_text('#!/bin/sh\necho "runuser $1 $2" >&2\nshift 3\nexec "$@"\n')
    (bin_dir / "runuser").chmod(0o755)
    wrapper = tmp_path / "caseflow-admin"
    wrapper.write_text((DEPLOY / "caseflow-admin").read_text().replace(SERVER_VENV, str(VENV_BIN.parent)))
    wrapper.chmod(0o755)
    env = production_env(migrated_sqlite, tmp_path / "instance")
    (tmp_path / "instance").mkdir()
    env_file = tmp_path / "caseflow.env"
    env_file.write_text("".join(f'{k}="{v}"\n' for k, v in env.items() if k.startswith("CASEFLOW_")))
    result = subprocess.run([str(wrapper), "db", "current"], capture_output=True, text=True, timeout=120,
                            env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "CASEFLOW_ENV_FILE": str(env_file)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runuser -u caseflow" in result.stderr
    assert re.search(r"^\d{4}_\w+ \(head\)$", result.stdout, flags=re.M), result.stdout
