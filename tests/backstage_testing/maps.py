"""Measuring a rendered govdata map with the DOM (Leaflet's container, the drawn polygons, the credits box).

Used by the map tests and the participant's journey: run :data:`FITTED` with ``wait_for_function`` in the
map's frame, then :func:`check_fits` on what :data:`MEASURE` returns.
"""

from __future__ import annotations

_PATHS = """[...document.querySelectorAll("path.leaflet-interactive")]"""
_MAP = "Object.values(window).find(v => v && v._container && v.getBounds && v.govdataBounds)"

#: True once the map's view holds the data's bounds and Leaflet has drawn every polygon (it empties
#: the paths it clips away to "M0 0"): poll it to a deadline after a resize.
FITTED = f"""() => {{ const map = {_MAP};
  return !!map && map.getSize().y > 0 && map.getBounds().contains(map.govdataBounds)
    && {_PATHS}.every(p => p.getAttribute("d") !== "M0 0"); }}"""

#: Boxes (left, top, right, bottom in the frame's CSS pixels) and facts about the rendered map.
MEASURE = f"""() => {{
  const box = e => {{ const r = e.getBoundingClientRect(); return {{l: r.left, t: r.top, r: r.right, b: r.bottom}}; }};
  const paths = {_PATHS}.filter(p => p.getAttribute("d") !== "M0 0").map(box);
  const map = {_MAP};
  return {{
    container: box(document.querySelector(".leaflet-container")),
    drawn: {{l: Math.min(...paths.map(p => p.l)), t: Math.min(...paths.map(p => p.t)),
             r: Math.max(...paths.map(p => p.r)), b: Math.max(...paths.map(p => p.b))}},
    credits: box(document.querySelector(".govdata-credits")),
    page: {{l: 0, t: 0, r: innerWidth, b: innerHeight}},
    contains: map.getBounds().contains(map.govdataBounds),
    polygons: paths.length,
    text: document.body.innerText,
  }};
}}"""


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    """Whether box ``inner`` lies within box ``outer`` (to ``slack`` pixels)."""
    return (inner["l"] >= outer["l"] - slack and inner["t"] >= outer["t"] - slack
            and inner["r"] <= outer["r"] + slack and inner["b"] <= outer["b"] + slack)


def overlap(a: dict, b: dict) -> bool:
    """Whether boxes ``a`` and ``b`` share any area."""
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def check_fits(measured: dict) -> None:
    """Assert the map shows all its data, inside its container, with the credits neither over it nor far below."""
    assert measured["contains"], "the map's view holds the data's bounds"
    assert inside(measured["drawn"], measured["container"]), (measured["drawn"], measured["container"])
    assert not overlap(measured["credits"], measured["drawn"]), "the credits are not over the polygons"
    assert not overlap(measured["credits"], measured["container"]), "the credits are under the map, not on it"
    assert measured["page"]["b"] - measured["credits"]["b"] < 40, "no empty space under the credits"
