"""Geo helpers on the real boundaries: joins with a report of causes, points in polygons, regions."""

from __future__ import annotations

import pandas as pd
import pytest

import govdata


@pytest.fixture(scope="module")
def data(warm_cache):
    return warm_cache[1]


def _causes(report_frame):
    return dict(zip(report_frame["code"], report_frame["cause"], strict=True))


def test_2019_district_codes_against_2021_boundaries_are_explained(data):
    imd = data["imd-2019-lad19"]
    imd = imd[imd["index_domain"] == "Index of Multiple Deprivation"]
    gdf, report = govdata.join_by_code(imd, data["lad-boundaries-2021"], "lad19cd", "LAD21CD")
    assert len(gdf) == 374 and report.matched == 306
    stats = _causes(report.stats_unmatched)
    assert set(stats) == {"E07000004", "E07000005", "E07000006", "E07000007",
                          *(f"E07000{i}" for i in range(150, 157))}
    assert all("abolished on 1 April 2021" in c and "imd-2019-lad21" in c for c in stats.values())
    bounds = _causes(report.boundaries_unmatched)
    assert "created on 1 April 2021" in bounds["E06000060"]
    assert bounds["W06000001"] == "Wales is not covered by the statistics"
    assert bounds["S12000005"] == "Scotland is not covered by the statistics"
    assert not report.ok and "306 areas matched" in str(report)
    page = report._repr_html_()
    assert "<table" in page and "E07000150" in page
    assert gdf.loc[gdf["LAD21CD"] == "E06000001", "average_score"].iloc[0] == pytest.approx(35.037)


def test_counties_and_the_country_in_the_stats_are_named_as_such(data):
    hpi = data["ukhpi-2021-03"]
    _, report = govdata.join_by_code(hpi, data["lad-boundaries-2021"], "area_code", "LAD21CD")
    stats = _causes(report.stats_unmatched)
    assert stats["E92000001"].startswith("a country, not a district")
    assert stats["E10000021"].startswith("a county, not a district")  # Northamptonshire
    assert stats["E10000003"].startswith("a county, not a district")  # Cambridgeshire
    assert "abolished on 1 April 2021" in stats["E07000150"]
    assert "Isles of Scilly" in _causes(report.boundaries_unmatched)["E06000053"]


def test_a_clean_join_reports_ok(data):
    ge = data["ge2024-results"]
    gdf, report = govdata.join_by_code(ge, data["pcon-boundaries-2024"], "ONS ID", "PCON24CD")
    assert report.ok and report.matched == 650 and len(gdf) == 650
    assert gdf.attrs["govdata_ids"] == ["pcon-boundaries-2024", "ge2024-results"]


def test_long_tables_are_flagged_as_repeating_codes(data):
    _, report = govdata.join_by_code(data["imd-2019-lad19"], data["lad-boundaries-2021"], "lad19cd", "LAD21CD")
    assert len(report.duplicated_stats_codes) == 317 and "repeat" in str(report)


def test_a_wrong_column_name_is_a_clear_error(data):
    with pytest.raises(KeyError, match="no column 'code'"):
        govdata.join_by_code(data["imd-2019-lad21"], data["lad-boundaries-2021"], "code", "LAD21CD")


def test_air_quality_sites_fall_in_151_districts_and_mace_head_in_none(data):
    sites = data["aurn-sites-2020"]
    joined = govdata.points_in_polygons(sites, data["lad-boundaries-2021"], lon="longitude", lat="latitude")
    assert len(joined) == 272 and list(joined.index) == list(sites.index)
    inside = joined["LAD21CD"].notna()
    assert inside.sum() == 271 and joined.loc[inside, "LAD21CD"].nunique() == 151
    assert joined.loc[~inside, "site_name"].tolist() == ["Mace Head"]


def test_casualty_points_mostly_agree_with_their_recorded_district(data):
    casualties = data["stats19-greater-manchester"].sample(1500, random_state=1)
    joined = govdata.points_in_polygons(casualties, data["lad-boundaries-2021"])
    agree = (joined["LAD21NM"] == joined["area_name"]).mean()
    assert agree > 0.95


def test_points_without_coordinates_columns_are_refused(data):
    with pytest.raises(KeyError, match="lon=..., lat=..."):
        govdata.points_in_polygons(pd.DataFrame({"x": [1]}), data["lad-boundaries-2021"])


def test_districts_dissolve_into_nine_regions_with_summed_population(data):
    pop = data["ons-population-mid2021"][["code", "population_mid2021"]]
    gdf, _ = govdata.join_by_code(pop, data["lad-boundaries-2021"], "code", "LAD21CD")
    regions = govdata.dissolve_to_regions(gdf[["LAD21CD", "population_mid2021", "geometry"]],
                                          lookup=data["lad21-region-lookup"])
    assert len(regions) == 9
    table = data["ons-population-mid2021"].set_index("code")["population_mid2021"]
    for code, total in zip(regions["RGN21CD"], regions["population_mid2021"], strict=True):
        assert abs(total - table[code]) <= 20, code  # ONS rounding: districts sum within a few people
    assert regions.geometry.is_valid.all()


def test_dissolving_the_raw_boundaries_sums_no_boundary_fields(data):
    regions = govdata.dissolve_to_regions(data["lad-boundaries-2021"], lookup=data["lad21-region-lookup"])
    assert list(regions.columns) == ["RGN21CD", "RGN21NM", "geometry"]
