"""The scratch database a benchmark builds its data in: a temporary SQLite file, or a
PostgreSQL database created for the run and dropped at its end.

PostgreSQL: CASEFLOW_TEST_DATABASE_URL or ``DEFAULT_PG_URL`` is used only to create (and
at the end drop) the scratch database."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def create_database(backend: str, *, label: str = "bench") -> tuple[str, Callable[[], None]]:
    """A scratch database; returns its URL and a function that removes it. ``label`` goes
    into its name (``caseflow_<label>_…``), so a leftover says which benchmark left it."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"caseflow-{label}-"))
        return f"sqlite:///{folder / 'bench.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    admin_url = sa.make_url(os.environ.get("CASEFLOW_TEST_DATABASE_URL") or DEFAULT_PG_URL)
    if admin_url.drivername == "postgresql":
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    name = f"caseflow_{label}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop
