"""Geo helpers: join statistics to boundaries by code (with a report of what did not match and why),
points in polygons, and districts dissolved into regions.

Examples
--------
>>> import govdata
>>> imd = govdata.load("imd-2019-lad19")                       # doctest: +SKIP
>>> lads = govdata.load("lad-boundaries-2021")                 # doctest: +SKIP
>>> gdf, report = govdata.join_by_code(imd[imd.index_domain == "Index of Multiple Deprivation"],
...                                    lads, "lad19cd", "LAD21CD")  # doctest: +SKIP
>>> report                                                     # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["JoinReport", "code_cause", "dissolve_to_regions", "join_by_code", "points_in_polygons"]

_ABOLISHED_2021 = {f"E0700000{i}" for i in range(4, 8)} | {f"E07000{i}" for i in range(150, 157)}
_NEW_2021 = {"E06000060": "Buckinghamshire", "E06000061": "North Northamptonshire",
             "E06000062": "West Northamptonshire"}
_NEW_2023 = {"E06000063", "E06000064", "E06000065", "E06000066"}
_ABOLISHED_2023 = ({f"E0700002{i}" for i in range(6, 10)} | {"E07000030", "E07000031"}
                   | {f"E070001{i}" for i in range(63, 69)} | {"E07000187", "E07000188", "E07000189",
                                                            "E07000246", "E10000023", "E10000027", "E10000006"})
_NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
_AGGREGATE = {"E10": "a county", "E11": "a metropolitan county", "E12": "a region", "E92": "a country",
              "W92": "a country", "S92": "a country", "N92": "a country", "K02": "the UK total",
              "K03": "a Great Britain total", "K04": "an England and Wales total"}
_LAD_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")
# numeric fields of the ONS boundary files that are not statistics (never summed into regions)
_BOUNDARY_FIELDS = {"OBJECTID", "FID", "BNG_E", "BNG_N", "LONG", "LAT", "SHAPE_Length", "SHAPE_Area"}


def code_cause(code: str, side: str, other_nations: set[str]) -> str:
    """Guess why ``code`` (on ``side`` "stats" or "boundaries") found no partner in the other table."""
    code = str(code)
    if not re.fullmatch(r"[EWSNK]\d{8}", code):
        return "not an ONS (GSS) code: check the column chosen and strip spaces or suffixes"
    if side == "stats":
        if code[:3] in _AGGREGATE:
            return f"{_AGGREGATE[code[:3]]}, not a district: filter the statistics to districts before joining"
        if code in _ABOLISHED_2021:
            return ("a district abolished on 1 April 2021 (2019 district codes against 2021 boundaries): "
                    "use statistics on 2021 districts, e.g. govdata.load('imd-2019-lad21')")
        if code in _NEW_2023:
            return "a district created in April 2023: the boundaries are older (2021)"
        if code.startswith(_LAD_PREFIXES):
            return "a district code not in these boundaries: the statistics use a different boundary vintage"
        return "a code for another kind of area than the boundaries"
    if code[0] not in other_nations:
        return f"{_NATIONS.get(code[0], code[0])} is not covered by the statistics"
    if code in _NEW_2021:
        return (f"{_NEW_2021[code]} was created on 1 April 2021: the statistics use 2019 district codes "
                "(its predecessor districts), a boundary-vintage mismatch")
    if code in _ABOLISHED_2023:
        return "abolished in April 2023: the statistics use newer (2023) districts"
    if code == "E06000053":
        return "Isles of Scilly: often not published, or merged with Cornwall (E06000052)"
    return "no row for this area in the statistics (missing or suppressed)"


@dataclass
class JoinReport:
    """What matched and what did not, with the likely cause of each mismatch."""

    stats_code: str
    boundary_code: str
    matched: int
    stats_unmatched: pd.DataFrame
    boundaries_unmatched: pd.DataFrame
    duplicated_stats_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every code found a partner and no statistics code repeats."""
        return self.stats_unmatched.empty and self.boundaries_unmatched.empty and not self.duplicated_stats_codes

    def __str__(self) -> str:
        lines = [f"Joined {self.stats_code} to {self.boundary_code}: {self.matched} areas matched."]
        for title, df in (("statistics", self.stats_unmatched), ("boundaries", self.boundaries_unmatched)):
            if not df.empty:
                lines.append(f"{len(df)} codes in the {title} found no partner:")
                for cause, group in df.groupby("cause", sort=False):
                    lines.append(f"  - {len(group)} × {cause}: {', '.join(group['code'].head(8))}"
                                 + (" …" if len(group) > 8 else ""))
        if self.duplicated_stats_codes:
            lines.append(f"{len(self.duplicated_stats_codes)} codes repeat in the statistics (long format?): "
                         "filter to one row per area first, or each area is drawn once per row")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div class='govdata-join-report'><p><strong>{self.matched}</strong> areas matched "
                 f"(<code>{e(self.stats_code)}</code> → <code>{e(self.boundary_code)}</code>).</p>"]
        for title, df in (("statistics", self.stats_unmatched), ("boundaries", self.boundaries_unmatched)):
            if not df.empty:
                parts.append(f"<details open><summary>{len(df)} codes in the {title} found no partner</summary>"
                             f"{df.to_html(index=False, escape=True)}</details>")
        if self.duplicated_stats_codes:
            parts.append(f"<p>{len(self.duplicated_stats_codes)} codes repeat in the statistics: filter to one "
                         "row per area first.</p>")
        return "".join(parts) + "</div>"


def _codes(series: pd.Series) -> pd.Series:
    return series.astype("str").str.strip()


