"""How the published dashboards are used (issue 14): counted on the server, for their authors and reviewers.

``Usage.record(slug, version, kind, event, seconds)`` counts one event: a *view* of the page, a viewer going
*live*, one *queued* for a live kernel, or an *error*, by the kind of viewer (``official``, ``participant``,
``reviewer``, ``anonymous``). Counts are kept per day × dashboard × kind × event, with the sum and a histogram of
the time to content (``seconds``: measured on the server), for its p50 and p95. Nothing else is stored: no
cookie is set for counting, no IP address, no user name, no time finer than the day.

Counting is cheap under a crowd: ``record`` adds to a batch in memory; the batch is written every
``flush_interval`` seconds (and at stop) in one durable transaction (``backstage.web.transaction``).

``figures(slug)`` reads them back with every group of fewer than 5 shown as "fewer than 5" (primary
suppression: a count of 1 to 4 is never shown; 0 is shown as 0). The same events feed Prometheus counters
(``registry``, served at ``<prefix>metrics`` by :mod:`.metrics`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from backstage.roles import REVIEW_SCOPE
from backstage.web import connect, transaction

from .store import Store, check_slug

log = logging.getLogger(__name__)

__all__ = ["EVENTS", "FEWER_THAN", "KINDS", "Usage"]

KINDS = ("official", "participant", "reviewer", "anonymous")
EVENTS = ("view", "live", "queued", "error")
#: upper bounds (seconds) of the time-to-content histogram's buckets; the last one is open
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, math.inf)
SUPPRESS_BELOW = 5
FEWER_THAN = "fewer than 5"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_daily (
    day TEXT NOT NULL, slug TEXT NOT NULL, kind TEXT NOT NULL, event TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0, timed INTEGER NOT NULL DEFAULT 0, seconds_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (day, slug, kind, event)
);
CREATE TABLE IF NOT EXISTS usage_seconds (
    day TEXT NOT NULL, slug TEXT NOT NULL, kind TEXT NOT NULL, event TEXT NOT NULL, bucket INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, slug, kind, event, bucket)
);
"""


def shown(count: int) -> int | str:
    """*count* as the figures show it: 1 to 4 become "fewer than 5" (0 stays 0)."""
    return FEWER_THAN if 0 < count < SUPPRESS_BELOW else count


def _bucket(seconds: float) -> int:
    return next(i for i, bound in enumerate(BUCKETS) if seconds <= bound)


def _percentile(histogram: list[int], q: float) -> str:
    """The bucket holding the *q* quantile, as words ("0.5 s or less", "more than 60 s")."""
    total = sum(histogram)
    if total < SUPPRESS_BELOW:
        return FEWER_THAN + " timed"
    rank, seen = q * total, 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            if math.isinf(BUCKETS[i]):
                return f"more than {BUCKETS[i - 1]:g} s"
            return f"{BUCKETS[i]:g} s or less"
    return f"more than {BUCKETS[-2]:g} s"


