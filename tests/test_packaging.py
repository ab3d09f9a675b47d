"""What ``pip install .`` installs: one import package, ``quorum``, whose subpackages come
from the user's folders (spec/, impl/, model_checker/) through setup.py's package-dir."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = "quorum-check"  # the distribution's name ("quorum" is taken on the package index)


def test_the_installed_distribution_has_one_top_level_package():
    assert importlib.metadata.distribution(DIST).read_text("top_level.txt").split() == ["quorum"]


def source_modules() -> set[str]:
    """Every module of the source tree, as the path it installs to."""
    folders = {"quorum": ROOT / "quorum", "quorum/spec": ROOT / "spec",
               "quorum/impl": ROOT / "impl", "quorum/model_checker": ROOT / "model_checker"}
    found = set()
    for prefix, folder in folders.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder)
            if prefix == "quorum" and rel.parts[0] in ("spec", "impl", "model_checker"):
                continue
            found.add(f"{prefix}/{rel.as_posix()}")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    src = tmp_path_factory.mktemp("src") / "quorum"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(src)],
                   check=True, capture_output=True, cwd=src, timeout=300)
    (found,) = out.glob("quorum_check-*.whl")
    return found


def test_the_wheel_holds_every_module_under_quorum_and_nothing_else(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"quorum"}
    assert source_modules() <= set(names)
    assert {"quorum/py.typed", "quorum/impl/api/rpc.proto", "quorum/impl/api/kv.proto",
            "quorum/explore/page.html"} <= set(names)


def test_the_wheel_runs_a_check_from_any_folder(wheel: Path, tmp_path: Path):
    """The installed layout alone (the wheel, imported as a zip) runs `quorum check paxos`."""
    run = ("import sys; sys.path.insert(0, sys.argv[1]); import quorum.spec.paxos as p; "
           "assert p.__file__.startswith(sys.argv[1]), p.__file__; "
           "from quorum.cli import main; raise SystemExit(main(['check', 'paxos', '--json']))")
    p = subprocess.run([sys.executable, "-P", "-c", run, str(wheel)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["ok"], out["distinct_states"]) == (True, 3921)
