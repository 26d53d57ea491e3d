"""binder/: the repo2docker files install what every starter notebook imports, and vendor Leaflet."""

from __future__ import annotations

import ast
import os
import re
import tomllib
from importlib.metadata import packages_distributions

import nbformat
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version


def _imports(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_postbuild_installs_the_repo_and_vendors_leaflet(repo):
    post = repo / "binder/postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "python -m pip install --no-cache-dir -e ." in commands
    assert "make vendor" in commands
    makefile = (repo / "Makefile").read_text()
    assert re.search(r"^vendor: govdata/_vendor/\.installed", makefile, re.M), "make vendor must copy Leaflet into govdata"


def test_binder_python_satisfies_the_project(repo):
    runtime = (repo / "binder/runtime.txt").read_text().strip()
    version = Version(runtime.removeprefix("python-"))
    requires = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["requires-python"]
    assert version in SpecifierSet(requires)
    for line in (repo / "binder/requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            Requirement(line)  # parses


def test_every_notebook_import_is_a_dependency_of_the_repo_binder_installs(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    declared = {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}
    declared.add(project["name"].lower())  # postBuild installs the project itself (backstage: the submit cell)
    dist_of = packages_distributions()
    imported = set()
    for path in sorted((repo / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                imported |= _imports(cell.source)
    assert {"govdata", "ipywidgets"} <= imported
    for module in sorted(imported - {"govdata"}):
        if module in {"os", "sys", "json", "math", "re", "pathlib", "datetime", "collections", "itertools"}:
            continue
        dists = {d.lower().replace("_", "-") for d in dist_of.get(module, [])}
        assert dists & declared or module == "IPython", f"notebooks import {module}, which pyproject does not declare"
