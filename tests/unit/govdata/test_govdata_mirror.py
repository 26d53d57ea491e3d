"""mirror_copy(): what a hack-day mirror must hold, never the non-open AURN columns."""

from __future__ import annotations

import hashlib

import pytest

import govdata
from govdata.mirror import mirror_distribution, write_open_columns
from govdata.recipes import run_recipe


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mirror_copy_verifies_and_a_new_mirror_serves_load(mirror_env, monkeypatch, tmp_path):
    usb = tmp_path / "usb"
    paths = govdata.mirror_copy("ukhpi-2021-03", usb)
    assert [p.name for p in paths] == ["ons_mye_mid2021_on2021geography.xls",
                                       "imd2019_la_summaries_lad19_official.csv",
                                       "landreg_ukhpi_annual_change_by_la_2021-03.csv"]
    for path, id_ in zip(paths, ["ons-population-mid2021", "imd-2019-lad19", "ukhpi-2021-03"], strict=True):
        assert _sha(path) == govdata.info(id_).sha256
    # a fresh cache, fed by the new mirror only, can load the dataset and what its recipe needs
    monkeypatch.setenv("GOVDATA_MIRROR", str(usb))
    monkeypatch.setenv("GOVDATA_CACHE", str(tmp_path / "fresh-cache"))
    assert len(govdata.load("ukhpi-2021-03")) == 339


def test_the_aurn_mirror_carries_only_the_open_columns_file(mirror_env, tmp_path):
    [path] = govdata.mirror_copy("aurn-sites-2020", tmp_path / "usb")
    assert path.name == "defra_aurn_sites_2020.csv"
    assert _sha(path) == govdata.info("aurn-sites-2020").mirror_distributions[0]["sha256"]
    assert not (tmp_path / "usb" / "aurn_measurement_sites_addresses_postcodes.csv").exists()
    assert "Address" not in path.read_text().splitlines()[0]


def test_the_open_columns_file_made_from_the_original_layout_matches_its_pinned_hash(aurn_original, tmp_path):
    source = aurn_original
    entry = govdata.info("aurn-sites-2020")
    out = tmp_path / "defra_aurn_sites_2020.csv"
    write_open_columns(run_recipe(source, entry, lambda other: None), out, mirror_distribution(entry))
    assert _sha(out) == mirror_distribution(entry)["sha256"]


def test_recipes_read_only_the_datasets_their_entry_requires(mirror_env):
    asked = []

    def load_other(other):
        asked.append(other)
        return govdata.load(other)

    for entry in govdata.datasets():
        info = govdata.info(entry)
        run_recipe(govdata.fetch(entry), info, load_other)
        assert set(asked) <= set(info.requires), entry
        asked.clear()


def test_an_unknown_id_is_refused_before_anything_is_written(mirror_env, tmp_path):
    with pytest.raises(govdata.UnknownDatasetError):
        govdata.mirror_copy("aurn-2020", tmp_path / "usb")
    assert not (tmp_path / "usb").exists()
