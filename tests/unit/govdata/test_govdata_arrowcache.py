"""The parsed-result cache format: geometries round-trip exactly, old files still read, replaced files re-read."""

from __future__ import annotations

import json
import os

import geopandas
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest
import shapely

from govdata import arrowcache


def _meta(path) -> dict:
    return json.loads(feather.read_table(str(path)).schema.metadata[b"govdata"])


def _round_trip(gdf, path):
    arrowcache.write_frame(gdf, path)
    return arrowcache.read_frame(path)


def _assert_same(back, gdf):
    assert isinstance(back, geopandas.GeoDataFrame)
    assert list(back.columns) == list(gdf.columns) and back.crs == gdf.crs
    assert list(back.geom_type.fillna("missing")) == list(gdf.geom_type.fillna("missing"))
    present = ~pd.isna(np.asarray(gdf.geometry.values, dtype=object))  # not notna(): it warns on empties
    assert (pd.isna(np.asarray(back.geometry.values, dtype=object)) == ~present).all()
    assert back.geometry[present].geom_equals_exact(gdf.geometry[present], tolerance=0).all()
    pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                  pd.DataFrame(gdf.drop(columns="geometry")))


SQUARE = shapely.box(0, 0, 1, 1)
ISLANDS = shapely.MultiPolygon([shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)])
HOLED = shapely.Polygon([(0, 0), (9, 0), (9, 9), (0, 9)], [[(1, 1), (2, 1), (2, 2), (1, 2)]])


def test_mixed_single_and_multi_polygons_round_trip_in_the_ragged_layout(tmp_path):
    gdf = geopandas.GeoDataFrame({"code": ["E1", "E2", "E3"], "n": [1, 2, 3]},
                                 geometry=[SQUARE, ISLANDS, HOLED], crs="EPSG:27700")
    gdf = gdf[["code", "geometry", "n"]]  # geometry not last: its position is kept
    back = _round_trip(gdf, tmp_path / "areas.arrow")
    assert _meta(tmp_path / "areas.arrow")["encoding"] == "ragged"
    _assert_same(back, gdf)


@pytest.mark.parametrize("odd", [None, shapely.Polygon(), shapely.MultiPolygon()], ids=["missing", "empty", "empty-multi"])
def test_missing_and_empty_geometries_are_kept_as_they_were_in_wkb(tmp_path, odd):
    gdf = geopandas.GeoDataFrame({"code": ["E1", "E2", "E3", "E4"]},
                                 geometry=[SQUARE, ISLANDS, odd, HOLED], crs="EPSG:27700")
    back = _round_trip(gdf, tmp_path / "areas.arrow")
    assert _meta(tmp_path / "areas.arrow")["encoding"] == "wkb"
    _assert_same(back, gdf)


def test_points_with_z_round_trip_in_the_ragged_layout(tmp_path):
    gdf = geopandas.GeoDataFrame({"site": ["a", "b"]}, geometry=[shapely.Point(1, 2, 3), shapely.Point(4, 5, 6)],
                                 crs="EPSG:4326")
    back = _round_trip(gdf, tmp_path / "sites.arrow")
    assert _meta(tmp_path / "sites.arrow")["encoding"] == "ragged"
    assert back.geometry.has_z.all()
    _assert_same(back, gdf)


def test_points_mixed_with_polygons_fall_back_to_wkb_and_still_round_trip(tmp_path):
    gdf = geopandas.GeoDataFrame({"kind": ["point", "area"]},
                                 geometry=[shapely.Point(1, 2), shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    back = _round_trip(gdf, tmp_path / "mixed.arrow")
    assert _meta(tmp_path / "mixed.arrow")["encoding"] == "wkb"
    _assert_same(back, gdf)


def test_a_cache_file_written_before_the_ragged_layout_still_reads(tmp_path):
    gdf = geopandas.GeoDataFrame({"code": ["E1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    table = pa.table({"code": ["E1"], "geometry": pa.array(shapely.to_wkb(gdf.geometry.values._data))})
    table = table.replace_schema_metadata({b"govdata": json.dumps({"geometry": "geometry", "crs": "EPSG:4326"})})
    feather.write_feather(table, str(tmp_path / "old.arrow"), compression="uncompressed")
    _assert_same(arrowcache.read_frame(tmp_path / "old.arrow"), gdf)


def test_a_replaced_cache_file_is_read_afresh_not_from_the_table_kept_open(tmp_path):
    target = tmp_path / "table.arrow"
    arrowcache.write_frame(pd.DataFrame({"n": [1, 2, 3]}), target)
    assert arrowcache.read_frame(target)["n"].tolist() == [1, 2, 3]
    staged = tmp_path / "staged.arrow"
    arrowcache.write_frame(pd.DataFrame({"n": [7, 8]}), staged)
    os.replace(staged, target)  # what load() does when it rebuilds a cache file
    assert arrowcache.read_frame(target)["n"].tolist() == [7, 8]


def test_a_frame_read_twice_is_a_new_frame_each_time(tmp_path):
    target = tmp_path / "table.arrow"
    arrowcache.write_frame(pd.DataFrame({"n": [1, 2, 3], "name": ["a", "b", "c"]}), target)
    first = arrowcache.read_frame(target)
    first.loc[0, "n"] = 99
    first.loc[1, "name"] = "changed"
    second = arrowcache.read_frame(target)
    assert second["n"].tolist() == [1, 2, 3] and second["name"].tolist() == ["a", "b", "c"]


def test_a_damaged_cache_file_raises_when_read(tmp_path):
    target = tmp_path / "table.arrow"
    target.write_bytes(b"not an arrow file")
    with pytest.raises(pa.ArrowInvalid):
        arrowcache.read_frame(target)
