"""Dataset ids checked against the govdata catalog, and what a page shows of each (title, licence); hack-day kits
checked against ``starter_kits/``."""

from __future__ import annotations

import difflib
from urllib.parse import quote

import govdata
from backstage.kits.catalog import find_kit, kit_names
from backstage.kits.errors import KitError
from govdata.errors import UnknownDatasetError

from .store import CommonsError


def check_datasets(ids) -> list[str]:
    """The ids, each a govdata catalog id; otherwise a 400 naming every unknown id with its near matches."""
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise CommonsError('"datasets" must be a list of govdata catalog ids, e.g. ["imd-2019-lad21"]')
    problems = []
    for dataset_id in ids:
        try:
            govdata.info(dataset_id)
        except UnknownDatasetError as e:
            problems.append(str(e))
    if problems:
        raise CommonsError("unknown dataset id: " + " ".join(problems))
    return list(dict.fromkeys(ids))


def catalog_choices() -> list[dict]:
    """Every dataset of the catalog (id, title, publisher), for the challenge form: no one needs a lab to find an id."""
    return [{"id": i, "title": govdata.info(i).title, "publisher": govdata.info(i).publisher}
            for i in govdata.datasets()]


def describe(ids: list[str]) -> list[dict]:
    """Title, publisher and licence (from the catalog) of each dataset id."""
    out = []
    for dataset_id in ids:
        try:
            info = govdata.info(dataset_id)
        except UnknownDatasetError:
            out.append({"id": dataset_id, "title": dataset_id, "publisher": "", "licence": "not in the catalog any more",
                        "licence_url": ""})
            continue
        out.append({"id": dataset_id, "title": info.title, "publisher": info.publisher, "licence": info.licence,
                    "licence_url": info.licence_url})
    return out


def check_kit(name: str | None) -> str | None:
    """*name* if it is a hack-day kit of this lab (or None for no kit); else a 400 with the nearest names."""
    if not name:
        return None
    names = kit_names()
    if name not in names:
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        raise CommonsError(f"there is no hack-day kit called {name!r}.{hint} Kits: {', '.join(names) or 'none'}")
    return name


def describe_kit(name: str | None, hub_url: str) -> dict | None:
    """The kit's title, and a link that opens its first notebook in the viewer's own lab (no internet needed)."""
    if not name:
        return None
    try:
        kit = find_kit(name)
    except KitError:
        return {"name": name, "title": name, "open_url": None}
    first = (kit.spec.get("notebooks") or [None])[0]
    return {"name": name, "title": kit.title,
            "open_url": f"{hub_url}user-redirect/lab/tree/{quote(first)}" if first else None}
