"""axe-core in the browser tests: WCAG 2.0/2.1 A and AA rules on the page the browser shows.

axe-core is vendored in tests/browser/vendor/axe-core (never from a CDN; the app never
serves it). The app's Content-Security-Policy (``script-src 'self'``) refuses inline
scripts, and Playwright's ``add_script_tag(path=...)`` inlines the file's text into a
<script> element: the browser blocks it ("Executing inline script violates the following
Content Security Policy directive"). Scripts Playwright gives through the DevTools
protocol are not the page's and no CSP governs them: ``context.add_init_script(path=...)``
(run in each new document before the page's own scripts) and ``page.evaluate``. axe gets
in that way, with the CSP the app really sends left on (``bypass_csp`` would test
another app).

``Watch`` checks every page a browser test visits: tests/browser/conftest.py sets one on
every context ``new_tab`` opens. An init script runs axe in the page's own ``load`` event
and hands the result to Python through an exposed binding. axe yields between rules with
``setTimeout(0)``; during its run those are turned into microtasks, so the whole run ends
inside the load event, before the browser reports the page loaded: Playwright's
``goto``/``expect_navigation`` return only after it, and no click of the test can take
the page away half-checked. (A route that checks the page before its next navigation
cannot work: Playwright does not evaluate in a page while a route holds its navigation.)

``check(page)`` gives the current document's result (axe again, unless the load-time one
is there); ``assert_accessible(page)`` fails on any violation of impact serious or
critical, listing each one's rule, impact, help and the elements (CSS selectors).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA (GB/T 37668-2019 takes its web requirements from them).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
#: Where each run's list of checked pages is written (one file per run and xdist worker).
REPORT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
BINDING = "__caseflowAxeReport"

#: axe on the document, in the shape Python reads; ``synchronous`` turns axe's
#: setTimeout(0) yields into microtasks for the run (no preloading: it waits on the
#: network with a timer; no frames: the app has none and they answer by postMessage).
_RUN_JS = """(tags, synchronous) => {
  const started = performance.now();
  const realTimeout = window.setTimeout;
  if (synchronous) {
    window.setTimeout = (fn, _ms, ...args) => { queueMicrotask(() => fn(...args)); return 0; };
  }
  const restore = () => { window.setTimeout = realTimeout; };
  return axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'], preload: false,
    iframes: false,
  }).then(result => {
    restore();
    return window.__caseflowAxeResult = {
      url: location.href, lang: document.documentElement.getAttribute('lang') || '',
      ms: performance.now() - started,
      violations: result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
      })),
    };
  }, error => { restore(); throw error; });
}"""

#: The page's structure without its data: each element's name, its attributes' names
#: (with the values that decide how it looks or what it is: class, role, type, lang,
#: style, tabindex, the aria states; for the others whether the value is empty) and
#: whether it holds text of its own; a run of identical siblings (a list's rows, a
#: select's options) counts as one. Two documents with one signature differ only in data
#: (numbers, names, texts, ids, links, how many rows): what axe judges is the same.
_SIGNATURE_JS = """() => {
  const valued = new Set(['class', 'role', 'type', 'lang', 'dir', 'style', 'fill', 'stroke',
    'tabindex', 'scope', 'hidden', 'disabled', 'open', 'aria-hidden', 'aria-live',
    'aria-expanded', 'aria-current', 'aria-invalid', 'aria-required', 'aria-modal']);
  const hash = text => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h.toString(36);
  };
  const shape = el => {
    let text = '<' + el.localName;
    for (const a of el.attributes) {
      text += ' ' + a.name + (valued.has(a.name) ? '=' + a.value : (a.value ? '' : '=""'));
    }
    for (const node of el.childNodes) {
      if (node.nodeType === 3 && node.nodeValue.trim()) { text += ' #'; break; }
    }
    let last = null;
    for (const child of el.children) {
      const mark = shape(child);
      if (mark !== last) text += ',' + mark;
      last = mark;
    }
    return hash(text);
  };
  const path = location.pathname.replace(/\\/\\d+(?=\\/|$)/g, '/{id}');
  return path + '|' + (document.documentElement.getAttribute('lang') || '') + '|'
    + shape(document.documentElement);
}"""

#: The init script: axe on each HTML document of the top frame, in its load event; a
#: document whose signature was checked before in this session (SEEN, given when the
#: context opens) is reported as such and not checked again.
_ON_LOAD_JS = """(() => {
  if (window !== window.top) return;
  const run = %s;
  const signature = %s;
  const seen = new Set(__SEEN__);
  window.addEventListener('load', () => {
    if (document.contentType !== 'text/html' || typeof axe !== 'object') return;
    const mark = signature();
    if (seen.has(mark)) {
      window.%s(window.__caseflowAxeResult = {
        url: location.href, lang: document.documentElement.getAttribute('lang') || '',
        signature: mark, seen: true});
      return;
    }
    run(%s, true).then(
      found => window.%s(Object.assign({signature: mark}, found)),
      error => window.%s({url: location.href, error: String(error)}));
  });
})();""" % (_RUN_JS, _SIGNATURE_JS, BINDING, json.dumps(TAGS), BINDING, BINDING)


@dataclass
class Violation:
    id: str
    impact: str | None
    help: str
    targets: list[str]

    def line(self) -> str:
        shown = self.targets[:8] + ([f"... {len(self.targets) - 8} more"]
                                   if len(self.targets) > 8 else [])
        return f"  {self.id} ({self.impact}): {self.help}\n" + "\n".join(
            f"      {target}" for target in shown)


@dataclass
class PageCheck:
    url: str
    lang: str
    violations: list[Violation]
    seconds: float
    #: The page's structure (_SIGNATURE_JS); ``same`` when one with it was checked before.
    signature: str = ""
    same: bool = False

    @classmethod
    def of(cls, found: dict) -> "PageCheck":
        if found.get("seen"):
            return cls(url=found["url"], lang=found["lang"], violations=[], seconds=0.0,
                       signature=found["signature"], same=True)
        return cls(url=found["url"], lang=found["lang"],
                   violations=[Violation(**v) for v in found["violations"]],
                   seconds=found["ms"] / 1000, signature=found.get("signature", ""))

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def failing(self) -> list[Violation]:
        return [v for v in self.violations if v.impact in FAILING_IMPACTS]

    def describe(self) -> str:
        return f"{self.path} [{self.lang}]:\n" + "\n".join(v.line() for v in self.failing)


def check(page, *, again: bool = False) -> PageCheck | None:
    """axe's result for ``page``'s current document: the one made as it loaded (or that it
    has the structure of a page checked before), else, or with ``again``, a new run. None
    when the document is no HTML page."""
    if page.evaluate("document.contentType") != "text/html":
        return None
    found = None if again else page.evaluate("window.__caseflowAxeResult || null")
    if found is None:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        found = page.evaluate(f"({_RUN_JS})({json.dumps(TAGS)}, false)")
    return PageCheck.of(found)


def failure_message(checks: list[PageCheck]) -> str:
    bad = [c for c in checks if c.failing]
    return (f"axe-core found serious or critical WCAG 2.1 A/AA violations on {len(bad)} "
            "page(s):\n" + "\n".join(c.describe() for c in bad))


def assert_accessible(page, *, again: bool = False) -> PageCheck:
    result = check(page, again=again)
    assert result is not None, f"{page.url} is not an HTML page"
    assert not result.failing, failure_message([result])
    return result


#: A page's path with its record ids written as {id}, so the list of pages reads as the
#: kinds of pages visited (/referrals/{id}/edit), not as every record.
_ID = re.compile(r"/\d+(?=/|$)")


def page_kind(check: PageCheck) -> str:
    return _ID.sub("/{id}", urlsplit(check.url).path)


@dataclass
class Watch:
    """Every HTML page of one browser context, checked by axe as it loads.

    ``seen``, shared by the session's watches, holds the signatures of the pages checked
    so far: a page with the structure of one checked before (the home page at each
    sign-in, the same list again) is not checked again; the summary counts it.
    """

    seen: set[str] = field(default_factory=set)
    checks: list[PageCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        context.expose_binding(BINDING, self._report)
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(
            script=_ON_LOAD_JS.replace("__SEEN__", json.dumps(sorted(self.seen))))

    def _report(self, _source, found: dict) -> None:
        if "error" in found:
            self.errors.append(f"{found['url']}: axe failed: {found['error']}")
            return
        result = PageCheck.of(found)
        self.checks.append(result)
        if result.signature:
            self.seen.add(result.signature)

    def finish(self, context) -> None:
        """Waits for the reports still on their way (a round trip to each open page)."""
        for page in context.pages:
            if not page.is_closed():
                try:
                    page.evaluate("0")
                except Exception:  # a page gone with its context is no report lost
                    pass



def write_report(checks: list[tuple[str, PageCheck]]) -> Path | None:
    """The pages checked in this run (test, kind of page, language, seconds), as JSON lines
    in test-artifacts/axe-pages-<worker>.jsonl, for the summary at the end of the run."""
    if not checks:
        return None
    REPORT_DIR.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    target = REPORT_DIR / f"axe-pages-{run_id()}-{worker}.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for test, c in checks:
            out.write(json.dumps({"test": test, "page": page_kind(c), "lang": c.lang,
                                  "seconds": round(c.seconds, 3), "same": c.same,
                                  "violations": [v.id for v in c.violations]},
                                 ensure_ascii=False) + "\n")
    return target


def run_id() -> int:
    """The pytest run's process (an xdist worker's parent): two runs at once in one
    checkout keep their reports apart."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def summary_lines(since: float) -> list[str]:
    """The run's summary: the pages the browser tests showed, how many axe checked (the
    others had the structure of one it checked), per language, the seconds axe took, and
    each kind of page with its languages (report files of this run only)."""
    rows = []
    for report in sorted(REPORT_DIR.glob(f"axe-pages-{run_id()}-*.jsonl")):
        if report.stat().st_mtime >= since:
            rows += [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()
                     if line.strip()]
    if not rows:
        return []
    kinds: dict[str, set[str]] = {}
    for row in rows:
        kinds.setdefault(row["page"], set()).add(row["lang"] or "(no lang)")
    languages = sorted({row["lang"] for row in rows})
    checked = [row for row in rows if not row["same"]]
    lines = [f"{len(rows)} pages shown ({len(kinds)} kinds): axe-core checked {len(checked)} "
             f"in {sum(r['seconds'] for r in checked):.1f} s, the other {len(rows) - len(checked)} "
             "had the structure of a page it checked; by language: "
             + ", ".join(f"{lang or '(none)'} {sum(1 for r in checked if r['lang'] == lang)}"
                         f"/{sum(1 for r in rows if r['lang'] == lang)}" for lang in languages)
             + "; serious or critical WCAG 2.1 A/AA violations fail the test"]
    lines += [f"  {kind}  [{', '.join(sorted(langs))}]" for kind, langs in sorted(kinds.items())]
    return lines
