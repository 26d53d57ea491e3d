"""`backstage kit mirror`: a venue folder of a kit's datasets, verified by sha256, that govdata can use."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from backstage.cli import main
from backstage.kits import KitError, find_kit, mirror_kit

import govdata


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch, shared_datasets):
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    monkeypatch.setenv("GOVDATA_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_mirror_copies_each_dataset_under_its_catalog_name_verified(fresh_cache, repo, capsys):
    venue = fresh_cache / "venue"
    assert main(["kit", "mirror", "safer-roads-gm", str(venue)]) == 0
    kit = find_kit("safer-roads-gm", repo)
    expected = {govdata.info(d).file: govdata.info(d).sha256 for d in kit.datasets}
    # STATS19, boundaries and the population workbook are mirrored as published (their catalog file)
    assert set(expected) == {"stats19_casualties_greater_manchester_2019-2024H1.csv", "lad_dec2021_uk_buc.geojson",
                             "ons_mye_mid2021_on2021geography.xls"}
    files = {p.name for p in venue.iterdir()}
    assert files == {*expected, "SHA256SUMS"}
    for name, digest in expected.items():
        assert sha256(venue / name) == digest
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=venue, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    out = capsys.readouterr().out
    assert out.count("copied") == len(expected) and f"GOVDATA_MIRROR={venue}" in out


def test_mirror_brings_the_datasets_a_recipe_needs(fresh_cache, repo):
    # UK HPI's recipe adds codes from the population workbook and the 2019 IMD file
    kit = find_kit("gaps-between-places", repo)
    slim = type(kit)(kit.name, kit.folder, kit.repo_root, dict(kit.spec, datasets=["ukhpi-2021-03"]))
    names = {f.path.name for f in mirror_kit(slim, fresh_cache / "venue")}
    assert names == {govdata.info(d).file for d in ("ukhpi-2021-03", "ons-population-mid2021", "imd-2019-lad19")}


def test_a_venue_mirror_serves_govdata_with_an_empty_cache(fresh_cache, repo):
    venue = fresh_cache / "venue"
    mirror_kit(find_kit("clean-air", repo), venue)
    code = (
        "import govdata; s = govdata.load('aurn-sites-2020'); b = govdata.load('lad-boundaries-2021');"
        "print(len(s), len(b))"
    )
    env = {"GOVDATA_MIRROR": str(venue), "GOVDATA_CACHE": str(fresh_cache / "other-cache"), "PATH": "/usr/bin:/bin",
           "HOME": str(fresh_cache)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["272", "374"]


def test_rerun_keeps_good_files_and_replaces_a_tampered_one(fresh_cache, repo):
    venue = fresh_cache / "venue"
    kit = find_kit("clean-air", repo)
    first = mirror_kit(kit, venue)
    assert all(f.copied for f in first)
    # the AURN site list is mirrored as its open-columns copy, never the original with geocoded addresses
    open_copy = govdata.info("aurn-sites-2020").mirror_distributions[0]
    target = venue / open_copy["file"]
    assert sha256(target) == open_copy["sha256"]
    assert not (venue / govdata.info("aurn-sites-2020").file).exists()
    target.write_text("uk_air_id,site_name\nFAKE,Nowhere\n")
    again = {f.dataset: f for f in mirror_kit(kit, venue)}
    assert again["aurn-sites-2020"].copied and not again["lad-boundaries-2021"].copied
    assert sha256(target) == open_copy["sha256"]


def test_a_kit_naming_an_unknown_dataset_fails_before_copying(fresh_cache, repo):
    kit = find_kit("clean-air", repo)
    broken = type(kit)(kit.name, kit.folder, kit.repo_root, dict(kit.spec, datasets=["lad-boundaries-2021", "aurn-site-2020"]))
    with pytest.raises(KitError, match="lists dataset 'aurn-site-2020', which govdata cannot find") as err:
        mirror_kit(broken, fresh_cache / "venue")
    assert "Did you mean" in str(err.value)
    assert not (fresh_cache / "venue").exists() or not any((fresh_cache / "venue").iterdir())
