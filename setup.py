"""The build step setup.cfg cannot say: what an installed caseflow needs beyond its source.

* The message catalogues are compiled (``.po`` into ``.mo``) inside the build, so a wheel
  or ``pip install .`` serves the Chinese UI without ``make translations``.
* The Alembic migrations (the project's top-level ``migrations/``) are copied into the
  built package as ``caseflow/migrations``, so ``caseflow db upgrade`` works from a wheel.
  The app uses that copy when it exists and the project's own directory otherwise.

An editable install (``pip install -e .``) compiles the catalogues in place, as
``make translations`` does, and leaves the migrations where they are.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CATALOGUES = "caseflow/translations/*/LC_MESSAGES/messages.po"
MIGRATIONS = ROOT / "migrations"


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    # Babel is a build requirement (pyproject.toml) as well as a run-time one.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    locale = po_path.parent.parent.name
    with po_path.open("rb") as source:
        catalogue = read_po(source, locale=locale)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with mo_path.open("wb") as target:
        write_mo(target, catalogue, use_fuzzy=True)  # as `pybabel compile -f` in the Makefile


class BuildWithCataloguesAndMigrations(build_py):
    def run(self) -> None:
        super().run()
        for po_path in sorted(ROOT.glob(CATALOGUES)):
            relative = po_path.relative_to(ROOT).with_suffix(".mo")
            target = ROOT / relative if self.editable_mode else Path(self.build_lib) / relative
            self.announce(f"compiling {po_path.relative_to(ROOT)} to {target}", level=2)
            compile_catalogue(po_path, target)
        if not self.editable_mode:
            packaged = Path(self.build_lib) / "caseflow" / "migrations"
            if packaged.exists():
                shutil.rmtree(packaged)
            shutil.copytree(MIGRATIONS, packaged,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if self.editable_mode:
            return outputs
        build_lib = Path(self.build_lib)
        outputs += [str(build_lib / po.relative_to(ROOT).with_suffix(".mo"))
                    for po in ROOT.glob(CATALOGUES)]
        outputs += [str(build_lib / "caseflow" / "migrations" / path.relative_to(MIGRATIONS))
                    for path in MIGRATIONS.rglob("*")
                    if path.is_file() and "__pycache__" not in path.parts]
        return sorted(set(outputs))


setup(cmdclass={"build_py": BuildWithCataloguesAndMigrations})
