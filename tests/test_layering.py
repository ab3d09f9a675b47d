"""The dependency rules of docs/architecture.md, read from every module's imports.

``spec`` imports nothing of ours; ``model_checker`` is generic (it imports neither a spec
nor the store); ``impl`` never imports the checker or the specs (the mapping onto the spec
lives in ``quorum.conformance``); nothing imports the command line.  A rule broken by a
new import fails here with the module, the line and the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: package -> its folder in the source tree (setup.py's package-dir)
FOLDERS = {"quorum.spec": ROOT / "spec", "quorum.impl": ROOT / "impl",
           "quorum.model_checker": ROOT / "model_checker",
           "quorum.conformance": ROOT / "quorum/conformance", "quorum.cli": ROOT / "quorum/cli",
           "quorum.harness": ROOT / "quorum/harness"}
#: package -> the packages of ours it may import (itself always)
ALLOWED = {
    "quorum.spec": set(),
    "quorum.model_checker": set(),
    "quorum.impl": set(),
    "quorum.conformance": {"quorum.spec", "quorum.impl", "quorum.model_checker"},
    "quorum.harness": {"quorum.spec", "quorum.impl", "quorum.model_checker"},
    "quorum.cli": {"quorum.spec", "quorum.impl", "quorum.model_checker", "quorum.conformance",
                   "quorum.harness"},
}


def module_name(package: str, folder: Path, path: Path) -> str:
    rel = path.relative_to(folder).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([package, *parts])


def imports(path: Path, name: str) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + is_pkg]
                base = ".".join([*parent, *([base] if base else [])])
            found.append((node.lineno, base))
    return found


def owner(module: str) -> str | None:
    for package in FOLDERS:
        if module == package or module.startswith(package + "."):
            return package
    return "quorum" if module == "quorum" else None


def violations(folders: dict[str, Path]) -> list[str]:
    """``file:line: rule broken`` for every import that breaks a rule."""
    broken = []
    for package, folder in folders.items():
        for path in sorted(folder.rglob("*.py")):
            name = module_name(package, folder, path)
            for line, target in imports(path, name):
                other = owner(target)
                if other is None or other == package:
                    continue
                if other not in ALLOWED[package]:
                    broken.append(f"{path}:{line}: {package} imports {target}")
    return broken


def test_every_module_keeps_the_dependency_rules():
    assert violations(FOLDERS) == []


def test_the_rules_are_read_from_real_imports(tmp_path):
    """A planted import of the checker into the store is reported (the test can fail)."""
    (tmp_path / "bad.py").write_text("import os\nfrom ..model_checker.explicit import bfs\n")
    (tmp_path / "good.py").write_text("from quorum.impl.raft import RawNode\n")
    assert violations({"quorum.impl": tmp_path}) == [
        f"{tmp_path / 'bad.py'}:2: quorum.impl imports quorum.model_checker.explicit"]


@pytest.mark.parametrize("package", sorted(FOLDERS))
def test_each_package_has_modules(package):
    assert list(FOLDERS[package].rglob("*.py")), package
