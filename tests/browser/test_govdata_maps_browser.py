"""Choropleths as a reader sees them: rendered in Debian's Chromium with the network off, on a desktop and a
phone (390x844): the whole country in view, the credits once and under the map, refitted when resized."""

from __future__ import annotations

import re

import pytest
from backstage.chromium import CHROMIUM, CHROMIUM_ARGS
from backstage_testing.maps import FITTED, MEASURE, check_fits, inside

import govdata


@pytest.fixture(scope="module")
def imd_map_data(shared_datasets, tmp_path_factory):
    """IMD 2019 joined to the district boundaries, loaded from the mirror into a cache of this module's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_CACHE", str(tmp_path_factory.mktemp("mapcache")))
        mp.setenv("GOVDATA_MIRROR", str(shared_datasets))
        mp.delenv("GOVDATA_PROVENANCE_LOG", raising=False)
        imd, lads = govdata.load("imd-2019-lad21"), govdata.load("lad-boundaries-2021")
    gdf, _ = govdata.join_by_code(imd, lads, "ltla21_code", "LAD21CD")
    return gdf


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
