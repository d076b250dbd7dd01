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


# -- routes stay thin: their queries live in the domain's queries.py (or a service) ----------

PACKAGE = CORE.parent
#: ``db.session.<name>(...)`` calls that read the database.
SESSION_READS = ("scalars", "scalar", "execute", "get")


def route_modules(root: Path = PACKAGE) -> list[Path]:
    return sorted(path for path in root.rglob("*.py")
                  if path.name == "routes.py" or path.name.endswith("_routes.py"))


def _dotted(node) -> str:
    """``db.session.scalars`` for the expression naming it; "" for anything else."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(names)])


def _select_names(tree: ast.AST) -> set[str]:
    """The names that call SQLAlchemy's ``select`` in a module: ``select`` itself, the
    ``select`` of every name ``sqlalchemy`` is imported as (``sa.select``), and what
    ``from sqlalchemy import select as x`` binds."""
    names = {"select", "sa.select", "sqlalchemy.select"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {f"{alias.asname or alias.name}.select" for alias in node.names
                      if alias.name == "sqlalchemy"}
        elif isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlalchemy.sql"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "select"}
    return names


def route_queries(path: Path, root: Path = PACKAGE) -> list[str]:
    """One ``module:line calls name`` per query a route module builds or runs itself:
    SQLAlchemy's ``select`` (``sa.select``, ``select``), ``db.session.scalars``, ``scalar``,
    ``execute``, ``get``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    forbidden = _select_names(tree) | {f"db.session.{read}" for read in SESSION_READS}
    calls = sorted((node.lineno, node.col_offset, _dotted(node.func)) for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and _dotted(node.func) in forbidden)
    return [f"{path.relative_to(root.parent)}:{line} calls {name}" for line, _col, name in calls]


def test_no_route_module_builds_a_query():
    modules = route_modules()
    assert len(modules) >= 10, "the walk found the route modules"
    found = [line for path in modules for line in route_queries(path)]
    assert found == [], "move these queries into the domain's queries.py:\n" + "\n".join(found)


@pytest.mark.parametrize("statement, line, name", [
    ("rows = sa.select(Person)", 1, "sa.select"),
    ("import sqlalchemy\nrows = sqlalchemy.select(Person)", 2, "sqlalchemy.select"),
    ("import sqlalchemy as sql\nrows = sql.select(Person)", 2, "sql.select"),
    ("from sqlalchemy import select as pick\nrows = pick(Person)", 2, "pick"),
    ("from sqlalchemy import select\nrows = select(Person)", 2, "select"),
    ("rows = db.session.scalars(query)", 1, "db.session.scalars"),
    ("count = db.session.scalar(query)", 1, "db.session.scalar"),
    ("db.session.execute(query)", 1, "db.session.execute"),
    ("def load(i):\n    return db.session.get(Person, i)\n", 2, "db.session.get"),
])
def test_the_route_walk_sees_every_query(tmp_path, statement, line, name):
    package = tmp_path / "caseflow"
    (package / "things").mkdir(parents=True)
    (package / "things" / "routes.py").write_text(statement + "\n", encoding="utf-8")
    (package / "things" / "queries.py").write_text("rows = sa.select(Person)\n")
    (package / "things" / "other_routes.py").write_text(
        "import sqlalchemy as sa\nrows = queries.people(user)\nform.select(1)\n"
        "request.args.get('q')\nsession.get('key')\nsa.func.count()\n", encoding="utf-8")
    modules = route_modules(package)
    assert [path.name for path in modules] == ["other_routes.py", "routes.py"]
    found = [found for path in modules for found in route_queries(path, package)]
    assert found == [f"caseflow/things/routes.py:{line} calls {name}"]
