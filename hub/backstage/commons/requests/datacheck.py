"""Data-break alerts: re-verify the data of every published dashboard and re-run its notebook.

For each dataset a published dashboard used (the gallery's record of what its checks saw it load), the
catalog file is fetched again from its source (the mirror, or the public URL), into a throw-away folder,
and checked against the catalog's sha256; ``online`` also asks the public URL (HEAD) when a mirror is
used. Each dashboard's notebook runs again in the gallery's check sandbox. A failure marks the dashboard
("data problem since ..."), tells its owner, and opens (or adds to, never duplicates) a ``barrier``
request against the dataset, filed by the lab itself. A dashboard that passes again is unmarked.

``backstage data check`` runs it on demand (as root, on the lab's state); the commons runs it daily.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sqlite3
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: Longest problem text kept on a marked dashboard (a failing notebook's last lines can be long).
MAX_DETAIL = 2000

__all__ = ["add_parser", "published_dashboards", "rerun_notebook", "run_check", "verify_source"]


def published_dashboards(state_dir) -> list[dict]:
    """The gallery's published dashboards (slug, title, author, datasets, notebook), read-only from its store."""
    gallery = Path(state_dir) / "gallery"
    path = gallery / "gallery.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT slug, title, author, datasets FROM submissions WHERE status = 'published'"
                          " ORDER BY published_at").fetchall()
    finally:
        db.close()
    return [{"slug": slug, "title": title, "author": author,
             "datasets": [d["id"] for d in json.loads(datasets or "[]") if isinstance(d, dict) and d.get("id")],
             "notebook": gallery / "published" / f"{slug}.ipynb"} for slug, title, author, datasets in rows]


def verify_source(dataset_id: str, *, online: bool = False) -> str:
    """'' when the dataset's source file still matches the catalog, else what is wrong (blocking)."""
    import requests

    from govdata.catalog import info
    from govdata.fetch import fetch_entry
    from govdata.settings import GovdataSettings

    entry = info(dataset_id)
    folder = tempfile.mkdtemp(prefix="backstage-datacheck-")
    try:
        conf = GovdataSettings(cache_dir=folder)
        try:
            fetch_entry(entry, conf)
        except Exception as e:  # hash mismatch, missing file, unreachable source: all are the problem to report
            return f"{entry.file} ({dataset_id}) failed verification: {e}"
        if online and conf.mirror and entry.url:
            try:
                answer = requests.head(entry.url, allow_redirects=True, timeout=conf.timeout)
            except requests.RequestException as e:
                return f"the public URL of {dataset_id} ({entry.url}) cannot be reached: {e}"
            if answer.status_code >= 400:
                return f"the public URL of {dataset_id} ({entry.url}) answered HTTP {answer.status_code}"
        return ""
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def rerun_notebook(notebook: Path, state_dir) -> dict:
    """Run a published notebook top to bottom in the gallery's check sandbox: ``{"ok", "error", ...}``.

    As root, it runs as a throw-away check account of the gallery's sandbox (deleted afterwards, with
    everything it started); as an ordinary user, as that user.
    """
    import nbformat

    from backstage.gallery.checks import Checks
    from backstage.gallery.sandbox import Sandbox

    nb = nbformat.read(notebook, as_version=4)
    sandbox = Sandbox(owner=str(Path(state_dir) / "gallery"))
    checks = Checks(None, sandbox=sandbox)
    account = sandbox.create_check_account()
    try:
        _, result, _ = await checks.execute(nb, account)
    finally:
        sandbox.destroy(account)
    return result


async def run_check(desk, state_dir, *, online: bool = False, rerun: bool = True) -> dict:
    """Check every published dashboard; returns ``{"dashboards", "datasets", "problems", "requests_opened"}``.

    A new alert, or a dashboard working again, asks the gallery to render its page again (`request_rerender`).
    """
    from backstage.gallery.rendered import request_rerender

    dashboards = published_dashboards(state_dir)
    loop = asyncio.get_running_loop()
    ids = sorted({d for item in dashboards for d in item["datasets"]})
    source_problems = {}
    for dataset_id in ids:
        source_problems[dataset_id] = await loop.run_in_executor(None, lambda i=dataset_id: verify_source(i, online=online))
    report = {"dashboards": len(dashboards), "datasets": len(ids), "problems": [], "requests_opened": []}
    for item in dashboards:
        failures = {d: source_problems[d] for d in item["datasets"] if source_problems.get(d)}
        run_error = ""
        if rerun and item["notebook"].exists():
            result = await rerun_notebook(item["notebook"], state_dir)
            run_error = "" if result.get("ok") else (result.get("error") or "the notebook failed")
        if not failures and not run_error:
            if desk.store.clear_problem(item["slug"]):
                request_rerender(Path(state_dir) / "gallery", item["slug"])  # its page shows working outputs again
                desk.alert(item["author"], subject=f"Your dashboard '{item['title']}' works again",
                           text="The data check found its data verified and its notebook running again.",
                           link=desk.prefix + "requests")
            continue
        request_ids = []
        for dataset_id, problem in failures.items():
            request_id, new = desk.lab_barrier(dataset_id, problem)
            request_ids.append(request_id)
            if new:
                report["requests_opened"].append(request_id)
        detail = "; ".join([*failures.values(), *([f"the notebook no longer runs: {run_error}"] if run_error else [])])
        detail = detail if len(detail) <= MAX_DETAIL else detail[:MAX_DETAIL - 1] + "…"
        if desk.store.mark_problem(item["slug"], item["title"], item["author"], sorted(failures), detail, request_ids):
            request_rerender(Path(state_dir) / "gallery", item["slug"])  # its rendered page shows what runs now
            link = desk.link(request_ids[0]) if request_ids else desk.prefix + "requests"
            desk.alert(item["author"], subject=f"Your dashboard '{item['title']}' has a data problem",
                       text=f"The lab's data check found a problem with your published dashboard: {detail}", link=link)
        report["problems"].append({"slug": item["slug"], "detail": detail, "requests": request_ids})
    await loop.run_in_executor(None, desk.send_pending_mail)
    return report


def _command(args) -> int:
    from backstage.web import connect

    from .config import RequestsConfig
    from .service import build_desk

    config = RequestsConfig()
    db = connect(Path(config.state_dir) / "commons" / "commons.sqlite")
    try:
        desk = build_desk(db, config)
        report = asyncio.run(run_check(desk, config.state_dir, online=args.online, rerun=not args.no_rerun))
    finally:
        db.close()
    print(f"checked {report['dashboards']} published dashboard(s) using {report['datasets']} dataset(s)")  # noqa: T201
    for problem in report["problems"]:
        print(f"data problem: {problem['slug']}: {problem['detail']} (requests {problem['requests']})")  # noqa: T201
    if report["requests_opened"]:
        print(f"opened barrier request(s): {report['requests_opened']}")  # noqa: T201
    return 1 if report["problems"] else 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """``backstage data check``: the data-break alert on demand (exit 1 when a dashboard has a data problem)."""
    data = subparsers.add_parser("data", help="check the data of published dashboards")
    commands = data.add_subparsers(dest="data_command", required=True)
    check = commands.add_parser(
        "check", help="re-verify every dataset a published dashboard uses and re-run its notebook; mark, tell "
                      "and file a barrier request on failure (state: $BACKSTAGE_STATE, else .backstage)")
    check.add_argument("--online", action="store_true", help="also ask each dataset's public URL (with a mirror)")
    check.add_argument("--no-rerun", action="store_true", help="verify the data only; do not re-run notebooks")
    check.set_defaults(func=_command)
    return check
