"""The automatic checks run on every submission, in the background, one at a time.

Execute top to bottom in a fresh kernel under a time limit (nbclient), record the run time and the
datasets used (govdata's provenance log), flag secret-looking strings, render under standalone Voilà
and take a thumbnail in headless Chromium, and write a static (script-free) HTML preview.

As root, each check runs as a throw-away Unix account of its own (`sandbox`): its kernel, its one-off
Voilà and its Chromium; when the check ends, every process of that account is killed and the account
and its files are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import nbformat
from traitlets import Float, Instance, Int, Unicode, observe
from traitlets.config import LoggingConfigurable

from .notebooks import find_secrets
from .preview import static_preview
from .runas import CHECK_MAX_TASKS, child_env, dies_with_gallery, limit_tasks
from .sandbox import CheckAccount, Sandbox, read_untrusted, warn_deprecated, write_new
from .store import Store, write_durably
from .thumbnails import Thumbnails
from .voila import DASHBOARD_TEMPLATE, VoilaProcess

log = logging.getLogger(__name__)


class Checks(LoggingConfigurable):
    """Limits and helpers of the automatic checks."""

    max_notebook_bytes = Int(
        5 * 1024 * 1024,
        help="Largest notebook accepted, in bytes. Example: --Checks.max_notebook_bytes=10485760",
    ).tag(config=True)

    time_limit = Float(
        300, help="Seconds a submission may take to run top to bottom. Example: --Checks.time_limit=120"
    ).tag(config=True)

    cell_timeout = Int(120, help="Seconds a single cell may run. Example: --Checks.cell_timeout=60").tag(config=True)

    concurrency = Int(1, help="Submissions checked at the same time. Example: --Checks.concurrency=2").tag(
        config=True
    )

    run_as = Unicode(
        None, allow_none=True,
        help="Deprecated and ignored: each check runs as its own account. Example: --Sandbox.check_user_prefix=bkcheck-",
    ).tag(config=True)

    @observe("run_as")
    def _deprecated_run_as(self, change):
        warn_deprecated(self.log, "Checks.run_as", "Sandbox.check_user_prefix")

    thumbnails = Instance(Thumbnails)
    sandbox = Instance(Sandbox)

    def __init__(self, store: Store, sandbox: Sandbox | None = None, template: str = DASHBOARD_TEMPLATE, **kwargs):
        """*sandbox* makes each check's account; *template* is the Voilà template the dashboards are published with."""
        super().__init__(**kwargs)
        self.store = store
        self.sandbox = sandbox or Sandbox(owner=str(store.root), parent=self)
        self.template = template
        self.thumbnails = Thumbnails(parent=self)
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._tasks: set[asyncio.Task] = set()

    def schedule(self, submission_id: str) -> asyncio.Task:
        """Run the checks of *submission_id* in the background."""
        task = asyncio.ensure_future(self.run(submission_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        """Cancel running checks (their kernels and Voilà are stopped); they resume at the next start."""
        await asyncio.to_thread(self.sandbox.kill_live)  # at once: the lab may not wait for the rest
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=3)

    def resume(self) -> None:
        """Delete the check accounts a crash left behind, then re-queue the checks that were interrupted."""
        self.sandbox.remove_leftovers()
        for item in self.store.query(status="checking"):
            log.info("resuming checks of %s", item["id"])
            self.schedule(item["id"])

    async def run(self, submission_id: str) -> dict:
        async with self._semaphore:
            try:
                results = await self._run(submission_id)
            except asyncio.CancelledError:
                raise  # stopping: the submission stays "checking" and is resumed at the next start
            except Exception as e:  # a bug in a check must not leave the submission stuck
                log.exception("checks of %s crashed", submission_id)
                results = {"error": f"the checks crashed: {e}"}
            ok = bool(results.get("execution", {}).get("ok") and results.get("voila", {}).get("ok"))
            datasets = results.pop("datasets_used", [])
            item = self.store.get(submission_id)
            if item["status"] == "checking":
                self.store.update(
                    submission_id, checks=results, datasets=datasets,
                    status="awaiting-review" if ok else "checks-failed",
                )
            return results

    async def _run(self, submission_id: str) -> dict:
        source = self.store.path(submission_id, "submitted.ipynb")
        nb = nbformat.read(source, as_version=4)
        results: dict = {"valid": {"ok": True, "bytes": source.stat().st_size}}
        account = await asyncio.to_thread(self.sandbox.create_check_account)
        try:
            executed, results["execution"], results["datasets_used"] = await self.execute(nb, account)
            results["secrets"] = find_secrets(executed)
            folder = self.store.snapshots / submission_id
            write_durably(folder / "executed.ipynb", nbformat.writes(executed).encode(), mode=0o400)
            write_durably(folder / "preview.html", static_preview(executed).encode(), mode=0o400)
            if results["execution"]["ok"]:
                results["voila"] = await self.render(account, executed, folder / "thumbnail.png")
            else:
                results["voila"] = {"ok": False, "error": "not tried: the notebook did not run"}
        finally:
            # nothing of the check lives on, even when the gallery is stopping (the task is being cancelled)
            await asyncio.shield(asyncio.to_thread(self.sandbox.destroy, account))
        return results

    async def execute(self, nb, account: CheckAccount) -> tuple:
        """Run *nb* in a fresh kernel in the check's folder, as the check's account, in its own process.

        Returns ``(executed nb, result dict, datasets used)``.
        """
        runner = account.run_as
        source, target = account.work / "submitted.ipynb", account.out / "executed.ipynb"
        nbformat.write(nb, source)
        runner.share_read(source)  # the service may run with umask 077
        provenance = account.out / "provenance.jsonl"
        env = child_env(account.home, account.tmp, GOVDATA_PROVENANCE_LOG=str(provenance))
        argv = [sys.executable, "-m", "backstage.gallery.execute", str(source), str(target),
                f"--cell-timeout={self.cell_timeout}", f"--cwd={account.out}"]
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *dies_with_gallery(limit_tasks(argv)), cwd=account.out, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True, **runner.popen_kwargs(),
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.time_limit)
            lines = out.decode().strip().splitlines()
            if proc.returncode != 0 or not lines:
                tail = "\n".join(err.decode(errors="replace").strip().splitlines()[-8:])
                log.warning("notebook runner failed (%s): %s", proc.returncode, tail)
                raise ValueError(tail)
            result = json.loads(lines[-1])
        except TimeoutError:
            result = {"ok": False, "error": f"the notebook did not finish within {self.time_limit:.0f} s"}
        except (ValueError, IndexError) as e:
            result = {"ok": False, "error": f"the notebook runner failed (exit code {proc.returncode}): {e}"}
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        result["seconds"] = round(time.monotonic() - started, 2)
        executed = _read_notebook(target, 16 * self.max_notebook_bytes) or nb
        return executed, result, read_provenance(provenance)

    async def render(self, account: CheckAccount, executed, thumbnail: Path) -> dict:
        """Serve the notebook with a one-off standalone Voilà and screenshot it in Chromium, as the check's account."""
        runner = account.run_as
        path = account.out / "dashboard.ipynb"  # beside what the notebook wrote when it ran
        write_new(path, nbformat.writes(executed).encode(), runner)
        voila = VoilaProcess(str(path), base_url="/", env=child_env(account.home, account.tmp),
                             run_as=runner, template=self.template, max_tasks=CHECK_MAX_TASKS)
        started = time.monotonic()
        try:
            await voila.start(timeout=60)
            shot = await self.thumbnails.capture(voila.url, thumbnail, headers=voila.auth_header, run_as=runner)
        except (RuntimeError, TimeoutError) as e:
            shot = {"ok": False, "error": str(e)}
        finally:
            await voila.stop()
        shot["seconds"] = round(time.monotonic() - started, 2)
        if thumbnail.exists():
            os.chmod(thumbnail, 0o400)
        return shot


def _read_notebook(path: Path, limit: int):
    """The executed notebook the check's account wrote, or None (missing, too big, a link, not a notebook)."""
    raw = read_untrusted(path, limit)
    try:
        return nbformat.reads(raw.decode(), as_version=4) if raw else None
    except (UnicodeDecodeError, ValueError) as e:
        log.warning("no executed notebook at %s: %s", path, e)
        return None


def read_provenance(path: Path) -> list[dict]:
    """The distinct datasets listed in a govdata provenance log (JSON lines)."""
    seen: dict[str, dict] = {}
    raw = read_untrusted(path, 1 << 20)
    for line in (raw or b"").decode(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("id"):
            keep = ("id", "title", "licence", "licence_url", "publisher", "attribution", "url", "sha256")
            seen[record["id"]] = {k: record.get(k) for k in keep}
    return list(seen.values())
