"""Provenance: every dataset loaded in this process, and the attribution block to show with results.

Examples
--------
>>> import govdata
>>> df = govdata.load("lad21-region-lookup")  # doctest: +SKIP
>>> print(govdata.attribution())  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading

log = logging.getLogger(__name__)

__all__ = ["Attribution", "attribution", "loaded", "record"]

_lock = threading.Lock()
_loaded: dict[str, dict] = {}


def record(provenance: dict) -> None:
    """Remember ``provenance`` (one dataset's record) and append it to ``$GOVDATA_PROVENANCE_LOG`` if set."""
    with _lock:
        _loaded[provenance["id"]] = dict(provenance)
    path = os.environ.get("GOVDATA_PROVENANCE_LOG")
    if path:
        line = json.dumps(provenance, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            raise OSError(
                f"govdata could not append to the provenance log {path!r} named by GOVDATA_PROVENANCE_LOG "
                f"({exc.strerror}); fix the path or unset the variable"
            ) from exc


def loaded() -> list[dict]:
    """Return one provenance dict per dataset fetched or loaded in this process, in first-use order."""
    with _lock:
        return [dict(p) for p in _loaded.values()]


class Attribution:
    """The attribution block for the datasets used: ``str()``, HTML and Markdown renderings."""

    def __init__(self, records: list[dict]):
        self.records = records

    def __str__(self) -> str:
        if not self.records:
            return "No govdata datasets loaded yet."
        lines = ["Data sources:"]
        for r in self.records:
            lines.append(f"- {r['title']} — {r['publisher']}. {r['licence']}. {r['attribution']}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        if not self.records:
            return "_No govdata datasets loaded yet._"
        lines = ["**Data sources**", ""]
        for r in self.records:
            lines.append(
                f"- {_md(r['title'])}, {_md(r['publisher'])}. [{_md(r['licence'])}]({r['licence_url']}). "
                f"{_md(r['attribution'])}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        if not self.records:
            return "<p>No govdata datasets loaded yet.</p>"
        items = "".join(
            f"<li>{e(r['title'])}, {e(r['publisher'])}. "
            f'<a href="{e(r["licence_url"])}" rel="license">{e(r["licence"])}</a>. {e(r["attribution"])}</li>'
            for r in self.records
        )
        return f'<aside class="govdata-attribution"><h4>Data sources</h4><ul>{items}</ul></aside>'


def _md(text: str) -> str:
    for ch in "\\`*_[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def attribution() -> Attribution:
    """Return the attribution block for every dataset loaded in this process.

    Show it under a notebook or dashboard: it renders as HTML in Jupyter and as Markdown or text elsewhere.
    """
    return Attribution(loaded())
