"""The API's limits where they matter: several gunicorn workers answering one token at
once. The per-token rate limit must count every call exactly once across the workers, and
one Idempotency-Key sent in parallel must create one record, whichever worker wins."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from caseflow.core.orgs.roles import Role
from caseflow.referrals.models import Referral
from tests import factories
from tests.conftest import create_database, free_port, make_app, migrate_to_head
from tests.core.test_signin_throttle import BACKENDS
from tests.servers import GUNICORN, first_answer, stop

WORKERS = 3
LIMIT = 12


class ApiServer:
    def __init__(self, backend: str, tmp_path):
        from caseflow.api.services import create_token
        from caseflow.extensions import db as _db

        self.url, self.drop = create_database(backend, tmp_path)
        app = make_app(self.url)
        migrate_to_head(app)
        with app.app_context():
            now = datetime.now(timezone.utc)
            world = factories.build_world(now=now - timedelta(days=1))
            officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.federation)
            # Someone to receive it: a department without a handler takes no referral.
            factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5)
            factories.make_user(world, roles={Role.SUPERVISOR, Role.PROSECUTOR}, org=world.department5)
            self.receiver_id = world.department5.id
            self.token = create_token(actor=officer, now=now, name="并发", scopes="read write", days=7)[1]
            self.limited = create_token(actor=officer, now=now, name="限流", scopes="read", days=7)[1]
            _db.session.commit()
            _db.engine.dispose()
        self.engine = sa.create_engine(self.url)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
        env.update(CASEFLOW_DATABASE_URL=self.url, CASEFLOW_DEBUG="1", CASEFLOW_SECURE_COOKIES="0",
                   CASEFLOW_API_RATE_LIMIT=str(LIMIT), CASEFLOW_INSTANCE_PATH=str(tmp_path / "instance"))
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", str(WORKERS), "--preload", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--log-level", "warning", "caseflow:create_app()"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first_answer(self.port, "/api/v1/openapi.json", self.process, accept=lambda status: status == 200)
        for _ in range(2 * WORKERS):  # every worker's first answer loads what it needs
            self.call("GET", "/api/v1/openapi.json")

    def call(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode(), dict(response.getheaders())
        finally:
            connection.close()

    def at_once(self, calls: list[tuple]) -> list:
        barrier = threading.Barrier(len(calls))
        results: list = [None] * len(calls)

        def run(i, call):
            barrier.wait()
            results[i] = self.call(*call)

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert all(r is not None for r in results), "a call's thread failed"
        return results

    def referrals(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(Referral)).scalar_one()

    def close(self):
        stop(self.process, timeout=10)
        self.engine.dispose()
        self.drop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_limits_hold_across_workers(backend, tmp_path):
    server = ApiServer(backend, tmp_path)
    try:
        # One Idempotency-Key, eight times at once: one draft, and every answer that is not
        # "still in progress" is that draft.
        body = json.dumps({"receiver_id": server.receiver_id, "source": "petition_reception",
                           "circumstances": "并发提交的同一份移送。", "help_requested": ["judicial_aid"], "consent_on": "2026-11-20",
                           "consent_method": "written", "new_person": {"pseudonym": "并发"}}).encode()
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json",
                   "Idempotency-Key": "parallel-1"}
        results = server.at_once([("POST", "/api/v1/referrals", headers, body)] * 8)
        statuses = [status for status, _, _ in results]
        assert set(statuses) <= {201, 409} and 201 in statuses, [(s, b[:200]) for s, b, _ in results]
        created = {json.loads(text)["id"] for status, text, _ in results if status == 201}
        assert len(created) == 1 and server.referrals() == 1
        # Twice the limit at once, in one minute's window: exactly the limit answered.
        left = 60 - time.time() % 60
        if left < 15:
            time.sleep(left + 0.5)
        limited = {"Authorization": f"Bearer {server.limited}"}
        results = server.at_once([("GET", "/api/v1/referrals?box=sent", limited)] * (2 * LIMIT))
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [200] * LIMIT + [429] * LIMIT, statuses
        assert all(int(h["Retry-After"]) >= 1 for status, _, h in results if status == 429)
    finally:
        server.close()
