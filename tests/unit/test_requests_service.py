"""The commons' wiring of data requests: one desk per app, the periodic data check, and the Atom feed
(escaped, without confidential requests). No server: an in-memory database and a stand-in app."""

from __future__ import annotations

import asyncio
import sqlite3
import xml.etree.ElementTree as ET  # noqa: S405 (our own output)

import yaml
from backstage.commons.requests import datacheck, service
from backstage.commons.requests.desk import Viewer
from backstage.commons.requests.feed import ATOM, build_feed
from traitlets.config import Configurable

BARRIER = {"kind": "barrier", "title": "<script>alert(1)</script> lookup", "body": "moved & gone",
           "dataset": "lad21-region-lookup", "barrier": "broken-link"}


class FakeCommons(Configurable):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.prefix = "/services/commons/"


def site(tmp_path, monkeypatch, settings):
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("BACKSTAGE_STATE", str(tmp_path))
    monkeypatch.delenv("BACKSTAGE_SETTINGS", raising=False)
    monkeypatch.delenv("BACKSTAGE_RUNTIME", raising=False)


def test_one_desk_per_app_with_the_site_settings(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {"requests": {"working_days": 5}})
    commons = FakeCommons()
    desk = service.desk_for(commons)
    assert service.desk_for(commons) is desk
    assert desk.working_days == 5 and desk.notifier.smtp is None


def test_the_data_check_runs_every_period_in_the_service(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {"requests": {"check_every_hours": 0.0001}})  # every 0.36 s
    runs = []

    async def fake_run_check(desk, state_dir, **kwargs):
        runs.append(state_dir)
        return {"dashboards": 0, "problems": []}

    monkeypatch.setattr(datacheck, "run_check", fake_run_check)

    async def main():
        commons = FakeCommons()
        service.desk_for(commons)  # first use in a running loop starts the job
        deadline = asyncio.get_running_loop().time() + 20
        while len(runs) < 2 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        commons._requests_check_task.cancel()

    asyncio.run(main())
    assert runs[:2] == [str(tmp_path.resolve())] * 2


def test_no_periodic_check_when_the_period_is_zero(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {"requests": {"check_every_hours": 0}})

    async def main():
        commons = FakeCommons()
        service.desk_for(commons)
        return getattr(commons, "_requests_check_task", None)

    assert asyncio.run(main()) is None


def test_the_feed_escapes_text_and_leaves_out_confidential_requests(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {})
    desk = service.desk_for(FakeCommons())
    desk.verify_dataset = lambda dataset_id: None
    public = desk.file(Viewer("ada"), BARRIER)["id"]
    desk.file(Viewer("ada"), {**BARRIER, "title": "Hidden one", "confidential": True})
    desk.answer(Viewer("sam", frozenset({"custom:commons:answer"})), public,
                {"status": "released", "message": "Back <b>online</b>", "dataset": "lad21-region-lookup"})
    xml = build_feed(desk, "https://lab.example.org")
    assert b"<script>" not in xml and b"Hidden one" not in xml
    feed = ET.fromstring(xml)  # noqa: S314 (our own output)
    entries = feed.findall(f"{{{ATOM}}}entry")
    assert [e.findtext(f"{{{ATOM}}}title") for e in entries] == [
        f"Request {public} Released: {BARRIER['title']}", f"New request {public}: {BARRIER['title']}"]
    assert entries[0].findtext(f"{{{ATOM}}}summary") == "Back <b>online</b> Dataset: lad21-region-lookup."
    assert entries[0].find(f"{{{ATOM}}}link").get("href") == f"https://lab.example.org/services/commons/requests/{public}"
