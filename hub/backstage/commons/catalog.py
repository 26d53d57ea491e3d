"""Dataset ids checked against the govdata catalog, and what a page shows of each (title, licence)."""

from __future__ import annotations

import govdata
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
