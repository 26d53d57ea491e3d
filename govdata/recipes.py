"""Tidy-up recipes: how each source file becomes an analysis-ready table.

Every recipe has a version. The parsed result is cached under the source's sha256 and the recipe's
version, so changing a recipe means bumping its version here, and old cached results are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["RECIPES", "recipe_version", "run_recipe"]

LoadOther = Callable[[str], pd.DataFrame]


def _tidy_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Text as pandas' (Arrow-backed) ``str``, never ``object``.

    Categoricals were tried for repetitive text and dropped: rebuilding them on every warm load cost
    more (~15 ms for STATS19) than parsing the CSV saved, while Arrow strings load zero-copy.
    """
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].astype("str")
    return df


def read_csv(path: Path, entry, options: dict, load_other: LoadOther) -> pd.DataFrame:
    """A CSV read with its encoding (BOM-aware), codes as strings, dates as datetimes (``dates`` option)."""
    dtype = {c: "str" for c in [*entry.key_columns, *options.get("string_columns", [])]}
    df = pd.read_csv(path, encoding=entry.encoding, dtype=dtype, parse_dates=options.get("dates") or False)
    df.columns = [c.strip() for c in df.columns]
    return _tidy_dtypes(df)


def read_geo(path: Path, entry, options: dict, load_other: LoadOther):
    """A GeoJSON file as a GeoDataFrame in WGS84 (EPSG:4326), codes as strings."""
    import geopandas

    gdf = geopandas.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    for col in entry.key_columns:
        gdf[col] = gdf[col].astype("str")
    return gdf


def aurn_open_columns(path: Path, entry, options: dict, load_other: LoadOther) -> pd.DataFrame:
    """AURN sites: keep only the open columns of the original (drop the unnamed index, and Address and
    Postcode, which were made with the Google Geocoding API and are not open data); round coordinates to
    6 dp. A mirror's open-columns copy (``defra_aurn_sites_2020.csv``) passes through the same steps."""
    raw = pd.read_csv(path, dtype={"UK-AIR ID": "str", "uk_air_id": "str"})
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed") or c == ""], errors="ignore")
    raw = raw.drop(columns=["Address", "Postcode"], errors="ignore")
    raw = raw.rename(columns=lambda c: c.strip().lower().replace("-", "_").replace(" ", "_"))
    df = raw[["uk_air_id", "site_name", "environment_type", "latitude", "longitude"]].copy()
    df["latitude"] = df["latitude"].round(6)
    df["longitude"] = df["longitude"].round(6)
    df["site_name"] = df["site_name"].astype("str")
    return df


