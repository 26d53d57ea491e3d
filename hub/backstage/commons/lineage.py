"""Lineage: the gallery's published dashboards, and which idea each one answers.

The gallery lists them at ``GET /services/gallery/api/dashboards`` (JSON: slug, title, url, idea, datasets,
author, published_at, public), read with the commons' own service token; people who are not signed in are shown
the public ones only (:func:`dashboards_for`). A gallery that is down, slow, or does not
have that endpoint yet gives no dashboards (logged), never an error page.
"""

from __future__ import annotations

import json
import logging
import os
import time

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger(__name__)

CACHE_SECONDS = 15
_cache: dict[str, tuple[float, list]] = {}


async def dashboards(commons) -> list[dict]:
    """The gallery's published dashboards, newest first (cached for a few seconds; ``[]`` if unreachable)."""
    url = commons.gallery_api_url
    if not url:
        return []
    cached = _cache.get(url)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    try:
        response = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {token}"},
                                                 request_timeout=3, follow_redirects=False)
        body = json.loads(response.body)
        items = body.get("dashboards", []) if isinstance(body, dict) else body
        items = [d for d in items if isinstance(d, dict) and d.get("url")]
    except (HTTPClientError, OSError, ValueError, AttributeError) as e:
        log.warning("the gallery's dashboards are unavailable (%s): ideas show no prototypes for now", e)
        items = []
    items.sort(key=lambda d: str(d.get("published_at") or ""), reverse=True)
    _cache[url] = (time.monotonic(), items)
    return items


async def dashboards_for(commons, viewer: dict | None) -> list[dict]:
    """The dashboards a *viewer* may be shown: all of them to a signed-in person; to anyone else, the public
    ones only (as the gallery itself lists them: a dashboard that is not public stays unnamed to them)."""
    items = await dashboards(commons)
    return items if viewer else [d for d in items if d.get("public") is True]


def prototypes_for(items: list[dict], idea_id: int) -> list[dict]:
    """The dashboards that name *idea_id* as the idea they answer."""
    return [d for d in items if str(d.get("idea") or "") == str(idea_id)]