class Usage(LoggingConfigurable):
    """Usage counts of the dashboards, batched in memory and kept in ``usage.sqlite`` beside the store."""

    enabled = Bool(
        True,
        help="""Count dashboard views, live sessions, queue waits and errors (no cookie, no IP address, no name).
        False counts nothing: no figures on submission pages, no dashboard counters at the metrics endpoint.
        Example: --Usage.enabled=False""",
    ).tag(config=True)

    flush_interval = Float(
        5.0,
        help="""Seconds between two writes of the counts batched in memory (and once at stop): a crowd's views
        cost one small transaction per interval. Example: --Usage.flush_interval=5""",
    ).tag(config=True)

    keep_days = Int(
        400,
        help="""Days of counts kept (older days are deleted at start). Example: --Usage.keep_days=400""",
    ).tag(config=True)

    metrics_scope = Unicode(
        "read:metrics",
        help="""Scope a hub token needs to read the gallery's Prometheus metrics (JupyterHub's own scope for
        /hub/metrics; the admin role holds it). Example: --Usage.metrics_scope=read:metrics""",
    ).tag(config=True)

    def __init__(self, store_or_db_path, **kwargs):
        super().__init__(**kwargs)
        if isinstance(store_or_db_path, Store):  # beside the store's database, in its private folder
            self.path = store_or_db_path.root / "usage.sqlite"
        else:
            self.path = Path(store_or_db_path)
        self.db = connect(self.path)
        self.db.executescript(_SCHEMA)
        self._pending: dict[tuple[str, str, str, str], list] = {}
        self._timer: PeriodicCallback | None = None
        self.registry = CollectorRegistry()
        labels = ("dashboard", "kind")
        self._counters = {
            "view": Counter("backstage_dashboard_views", "Dashboard page views", labels, registry=self.registry),
            "live": Counter("backstage_dashboard_live", "Viewers who went live (got a kernel)", labels,
                            registry=self.registry),
            "queued": Counter("backstage_dashboard_queued", "Viewers told to wait in line for a live kernel",
                              labels, registry=self.registry),
            "error": Counter("backstage_dashboard_errors", "Dashboard views or live requests that failed", labels,
                             registry=self.registry),
        }
        self._seconds = Histogram("backstage_dashboard_time_to_content_seconds",
                                  "Time to content measured on the server (view: page served; live: kernel granted)",
                                  ("event",), buckets=BUCKETS, registry=self.registry)
        self._render = Histogram("backstage_dashboard_render_seconds",
                                 "Time to render a published version's page once (kernel run and state captured)",
                                 buckets=BUCKETS, registry=self.registry)
        self._prune()

    # -- counting ------------------------------------------------------------------------------
    def viewer_kind(self, handler, user: dict | None) -> str:
        """The kind of viewer: ``anonymous`` (not signed in), ``reviewer`` (holds the gallery's review scope),
        ``official`` (in the officials group), else ``participant`` (any other signed-in person)."""
        if not user:
            return "anonymous"
        gallery = handler.settings.get("gallery")
        scope = getattr(gallery, "review_scope", REVIEW_SCOPE)
        if scope in (user.get("scopes") or []):
            return "reviewer"
        if "officials" in (user.get("groups") or []):
            return "official"
        return "participant"

    def record(self, slug: str, version: int, kind: str, event: str, seconds: float | None = None) -> None:
        """Count one *event* of dashboard *slug* (*version*: which one was served) by a viewer of *kind*.

        *seconds*: the time to content measured on the server (None when not timed). Cheap: memory only.
        """
        if not self.enabled:
            return
        check_slug(slug)
        if kind not in KINDS:
            raise ValueError(f"unknown viewer kind {kind!r}: use one of {', '.join(KINDS)} (Usage.viewer_kind)")
        if event not in EVENTS:
            raise ValueError(f"unknown usage event {event!r}: use one of {', '.join(EVENTS)}")
        if seconds is not None and not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a non-negative number or None, not {seconds!r}")
        day = datetime.now(UTC).date().isoformat()
        entry = self._pending.setdefault((day, slug, kind, event), [0, 0, 0.0, [0] * len(BUCKETS)])
        entry[0] += 1
        self._counters[event].labels(slug, kind).inc()
        if seconds is not None:
            entry[1] += 1
            entry[2] += seconds
            entry[3][_bucket(seconds)] += 1
            self._seconds.labels(event).observe(seconds)

    def rendered(self, slug: str, version: int, seconds: float) -> None:
        """Time taken to render a published version's page once (for the metrics' render histogram)."""
        self._render.observe(seconds)

    def watch(self, *, live_kernels: Callable[[], float], queue_length: Callable[[], float]) -> None:
        """Gauges read at each scrape: live kernels in use and viewers waiting in line (from the live manager)."""
        Gauge("backstage_dashboard_live_kernels", "Live dashboard kernels in use",
              registry=self.registry).set_function(live_kernels)
        Gauge("backstage_dashboard_queue_length", "Viewers waiting in line for a live kernel",
              registry=self.registry).set_function(queue_length)

    # -- writing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the batch in one durable transaction (a failed write keeps it for the next time)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            with transaction(self.db):
                for (day, slug, kind, event), (count, timed, total, histogram) in batch.items():
                    self.db.execute(
                        "INSERT INTO usage_daily (day, slug, kind, event, count, timed, seconds_sum)"
                        " VALUES (?,?,?,?,?,?,?) ON CONFLICT (day, slug, kind, event) DO UPDATE SET"
                        " count=count+excluded.count, timed=timed+excluded.timed,"
                        " seconds_sum=seconds_sum+excluded.seconds_sum",
                        (day, slug, kind, event, count, timed, total))
                    for bucket, n in enumerate(histogram):
                        if n:
                            self.db.execute(
                                "INSERT INTO usage_seconds (day, slug, kind, event, bucket, count)"
                                " VALUES (?,?,?,?,?,?) ON CONFLICT (day, slug, kind, event, bucket)"
                                " DO UPDATE SET count=count+excluded.count",
                                (day, slug, kind, event, bucket, n))
        except Exception:
            log.exception("could not write %d usage counts to %s: kept for the next flush", len(batch), self.path)
            for key, (count, timed, total, histogram) in batch.items():
                entry = self._pending.setdefault(key, [0, 0, 0.0, [0] * len(BUCKETS)])
                entry[0] += count
                entry[1] += timed
                entry[2] += total
                entry[3] = [a + b for a, b in zip(entry[3], histogram, strict=True)]

    def _prune(self) -> None:
        cutoff = (datetime.now(UTC).date() - timedelta(days=self.keep_days)).isoformat()
        with transaction(self.db):
            self.db.execute("DELETE FROM usage_daily WHERE day < ?", (cutoff,))
            self.db.execute("DELETE FROM usage_seconds WHERE day < ?", (cutoff,))

    def start(self) -> None:
        """Flush every ``flush_interval`` seconds (call with the event loop running)."""
        if self._timer is None:
            self._timer = PeriodicCallback(self.flush, self.flush_interval * 1000)
            self._timer.start()

    def stop(self) -> None:
        """Stop the timer, write what is pending, close the database."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        started = time.monotonic()
        self.flush()
        log.info("usage counts written at stop in %.3f s", time.monotonic() - started)
        self.db.close()

    # -- reading -------------------------------------------------------------------------------
    def figures(self, slug: str, days: int = 30) -> dict:
        """The last *days* days of dashboard *slug*, every group under 5 shown as "fewer than 5".

        Returns ``{"days": [{"day", "views": {kind: n}, "live", "queued", "errors"}, ...] (newest first, days
        with any event), "totals": {"views": {kind: n}, "live", "queued", "errors"}, "time_to_content":
        {"view": {"p50", "p95"}, "live": {"p50", "p95"}}}``.
        """
        self.flush()
        since = (datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat()
        per_day: dict[str, dict] = {}
        totals = {"views": dict.fromkeys(KINDS, 0), "live": 0, "queued": 0, "errors": 0}
        for row in self.db.execute("SELECT day, kind, event, count FROM usage_daily WHERE slug=? AND day>=?",
                                   (slug, since)):
            day = per_day.setdefault(row["day"], {"views": dict.fromkeys(KINDS, 0), "live": 0, "queued": 0,
                                                  "errors": 0})
            if row["event"] == "view":
                day["views"][row["kind"]] += row["count"]
                totals["views"][row["kind"]] += row["count"]
            else:
                key = {"live": "live", "queued": "queued", "error": "errors"}[row["event"]]
                day[key] += row["count"]
                totals[key] += row["count"]
        histograms = {event: [0] * len(BUCKETS) for event in ("view", "live")}
        for row in self.db.execute("SELECT event, bucket, SUM(count) AS n FROM usage_seconds WHERE slug=? AND day>=?"
                                   " AND event IN ('view', 'live') GROUP BY event, bucket", (slug, since)):
            histograms[row["event"]][row["bucket"]] += row["n"]

        def suppressed(counts: dict) -> dict:
            return {"views": {k: shown(v) for k, v in counts["views"].items()},
                    **{k: shown(counts[k]) for k in ("live", "queued", "errors")}}

        return {
            "days": [{"day": day, **suppressed(counts)} for day, counts in sorted(per_day.items(), reverse=True)],
            "totals": suppressed(totals),
            "time_to_content": {event: {"p50": _percentile(h, 0.5), "p95": _percentile(h, 0.95)}
                                for event, h in histograms.items()},
        }
