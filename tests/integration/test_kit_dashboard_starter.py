"""Starter 06 makes an honest dashboard: without its author-only cells it shows officials only the dashboard.

The gallery leaves out the cells tagged ``author-only`` (tutorial text, the check, the submit cell); this runs
what is left in a real kernel, offline, as the gallery's checks do, and reads every output.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

AUTHOR_ONLY = "author-only"
FOR_THE_AUTHOR = re.compile(r"backstage\.gallery|api/submissions|JUPYTERHUB_API_TOKEN|/hub/api|submit", re.I)


def _dashboard_cells(nb):
    return [c for c in nb.cells if AUTHOR_ONLY not in c.metadata.get("tags", [])]


def test_every_cell_about_submitting_is_for_the_author_only(repo):
    for path in sorted((repo / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        left = [c.source[:80] for c in _dashboard_cells(nb) if FOR_THE_AUTHOR.search(c.source)]
        assert left == [], f"{path.name}: cells officials would see talk about submitting: {left}"


def test_the_dashboard_starter_shows_officials_only_the_dashboard_and_its_count_follows_the_picker(
        repo, shared_datasets, tmp_path, monkeypatch):
    nb = nbformat.read(repo / "notebooks/06-build-a-dashboard.ipynb", as_version=4)
    tagged = [c for c in nb.cells if AUTHOR_ONLY in c.metadata.get("tags", [])]
    assert any("backstage.gallery.client import submit" in c.source for c in tagged), "the submit cell is tagged"
    assert any(c.source.startswith("# Build a dashboard") for c in tagged), "the tutorial's prose is tagged"
    nb.cells = _dashboard_cells(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "it opens with its title"
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    monkeypatch.setenv("GOVDATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    shown = len(nb.cells)
    # then a viewer picks another indicator (what the dropdown's change does in the kernel)
    nb.cells += [nbformat.v4.new_code_cell("print(caption.value)"),
                 nbformat.v4.new_code_cell('picker.value = "Gigabit capable broadband"\nprint(caption.value)')]
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    # officials see widgets and the credits, never a stray value, printed text or an error
    for cell in nb.cells[:shown]:
        for out in cell.get("outputs", []):
            assert out.output_type == "execute_result", (cell.source.splitlines()[0], out)
            kinds = set(out.data) - {"text/plain"}
            assert kinds & {"application/vnd.jupyter.widget-view+json", "text/html"}, (cell.source[:60], out.data)
    caption_before, caption_after = ("".join(o.get("text", "") for o in c.outputs) for c in nb.cells[shown:])
    assert "Gross median weekly pay" in caption_before and "355 councils coloured" in caption_before
    assert "Gigabit capable broadband" in caption_after and "374 councils coloured" in caption_after
