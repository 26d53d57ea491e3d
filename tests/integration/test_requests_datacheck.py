"""Data-break alerts on the real lab: a published dashboard whose dataset changes by one byte in a copy of
the mirror is marked, its owner is told, and exactly one barrier request is filed by the lab, however
often ``backstage data check`` runs; with the right data again, the mark goes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import requests
from backstage.commons.requests import LAB_AUTHOR

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab():
    """A lab of this module's own: `backstage data check` re-verifies every published dashboard of the lab, and on
    the session's lab the dashboards other modules published (some on the same dataset) changed what it marks."""
    from backstage_testing.lab import own_lab

    with own_lab("d") as running:
        yield running

DATASET, FILE = "lad21-region-lookup", "lad21_to_rgn21_lookup_england.csv"
BACKSTAGE = Path(sys.executable).parent / "backstage"


def auth(token):
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def dashboard(lab):
    """A notebook that loads the region lookup, submitted, checked and approved in the gallery."""
    suffix = uuid.uuid4().hex[:4]
    author, reviewer = f"dca{suffix}", f"dcr{suffix}"
    lab.create_user(author, groups=("participants",))
    lab.create_user(reviewer, groups=("reviewers",))
    tokens = {author: lab.token_for(author), reviewer: lab.token_for(reviewer)}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import govdata\nlookup = govdata.load({DATASET!r})\nlen(lookup)")]
    gallery = lab.service_url("gallery")
    r = requests.post(f"{gallery}api/submissions", headers=auth(tokens[author]), timeout=60,
                      json={"title": f"Regions {suffix}", "summary": "Districts by region",
                            "notebook": json.loads(nbformat.writes(nb))})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        item = requests.get(f"{gallery}api/submissions/{r.json()['id']}", headers=auth(tokens[author]), timeout=30).json()
        if item["status"] != "checking":
            break
        time.sleep(1)
    assert item["status"] == "awaiting-review", item.get("checks")
    assert [d["id"] for d in item["datasets"]] == [DATASET]
    approved = requests.post(f"{gallery}api/submissions/{item['id']}/approve", headers=auth(tokens[reviewer]),
                             json={}, timeout=120)
    assert approved.status_code == 200, approved.text
    return {"author": author, "token": tokens[author], "slug": approved.json()["slug"]}


def data_check(lab, mirror: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BACKSTAGE_STATE": str(lab.state_dir), "GOVDATA_MIRROR": str(mirror),
           "GOVDATA_CACHE": str(tmp_path / f"cache-{uuid.uuid4().hex[:6]}")}
    return subprocess.run([str(BACKSTAGE), "data", "check"], env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def lab_requests(lab) -> list[dict]:
    listed = requests.get(f"{lab.service_url('commons')}api/requests", timeout=30).json()["requests"]
    return [r for r in listed if r["author"] == LAB_AUTHOR and r["dataset"] == DATASET]


@pytest.mark.timeout(600)  # a data check, a re-render and the commons' cached answer, on a busy machine
def test_a_changed_byte_marks_the_dashboard_tells_its_owner_and_files_one_barrier_request(
        lab, dashboard, shared_datasets, tmp_path):
    broken = tmp_path / "mirror"
    shutil.copytree(shared_datasets, broken)
    data = bytearray((broken / FILE).read_bytes())
    data[50] ^= 0x01
    (broken / FILE).write_bytes(bytes(data))
    commons = lab.service_url("commons")
    page = Path(lab.state_dir) / "gallery" / "rendered" / f"{dashboard['slug']}-v1.html"
    deadline = time.monotonic() + 240
    while not page.exists() and time.monotonic() < deadline:  # rendered once after its approval
        time.sleep(1)
    rendered_at = page.stat().st_mtime_ns

    first = data_check(lab, broken, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"data problem: {dashboard['slug']}" in first.stdout and "sha256" in first.stdout
    marked = requests.get(f"{commons}api/data-problems", timeout=30).json()["dashboards"]
    [mark] = [m for m in marked if m["slug"] == dashboard["slug"]]
    assert mark["since"] and mark["datasets"] == [DATASET] and "notebook no longer runs" in mark["detail"]
    [barrier] = lab_requests(lab)
    assert barrier["kind"] == "barrier" and barrier["barrier"] == "broken-link" and barrier["status"] == "open"
    assert mark["request_ids"] == [barrier["id"]]
    # the alert asks the gallery to render the dashboard's page again: it shows what the notebook does now
    deadline = time.monotonic() + 120
    while page.stat().st_mtime_ns == rendered_at and time.monotonic() < deadline:
        time.sleep(1)
    assert page.stat().st_mtime_ns != rendered_at
    # the gallery's card says so, with a link to the request (the gallery caches the commons' answer briefly)
    deadline, card = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "Data problem since" not in card:
        card = requests.get(lab.service_url("gallery"), headers=auth(dashboard["token"]), timeout=30).text
        time.sleep(0 if "Data problem since" in card else 3)
    assert "Data problem since" in card and f"requests/{barrier['id']}" in card
    updates = requests.get(f"{commons}api/updates", headers=auth(dashboard["token"]), timeout=30).json()["updates"]
    assert [u["kind"] for u in updates if "data problem" in u["subject"]] == ["data-alert"]

    second = data_check(lab, broken, tmp_path)
    assert second.returncode == 1, second.stdout + second.stderr
    assert [r["id"] for r in lab_requests(lab)] == [barrier["id"]]
    again = requests.get(f"{commons}api/requests/{barrier['id']}", timeout=30).json()
    assert len(again["timeline"]) == 1, "the same problem was added twice"
    updates = requests.get(f"{commons}api/updates", headers=auth(dashboard["token"]), timeout=30).json()["updates"]
    assert len([u for u in updates if "data problem" in u["subject"]]) == 1, "the owner was told twice"

    fixed = data_check(lab, shared_datasets, tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    marked = requests.get(f"{commons}api/data-problems", timeout=30).json()["dashboards"]
    assert dashboard["slug"] not in [m["slug"] for m in marked]
