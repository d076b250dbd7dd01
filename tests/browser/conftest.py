"""A live caseflow with the demo data, and headless Chromium driven by Playwright.

The live app has its own SQLite file and its own app object: the ``app``/``db`` fixtures
of tests/conftest.py run inside a rolled-back transaction that a server thread could
never see, so they are not used here.

Chromium is Debian's (/usr/bin/chromium, or CASEFLOW_CHROMIUM): Playwright cannot
download its own browsers here. Without a browser the tests are skipped, except when
CASEFLOW_REQUIRE_BROWSER=1 (CI), where they fail and say why.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser import a11y
from tests.conftest import make_app, migrate_to_head
from tests.servers import served_in_thread

CHROMIUM = os.environ.get("CASEFLOW_CHROMIUM", "/usr/bin/chromium")
#: Without the background-networking flags Chromium keeps trying to reach Google's
#: services, which on a closed network is a flood of refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: Playwright's default wait (30 s) would let one stuck step eat the whole time budget.
TIMEOUT_MS = 15_000


def _browser_required() -> bool:
    return os.environ.get("CASEFLOW_REQUIRE_BROWSER", "").strip() == "1"


def _no_browser(reason: str):
    if _browser_required():
        pytest.fail(f"CASEFLOW_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}",
                    pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (set CASEFLOW_REQUIRE_BROWSER=1 to make "
                "this an error)")


@dataclass
class LiveServer:
    url: str
    app: object

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from caseflow.core.db import utcnow
    from caseflow.core.demo import load_demo
    from caseflow.extensions import db

    path = tmp_path_factory.mktemp("browser") / "caseflow-browser.db"
    # Every browser test of this worker signs in through this one server, from one
    # address: the per-client sign-in limit (20 in 5 minutes, tests/core/test_signin_throttle.py)
    # would refuse the journeys that sign in one user after another.
    app = make_app(f"sqlite:///{path}", CASEFLOW_SIGNIN_CLIENT_LIMIT=10_000)
    migrate_to_head(app)
    with app.app_context():
        load_demo(now=utcnow(), log=lambda *_: None)
        db.session.commit()
        db.engine.dispose()
    with served_in_thread(app, name="caseflow-live") as url:
        yield LiveServer(url=url, app=app)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError as error:
        reason = f"the playwright package is not installed ({error})"
    else:
        reason = None if Path(CHROMIUM).exists() else (
            f"no Chromium at {CHROMIUM} (install Debian's chromium or set CASEFLOW_CHROMIUM)")
    if reason:
        _no_browser(reason)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
    except PlaywrightError as error:
        # Playwright's message repeats the whole command line twice; keep what explains.
        lines = [line.strip()[:200] for line in str(error).splitlines()
                 if line.strip() and "<launching>" not in line]
        reason = f"Chromium at {CHROMIUM} did not start: " + " | ".join(lines[:6])
    if reason:
        playwright.stop()
        _no_browser(reason)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@dataclass
class Tab:
    """One page in its own browser context, with what went wrong in the browser."""

    page: object
    context: object
    problems: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"browser-{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def assert_no_problems(self) -> None:
        assert not self.problems, "the browser reported:\n" + "\n".join(self.problems)


def _console(tab: Tab, message) -> None:
    # "Failed to load resource" is Chromium's echo of any 4xx/5xx response, including the
    # 403 pages the tests ask for on purpose; _response judges those.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        tab.problems.append(f"console error: {message.text}")


def _response(tab: Tab, response) -> None:
    # Pages are the tests' to judge (a 403 may be the point); a stylesheet, script or image
    # that fails is a broken page. The browser's own favicon request is not the app's.
    if (response.status >= 400 and response.request.resource_type != "document"
            and not response.url.endswith("/favicon.ico")):
        tab.problems.append(f"{response.status} for {response.request.resource_type} "
                            f"{response.url}")


@pytest.fixture(scope="session")
def axe_pages():
    """The pages axe-core checked in this session, written out at its end for the run's
    summary (tests/conftest.py prints it), and the structures seen (a11y.Watch.seen)."""
    checked: list[tuple[str, a11y.PageCheck]] = []
    seen: set[str] = set()
    yield checked, seen
    a11y.write_report(checked)


@pytest.fixture
def new_tab(browser, live_server, axe_pages, request):
    """``new_tab(**context_options)``: a fresh context (no cookies) with one page.

    Every HTML page the context shows is checked by axe-core (tests/browser/a11y.py): the
    test fails when one has a serious or critical WCAG 2.1 A/AA violation. ``axe=False``
    leaves a context unchecked (none does now).
    """
    contexts = []

    def open_tab(*, axe: bool = True, **options) -> Tab:
        options.setdefault("base_url", live_server.url)
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        if axe:
            watch = a11y.Watch(seen=axe_pages[1])
            watch.attach(context)
            watches.append((context, watch))
        contexts.append(context)
        tab = Tab(page=context.new_page(), context=context)
        tab.page.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
        tab.page.on("console", lambda message: _console(tab, message))
        tab.page.on("response", lambda response: _response(tab, response))
        return tab

    watches: list[tuple[object, a11y.Watch]] = []
    yield open_tab
    for context, watch in watches:
        watch.finish(context)
    for context in contexts:
        context.close()
    checks = [c for _context, watch in watches for c in watch.checks]
    axe_pages[0].extend((request.node.nodeid, c) for c in checks)
    errors = [e for _context, watch in watches for e in watch.errors]
    if any(c.failing for c in checks) or errors:
        pytest.fail("\n".join(errors + ([a11y.failure_message(checks)] if any(
            c.failing for c in checks) else [])), pytrace=False)


@pytest.fixture
def tab(new_tab) -> Tab:
    return new_tab()
