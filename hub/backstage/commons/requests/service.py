"""Wiring of the data requests into a running commons (or the ``backstage data check`` command):
one `Desk` per commons app, built from `RequestsConfig`, and the periodic data check."""

from __future__ import annotations

import asyncio
import logging

from .config import RequestsConfig
from .desk import Desk
from .notify import Notifier, SmtpSettings
from .store import RequestStore

log = logging.getLogger(__name__)

__all__ = ["build_desk", "desk_for", "start_data_checks"]


def build_desk(db, config: RequestsConfig, prefix: str = "/services/commons/") -> Desk:
    """A desk over the commons database *db*, with the site's working days, stewards and SMTP server."""
    store = RequestStore(db)
    notifier = Notifier(store, config.state_dir, SmtpSettings.from_mapping(config.smtp), config.site_url)
    return Desk(store, notifier, working_days=config.working_days, steward_publishers=config.steward_publishers,
                prefix=prefix)


def desk_for(commons) -> Desk:
    """The desk of a running commons app (built once, on first use)."""
    desk = getattr(commons, "_requests_desk", None)
    if desk is None:
        config = RequestsConfig(parent=commons)
        desk = commons._requests_desk = build_desk(commons.db, config, commons.prefix)
        desk.config = config
        try:  # the periodic data check starts with the first use in the running service
            asyncio.get_running_loop()
        except RuntimeError:
            return desk
        start_data_checks(commons)
    return desk


def start_data_checks(commons) -> asyncio.Task | None:
    """Run the data check every ``RequestsConfig.check_every_hours`` in the commons' event loop (first run
    after one period, so a lab that starts is not slowed down); None when the period is 0."""
    desk = desk_for(commons)
    hours = desk.config.check_every_hours
    if hours <= 0:
        return None

    async def loop():
        from .datacheck import run_check

        while True:
            await asyncio.sleep(hours * 3600)
            try:
                report = await run_check(desk, desk.config.state_dir)
                log.info("data check: %d dashboards, %d with a data problem", report["dashboards"],
                         len(report["problems"]))
            except Exception:  # the next run tries again; the service keeps serving
                log.exception("the data check failed")

    task = asyncio.get_running_loop().create_task(loop())
    commons._requests_check_task = task  # keep a reference (the loop holds tasks weakly)
    return task
