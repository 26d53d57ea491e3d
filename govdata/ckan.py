"""Portal search: any CKAN portal (data.gov.uk by default) through its action API, into DataFrames.

Examples
--------
>>> import govdata
>>> found = govdata.portal_search("road safety")                         # doctest: +SKIP
>>> resources = govdata.portal_dataset(found["name"][0])                # doctest: +SKIP
>>> df = govdata.load_resource(resources.query("format == 'CSV'")["url"].iloc[0])  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import requests

from .errors import DatasetUnavailableError, PortalError
from .fetch import fetch_file, sha256_of
from .settings import settings

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_PORTAL", "load_resource", "portal_dataset", "portal_search"]

DEFAULT_PORTAL = "https://data.gov.uk"


def _action(portal: str, action: str, params: dict) -> dict:
    """Call ``{portal}/api/3/action/{action}`` and return its ``result``, or raise a clear PortalError."""
    conf = settings()
    url = portal.rstrip("/") + "/api/3/action/" + action
    try:
        response = requests.get(url, params=params, timeout=conf.timeout)
    except requests.RequestException as exc:
        raise DatasetUnavailableError(
            f"could not reach the CKAN portal {portal} ({type(exc).__name__}); check the address and the network"
        ) from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise PortalError(
            f"{url} answered HTTP {response.status_code} with something that is not CKAN JSON: is {portal} "
            "a CKAN portal? (its API lives at /api/3/action/)"
        ) from exc
    if not isinstance(body, dict) or "success" not in body:
        raise PortalError(f"{url} answered JSON without a CKAN 'success' field: is {portal} a CKAN portal?")
    if not body["success"]:
        error = body.get("error") or {}
        kind, message = error.get("__type", "Error"), error.get("message", "")
        hint = " Check the dataset name with portal_search()." if response.status_code == 404 else ""
        raise PortalError(f"{portal} {action} failed: {kind} ({message}) for {params}.{hint}")
    return body["result"]


def portal_search(query: str, portal: str = DEFAULT_PORTAL, rows: int = 20) -> pd.DataFrame:
    """Search a CKAN portal's datasets (``package_search``).

    Parameters
    ----------
    query : str
        Solr query text, e.g. ``"road safety"`` or ``"organization:department-for-transport"``.
    portal : str
        The portal's base URL (default https://data.gov.uk).
    rows : int
        At most this many results.

    Returns
    -------
    pandas.DataFrame
        One row per dataset: name, title, organization, notes, licence, modified, number of resources,
        and the dataset's page on the portal. ``df.attrs["count"]`` holds the portal's total hit count.
    """
    result = _action(portal, "package_search", {"q": query, "rows": int(rows)})
    records = []
    for pkg in result.get("results", []):
        org = pkg.get("organization") or {}
        records.append({
            "name": pkg.get("name"),
            "title": pkg.get("title"),
            "organization": org.get("title") or org.get("name"),
            "notes": pkg.get("notes"),
            "license_title": pkg.get("license_title"),
            "metadata_modified": pd.to_datetime(pkg.get("metadata_modified"), errors="coerce"),
            "num_resources": pkg.get("num_resources", len(pkg.get("resources", []))),
            "page": portal.rstrip("/") + "/dataset/" + str(pkg.get("name")),
        })
    df = pd.DataFrame.from_records(records, columns=["name", "title", "organization", "notes", "license_title",
                                                     "metadata_modified", "num_resources", "page"])
    df.attrs["count"] = result.get("count", len(df))
    return df


def portal_dataset(name: str, portal: str = DEFAULT_PORTAL) -> pd.DataFrame:
    """List a CKAN dataset's resources (``package_show``) as a DataFrame (name, format, url, size, ...)."""
    pkg = _action(portal, "package_show", {"id": name})
    records = [{
        "name": r.get("name") or r.get("description"),
        "format": (r.get("format") or "").upper(),
        "url": r.get("url"),
        "description": r.get("description"),
        "size": r.get("size"),
        "last_modified": r.get("last_modified") or r.get("created"),
        "id": r.get("id"),
    } for r in pkg.get("resources", [])]
    df = pd.DataFrame.from_records(records, columns=["name", "format", "url", "description", "size",
                                                     "last_modified", "id"])
    df.attrs.update({"dataset": pkg.get("name"), "title": pkg.get("title"), "license": pkg.get("license_title")})
    return df


def load_resource(url: str, sha256: str | None = None, **read_csv_kwargs) -> pd.DataFrame:
    """Download a CSV resource (cached, verified when ``sha256`` is given) and read it into a DataFrame.

    The file is cached under ``GOVDATA_CACHE/resources``: with ``sha256`` a warm cache makes no network
    call and a mismatch is an error; without it, the first download is kept and reused (its hash is
    logged so you can pin it). UTF-8 (with or without BOM) is tried first, then Latin-1.
    """
    if not str(url).startswith(("http://", "https://")):
        raise ValueError(f"load_resource needs an http(s):// URL (a portal resource's 'url'), not {url!r}; "
                         "for a local file use pandas.read_csv")
    conf = settings()
    key = sha256 or hashlib.sha256(url.encode()).hexdigest()
    suffix = Path(urlsplit(url).path).suffix[:10] or ".csv"
    dest = conf.cache_path / "resources" / f"{key[:32]}{suffix}"
    if sha256 is None and dest.exists():
        path = dest
    else:
        path = fetch_file(url, dest, sha256, conf=conf)
        if sha256 is None:
            log.info("govdata: %s has sha256 %s; pass sha256= to pin it", url, sha256_of(path))
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **read_csv_kwargs)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="latin-1", **read_csv_kwargs)
