"""Maps: one call makes an accessible folium choropleth that works with no internet at all.

Leaflet's JavaScript and CSS are inlined from ``govdata/_vendor/leaflet/`` (copied from npm by
``make vendor``), and folium's other default CDN assets (jQuery, Bootstrap, awesome-markers, Font
Awesome) are dropped: a choropleth needs none of them. Tiles are off unless asked for.

Examples
--------
>>> import govdata
>>> imd = govdata.load("imd-2019-lad21")                                   # doctest: +SKIP
>>> gdf, _ = govdata.join_by_code(imd, govdata.load("lad-boundaries-2021"),
...                               "ltla21_code", "LAD21CD")                # doctest: +SKIP
>>> m = govdata.choropleth(gdf, "Score", legend="IMD 2019 average score")  # doctest: +SKIP
>>> m.save("imd.html")                                                     # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PALETTES", "choropleth", "vendor_dir"]

#: Colour-blind-safe sequential palettes (perceptually uniform; readable in greyscale), dark to light.
PALETTES = {
    "viridis": ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"],
    "cividis": ["#00224e", "#123570", "#3b496c", "#575d6d", "#707173", "#8a8779", "#a69d75", "#c4b56c", "#fee838"],
}
NO_DATA = "#d9d9d9"


def vendor_dir() -> Path:
    """The folder holding Leaflet's files (produced at install by ``make vendor``)."""
    return Path(str(resources.files(__package__).joinpath("_vendor", "leaflet")))


@lru_cache(maxsize=1)
def _leaflet_assets() -> tuple[str, str]:
    folder = vendor_dir()
    js, css = folder / "leaflet.js", folder / "leaflet.css"
    if not (js.exists() and css.exists()):
        raise FileNotFoundError(
            f"Leaflet is missing from {folder}: govdata maps inline it so they work offline. "
            "Run `make vendor` in the Government Backstage repository (it copies Leaflet from node_modules)."
        )

    def data_uri(match: re.Match) -> str:
        image = folder / match.group(1)
        if not image.exists():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"

    css_text = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css.read_text("utf-8"))
    js_text = re.sub(r"//# sourceMappingURL=\S+", "", js.read_text("utf-8")).replace("</script", "<\\/script")
    css_text = re.sub(r"/\*# sourceMappingURL=\S+ \*/", "", css_text)
    return js_text, css_text


def _classify(values: pd.Series, k: int, scheme: str) -> tuple[np.ndarray, list[float]]:
    import mapclassify

    valid = values.dropna().astype(float)
    k = max(1, min(k, valid.nunique()))
    schemes = {"quantiles": mapclassify.Quantiles, "naturalbreaks": mapclassify.NaturalBreaks,
               "equalinterval": mapclassify.EqualInterval}
    key = scheme.lower().replace("_", "").replace(" ", "")
    if key not in schemes:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {sorted(schemes)}")
    classifier = schemes[key](valid.to_numpy(), k=k)
    bins = [float(b) for b in classifier.bins]
    classes = np.full(len(values), -1)
    classes[values.notna().to_numpy()] = classifier.yb
    return classes, bins


