"""The automatic checks run on every submission, in the background, one at a time.

Execute top to bottom in a fresh kernel under a time limit (nbclient), record the run time and the
datasets used (govdata's provenance log), flag secret-looking strings, render under standalone Voilà
and take a thumbnail in headless Chromium, and write a static (script-free) HTML preview.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from traitlets import Float, Instance, Int, Unicode
from traitlets.config import LoggingConfigurable

from .notebooks import find_secrets
from .runas import child_env, dies_with_gallery, private_home, resolve
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
        "nobody",
        help="""Unix user that runs submitted notebooks when the gallery runs as root (never root itself).
        Example: --Checks.run_as=backstage-checks""",
    ).tag(config=True)

    thumbnails = Instance(Thumbnails)

    def __init__(self, store: Store, **kwargs):
        super().__init__(**kwargs)
        self.store = store
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
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=3)

    def resume(self) -> None:
        """Re-queue submissions whose checks were interrupted by a restart."""
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
        work = Path(tempfile.mkdtemp(prefix="backstage-check-"))
        resolve(self.run_as).own(work)
        try:
            executed, results["execution"], results["datasets_used"] = await self.execute(nb, work)
            results["secrets"] = find_secrets(executed)
            folder = self.store.snapshots / submission_id
            write_durably(folder / "executed.ipynb", nbformat.writes(executed).encode(), mode=0o400)
            write_durably(folder / "preview.html", static_preview(executed).encode(), mode=0o400)
            if results["execution"]["ok"]:
                results["voila"] = await self.render(work, executed, folder / "thumbnail.png")
            else:
                results["voila"] = {"ok": False, "error": "not tried: the notebook did not run"}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return results

    async def execute(self, nb, work: Path) -> tuple:
        """Run *nb* in a fresh kernel in *work*, as the unprivileged user, in its own process.

        Returns ``(executed nb, result dict, datasets used)``.
        """
        runner = resolve(self.run_as)
        home = private_home(work / "home", runner)
        source, target = work / "submitted.ipynb", work / "executed.ipynb"
        nbformat.write(nb, source)
        runner.own(source)  # the service may run with umask 077
        provenance = work / "provenance.jsonl"
        env = child_env(home, GOVDATA_PROVENANCE_LOG=str(provenance))
        argv = [sys.executable, "-m", "backstage.gallery.execute", str(source), str(target),
                f"--cell-timeout={self.cell_timeout}", f"--cwd={work}"]
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *dies_with_gallery(argv), cwd=work, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
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
        executed = nbformat.read(target, as_version=4) if target.exists() else nb
        return executed, result, read_provenance(provenance)

    async def render(self, work: Path, executed, thumbnail: Path) -> dict:
        """Serve the notebook with a one-off standalone Voilà and screenshot it in Chromium."""
        runner = resolve(self.run_as)
        path = work / "dashboard.ipynb"
        nbformat.write(executed, path)
        runner.own(path)
        pool = getattr(self.parent, "voila", None)  # render as the gallery will publish it
        voila = VoilaProcess(str(path), base_url="/", env=child_env(private_home(work / "home", runner)),
                             run_as=runner, template=pool.template if pool is not None else DASHBOARD_TEMPLATE)
        started = time.monotonic()
        try:
            await voila.start(timeout=60)
            shot = await self.thumbnails.capture(voila.url, thumbnail, headers=voila.auth_header)
        except (RuntimeError, TimeoutError) as e:
            shot = {"ok": False, "error": str(e)}
        finally:
            await voila.stop()
        shot["seconds"] = round(time.monotonic() - started, 2)
        if thumbnail.exists():
            os.chmod(thumbnail, 0o400)
        return shot


def read_provenance(path: Path) -> list[dict]:
    """The distinct datasets listed in a govdata provenance log (JSON lines)."""
    seen: dict[str, dict] = {}
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("id"):
            keep = ("id", "title", "licence", "licence_url", "publisher", "attribution", "url", "sha256")
            seen[record["id"]] = {k: record.get(k) for k in keep}
    return list(seen.values())


def static_preview(nb) -> str:
    """The executed notebook as inert HTML (served with a CSP that forbids every script).

    Code is shown escaped; HTML outputs are kept as written, but the preview is served with
    ``Content-Security-Policy: sandbox; default-src 'none'`` so nothing in it runs or loads.
    """
    import mistune

    parts = []
    for cell in nb.cells:
        source = cell.get("source", "")
        if cell.cell_type == "markdown":
            parts.append(f"<div class='md'>{mistune.html(source)}</div>")
            continue
        if cell.cell_type != "code":
            continue
        parts.append(f"<pre class='in'>{html.escape(source)}</pre>")
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(f"<pre class='out'>{html.escape(output.text)}</pre>")
            elif output.output_type == "error":
                parts.append(f"<pre class='err'>{html.escape(output.ename)}: {html.escape(output.evalue)}</pre>")
            else:
                data = output.get("data", {})
                if "image/png" in data:
                    parts.append(f"<img alt='' src='data:image/png;base64,{data['image/png']}'>")
                elif "text/html" in data:
                    parts.append(f"<div class='out'>{data['text/html']}</div>")
                elif "text/plain" in data:
                    parts.append(f"<pre class='out'>{html.escape(data['text/plain'])}</pre>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Preview</title>"
        "<style>body{font-family:sans-serif;margin:1rem}pre{white-space:pre-wrap;padding:.5rem}"
        ".in{background:#f3f2f1}.err{color:#d4351c}img{max-width:100%}</style></head><body>"
        + "\n".join(parts) + "</body></html>"
    )