def _mye_sheet(path: Path, sheet: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns that xlrd is deprecated; it is what reads .xls
        df = pd.read_excel(path, sheet_name=sheet, header=7, engine="xlrd")
    df.columns = [str(c).strip() for c in df.columns]
    return df.set_index("Code")


def _round(s: pd.Series, places: int) -> pd.Series:
    """Round each value exactly (Python's ``round``: 39.045 -> 39.05, since the stored binary value is just
    above the half); numpy's ``round`` scales first and gets such values wrong."""
    return s.map(lambda v: round(float(v), places) if pd.notna(v) else v).astype("float64")


def ons_population_workbook(path: Path, entry, options: dict, load_other: LoadOther) -> pd.DataFrame:
    """ONS mid-2021 population workbook to one tidy row per area (420 areas: LADs, counties, regions,
    countries): totals by sex, three age bands summed from single years, area and density, 2011 and 2001
    totals and median age."""
    persons = _mye_sheet(path, "MYE2 - Persons")
    females = _mye_sheet(path, "MYE2 - Females")
    males = _mye_sheet(path, "MYE2 - Males")
    mye4 = _mye_sheet(path, "MYE4")
    mye5 = _mye_sheet(path, "MYE 5")
    mye6 = _mye_sheet(path, "MYE 6")
    ages = [c for c in persons.columns if re.fullmatch(r"\d+\+?", c)]
    age = {c: int(c.rstrip("+")) for c in ages}
    band = lambda lo, hi: persons[[c for c in ages if lo <= age[c] <= hi]].sum(axis=1)  # noqa: E731
    out = pd.DataFrame(
        {
            "code": persons.index.astype("str"),
            "name": persons["Name"].astype("str").str.strip(),
            "geography": persons["Geography"].astype("str").str.strip(),
            "population_mid2021": persons["All ages"],
            "females_mid2021": females["All ages"].reindex(persons.index),
            "males_mid2021": males["All ages"].reindex(persons.index),
            "aged_0_15": band(0, 15),
            "aged_16_64": band(16, 64),
            "aged_65_plus": band(65, 200),
            "area_sq_km": _round(mye5["Area (sq km)"].reindex(persons.index), 2),
            "people_per_sq_km_2021": _round(mye5["2021 people per sq. km"].reindex(persons.index), 1),
            "population_mid2011": mye4["Mid-2011"].reindex(persons.index),
            "population_mid2001": mye4["Mid-2001"].reindex(persons.index),
            "median_age_mid2021": _round(mye6["Mid-2021"].reindex(persons.index), 2),
        }
    ).reset_index(drop=True)
    counts = [c for c in out.columns if c.startswith(("population", "females", "males", "aged"))]
    out[counts] = out[counts].round().astype("int64")
    return out


def _norm_name(name: str) -> str:
    name = name.lower().replace("&", " and ")
    name = re.sub(r"\bcity of\b|\bcounty of\b", " ", name)
    name = re.sub(r"[^a-z0-9 ]", " ", name)
    return " ".join(name.split())


def ukhpi_with_codes(path: Path, entry, options: dict, load_other: LoadOther) -> pd.DataFrame:
    """Land Registry UK HPI summary (Latin-1, "£351112", "13.1%") with ONS codes and numbers.

    Names are matched (case, "&", "City of", ", County of" and punctuation ignored) to the English areas
    of the ONS population workbook (April 2021 geography). The 7 Northamptonshire districts abolished on
    1 April 2021 take their LAD19 codes from ``imd-2019-lad19``; Northamptonshire county takes E10000021.
    """
    raw = pd.read_csv(path, encoding="latin-1", dtype="str")
    raw.columns = [c.strip() for c in raw.columns]
    pop = load_other("ons-population-mid2021")
    pop = pop[pop["code"].str.startswith("E") & ~pop["geography"].isin(["Region", "Metropolitan County"])]
    by_name = {_norm_name(n): (c, str(g), "2021 (April 2021 geography)")
               for c, n, g in zip(pop["code"], pop["name"], pop["geography"], strict=True)}
    imd19 = load_other("imd-2019-lad19")
    northants = imd19[imd19["lad19cd"].str.startswith("E0700015")].drop_duplicates("lad19cd")
    old = "2019/2020 (pre-April 2021 geography)"
    for code, name in zip(northants["lad19cd"], northants["lad19nm"], strict=True):
        by_name.setdefault(_norm_name(str(name)), (code, "Non-metropolitan District (abolished 1 April 2021)", old))
    by_name.setdefault("northamptonshire", ("E10000021", "County (abolished 1 April 2021)", old))
    names = raw["Local authorities"].str.strip()
    matched = [by_name.get(_norm_name(n)) for n in names]
    missing = [n for n, m in zip(names, matched, strict=True) if m is None]
    if missing:
        raise ValueError(f"ukhpi recipe: no ONS code for {missing}; the recipe needs a new name rule")
    money = lambda s: pd.to_numeric(s.str.replace(r"[£,\s]", "", regex=True)).astype("int64")  # noqa: E731
    return pd.DataFrame(
        {
            "area_code": [m[0] for m in matched],
            "area_name_land_registry": names,
            "geography": [m[1] for m in matched],
            "code_vintage": [m[2] for m in matched],
            "average_price_2021_03": money(raw["March 2021"]),
            "average_price_2020_03": money(raw["March 2020"]),
            "annual_change_pct": pd.to_numeric(raw["Difference"].str.rstrip("%")),
        }
    ).astype({"area_code": "str", "area_name_land_registry": "str", "geography": "str", "code_vintage": "str"})


#: name -> (version, function). Bump a version whenever its output changes.
RECIPES: dict[str, tuple[int, Callable]] = {
    "csv": (2, read_csv),
    "geojson": (1, read_geo),
    "aurn-open-columns": (2, aurn_open_columns),
    "ons-population-workbook": (2, ons_population_workbook),
    "ukhpi-with-codes": (2, ukhpi_with_codes),
}


def recipe_version(entry) -> str:
    """The cache key part that changes whenever the recipe's code or options change."""
    name = entry.recipe["name"]
    opts = entry.recipe.get("options", {})
    suffix = hashlib.sha256(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:8] if opts else ""
    return f"{name}-v{RECIPES[name][0]}" + (f"-{suffix}" if suffix else "")


def run_recipe(path: Path, entry, load_other: LoadOther):
    """Apply the entry's recipe to its fetched source file."""
    name = entry.recipe["name"]
    return RECIPES[name][1](path, entry, entry.recipe.get("options", {}), load_other)
