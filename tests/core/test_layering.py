"""The core imports no domain: every module under caseflow/core, read as a syntax tree
(imports at the top and inside functions alike), names none of the domain packages, nor the
modules that wire them in. Domains reach the core through its registries (jobs, reminder
sweeps, hooks, panels, navigation), never the other way."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "caseflow" / "core"
DOMAINS = ("caseflow.referrals", "caseflow.investigations", "caseflow.assistance",
           "caseflow.training", "caseflow.reports")
#: The two modules outside the core that know every domain.
WIRING = ("caseflow.domains", "caseflow.cli")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = CORE) -> list[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with the line: ``import x``, ``from x
    import y`` (as ``x`` and ``x.y``, since ``y`` may be a module), relative imports
    resolved, and ``importlib.import_module("x")`` / ``__import__("x")`` with a constant."""
    package = _module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name)
                       and node.func.id in ("import_module", "__import__")))):
            found.append((node.lineno, node.args[0].value))
    return found


def _is_within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def violations(root: Path, forbidden: tuple[str, ...]) -> list[str]:
    """One line per import statement that names a forbidden module."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        for line, name in imported_names(path, root):
            if _is_within(name, forbidden):
                where = f"{path.relative_to(root.parent.parent)}:{line}"
                found.setdefault((path, line), f"{where} imports {name}")
    return list(found.values())


def test_no_core_module_imports_a_domain():
    modules = list(CORE.rglob("*.py"))
    assert len(modules) > 50, "the walk found the core's modules"
    assert violations(CORE, DOMAINS + WIRING) == []


def test_the_organisation_policy_does_not_import_the_organisation_services():
    """``services`` asks ``policy``; ``policy`` asks only the tree, so the two do not import
    each other."""
    names = [name for _line, name in imported_names(CORE / "orgs" / "policy.py")]
    assert "caseflow.core.orgs.tree.subtree_ids" in names
    assert not [name for name in names if _is_within(name, ("caseflow.core.orgs.services",))]


@pytest.mark.parametrize("statement", [
    "import caseflow.referrals.models",
    "from caseflow.investigations import services",
    "from caseflow import training",
    "from ...reports.figures import x",
    "def f():\n    from caseflow.assistance.policy import can_view\n",
    "importlib.import_module('caseflow.referrals.routes')",
    "from caseflow.cli import main",
])
def test_the_walk_sees_every_way_of_importing(tmp_path, statement):
    core = tmp_path / "caseflow" / "core"
    (core / "notifications").mkdir(parents=True)
    (core / "notifications" / "deep.py").write_text(statement + "\n", encoding="utf-8")
    (core / "plain.py").write_text("from caseflow.core.db import utcnow\nimport sqlalchemy\n")
    assert len(violations(core, DOMAINS + WIRING)) == 1
