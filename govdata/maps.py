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
        The data attribution, printed once under the map with the legend, never over the polygons
        (default: the catalog attribution of the govdata datasets the frame came from, or of every
        dataset loaded in this process).
    width, height : str
        The map's box in a notebook or dashboard (an iframe; legend and credits included), e.g.
        ``height="400px"``. The map always fits the data's bounds to what is left of that box above
        the legend and credits, and fits them again when the box changes size (a phone turned), until
        the reader pans or zooms. Saved with ``m.save()``, the map fills the browser window.
    precision : int
        Decimal places kept in the map's coordinates: 5 (about 1 m) is finer than any screen shows and
        makes the page about half the size of full precision, so it opens faster, in a dashboard too.

    Returns
    -------
    folium.Map
        With tooltips, and a legend and the credits under it; ``m.save("map.html")`` writes one
        self-contained file.
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

    m = folium.Map(location=None, tiles=None, width="100%", height="100%", attribution_control=False,
                   zoom_snap=0.25)
    m.default_js, m.default_css = [], []  # no CDN: Leaflet is inlined below, the rest is not needed
    figure = _map_figure_class()(width=width, height=height)
    figure.map_title = legend or column
    figure.add_child(m)
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    header.add_child(Element(f"<style>{_LAYOUT_CSS}</style>"), name="govdata_layout")
    credits = [attribution if attribution is not None else _default_attribution(gdf)]
    if tiles is True:  # opt-in OpenStreetMap background (images from the network; the map still draws without)
        tiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        tiles_attribution = tiles_attribution or "© OpenStreetMap contributors"
    if tiles:
        if not tiles_attribution:
            raise ValueError("a tile layer needs tiles_attribution= (the tile provider's required credit)")
        folium.TileLayer(tiles=tiles, attr=tiles_attribution).add_to(m)
        credits.append(f"Map tiles: {tiles_attribution}")
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

    lower = [float(values.min()), *bins[:-1]]
    swatch = ('<span style="background:{};display:inline-block;width:1.2em;height:1em;margin-right:.3em;'
              'vertical-align:-.1em;border:1px solid #505a5f" aria-hidden="true"></span>')
    rows = "".join(f"<li>{swatch.format(c)}{html.escape(_fmt(lo))} – {html.escape(_fmt(hi))}</li>"
                   for c, lo, hi in zip(colours, lower, bins, strict=True))
    if (classes < 0).any():
        rows += f"<li>{swatch.format(NO_DATA)}No data</li>"
    below = (f'<div class="govdata-below"><div class="govdata-legend" role="region" aria-label="Legend">'
             f'<strong>{html.escape(legend or column)}</strong><ul>{rows}</ul></div>'
             f'<p class="govdata-credits">{html.escape(" | ".join(c for c in credits if c))}</p></div>')
    extra = MacroElement()  # its html follows the map's div; its script runs once the map exists
    extra.below_html, extra.bounds = below, json.dumps([[miny, minx], [maxy, maxx]])
    extra._template = Template(
        "{% macro html(this, kwargs) %}{{ this.below_html }}{% endmacro %}\n"
        "{% macro script(this, kwargs) %}\n" + _FIT_SCRIPT
        + "({{ this._parent.get_name() }}, {{ this.bounds }});\n{% endmacro %}"
    )
    m.add_child(extra)
    return m


#: The map fills the page (or the notebook's frame) above its legend and credits, never under them.
_LAYOUT_CSS = """
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 14px/1.4 Arial, sans-serif; color: #0b0c0c; }
body > .folium-map { flex: 1 1 0; min-height: 0; height: auto !important; }
.govdata-below { flex: none; padding: 4px 8px; border-top: 1px solid #b1b4b6; background: #fff; }
.govdata-legend ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0 1em; margin: 2px 0 0; padding: 0; }
.govdata-credits { margin: 4px 0 0; font-size: 12px; color: #505a5f; }
"""

#: Fit the data's bounds to the map's box when it is drawn and whenever that box changes size (a phone
#: turned, a notebook column resized, a dashboard shown), until the reader pans or zooms themselves.
_FIT_SCRIPT = """(function(map, box){
  var bounds = L.latLngBounds(box), moved = false, fitting = false;
  function fit(){
    if (!map.getSize().x || !map.getSize().y) return;
    fitting = true;
    map.fitBounds(bounds, {animate: false, padding: [4, 4]});
    fitting = false;
  }
  map.on("dragstart", function(){ moved = true; });
  map.on("zoomstart", function(){ if (!fitting) moved = true; });
  map.govdataBounds = bounds;
  fit();
  if (window.ResizeObserver) {
    new ResizeObserver(function(){ map.invalidateSize({pan: false}); if (!moved) fit(); })
      .observe(map.getContainer());
  }
})"""


@lru_cache(maxsize=1)
def _map_figure_class():
    from branca.element import Figure

    class MapFigure(Figure):
        """A page for one map; in a notebook, an iframe of a set height (not folium's 60%-of-width box,
        which on a phone is shorter than the map inside it, so only the top of the country showed)."""

        map_title = ""

        def _repr_html_(self, **kwargs) -> str:
            page = html.escape(self.render(**kwargs))
            return (f'<iframe srcdoc="{page}" title="{html.escape(f"Map: {self.map_title}")}" '
                    f'style="width:{html.escape(self.width)};height:{html.escape(self.height)};border:none;'
                    'display:block" allowfullscreen></iframe>')

    return MapFigure


def _default_attribution(gdf) -> str:
    from .catalog import info
    from .provenance import loaded

    ids = gdf.attrs.get("govdata_ids") if hasattr(gdf, "attrs") else None
    if ids:
        texts = [info(i).attribution for i in ids]
    else:
        texts = [r["attribution"] for r in loaded()]
    return " | ".join(dict.fromkeys(texts))
