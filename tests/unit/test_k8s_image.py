"""hub/k8s/hub-image/Dockerfile installs what the hub-side modules import beyond the chart's hub image."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "hub" / "k8s" / "hub-image" / "Dockerfile"
# What the hub pod imports: the extraConfig glue, the sign-in, the share page (a service in the hub pod).
HUB_SIDE = ("backstage.k8s", "backstage.k8s.hub", "backstage.auth", "backstage.share.app")
# The chart's hub image (k8s-hub 4.4.0) is JupyterHub with these, and everything they depend on.
IMAGE_HAS = ("jupyterhub", "pyyaml", "jupyterhub-idle-culler", "requests", "pycurl", "psycopg2")
# Imported here only because they happen to be installed, each used optionally by a dependency.
OPTIONAL = {"pygments": "mako (via alembic) highlights tracebacks with it when present"}


def _closure(names) -> set[str]:
    """The distributions ``names`` depend on, recursively, as installed here (extras ignored)."""
    seen, todo = set(), [metadata.distribution(n).metadata["Name"] for n in names if _installed(n)]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            if _installed(req.name):
                todo.append(req.name)
    return seen


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _imported_distributions() -> frozenset[str]:
    """Third-party distributions whose modules the hub-side modules import (in a fresh interpreter)."""
    code = ("import importlib, json, sys\n"
            f"for m in {HUB_SIDE!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    modules = {m for m in json.loads(out.stdout.splitlines()[-1])
               if m not in sys.stdlib_module_names and not m.startswith("_")}  # _distutils_hack: a .pth
    by_module = metadata.packages_distributions()
    dists = set()
    for module in modules:
        for dist in by_module.get(module, []):
            dists.add(dist.lower().replace("_", "-"))
    return frozenset(dists - {"government-backstage"} - set(OPTIONAL))


def _dockerfile_extras() -> set[str]:
    match = re.search(r'^ARG HUB_EXTRAS="([^"]*)"', DOCKERFILE.read_text(), re.M)
    assert match, "the Dockerfile must declare ARG HUB_EXTRAS"
    return {Requirement(spec).name.lower().replace("_", "-") for spec in match.group(1).split()}


def test_hub_image_installs_every_import_the_charts_image_lacks():
    missing = _imported_distributions() - _closure(IMAGE_HAS) - _dockerfile_extras()
    assert not missing, (f"the hub pod would fail to import {sorted(missing)}: add them to ARG HUB_EXTRAS in "
                         "hub/k8s/hub-image/Dockerfile")


def test_hub_image_extras_are_all_needed():
    unused = _dockerfile_extras() - _imported_distributions()
    assert not unused, f"ARG HUB_EXTRAS in hub/k8s/hub-image/Dockerfile installs unused {sorted(unused)}"


def test_hub_image_is_the_released_chart_440_hub_and_keeps_its_jupyterhub():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM quay.io/jupyterhub/k8s-hub:4\.4\.0$", text, re.M)
    assert "--no-deps /tmp/backstage" in text and re.search(r"^USER 1000$", text, re.M)
