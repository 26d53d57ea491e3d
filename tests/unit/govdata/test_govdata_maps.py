"""Choropleths: legend, tooltips, colour-blind-safe classes, attribution, and no CDN at all."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from backstage.chromium import CHROMIUM, CHROMIUM_ARGS
from backstage_testing.maps import FITTED, MEASURE, check_fits, inside

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


def test_the_saved_map_renders_in_chromium_with_the_network_off(imd_map_data, tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "imd.html"
    govdata.choropleth(imd_map_data, "Score", legend="IMD score").save(str(path))
    blocked, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(re.compile(r"^(?!file:|data:|about:).*"),
                       lambda route: (blocked.append(route.request.url), route.abort()))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri())
            page.wait_for_selector("path.leaflet-interactive", timeout=15000)
            polygons = page.locator("path.leaflet-interactive").count()
            legend = page.locator(".govdata-legend").inner_text()
            credit = page.locator(".govdata-credits").inner_text()
        finally:
            browser.close()
    assert blocked == [] and errors == []
    assert polygons == 374
    assert "IMD score" in legend and "No data" in legend
    assert "Indices of Deprivation" in credit


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


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_the_whole_country_fits_in_the_notebook_frame_with_the_credits_once_and_under_it(imd_map_data, tmp_path,
                                                                                         viewport):
    from playwright.sync_api import sync_playwright

    # the map as a notebook or a dashboard shows it: its _repr_html_ (an iframe) in a page
    m = govdata.choropleth(imd_map_data, "Score", legend="IMD score")
    page_file = tmp_path / "output.html"
    page_file.write_text(f"<!doctype html><html><body style='margin:0;padding:8px'>{m._repr_html_()}</body></html>")
    blocked = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            page.route(re.compile(r"^(?!file:|data:|about:).*"),
                       lambda route: (blocked.append(route.request.url), route.abort()))
            page.goto(page_file.as_uri())
            frame = page.frame_locator("iframe")
            frame.locator("path.leaflet-interactive").first.wait_for(timeout=15000)
            iframe = page.locator("iframe").bounding_box()
            frame = page.locator("iframe").element_handle().content_frame()
            frame.wait_for_function(FITTED, timeout=15000)
            inner = frame.evaluate(MEASURE)
        finally:
            browser.close()
    assert blocked == []
    check_fits(inner)
    assert iframe["x"] >= 0 and iframe["x"] + iframe["width"] <= viewport["width"]  # the frame fits the screen
    assert inner["text"].count("Contains MHCLG English Indices of Deprivation 2019 data") == 1


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_the_saved_map_fills_the_window_and_refits_when_it_is_resized(imd_map_data, tmp_path, viewport):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "imd.html"
    govdata.choropleth(imd_map_data, "Score", tiles="http://tiles.invalid/{z}/{x}/{y}.png",
                       tiles_attribution="Local tiles").save(str(path))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 600})
            page.route(re.compile(r"^(?!file:|data:|about:).*"), lambda route: route.abort())
            page.goto(path.as_uri())
            page.wait_for_selector("path.leaflet-interactive", timeout=15000)
            page.set_viewport_size(viewport)  # a window resized, a phone turned
            page.wait_for_function("""() => { const c = document.querySelector('.leaflet-container')
                .getBoundingClientRect(); return Math.abs(c.width - (innerWidth)) < 2; }""", timeout=15000)
            page.wait_for_function(FITTED, timeout=15000)  # the refit runs after layout: poll to a deadline
            inner = page.evaluate(MEASURE)
        finally:
            browser.close()
    check_fits(inner)
    assert inside(inner["container"], inner["page"])
    assert "Map tiles: Local tiles" in inner["text"] and inner["text"].count("Local tiles") == 1
