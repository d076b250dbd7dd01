"""The wheel as an IT office installs it: built from the repository's files, installed
into a fresh virtual environment, it knows its version, migrates an empty database with
the migrations it carries, and serves the Chinese UI with the catalogues compiled into it."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import zh
from tests.core.test_schema import HEAD
from tests.servers import first_answer, start_gunicorn, stop

ROOT = Path(__file__).resolve().parents[1]


def copy_sources(target: Path) -> None:
    """The repository's files (tracked, and new ones not ignored), as a clean clone would
    have them: no build/, no compiled catalogues, no caches."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, copy = ROOT / name, target / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)


@pytest.fixture
def installed(tmp_path_factory):
    """(the wheel, the new venv's python): the wheel built with the development venv's
    setuptools, wheel and babel, installed alone (--no-deps) into a new venv that then
    sees the development venv's packages (after its own) for the dependencies."""
    tmp = tmp_path_factory.mktemp("packaging")
    source, out, venv = tmp / "src", tmp / "dist", tmp / "venv"
    copy_sources(source)
    assert not list(source.rglob("*.mo")), "the copy must start without compiled catalogues"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(source)], check=True, cwd=tmp)
    wheel, = out.glob("caseflow-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The development venv's pip installs into the new venv (it has none of its own).
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, cwd=tmp)
    # Only now the dependencies (never before installing: pip would see the development
    # venv's own caseflow as installed). Its site-packages comes after the new venv's own.
    site_packages = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    (site_packages / "zz_development_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n")
    return wheel, python


def _environment(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CASEFLOW_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PYTHONNOUSERSITE="1", CASEFLOW_SECRET_KEY="packaging-test-" + "s" * 40,
               CASEFLOW_DATA_KEY="ab" * 16, CASEFLOW_SECURE_COOKIES="0",
               CASEFLOW_INSTANCE_PATH=str(tmp_path / "instance"),
               CASEFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'caseflow.db'}")
    return env


def test_the_installed_wheel_knows_its_version_migrates_and_serves_chinese(installed, tmp_path):
    """One test, so that the wheel is built once (a module's tests may run in two workers)."""
    wheel, python = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for locale in ("zh_CN", "en"):
        assert f"caseflow/translations/{locale}/LC_MESSAGES/messages.mo" in names
    for name in ("env.py", "alembic.ini", "script.py.mako", f"versions/{HEAD}.py",
                 "versions/0001_foundation.py"):
        assert f"caseflow/migrations/{name}" in names
    assert not any(name.startswith(("tests/", "bench/", "migrations/")) for name in names)

    venv = python.parent.parent
    env = _environment(tmp_path)
    where = subprocess.run(
        [str(python), "-c", "import caseflow; from caseflow.core.app_setup import MIGRATIONS; "
                            "print(caseflow.__file__); print(MIGRATIONS)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(venv) for path in where), where
    # Without CASEFLOW_INSTANCE_PATH its data goes under the environment's var/, as Flask
    # does for installed packages: never into site-packages.
    default = subprocess.run(
        [str(python), "-c", "from caseflow.config import DEFAULT_INSTANCE; print(DEFAULT_INSTANCE)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(default) == venv / "var" / "caseflow-instance", default

    version = subprocess.run([str(venv / "bin" / "caseflow"), "--version"], env=env, cwd=tmp_path,
                             capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == "caseflow 0.1.0", version

    upgrade = subprocess.run([str(venv / "bin" / "caseflow"), "db", "upgrade"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    with sqlite3.connect(tmp_path / "caseflow.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]

    server, port = start_gunicorn(python, env, tmp_path)
    try:
        status, page = first_answer(port, "/login", server)
    finally:
        stop(server)
    assert status == 200
    assert "登录" == zh("Sign in") and "登录" in page and "Sign in" not in page
