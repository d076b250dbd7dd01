"""Configuration, the command line, the scheduler and the migrations."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from caseflow import create_app
from caseflow.config import ConfigurationError
from caseflow.core.orgs.models import Organisation, User
from caseflow.core.people.models import Person
from caseflow.core.scheduler.models import JobRun
from caseflow.extensions import db as _db


@pytest.mark.parametrize("secret", ["", "short", "caseflow-development-only-secret-key"])
def test_the_app_refuses_to_start_without_a_real_secret_key(secret, tmp_path):
    with pytest.raises(ConfigurationError, match="CASEFLOW_SECRET_KEY"):
        create_app({"SECRET_KEY": secret, "CASEFLOW_DATA_KEY": "ab" * 16,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                    "CASEFLOW_TIMEZONE": "Asia/Shanghai", "CASEFLOW_SESSION_IDLE_MINUTES": 30})


def test_the_app_refuses_to_start_without_a_data_key(tmp_path):
    with pytest.raises(ConfigurationError, match="CASEFLOW_DATA_KEY"):
        create_app({"SECRET_KEY": "s" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("CASEFLOW_DATA_KEY", "cd" * 16)
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("CASEFLOW_SMTP_PORT", "2525")
    monkeypatch.setenv("CASEFLOW_BASE_URL", "https://caseflow.example")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")
    assert app.config["CASEFLOW_SMTP_PORT"] == 2525
    assert app.config["CASEFLOW_BASE_URL"] == "https://caseflow.example"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_a_malformed_number_setting_says_which(monkeypatch):
    monkeypatch.setenv("CASEFLOW_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigurationError, match="CASEFLOW_SMTP_PORT"):
        create_app()


def test_demo_data_is_idempotent_and_tells_the_story(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--today", "2026-11-27"])
    assert first.exit_code == 0, first.output
    counts = [db.session.scalar(sa.select(sa.func.count(m.id))) for m in (Organisation, User, Person)]
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert [db.session.scalar(sa.select(sa.func.count(m.id)))
            for m in (Organisation, User, Person)] == counts
    federation = db.session.scalars(sa.select(Organisation).where(Organisation.code == "jh-fed")).one()
    assert len(federation.children) == 12
    assert "Caseflow-demo-2026" in first.output and "prosecutor" in first.output
    users = db.session.scalars(sa.select(User)).all()
    assert all(u.is_demo and not u.must_change_password for u in users)
    skipped = runner.invoke(args=["demo", "--if-empty"])
    assert "not loaded again" in skipped.output


def test_first_administrator_from_the_command_line(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo"])
    result = runner.invoke(args=["users", "create", "--username", "first.admin", "--name", "管理员",
                                 "--email", "admin@example.com", "--org", "jh-fed",
                                 "--role", "system_admin"],
                           input="Strong-admin-pass-1\nStrong-admin-pass-1\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalars(sa.select(User).where(User.username == "first.admin")).one()
    assert user.admin_role.value == "system_admin" and user.must_change_password
    bad = runner.invoke(args=["users", "create", "--username", "x.admin", "--name", "x",
                              "--email", "x@example.com", "--org", "jh-fed",
                              "--role", "system_admin", "--role", "audit_admin"],
                        input="Strong-admin-pass-1\nStrong-admin-pass-1\n")
    assert bad.exit_code == 1 and "Not created" in bad.output
    assert db.session.scalar(sa.select(User).where(User.username == "x.admin")) is None


def test_the_scheduler_runs_each_job_once_and_records_it(app, db):
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "heartbeat: succeeded" in result.output
    runs = {run.job: run for run in db.session.scalars(sa.select(JobRun))}
    assert {"heartbeat", "outbox_delivery", "reminder_sweep"} <= set(runs)
    assert all(run.status == "succeeded" and run.finished_at is not None for run in runs.values())


def test_the_migrations_build_exactly_the_models_schema(app, db):
    """If a model changes without a migration, this fails and names the difference."""
    connection = db.session.connection()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences = compare_metadata(context, _db.metadata)
    assert differences == []


def test_every_index_the_models_declare_is_in_the_migrated_database(app, db):
    """Alembic cannot reflect expression-based indexes (the referral lists' order), so
    the comparison above passes over them, and a batch migration on SQLite, which rebuilds
    a table from its reflection, silently dropped them. Here every declared index is
    looked up by name in the database's own catalogue."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        found = set(connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'").scalars())
    else:
        found = set(connection.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").scalars())
    declared = {index.name for table in _db.metadata.tables.values() for index in table.indexes}
    assert sorted(declared - found) == []


def test_the_demo_history_is_read_and_only_the_last_days_ring_the_bell(app, db):
    from datetime import datetime, timedelta, timezone

    from caseflow.core.demo import DEMO_UNREAD_WINDOW, load_demo
    from caseflow.core.notifications.models import Notification

    now = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
    load_demo(now=now, log=lambda *_: None)
    rows = db.session.scalars(sa.select(Notification)).all()
    assert rows, "the demo's hand-overs tell people"
    old = [n for n in rows if n.created_at < now - DEMO_UNREAD_WINDOW]
    assert old and all(n.read_at == n.created_at for n in old)
    assert any(n.read_at is None for n in rows if n.created_at >= now - DEMO_UNREAD_WINDOW)


def test_a_web_process_knows_every_scheduled_job_for_the_health_panel(tmp_path):
    """The health panel lists the registry of the process it runs in: a web worker, which
    never imports the scheduler command, must know the core's jobs as well as the
    domains'. A fresh interpreter, so no other test's imports register them first."""
    import subprocess
    import sys

    script = ("from caseflow import create_app\n"
              "create_app({'TESTING': True, 'CASEFLOW_DEBUG': True, 'SQLALCHEMY_DATABASE_URI': "
              f"'sqlite:///{tmp_path}/jobs.db'}})\n"
              "from caseflow.core.scheduler.registry import JOBS\n"
              "print(' '.join(sorted(JOBS)))\n")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={k: v for k, v in __import__("os").environ.items()
                                if not k.startswith("CASEFLOW_")} | {"CASEFLOW_DEBUG": "1"})
    jobs = set(found.stdout.split())
    assert {"heartbeat", "outbox_delivery", "outbox_wake", "reminder_sweep", "approval_reminders",
            "assistance_reminders"} <= jobs, found.stdout + found.stderr
