"""The catalog is data, validated by its JSON Schema, and covers every ORIGINAL shared file."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import jsonschema
import pytest

import govdata
from govdata.catalog import catalog_entries, schema


def _sources(shared_datasets):
    """(file, sha256, is_original) for every numbered section of SOURCES.md."""
    text = (shared_datasets / "SOURCES.md").read_text("utf-8")
    sections = re.split(r"^## \d+\. ", text, flags=re.M)[1:]
    out = []
    for sec in sections:
        file = re.match(r"`([^`]+)` \((ORIGINAL|DERIVED)", sec)
        hashes = re.findall(r"`([0-9a-f]{64})`", sec)
        out.append((file.group(1), file.group(2) == "ORIGINAL", hashes))
    return out


def test_catalog_json_validates_against_its_schema():
    data = json.loads(resources.files("govdata").joinpath("catalog.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(data, schema())
    assert len({e["id"] for e in data["datasets"]}) == len(data["datasets"])


def test_schema_rejects_an_entry_missing_its_licence():
    data = json.loads(resources.files("govdata").joinpath("catalog.json").read_text("utf-8"))
    del data["datasets"][0]["licence"]
    with pytest.raises(jsonschema.ValidationError, match="licence"):
        jsonschema.validate(data, schema())


def test_every_original_shared_file_has_a_catalog_entry_with_its_pinned_hash(shared_datasets):
    entries = {e.sha256: e for e in catalog_entries()}
    sources = _sources(shared_datasets)
    assert len(sources) == 13
    originals = [s for s in sources if s[1]]
    assert len(originals) == 10
    for file, _, hashes in originals:
        entry = entries.get(hashes[0])
        assert entry is not None, f"no catalog entry pins {file}"
        assert entry.file == file
        path = shared_datasets / file
        assert entry.size == path.stat().st_size
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    # the AURN list: its original (not in the mirror) is pinned, the open-columns file is a mirror distribution
    aurn = govdata.info("aurn-sites-2020")
    aurn_hashes = next(h for f, _, h in sources if f == "defra_aurn_sites_2020.csv")
    assert aurn.sha256 == aurn_hashes[0] and aurn.url.endswith("aurn_measurement_sites_addresses_postcodes.csv")
    assert aurn.mirror_distributions[0]["sha256"] == aurn_hashes[1]
    assert "not open data" in aurn.mirror_distributions[0]["note"]


def test_derived_files_are_never_catalog_sources(shared_datasets):
    derived = {f for f, original, _ in _sources(shared_datasets) if not original}
    mirror_only = {d["file"] for e in catalog_entries() for d in e.mirror_distributions}
    assert not derived & {e.file for e in catalog_entries()}
    assert derived & mirror_only == {"defra_aurn_sites_2020.csv"}


def test_the_ids_other_parts_rely_on_exist():
    ids = {"lad-boundaries-2021", "lad21-region-lookup", "ons-subnational-indicators-2024", "imd-2019-lad19",
           "imd-2019-lad21", "ons-population-mid2021", "ukhpi-2021-03", "pcon-boundaries-2024", "ge2024-results",
           "stats19-greater-manchester", "aurn-sites-2020"}
    assert set(govdata.datasets()) == ids


@pytest.mark.parametrize(("query", "expected"), [
    ("deprivation", {"imd-2019-lad19", "imd-2019-lad21"}),          # description
    ("Land Registry", {"ukhpi-2021-03"}),                           # publisher
    ("ltla21_code", {"imd-2019-lad21"}),                            # a column name
    ("constituency boundaries", {"pcon-boundaries-2024"}),          # every word must match
    ("no-such-thing-at-all", set()),
])
def test_datasets_searches_titles_descriptions_publishers_and_columns(query, expected):
    assert set(govdata.datasets(query)) == expected


def test_listing_renders_as_a_table_and_iterates_over_ids():
    listing = govdata.datasets("deprivation")
    assert "imd-2019-lad21" in listing and len(listing) == 2
    assert listing["imd-2019-lad21"].publisher.startswith("humaniverse")
    assert "<table" in listing._repr_html_() and "imd-2019-lad21" in repr(listing)
    assert list(listing.to_frame().index) == list(listing)
    assert "No datasets match" in govdata.datasets("zzzz")._repr_html_()


def test_info_gives_every_field_and_renders_escaped_html():
    entry = govdata.info("IMD_2019_LAD21")  # forgiving about case and underscores
    for attr in ("id", "title", "description", "publisher", "licence", "licence_url", "attribution", "vintage",
                 "url", "sha256", "size", "format", "columns", "key_columns", "rows"):
        assert getattr(entry, attr), attr
    assert entry.geometry_type is None and govdata.info("lad-boundaries-2021").geometry_type == "MultiPolygon"
    page = govdata.info("imd-2019-lad19")._repr_html_()
    assert "Ministry of Housing, Communities &amp; Local Government" in page
    assert 'rel="license"' in page and "Open Government Licence v3.0" in page


@pytest.mark.parametrize(("typo", "suggestion"), [
    ("imd-2019-lad2", "imd-2019-lad21"),
    ("lad-boundaries", "lad-boundaries-2021"),
    ("stats19", "stats19-greater-manchester"),
])
def test_unknown_id_suggests_the_nearest_ids(typo, suggestion):
    with pytest.raises(govdata.UnknownDatasetError) as err:
        govdata.info(typo)
    message = str(err.value)
    assert repr(typo) in message and repr(suggestion) in message and "govdata.datasets()" in message
    assert isinstance(err.value, KeyError)
