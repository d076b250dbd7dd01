"""Every action the code can write into the audit log has a label, and the log's page
shows the label, not the key (``auth.login`` is "Signed in", 登录系统).

The actions are read from the source: the first argument of ``record``, ``_audit`` and
``record_refusal``, every ``action=`` and every ``action = ...``; an f-string
``"referral.{kind.value}"`` in a function stands for each ``kind=`` that the calls of that
function in the modules beside it pass. An action written some other way fails the test
until it is taught here.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

from caseflow.core.audit.actions import ACTION_LABELS, action_label
from caseflow.core.audit.services import record
from tests import factories
from tests.conftest import page_text, zh

PACKAGE = Path(__file__).resolve().parents[2] / "caseflow"
SINKS = {"record", "_audit", "record_refusal"}


def _exports() -> set[str]:
    from caseflow.reports.export_routes import CHECKS

    return {f"export.{name}" for name in CHECKS}


#: The f-strings that are not ``prefix.{kind.value}``, and what they can be.
KNOWN_DYNAMIC = {"caseflow.reports.export_routes: f'export.{name}'": _exports}


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _branches(expr) -> list:
    return _branches(expr.body) + _branches(expr.orelse) if isinstance(expr, ast.IfExp) else [expr]


def _kinds(fstring, path: Path, parents: dict) -> set[str]:
    """``f"prefix.{kind.value}"`` inside ``def f(..., kind)``: prefix + each ``kind=`` value
    that the calls of ``f`` in the modules beside it pass (``EventKind.SENT``, or
    ``A if x else B``), each read in the namespace of the module that calls."""
    function = fstring
    while not isinstance(function, ast.FunctionDef):
        function = parents[function]
    values = set()
    for other in sorted(path.parent.rglob("*.py")):
        tree = ast.parse(other.read_text(encoding="utf-8"), filename=str(other))
        calls = [node for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and _name(node.func) == function.name]
        if not calls:
            continue
        module = ".".join(other.relative_to(PACKAGE.parent).with_suffix("").parts)
        namespace = vars(importlib.import_module(module))
        for node in calls:
            for keyword in (k for k in node.keywords if k.arg == "kind"):
                for branch in _branches(keyword.value):
                    member = eval(compile(ast.Expression(branch), module, "eval"), namespace)
                    values.add(fstring.values[0].value + member.value)
    return values


def written_actions() -> tuple[set[str], list[str]]:
    """(the actions the code can write, the expressions this reading cannot tell)."""
    found, unknown = set(), []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        expressions = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if _name(node.func) in SINKS and node.args:
                    expressions.append(node.args[0])
                expressions += [k.value for k in node.keywords if k.arg == "action"]
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "action" for t in node.targets):
                expressions.append(node.value)
        for expression in expressions:
            for branch in _branches(expression):
                text = f"{module}: {ast.unparse(branch)}"
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                    found.add(branch.value)
                elif text in KNOWN_DYNAMIC:
                    found |= KNOWN_DYNAMIC[text]()
                elif (isinstance(branch, ast.JoinedStr) and len(branch.values) == 2
                      and isinstance(branch.values[0], ast.Constant)
                      and ast.unparse(branch.values[1].value) == "kind.value"):
                    kinds = _kinds(branch, path, parents)
                    found |= kinds
                    if not kinds:
                        unknown.append(text + " (no call passes kind=)")
                elif not isinstance(branch, ast.Name):  # a name: a parameter or the assignment
                    unknown.append(text)
    return found, unknown


def test_every_action_the_code_writes_has_a_label():
    actions, unknown = written_actions()
    assert not unknown, f"actions this test cannot read; teach KNOWN_DYNAMIC: {unknown}"
    # the reading finds the actions of every domain, the dynamic ones too
    assert {"auth.login", "user.activate", "user.deactivate", "referral.sent", "aid_case.approved",
            "aid_case.rejected", "assistance.accepted", "training.held", "export.cases"} <= actions
    missing = sorted(actions - set(ACTION_LABELS))
    assert not missing, f"audit actions without a label in core/audit/actions.py: {missing}"


def test_no_label_for_an_action_the_code_no_longer_writes():
    actions, _ = written_actions()
    assert not sorted(set(ACTION_LABELS) - actions)


def test_a_key_without_a_label_is_shown_as_it_is(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        assert action_label("x.unknown") == "x.unknown"
        assert action_label("auth.login") == "Signed in"


def test_the_audit_pages_show_the_label_not_the_key(client, login_as, world, db, clock):
    officer = factories.make_user(world, roles={"federation_officer"}, now=world.now)
    record("referral.sent", actor=officer, now=clock.now, object_type="referrals", object_id=3,
           object_label="妇移〔2026〕3号", organisation_id=world.federation.id)
    auditor = factories.make_user(world, roles={"audit_admin"}, now=world.now)
    login_as(auditor)  # writes auth.login
    auditor.locale = "en"
    db.session.flush()
    response = client.get("/audit")
    text, html = page_text(response), response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Signed in" in text and "Referral sent" in text
    assert "auth.login" not in text and "referral.sent" not in text
    # the key stays at hand: the cell's tooltip, the filter's value
    assert 'title="auth.login"' in html and '<option value="referral.sent"' in html
    home = page_text(client.get("/"))  # the home page's recent events
    assert "Signed in" in home and "auth.login" not in home
    auditor.locale = "zh_CN"
    db.session.flush()
    text = page_text(client.get("/audit"))
    assert zh("Signed in") in text and zh("Referral sent") in text
    assert "auth.login" not in text and "referral.sent" not in text
