"""A new deployment's first steps from the server's shell: the first organisation
(``caseflow orgs create``), then its first system administrator (``caseflow users
create``), who can then sign in (and must choose a password first)."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.core.audit.models import AuditEvent
from caseflow.core.orgs.models import Organisation

PASSWORD = "Erste-Anmeldung-2026!"


def _run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_the_first_organisation_and_administrator_from_the_shell(app, db, client):
    result = _run(app, "orgs", "create", "--code", "new-fed", "--name", "新区妇女联合会",
                  "--kind", "federation", "--referral-prefix", "新妇移")
    assert result.exit_code == 0, result.output
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "new-fed"))
    assert org.name == org.short_name == "新区妇女联合会" and org.referral_prefix == "新妇移"
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "organisation.create",
                                                          AuditEvent.object_id == str(org.id)))
    assert audit is not None and audit.actor_id is None
    unit = _run(app, "orgs", "create", "--code", "new-fed-a", "--name", "新区甲街妇联",
                "--kind", "federation", "--parent", "new-fed")
    assert unit.exit_code == 0, unit.output

    result = _run(app, "users", "create", "--username", "sysadmin", "--name", "系统管理员",
                  "--email", "sysadmin@new.example.gov.cn", "--org", "new-fed",
                  "--role", "system_admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    response = client.submit("/login", {"username": "sysadmin", "password": PASSWORD})
    assert response.status_code == 302
    # Signed in, and sent to choose a password of her own before anything else.
    home = client.get("/")
    assert home.status_code == 302 and home.location.endswith("/account/password")


def test_mistakes_are_refused_with_a_message(app, db):
    assert _run(app, "orgs", "create", "--code", "x-1", "--name", "某单位", "--kind", "partner"
                ).exit_code == 0
    again = _run(app, "orgs", "create", "--code", "x-1", "--name", "另一单位", "--kind", "partner")
    assert again.exit_code == 1 and "Not created" in again.output
    orphan = _run(app, "orgs", "create", "--code", "x-2", "--name", "下属单位", "--kind", "partner",
                  "--parent", "nowhere")
    assert orphan.exit_code == 2 and "no organisation has the code 'nowhere'" in orphan.output


def test_keys_generate_runs_before_there_are_any_settings(tmp_path):
    """A new server has no keys yet; the command that makes the data key needs none (the
    app refuses to start without them, and says to run this very command)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
    result = subprocess.run([str(Path(sys.executable).parent / "caseflow"), "keys", "generate"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert len(key) == 32 and int(key, 16) >= 0
