"""govdata: real UK open data in one line, verified, cached and ready offline.

Every dataset in the catalog has a pinned public URL and sha256, a licence and the exact attribution
text; ``load()`` fetches it once (through pooch, verified), tidies it with a versioned recipe and caches
the parsed table (Arrow IPC), so the next load takes milliseconds.

Settings (read when used, never at import):

- ``GOVDATA_MIRROR``: a folder or ``http(s)://`` base URL holding the catalog files (hack days, no wifi);
- ``GOVDATA_CACHE``: the cache folder (default: the user cache folder, ``pooch.os_cache("govdata")``);
- ``GOVDATA_PROVENANCE_LOG``: a file to which every ``load()``/``fetch()`` appends one JSON line.

A mirror is a folder (or its http(s) copy) of files under their catalog names; ``mirror_copy(id, folder)``
fills one with exactly what a dataset needs (never the AURN list's non-open geocoded columns).

Examples
--------
Find a dataset, load it, join it to the district boundaries, map it, and credit the sources (with
``GOVDATA_MIRROR`` set, as at a hack day, this runs with no internet at all):

>>> import govdata
>>> list(govdata.datasets("deprivation"))
['imd-2019-lad19', 'imd-2019-lad21']
>>> govdata.info("imd-2019-lad21").licence
'Open Government Licence v3.0'
>>> imd = govdata.load("imd-2019-lad21")
>>> imd.shape
(309, 25)
>>> lads = govdata.load("lad-boundaries-2021")
>>> gdf, report = govdata.join_by_code(imd, lads, "ltla21_code", "LAD21CD")
>>> report.matched, len(report.boundaries_unmatched)        # Wales, Scotland and NI have no English IMD
(309, 65)
>>> m = govdata.choropleth(gdf, "Score", legend="IMD 2019 average score", tooltip=["LAD21NM", "Score"])
>>> type(m).__name__
'Map'
>>> [p["id"] for p in govdata.loaded()]
['imd-2019-lad21', 'lad-boundaries-2021']
>>> print(govdata.attribution())                              # doctest: +ELLIPSIS
Data sources:
- Index of Multiple Deprivation 2019 ... Open Government Licence v3.0...
"""

from .catalog import DatasetInfo, DatasetList, datasets, info
from .ckan import load_resource, portal_dataset, portal_search
from .errors import DatasetUnavailableError, GovdataError, HashMismatchError, PortalError, UnknownDatasetError
from .fetch import fetch
from .geo import JoinReport, dissolve_to_regions, join_by_code, points_in_polygons
from .load import load
from .maps import choropleth
from .mirror import mirror_copy
from .provenance import attribution, loaded

__all__ = [
    "DatasetInfo",
    "DatasetList",
    "DatasetUnavailableError",
    "GovdataError",
    "HashMismatchError",
    "JoinReport",
    "PortalError",
    "UnknownDatasetError",
    "attribution",
    "choropleth",
    "datasets",
    "dissolve_to_regions",
    "fetch",
    "info",
    "join_by_code",
    "load",
    "load_resource",
    "loaded",
    "mirror_copy",
    "points_in_polygons",
    "portal_dataset",
    "portal_search",
]
