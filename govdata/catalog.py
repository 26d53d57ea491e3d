"""The catalog: data (``catalog.json``, validated by ``catalog.schema.json``) plus forgiving lookups.

Examples
--------
>>> import govdata
>>> "imd-2019-lad21" in govdata.datasets("deprivation")
True
>>> govdata.info("lad-boundaries-2021").geometry_type
'MultiPolygon'
"""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import pandas as pd

from .errors import UnknownDatasetError

__all__ = ["DatasetInfo", "DatasetList", "catalog_entries", "datasets", "info", "schema"]

_SEARCH_FIELDS = ("id", "title", "description", "publisher", "keywords", "columns")


@lru_cache(maxsize=1)
def _raw_catalog() -> dict:
    return json.loads(resources.files(__package__).joinpath("catalog.json").read_text("utf-8"))


def schema() -> dict:
    """Return the JSON Schema that every catalog entry follows."""
    return json.loads(resources.files(__package__).joinpath("catalog.schema.json").read_text("utf-8"))


@dataclass(frozen=True)
class DatasetInfo:
    """One catalog entry: what the data is, who publishes it, its licence and where it comes from."""

    id: str
    title: str
    description: str
    publisher: str
    licence: str
    licence_url: str
    attribution: str
    vintage: str
    url: str
    sha256: str
    size: int
    format: str
    file: str
    columns: list[str]
    key_columns: list[str]
    geometry_type: str | None
    rows: int
    recipe: dict
    keywords: list[str] = field(default_factory=list)
    official_source: str = ""
    caveats: list[str] = field(default_factory=list)
    mirror_distributions: list[dict] = field(default_factory=list)
    encoding: str = "utf-8"
    requires: list[str] = field(default_factory=list)

    @classmethod
    def from_entry(cls, entry: dict) -> DatasetInfo:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in entry.items() if k in known})

    def provenance(self) -> dict:
        """The record written for every load: id, title, sha256, licence, publisher, attribution, url."""
        return {
            "id": self.id,
            "title": self.title,
            "sha256": self.sha256,
            "licence": self.licence,
            "licence_url": self.licence_url,
            "publisher": self.publisher,
            "attribution": self.attribution,
            "url": self.url,
        }

    def __repr__(self) -> str:
        return f"<DatasetInfo {self.id!r}: {self.title} ({self.publisher}, {self.licence})>"

    def _repr_html_(self) -> str:
        e = html.escape
        rows = [
            ("Publisher", e(self.publisher)),
            ("Licence", f'<a href="{e(self.licence_url)}" rel="license">{e(self.licence)}</a>'),
            ("Attribution", e(self.attribution)),
            ("Vintage", e(self.vintage)),
            ("Rows × columns", f"{self.rows:,} × {len(self.columns)}"),
            ("Key columns", e(", ".join(self.key_columns))),
            ("Geometry", e(self.geometry_type or "none (a table)")),
            ("Source", f'<a href="{e(self.url)}">{e(self.file)}</a> ({self.size:,} bytes, {e(self.format)})'),
            ("sha256", f"<code>{e(self.sha256)}</code>"),
            ("Columns", e(", ".join(self.columns))),
        ]
        body = "".join(f'<tr><th scope="row" style="text-align:left">{k}</th><td>{v}</td></tr>' for k, v in rows)
        caveats = "".join(f"<li>{e(c)}</li>" for c in self.caveats)
        return (
            f'<div class="govdata-info"><h3>{e(self.title)} <code>{e(self.id)}</code></h3>'
            f"<p>{e(self.description)}</p><table>{body}</table>"
            + (f"<details><summary>Caveats</summary><ul>{caveats}</ul></details>" if caveats else "")
            + "</div>"
        )


@lru_cache(maxsize=1)
def _entries() -> dict[str, DatasetInfo]:
    return {e["id"]: DatasetInfo.from_entry(e) for e in _raw_catalog()["datasets"]}


def catalog_entries() -> list[DatasetInfo]:
    """Every catalog entry, in catalog order."""
    return list(_entries().values())


def info(id: str) -> DatasetInfo:  # noqa: A002 - the public name is part of the contract
    """Describe one dataset.

    Parameters
    ----------
    id : str
        A catalog id such as ``"imd-2019-lad21"``; case and ``_``/``-`` differences are forgiven.

    Raises
    ------
    UnknownDatasetError
        If the id is not in the catalog; the message lists the nearest ids.
    """
    entries = _entries()
    if not isinstance(id, str):
        raise UnknownDatasetError(f"a dataset id is a string such as 'imd-2019-lad21', not {id!r}")
    key = id.strip().lower().replace("_", "-").replace(" ", "-")
    if key in entries:
        return entries[key]
    near = difflib.get_close_matches(key, list(entries), n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    raise UnknownDatasetError(
        f"No dataset {id!r} in the govdata catalog.{hint} "
        "List every id with govdata.datasets(), or search with govdata.datasets('words')."
    )


class DatasetList:
    """The result of :func:`datasets`: iterates over ids, shows a table in a notebook."""

    def __init__(self, items: list[DatasetInfo], query: str | None = None):
        self._items = list(items)
        self.query = query

    def __iter__(self):
        return (item.id for item in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, id: object) -> bool:  # noqa: A002
        return any(item.id == id for item in self._items)

    def __getitem__(self, key: int | str) -> DatasetInfo:
        if isinstance(key, int):
            return self._items[key]
        for item in self._items:
            if item.id == key:
                return item
        raise UnknownDatasetError(f"{key!r} is not in this listing; try govdata.info({key!r})")

    def to_frame(self) -> pd.DataFrame:
        """The listing as a DataFrame indexed by id."""
        cols = ["id", "title", "publisher", "licence", "vintage", "rows", "geometry_type"]
        return pd.DataFrame([{c: getattr(i, c) for c in cols} for i in self._items], columns=cols).set_index("id")

    def __repr__(self) -> str:
        if not self._items:
            return f"No datasets match {self.query!r}."
        return self.to_frame().to_string()

    def _repr_html_(self) -> str:
        if not self._items:
            return f"<p>No datasets match <code>{html.escape(str(self.query))}</code>.</p>"
        return self.to_frame().to_html(escape=True)


def datasets(query: str | None = None) -> DatasetList:
    """List the catalog, or search it.

    Parameters
    ----------
    query : str, optional
        Words to look for (every word must appear, case-insensitively) in ids, titles, descriptions,
        publishers, keywords and column names.

    Returns
    -------
    DatasetList
        Iterates over matching ids; renders as a table in a notebook; ``.to_frame()`` gives a DataFrame.

    Examples
    --------
    >>> import govdata
    >>> list(govdata.datasets("election results"))
    ['ge2024-results']
    """
    items = catalog_entries()
    if query:
        words = query.lower().split()

        def text(item: DatasetInfo) -> str:
            parts = [getattr(item, f) for f in _SEARCH_FIELDS]
            return " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in parts).lower()

        items = [i for i in items if all(w in text(i) for w in words)]
    return DatasetList(items, query)