def join_by_code(stats: pd.DataFrame, boundaries, stats_code: str, boundary_code: str):
    """Attach statistics to boundaries by area code, and report the codes that did not match.

    Parameters
    ----------
    stats : pandas.DataFrame
        One row per area (filter long tables first).
    boundaries : geopandas.GeoDataFrame
        Polygons, e.g. ``govdata.load("lad-boundaries-2021")``.
    stats_code, boundary_code : str
        The code column in each table.

    Returns
    -------
    (geopandas.GeoDataFrame, JoinReport)
        Every boundary, with the statistics' columns (missing where no statistics), and the report.
    """
    for name, df, col in (("stats", stats, stats_code), ("boundaries", boundaries, boundary_code)):
        if col not in df.columns:
            raise KeyError(f"{name} has no column {col!r}; its columns are {list(df.columns)}")
    left = boundaries.copy()
    left[boundary_code] = _codes(left[boundary_code])
    right = stats.copy()
    right[stats_code] = _codes(right[stats_code])
    dup = sorted(right.loc[right[stats_code].duplicated(), stats_code].unique())
    b_codes, s_codes = set(left[boundary_code]), set(right[stats_code])
    s_nations = {c[0] for c in s_codes}
    name_col = next((c for c in left.columns if c.upper().endswith("NM") and c != boundary_code), None)
    s_un = sorted(s_codes - b_codes)
    b_un = left[~left[boundary_code].isin(s_codes)]
    stats_unmatched = pd.DataFrame({"code": s_un, "cause": [code_cause(c, "stats", s_nations) for c in s_un]},
                                   columns=["code", "cause"])
    boundaries_unmatched = pd.DataFrame({
        "code": list(b_un[boundary_code]),
        "name": list(b_un[name_col]) if name_col else [""] * len(b_un),
        "cause": [code_cause(c, "boundaries", s_nations) for c in b_un[boundary_code]],
    }, columns=["code", "name", "cause"])
    overlap = [c for c in right.columns if c in left.columns and c != stats_code]
    right = right.drop(columns=[c for c in overlap if c == "geometry"])
    joined = left.merge(right, left_on=boundary_code, right_on=stats_code, how="left",
                        suffixes=("", "_stats"))
    ids = [*boundaries.attrs.get("govdata_ids", []), *stats.attrs.get("govdata_ids", [])]
    joined.attrs["govdata_ids"] = list(dict.fromkeys(ids))
    report = JoinReport(stats_code, boundary_code, len(b_codes & s_codes), stats_unmatched,
                        boundaries_unmatched, dup)
    if not report.ok:
        log.info("govdata.join_by_code: %s", report)
    return joined, report


def points_in_polygons(points, polygons, lon: str = "lon", lat: str = "lat"):
    """Find the polygon each point falls in.

    Parameters
    ----------
    points : pandas.DataFrame or geopandas.GeoDataFrame
        Points; a plain DataFrame needs WGS84 ``lon`` and ``lat`` columns.
    polygons : geopandas.GeoDataFrame
        Areas (made valid before the test, as generalised boundaries often self-intersect).
    lon, lat : str
        Column names of longitude and latitude in a plain DataFrame.

    Returns
    -------
    geopandas.GeoDataFrame
        The points, in their order, with the polygon's columns (missing for points outside every polygon).
    """
    import geopandas

    if not isinstance(points, geopandas.GeoDataFrame):
        missing = [c for c in (lon, lat) if c not in points.columns]
        if missing:
            raise KeyError(f"points has no column(s) {missing}: pass lon=..., lat=... naming its coordinates")
        points = geopandas.GeoDataFrame(points.copy(), geometry=geopandas.points_from_xy(points[lon], points[lat]),
                                        crs="EPSG:4326")
    polys = polygons.copy()
    if polys.crs is not None and points.crs is not None and polys.crs != points.crs:
        polys = polys.to_crs(points.crs)
    polys["geometry"] = polys.geometry.make_valid()
    joined = geopandas.sjoin(points, polys, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]  # a point on a shared border counts once
    return joined.drop(columns=["index_right"], errors="ignore")


def dissolve_to_regions(gdf, code_column: str = "LAD21CD", *, lookup: pd.DataFrame | None = None,
                        aggfunc="sum"):
    """Merge English districts into their regions (9), using ``lad21-region-lookup``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        District polygons with a code column (and any numbers to aggregate).
    code_column : str
        The LAD21 code column in ``gdf``.
    lookup : pandas.DataFrame, optional
        A LAD21CD → RGN21CD/RGN21NM table; default ``govdata.load("lad21-region-lookup")``.
    aggfunc : str or callable
        How numeric columns are combined (default: summed).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per region: ``RGN21CD``, ``RGN21NM``, the dissolved geometry and aggregated numbers.
        Districts outside England (no region) are left out, with a logged warning.
    """
    if lookup is None:
        from .load import load

        lookup = load("lad21-region-lookup")
    if code_column not in gdf.columns:
        raise KeyError(f"gdf has no column {code_column!r}; pass code_column= naming its LAD21 codes")
    lk = lookup[["LAD21CD", "RGN21CD", "RGN21NM"]].astype("str")
    data = gdf.copy()
    data[code_column] = _codes(data[code_column])
    data = data.merge(lk, left_on=code_column, right_on="LAD21CD", how="left", suffixes=("", "_lookup"))
    outside = data["RGN21CD"].isna()
    if outside.any():
        log.warning("dissolve_to_regions: %d areas have no English region (Wales, Scotland, NI or other "
                    "codes) and are left out", int(outside.sum()))
    data = data[~outside]
    data["geometry"] = data.geometry.make_valid()
    numeric = [c for c in data.select_dtypes("number").columns if c not in _BOUNDARY_FIELDS]
    out = data[["RGN21CD", "RGN21NM", *numeric, "geometry"]].dissolve(by=["RGN21CD", "RGN21NM"], aggfunc=aggfunc)
    return out.reset_index()