def _colours(palette: str | list[str], k: int) -> list[str]:
    stops = PALETTES[palette] if isinstance(palette, str) else list(palette)
    if k == 1:
        return [stops[len(stops) // 2]]
    return [stops[round(i * (len(stops) - 1) / (k - 1))] for i in range(k)]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def choropleth(gdf, column: str, *, tooltip: list[str] | None = None, legend: str | None = None,
               tiles: bool | str = False, tiles_attribution: str | None = None, k: int = 5,
               scheme: str = "quantiles", palette: str | list[str] = "viridis", attribution: str | None = None,
               width: str = "100%", height: str = "500px", precision: int = 5):
    """Draw a choropleth of ``gdf[column]`` as a :class:`folium.Map` that needs no internet.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons in any CRS (drawn in WGS84), e.g. the first result of :func:`govdata.join_by_code`.
    column : str
        The numeric column to colour by; missing values are drawn grey and listed as "No data".
    tooltip : list of str, optional
        Columns shown on hover (default: a name column, if any, and ``column``).
    legend : str, optional
        The legend's title (default: ``column``).
    tiles : bool or str
        ``False`` (default) draws no background map; ``True`` adds OpenStreetMap tiles (from the
        network); a tile URL template adds that layer (a local tile server, say) with ``tiles_attribution``.
    k, scheme, palette
        Number of classes, ``"quantiles"``, ``"naturalbreaks"`` or ``"equalinterval"``, and a
        colour-blind-safe palette (``"viridis"``, ``"cividis"``) or a list of colours.
    attribution : str, optional
        The data attribution shown on the map (default: the catalog attribution of the govdata datasets
        the frame came from, or of every dataset loaded in this process).
    precision : int
        Decimal places kept in the map's coordinates: 5 (about 1 m) is finer than any screen shows and
        makes the page about half the size of full precision, so it opens faster, in a dashboard too.

    Returns
    -------
    folium.Map
        With a legend, tooltips and the attribution; ``m.save("map.html")`` writes one self-contained file.
    """
    import folium
    from branca.element import Element, MacroElement
    from jinja2 import Template

    if column not in gdf.columns:
        raise KeyError(f"gdf has no column {column!r}; its columns are {list(gdf.columns)}")
    values = pd.to_numeric(gdf[column], errors="coerce")
    if values.notna().sum() == 0:
        raise ValueError(f"column {column!r} has no numeric values to colour by")
    js, css = _leaflet_assets()
    data = gdf.to_crs("EPSG:4326") if gdf.crs is not None and str(gdf.crs) != "EPSG:4326" else gdf
    name_col = next((c for c in data.columns if c.upper().endswith("NM") or c.lower() == "name"), None)
    tooltip = list(tooltip) if tooltip else [c for c in (name_col, column) if c]
    missing = [c for c in tooltip if c not in data.columns]
    if missing:
        raise KeyError(f"tooltip columns {missing} are not in gdf")
    classes, bins = _classify(values, k, scheme)
    colours = _colours(palette, len(bins))
    import geopandas

    props = pd.DataFrame(index=data.index)
    for col in dict.fromkeys(tooltip):
        # Leaflet tooltips insert values as HTML: text is escaped here so data cannot inject markup
        props[col] = [None if pd.isna(v) else (v if isinstance(v, int | float) else html.escape(str(v)))
                      for v in data[col].astype(object)]
    props["_fill"] = [colours[c] if c >= 0 else NO_DATA for c in classes]
    import shapely

    rounded = shapely.transform(data.geometry.values, lambda xy: xy.round(precision))
    layer_data = geopandas.GeoDataFrame(props, geometry=rounded, crs="EPSG:4326")

    m = folium.Map(location=None, tiles=None, width=width, height=height, control_scale=True)
    m.default_js, m.default_css = [], []  # no CDN: Leaflet is inlined below, the rest is not needed
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    if tiles is True:  # opt-in OpenStreetMap background (images from the network; the map still draws without)
        tiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        tiles_attribution = tiles_attribution or "© OpenStreetMap contributors"
    if tiles:
        if not tiles_attribution:
            raise ValueError("a tile layer needs tiles_attribution= (the tile provider's required credit)")
        folium.TileLayer(tiles=tiles, attr=tiles_attribution).add_to(m)
    aliases = [str(c) for c in tooltip]
    folium.GeoJson(
        layer_data.to_json(na="null"),
        name=legend or column,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#ffffff", "weight": 0.5,
                                  "fillOpacity": 0.85},
        highlight_function=lambda f: {"weight": 2.5, "color": "#0b0c0c"},
        tooltip=folium.GeoJsonTooltip(fields=list(dict.fromkeys(tooltip)), aliases=aliases, localize=True),
    ).add_to(m)
    minx, miny, maxx, maxy = (round(float(v), precision) for v in data.total_bounds)
    m.fit_bounds([[miny, minx], [maxy, maxx]])

    lower = [float(values.min()), *bins[:-1]]
    rows = "".join(
        f'<li><span style="background:{c};display:inline-block;width:1.2em;height:1em;margin-right:.4em;'
        f'border:1px solid #505a5f" aria-hidden="true"></span>{html.escape(_fmt(lo))} – {html.escape(_fmt(hi))}</li>'
        for c, lo, hi in zip(colours, lower, bins, strict=True)
    )
    if (classes < 0).any():
        rows += (f'<li><span style="background:{NO_DATA};display:inline-block;width:1.2em;height:1em;'
                 'margin-right:.4em;border:1px solid #505a5f" aria-hidden="true"></span>No data</li>')
    legend_html = (f'<div class="govdata-legend" role="region" aria-label="Legend" style="background:#fff;'
                   f'padding:6px 8px;font:14px/1.4 Arial,sans-serif;color:#0b0c0c;border:1px solid #b1b4b6">'
                   f'<strong>{html.escape(legend or column)}</strong>'
                   f'<ul style="list-style:none;margin:4px 0 0;padding:0">{rows}</ul></div>')
    credit = html.escape(attribution if attribution is not None else _default_attribution(gdf))
    extra = MacroElement()
    extra._template = Template(
        "{% macro script(this, kwargs) %}\n"
        "(function(map){\n"
        "  var legend = L.control({position: 'bottomright'});\n"
        "  legend.onAdd = function(){ var d = L.DomUtil.create('div'); d.innerHTML = "
        + json.dumps(legend_html) + "; return d; };\n"
        "  legend.addTo(map);\n"
        "  map.attributionControl.addAttribution(" + json.dumps(credit) + ");\n"
        "})({{ this._parent.get_name() }});\n"
        "{% endmacro %}"
    )
    m.add_child(extra)
    return m


def _default_attribution(gdf) -> str:
    from .catalog import info
    from .provenance import loaded

    ids = gdf.attrs.get("govdata_ids") if hasattr(gdf, "attrs") else None
    if ids:
        texts = [info(i).attribution for i in ids]
    else:
        texts = [r["attribution"] for r in loaded()]
    return " | ".join(dict.fromkeys(texts))
