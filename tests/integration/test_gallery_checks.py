"""The automatic checks, on real kernels, a real standalone Voilà and Debian's Chromium (no hub)."""

import asyncio
import json
import os
import re

import nbformat
import pytest
from backstage.gallery.checks import Checks
from backstage.gallery.notebooks import validate_notebook
from backstage.gallery.store import Store


def _submit(store, *sources, title="Check me"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    _, raw, sha = validate_notebook(nbformat.writes(nb), 10**6)
    return store.add(author="ann", title=title, summary="", topics=[], notebook=raw, sha256=sha)


@pytest.fixture
def store(tmp_path):
    s = Store(state_dir=str(tmp_path / "gallery"))
    yield s
    s.close()


def test_a_good_notebook_runs_records_its_datasets_renders_under_voila_and_gets_a_thumbnail(
        store, shared_datasets, monkeypatch):
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    item = _submit(
        store,
        "import govdata\nimd = govdata.load('imd-2019-lad21')\nprint(len(imd))",
        "import ipywidgets as w\nw.IntSlider(value=4, description='n')",
        "import os\nprint('uid', os.getuid(), 'token' , 'JUPYTERHUB_API_TOKEN' in os.environ)",
    )
    checks = Checks(store)
    results = asyncio.run(checks.run(item["id"]))
    assert results["execution"]["ok"], results
    assert results["execution"]["seconds"] > 0
    assert results["voila"]["ok"], results["voila"]
    after = store.get(item["id"])
    assert after["status"] == "awaiting-review"
    assert [d["id"] for d in after["datasets"]] == ["imd-2019-lad21"]
    assert after["datasets"][0]["licence"].startswith("Open Government Licence")
    thumbnail = store.path(item["id"], "thumbnail.png").read_bytes()
    assert thumbnail.startswith(b"\x89PNG") and len(thumbnail) > 2000
    executed = nbformat.read(store.path(item["id"], "executed.ipynb"), as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "309"
    uid_line = executed.cells[2].outputs[0]["text"].split()
    assert uid_line[3] == "False", "the gallery's hub token leaked into the submission's kernel"
    if os.geteuid() == 0:
        assert uid_line[1] != "0", "submitted code ran as root"
    preview = re.sub(r"<[^>]+>", "", store.path(item["id"], "preview.html").read_text())
    assert "309" in preview  # what officials will see: the outputs ...
    assert "govdata.load" not in preview  # ... and no code (a dashboard shows none)


def test_a_failing_notebook_is_marked_with_the_error_and_a_secret_is_flagged(store):
    item = _submit(store, "password = 'hunter2hunter2'", "1 / 0")
    results = asyncio.run(Checks(store).run(item["id"]))
    assert not results["execution"]["ok"]
    assert "ZeroDivisionError" in results["execution"]["error"]
    assert results["voila"]["ok"] is False
    assert results["secrets"] == [{"cell": 0, "where": "source", "kind": "password or secret assigned in code"}]
    assert store.get(item["id"])["status"] == "checks-failed"


def test_a_notebook_over_the_time_limit_is_stopped(store):
    item = _submit(store, "import time\ntime.sleep(600)")
    checks = Checks(store, time_limit=8)
    results = asyncio.run(checks.run(item["id"]))
    assert results["execution"] == {"ok": False, "error": "the notebook did not finish within 8 s",
                                    "seconds": results["execution"]["seconds"]}
    assert results["execution"]["seconds"] < 30
    assert store.get(item["id"])["status"] == "checks-failed"
    assert json.loads(json.dumps(results))  # stored as JSON


def test_submitted_code_cannot_read_the_gallery_store(store):
    if os.geteuid() != 0:
        pytest.fail("run the tests as root: this checks that submitted code runs as an unprivileged user")
    item = _submit(store, f"open({str(store.root / 'gallery.sqlite')!r}, 'rb').read()")
    results = asyncio.run(Checks(store).run(item["id"]))
    assert "PermissionError" in results["execution"]["error"]


def test_a_cell_slower_than_voilas_keep_alive_renders_without_a_script_error(store):
    # Voilà writes a heartbeat script into the page every 10 s while a cell runs; the dashboard template
    # must take it, or every slow dashboard fails its check with a script error in the thumbnail's browser.
    item = _submit(store, "import time\ntime.sleep(12)\nprint('slow but fine')")
    results = asyncio.run(Checks(store).run(item["id"]))
    assert results["execution"]["ok"], results
    assert results["voila"]["ok"] and results["voila"]["page_errors"] == 0, results["voila"]
