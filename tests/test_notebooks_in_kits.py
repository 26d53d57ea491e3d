"""Every kit's notebooks, as handed out in its zip, run top to bottom offline (nbval, lax) where they are extracted.

Kits share notebooks: each distinct notebook runs once, from the first kit zip that holds it, and every
other kit's copy is checked to be byte-for-byte the one that ran (saves about 40% of the CPU time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from backstage.kits import KitLinks, build_handout, list_kits


def test_every_kit_zip_extracts_to_notebooks_that_pass_nbval(repo, shared_datasets, tmp_path):
    extracted = tmp_path / "room"
    expected = 0
    to_run: dict[str, bytes] = {}  # notebook name -> the bytes of the copy that runs
    for kit in list_kits(repo):
        handout = build_handout(kit, "https://lab.example.org", tmp_path / kit.name, links=KitLinks(repo=""),
                                pdf=False)
        with zipfile.ZipFile(handout.zip) as zf:
            zf.extractall(extracted)
        assert sorted(p.name for p in (extracted / kit.name / "notebooks").iterdir()) == sorted(
            nb.rsplit("/", 1)[1] for nb in kit.notebooks
        )
        expected += len(kit.notebooks)
        for path in sorted((extracted / kit.name / "notebooks").iterdir()):
            if path.name in to_run:
                assert path.read_bytes() == to_run[path.name], f"{kit.name}'s copy of {path.name} differs"
                path.unlink()
            else:
                to_run[path.name] = path.read_bytes()
    assert expected == 10 and len(to_run) == 5
    env = {**os.environ, "GOVDATA_MIRROR": str(shared_datasets), "GOVDATA_CACHE": str(tmp_path / "cache")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--sanitize-with", str(repo / "tests/nbval_sanitize.cfg"), str(extracted)],
        cwd=extracted, env=env, capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    summary = r.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    # every extracted notebook was collected (nbval names each cell "<notebook>::Cell N")
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--co", "-p", "no:cacheprovider", "--nbval-lax", str(extracted)],
        cwd=extracted, env=env, capture_output=True, text=True, timeout=300,
    ).stdout
    assert len({line.split("::")[0] for line in collected.splitlines() if "::Cell" in line}) == len(to_run)
