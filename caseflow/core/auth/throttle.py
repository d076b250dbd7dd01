"""The per-client limit on sign-in attempts, and who the client is.

Every web worker counts in the same table (``sign_in_windows``) with one atomic upsert,
so the limit holds across gunicorn workers without any service besides the database.
``X-Forwarded-For`` is believed only from the proxies named in CASEFLOW_TRUSTED_PROXIES
(none by default): anyone else could write any address there. The same goes for
``X-Forwarded-Proto`` and ``X-Forwarded-Host``, which werkzeug's ``ProxyFix`` applies for
the one proxy in front (nginx), so that links, redirects and the HTTPS checks see the
public ``https://host``.
"""
from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask_babel import ngettext
from sqlalchemy.dialects import postgresql, sqlite

from caseflow.core.audit.services import record
from caseflow.core.auth.models import SignInWindow
from caseflow.core.errors import DomainError
from caseflow.extensions import db

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyAttempts(DomainError):
    status_code = 429


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.5, 172.16.0.0/12"`` → networks; raises ValueError naming a bad entry."""
    networks = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"{part!r} is not an address or network") from exc
    return tuple(networks)


def _address(text: str | None):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


#: What a proxy may tell the app, as WSGI environ keys. A request that did not come from a
#: trusted proxy has them removed, so that nothing downstream (werkzeug's
#: ``access_route``, a library) can be fooled by a client that talks to gunicorn directly.
FORWARDED_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO",
                     "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX",
                     "HTTP_X_REAL_IP")


class TrustedProxies:
    """WSGI middleware for the proxy in front (CASEFLOW_TRUSTED_PROXIES).

    From a trusted proxy: the client is the last address in ``X-Forwarded-For`` that is
    not itself a trusted proxy (the audit log, the session protection and the per-client
    limit then all see the real client), and ``X-Forwarded-Proto`` and
    ``X-Forwarded-Host`` are applied by ``ProxyFix`` for exactly one proxy (its last
    value of each, the one the proxy itself wrote: nginx sets them, it does not append),
    so ``url_for(_external=True)``, redirects and Flask-WTF's HTTPS referrer check see
    ``https://`` and the public host. Nothing else is taken from the proxy (no port, no
    prefix: nginx does not overwrite those, so a client could write them).

    From anyone else every forwarding header is removed and the request is seen as it
    reached the app."""

    def __init__(self, wsgi_app, networks: tuple[Network, ...]):
        from werkzeug.middleware.proxy_fix import ProxyFix

        self.wsgi_app, self.networks = wsgi_app, networks
        self.behind_proxy = ProxyFix(wsgi_app, x_for=0, x_proto=1, x_host=1, x_port=0,
                                     x_prefix=0)

    def _trusted(self, address) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        remote = environ.get("REMOTE_ADDR")
        if not self._trusted(_address(remote)):
            for key in FORWARDED_HEADERS:
                environ.pop(key, None)
            return self.wsgi_app(environ, start_response)
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded:
            client = remote
            for hop in reversed(forwarded.split(",")):
                address = _address(hop)
                if address is None:
                    break  # a forged or broken entry: stop at the last address we trust
                client = str(address)
                if not self._trusted(address):
                    break
            environ["caseflow.proxy_addr"] = remote
            environ["REMOTE_ADDR"] = client
        return self.behind_proxy(environ, start_response)


def client_key(remote_addr: str | None) -> str:
    """The key a client is counted under: its IPv4 address, or its IPv6 /64 (one
    household or office gets a whole /64, so single addresses would be free to change)."""
    address = _address(remote_addr)
    if address is None:
        return (remote_addr or "unknown")[:64]
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=timezone.utc)


def _insert():
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInWindow.__table__)


def admit_client(client: str, *, now: datetime, limit: int, window: timedelta) -> datetime:
    """Count one password check for ``client``; returns its window (for ``give_back``),
    or raises ``TooManyAttempts`` past ``limit`` in the window, audited once per window.

    Commits: the count must be seen by every worker before this request's password check
    begins (and the row lock released, on PostgreSQL), and must outlive the 429 answer,
    whose transaction is rolled back.
    """
    start = window_start(now, window)
    table = SignInWindow.__table__
    # One statement reads and writes the count, so parallel requests each get their own
    # number and none is lost; RETURNING tells this request which number it got.
    attempts = db.session.execute(
        _insert().values(client=client, window_start=start, attempts=1, refusal_audited=False)
        .on_conflict_do_update(index_elements=["client", "window_start"],
                               set_={"attempts": table.c.attempts + 1})
        .returning(table.c.attempts)
    ).scalar_one()
    if attempts == 1:
        # The first attempt of a window clears the windows that no longer count.
        db.session.execute(sa.delete(SignInWindow).where(SignInWindow.window_start < start - window)
                           .execution_options(synchronize_session=False))
    refused = attempts > limit
    if refused:
        first_refusal = db.session.execute(
            sa.update(SignInWindow)
            .where(SignInWindow.client == client, SignInWindow.window_start == start,
                   SignInWindow.refusal_audited.is_(False))
            .values(refusal_audited=True).execution_options(synchronize_session=False)
        ).rowcount == 1
        if first_refusal:
            record("auth.client_throttled", actor=None, now=now, object_type="sign_in_windows",
                   object_label=client, actor_name=client,
                   reason=f"more than {limit} sign-in attempts in {int(window.total_seconds() // 60)} minutes")
    db.session.commit()
    if refused:
        minutes = max(1, math.ceil((start + window - now).total_seconds() / 60))
        raise TooManyAttempts(ngettext(
            "Too many sign-in attempts from your network. Try again in %(num)d minute.",
            "Too many sign-in attempts from your network. Try again in %(num)d minutes.",
            minutes))
    return start


def give_back(client: str, start: datetime) -> None:
    """A sign-in that succeeded does not count against its client."""
    db.session.execute(
        sa.update(SignInWindow)
        .where(SignInWindow.client == client, SignInWindow.window_start == start,
               SignInWindow.attempts > 0)
        .values(attempts=SignInWindow.attempts - 1).execution_options(synchronize_session=False)
    )
