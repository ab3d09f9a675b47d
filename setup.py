"""Package layout: one import root, ``quorum``, over the project's top-level folders.

The folders ``spec/``, ``impl/`` and ``model_checker/`` install as ``quorum.spec``,
``quorum.impl`` and ``quorum.model_checker``; ``quorum/`` holds the command line
(``quorum.cli``) and the conformance checks (``quorum.conformance``).  Everything else
(name, version, dependencies) is in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

#: import package -> folder, for every root; subpackages are found under each folder
ROOTS = {
    "quorum": "quorum",
    "quorum.spec": "spec",
    "quorum.impl": "impl",
    "quorum.model_checker": "model_checker",
}


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_packages(folder)]
    return found


setup(packages=packages(), package_dir=ROOTS)
