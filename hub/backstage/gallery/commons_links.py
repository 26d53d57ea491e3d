"""What the commons knows about published dashboards: the idea (and its challenge) each one answers, and
the data problems the data check found (issue 12: the card shows the idea and challenge; issue 13: a
dashboard whose data broke is marked "data problem since ...").

Read from the commons' public JSON API on loopback (``$BACKSTAGE_COMMONS_API``, set by the hub), briefly
cached, and never in the way: when the commons is down, closed (``commons: {public: false}``) or absent,
the gallery shows its pages without these details.
"""

from __future__ import annotations

import json
import logging
import os
import time

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger(__name__)

__all__ = ["CommonsLinks"]

CACHE_SECONDS = 30
TIMEOUT = 3


class CommonsLinks:
    """Cached reads of the commons' API; every method answers ``{}`` rather than fail."""

    def __init__(self, api_url: str | None = None):
        self.api_url = api_url if api_url is not None else os.environ.get("BACKSTAGE_COMMONS_API", "")
        self._cache: dict[str, tuple[float, object]] = {}

    async def _get(self, path: str):
        if not self.api_url:
            return None
        hit = self._cache.get(path)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            response = await AsyncHTTPClient().fetch(self.api_url + path, request_timeout=TIMEOUT,
                                                     follow_redirects=False)
            value = json.loads(response.body)
        except (HTTPClientError, OSError, ValueError) as e:
            log.info("the commons did not answer %s (%s): pages show no idea or data problem", path, e)
            value = None
        self._cache[path] = (time.monotonic(), value)
        return value

    async def data_problems(self) -> dict[str, dict]:
        """``{slug: {"since", "detail", "request_ids"}}`` for dashboards whose data failed the data check."""
        answer = await self._get("data-problems")
        if not isinstance(answer, dict):
            return {}
        return {p["slug"]: p for p in answer.get("dashboards", []) if isinstance(p, dict) and p.get("slug")}

    async def idea(self, idea_id) -> dict:
        """``{"title", "challenge": {"id", "title"}}`` of a public idea, or ``{}``."""
        if not isinstance(idea_id, int):
            return {}
        idea = await self._get(f"ideas/{idea_id}")
        if not isinstance(idea, dict) or not idea.get("title"):
            return {}
        challenge = await self._get(f"challenges/{idea.get('challenge')}")
        return {"title": idea["title"],
                "challenge": {"id": idea.get("challenge"),
                              "title": challenge.get("title") if isinstance(challenge, dict) else None}}
