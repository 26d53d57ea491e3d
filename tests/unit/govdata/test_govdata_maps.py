"""Choropleths: legend, tooltips, colour-blind-safe classes, attribution, and no CDN at all.

How they render in Chromium (network off, desktop and phone): tests/browser/test_govdata_maps_browser.py."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import govdata
from govdata import maps


@pytest.fixture(scope="module")
def imd_map_data(warm_cache):
    frames = warm_cache[1]
    gdf, _ = govdata.join_by_code(frames["imd-2019-lad21"], frames["lad-boundaries-2021"], "ltla21_code", "LAD21CD")
    return gdf


def _external_assets(page: str) -> list[str]:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page)
    return [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t)]


def test_the_map_has_no_cdn_reference_and_inlines_leaflet(imd_map_data):
    page = govdata.choropleth(imd_map_data, "Score").get_root().render()
    assert _external_assets(page) == []
    assert "cdn.jsdelivr" not in page and "code.jquery.com" not in page and "bootstrapcdn" not in page
    leaflet = (maps.vendor_dir() / "leaflet.js").read_text("utf-8")
    assert leaflet[:200] in page  # inlined verbatim


def test_the_map_has_a_legend_tooltips_an_accessible_palette_and_the_attribution(imd_map_data):
    m = govdata.choropleth(imd_map_data, "Score", legend="IMD 2019 average score",
                           tooltip=["LAD21NM", "Score"])
    page = m.get_root().render()
    assert "IMD 2019 average score" in page and 'aria-label="Legend"' in page
    assert "No data" in page  # Wales, Scotland and NI have no IMD score
    assert "bindTooltip" in page and '"LAD21NM"' in page
    classes = set(re.findall(r'"_fill": "(#[0-9a-f]{6})"', page))
    assert classes - {maps.NO_DATA} <= set(maps.PALETTES["viridis"]) and len(classes - {maps.NO_DATA}) == 5
    assert "Contains MHCLG English Indices of Deprivation 2019 data" in page
    assert "Contains OS data \\u00a9 Crown copyright" in page or "Contains OS data © Crown copyright" in page
    assert "L.tileLayer(" not in page  # no tiles by default


def test_classes_follow_the_values(imd_map_data):
    classes, bins = maps._classify(imd_map_data["Score"], 5, "quantiles")
    scores = imd_map_data["Score"].to_numpy()
    has = ~np.isnan(scores)
    assert (classes[~has] == -1).all()
    assert scores[has][classes[has] == 4].min() > scores[has][classes[has] == 0].max()
    assert bins[-1] == pytest.approx(np.nanmax(scores))


def test_tiles_need_their_attribution(imd_map_data):
    with pytest.raises(ValueError, match="tiles_attribution"):
        govdata.choropleth(imd_map_data, "Score", tiles="http://tiles.local/{z}/{x}/{y}.png")
    page = govdata.choropleth(imd_map_data, "Score", tiles="http://tiles.local/{z}/{x}/{y}.png",
                              tiles_attribution="Local tiles").get_root().render()
    assert "tiles.local" in page and "Local tiles" in page
    osm = govdata.choropleth(imd_map_data, "Score", tiles=True).get_root().render()
    assert "tile.openstreetmap.org" in osm and "OpenStreetMap contributors" in osm
    assert _external_assets(osm) == []  # tiles are images fetched by Leaflet, never scripts or styles


def test_bad_columns_are_clear_errors(imd_map_data):
    with pytest.raises(KeyError, match="no column 'score'"):
        govdata.choropleth(imd_map_data, "score")
    with pytest.raises(ValueError, match="no numeric values"):
        govdata.choropleth(imd_map_data, "LAD21NM")


def test_missing_vendored_leaflet_says_run_make_vendor(imd_map_data, monkeypatch, tmp_path):
    monkeypatch.setattr(maps, "vendor_dir", lambda: tmp_path)
    maps._leaflet_assets.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="make vendor"):
            govdata.choropleth(imd_map_data, "Score")
    finally:
        maps._leaflet_assets.cache_clear()


def test_text_in_tooltips_is_escaped(imd_map_data):
    hostile = imd_map_data.head(3).copy()
    hostile["LAD21NM"] = ['<img src=x onerror="alert(1)">', "Brighton & Hove", "ok"]
    page = govdata.choropleth(hostile, "Score").get_root().render()
    names = [json.loads(f'"{v}"') for v in re.findall(r'"LAD21NM": "((?:[^"\\]|\\.)*)"', page)]
    assert "<img src=x" not in page
    assert '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;' in names and "Brighton &amp; Hove" in names


def test_map_coordinates_keep_five_decimals_by_default_and_full_precision_on_request(imd_map_data):
    def longest_decimals(page: str) -> int:
        coords = re.findall(r"\[(-?\d+\.(\d+)), (-?\d+\.(\d+))\]", page)
        assert len(coords) > 10_000, "the boundaries' coordinates are in the page"
        return max(max(len(c[1]), len(c[3])) for c in coords)

    small = govdata.choropleth(imd_map_data, "Score").get_root().render()
    full = govdata.choropleth(imd_map_data, "Score", precision=15).get_root().render()
    assert longest_decimals(small) <= 5 < longest_decimals(full)
    assert len(small) < 0.75 * len(full)
