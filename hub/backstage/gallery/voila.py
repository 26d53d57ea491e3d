"""Standalone Voilà processes: the published dashboards' preheated pool, and one-off check renders.

Voilà runs as its own process (never as a Jupyter server extension, which would hand every viewer
the full server API), on 127.0.0.1 only, protected by a random token that only the gallery knows:
the gallery proxies to it after its own hub-OAuth check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Float, Int, List, Unicode, default, observe
from traitlets.config import LoggingConfigurable

from backstage.net import free_port

from .runas import RunAs, child_env, current_user, dies_with_gallery, limit_tasks, private_home
from .sandbox import warn_deprecated

log = logging.getLogger(__name__)

DENIED_EXTENSIONS = ["@jupyter/docprovider-extension", "@jupyter/collaboration-extension"]
#: The gallery's Voilà template (dashboard_template/): outputs rendered on the server, a small front end.
DASHBOARD_TEMPLATE = "backstage-dashboard"
TEMPLATE_ROOT = Path(__file__).resolve().with_name("dashboard_template")
FRONT_END_BUNDLE = TEMPLATE_ROOT / "voila" / "templates" / DASHBOARD_TEMPLATE / "static" / "dashboard.js"
#: Kernels talk to Voilà over Unix sockets in a folder only Voilà's account may enter, never TCP ports on 127.0.0.1:
#: a port is picked by binding and closing it, and on a busy machine another process can take it before the kernel
#: binds it (load runs logged "Address already in use" and kernel restarts on new ports). A socket file cannot be
#: taken, and no other local account (a participant's kernel) can connect to it. (The hung dashboard pages were
#: missed zmq wake-ups, not this: see zmq_wakeups.py.)
KERNEL_TRANSPORT = "ipc"
#: Unix socket paths are limited to 107 bytes: the sockets' folder is kept short (its files are named
#: ``voila_<8>/kernel-<uuid>-ipc-<n>``, 57 bytes)
SOCKET_DIR_MAX = 48


class VoilaProcess:
    """One standalone Voilà server on 127.0.0.1, started and stopped by the gallery.

    Parameters
    ----------
    target
        A notebook file (single-dashboard mode) or a folder of published notebooks.
    base_url
        URL prefix Voilà writes into its pages (the gallery proxies that prefix to it).
    extra_args
        Further ``--Class.trait=value`` options.
    template
        Voilà template: the gallery's own (default) or one installed with Voilà, such as ``lab``.
    """

    def __init__(self, target: str, base_url: str = "/", extra_args: list[str] = (), env: dict | None = None,
                 port: int = 0, run_as: RunAs | None = None, template: str = DASHBOARD_TEMPLATE,
                 max_tasks: int | None = None, nice: int = 0):
        self.target = str(target)
        self.template = template
        self.base_url = base_url
        self.port = port or free_port()
        self.token = secrets.token_hex(24)
        self.extra_args = list(extra_args)
        self.env = env
        self.run_as = run_as
        self.max_tasks = max_tasks  # RLIMIT_NPROC of its uid (a check's Voilà), None: unchanged
        self.nice = nice  # CPU niceness of Voilà and its kernels (they inherit it)
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def auth_header(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def argv(self) -> list[str]:
        args = [
            sys.executable, "-m", "voila", self.target, "--no-browser",
            f"--port={self.port}", "--Voila.ip=127.0.0.1", f"--Voila.base_url={self.base_url}",
            "--Voila.open_browser=False", "--VoilaConfiguration.show_tracebacks=False",
        ]
        args += [f"--VoilaConfiguration.extension_denylist={name}" for name in DENIED_EXTENSIONS]
        # The gallery picks the template; a notebook's metadata or a URL parameter may not.
        args += [f"--VoilaConfiguration.template={self.template}", "--VoilaConfiguration.allow_template_override=NO"]
        args += [f"--KernelManager.transport={KERNEL_TRANSPORT}"]
        return args + self.extra_args

    async def start(self, timeout: float = 60) -> None:
        if self.template == DASHBOARD_TEMPLATE and not FRONT_END_BUNDLE.exists():
            raise RuntimeError(f"the dashboards' front end is not built ({FRONT_END_BUNDLE} is missing): run `make install`")
        env = dict(self.env if self.env is not None else os.environ)
        env.pop("JUPYTERHUB_API_TOKEN", None)
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
        # The token reaches Voilà through a pipe that its config file reads once and closes: never on the
        # command line (ps), in the environment (/proc/<pid>/environ keeps what a process started with), or
        # in a file. Without a token from the pipe, Voilà refuses to start rather than run unprotected.
        self._config_dir = _private_dir()
        with open(os.path.join(self._config_dir, "voila.py"), "w") as f:
            f.write(_VOILA_CONFIG)
        self._socket_dir = _socket_dir()  # the kernels' sockets (KERNEL_TRANSPORT)
        if self.run_as is not None:  # readable, not writable: the code in it runs inside Voilà
            self.run_as.share_read(Path(self._config_dir))
            self.run_as.share_read(Path(self._config_dir) / "voila.py")
            self.run_as.own(Path(self._socket_dir))
        argv = self.argv() + [f"--Voila.config_file_paths={self._config_dir}",
                              f"--Voila.connection_dir_root={self._socket_dir}"]
        if self.nice and shutil.which("nice"):
            argv = [shutil.which("nice"), "-n", str(self.nice), *argv]
        reader, writer = os.pipe()
        try:
            os.write(writer, self.token.encode())
        finally:
            os.close(writer)
        env["BACKSTAGE_VOILA_TOKEN_FD"] = str(reader)
        log.info("starting Voilà on 127.0.0.1:%d for %s", self.port, self.target)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *dies_with_gallery(limit_tasks(argv, self.max_tasks) if self.max_tasks else argv), env=env, stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
                pass_fds=(reader,), **(self.run_as.popen_kwargs() if self.run_as else {}),
            )
        finally:
            os.close(reader)
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float) -> None:
        client = AsyncHTTPClient()
        deadline = time.monotonic() + timeout
        url = f"{self.url}voila/static/voila.js"
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"Voilà exited with code {self.proc.returncode} while starting: see the log above")
            try:
                await client.fetch(url, headers=self.auth_header, request_timeout=5, method="HEAD")
                break
            except (HTTPClientError, OSError):
                pass
            if time.monotonic() > deadline:
                await self.stop()
                raise TimeoutError(f"Voilà did not answer on {url} within {timeout:.0f} s")
            await asyncio.sleep(0.2)
        # It must refuse whoever lacks the token (any local process, a check's included, can reach the port).
        unprotected = await client.fetch(self.url, request_timeout=10, raise_error=False, follow_redirects=False)
        if unprotected.code < 300:
            await self.stop()
            raise RuntimeError(f"Voilà on port {self.port} answered {unprotected.code} without its token: stopped it")

    async def stop(self, grace: float = 2) -> None:
        """SIGTERM Voilà (it shuts its kernels down), then SIGKILL whatever of it is left after *grace*."""
        import psutil

        proc, self.proc = self.proc, None
        try:
            if proc is not None and proc.returncode is None:
                try:
                    family = psutil.Process(proc.pid).children(recursive=True)
                except psutil.NoSuchProcess:
                    family = []
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), grace)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    await proc.wait()
                _, alive = psutil.wait_procs(family, timeout=0.5)
                for child in alive:  # kernels run in sessions of their own
                    with contextlib.suppress(psutil.NoSuchProcess):
                        child.kill()
        finally:
            for folder in [getattr(self, "_config_dir", None), getattr(self, "_socket_dir", None),
                           *getattr(self, "cleanup_dirs", [])]:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)


async def _start_or_stop(process: VoilaProcess, timeout: float) -> None:
    """Start *process*; if that fails or is cancelled (the gallery stopping), leave nothing running."""
    try:
        await process.start(timeout)
    except BaseException:
        await asyncio.shield(process.stop())
        raise


_VOILA_CONFIG = """\
import os
_fd = int(os.environ.pop("BACKSTAGE_VOILA_TOKEN_FD"))
with os.fdopen(_fd) as _pipe:
    _token = _pipe.read()
if len(_token) < 32:
    raise SystemExit("no Voila token on the gallery's pipe: refusing to start without one")
c.Voila.token = _token
# Kernel replies are polled in short slices: a missed wake-up would hold a dashboard's page for ever (zmq_wakeups.py).
# Never at the token's expense: a config file that raises is dropped whole.
try:
    from backstage import zmq_wakeups
    zmq_wakeups.install()
except Exception as _e:
    import logging
    logging.getLogger("backstage").warning("kernel replies are waited for without short polls: %s", _e)
"""


def _private_dir() -> str:
    return tempfile.mkdtemp(prefix="backstage-voila-")


def _socket_dir() -> str:
    """A new folder (0700) for the kernels' Unix sockets, with a path short enough for them (see SOCKET_DIR_MAX)."""
    for parent in (tempfile.gettempdir(), "/tmp"):  # noqa: S108 (a private folder made by mkdtemp)
        if len(parent) + len("/bsk-12345678") <= SOCKET_DIR_MAX and os.path.isdir(parent):
            return tempfile.mkdtemp(prefix="bsk-", dir=parent)
    raise RuntimeError(f"no temporary folder with a path under {SOCKET_DIR_MAX} characters for the dashboards' kernel sockets")


class VoilaPool(LoggingConfigurable):
    """The published dashboards' Voilà: preheated kernel pools and idle-kernel culling."""

    pool_size = Int(
        2,
        help="""Preheated kernels kept ready per published dashboard.
        Example: --VoilaPool.pool_size=3""",
    ).tag(config=True)

    cull_idle_timeout = Int(
        300,
        help="""Seconds after which a dashboard kernel with no open page is shut down (pooled kernels are kept).
        Example: --VoilaPool.cull_idle_timeout=600""",
    ).tag(config=True)

    cull_interval = Int(
        30,
        help="""Seconds between two passes of the idle-kernel culler. Example: --VoilaPool.cull_interval=60""",
    ).tag(config=True)

    port = Int(
        help="""Port of the dashboards' Voilà on 127.0.0.1 (0: a free port). Default: $GALLERY_VOILA_PORT or 0.
        Example: --VoilaPool.port=8899""",
    ).tag(config=True)

    @default("port")
    def _default_port(self):
        return int(os.environ.get("GALLERY_VOILA_PORT", "0") or 0)

    base_url = Unicode(
        "/services/gallery/dashboards/",
        help="""URL prefix of the dashboards, as the browser sees it (the gallery proxies it to Voilà).""",
    ).tag(config=True)

    startup_timeout = Float(
        120, help="Seconds to wait for Voilà to answer after starting it. Example: --VoilaPool.startup_timeout=60"
    ).tag(config=True)

    extra_args = List(
        Unicode(), help="Further Voilà options, e.g. ['--VoilaConfiguration.theme=dark']."
    ).tag(config=True)

    template = Unicode(
        DASHBOARD_TEMPLATE,
        help=f"""Voilà template of the published dashboards. The default, {DASHBOARD_TEMPLATE!r}, renders outputs on
        the server and loads ~0.8 MB of script for the ipywidgets 8 controls and outputs; 'lab' is Voilà's own
        JupyterLab front end (~90 files, ~4 MB, never cached in the dashboards' sandbox), needed only for widget
        libraries beyond ipywidgets (installed with their lab extensions). Example: --VoilaPool.template=lab""",
    ).tag(config=True)

    run_as = Unicode(
        None, allow_none=True,
        help="Deprecated: use Sandbox.dashboards_user. Example: --Sandbox.dashboards_user=backstage-dashboards",
    ).tag(config=True)

    @observe("run_as")
    def _deprecated_run_as(self, change):
        warn_deprecated(self.log, "VoilaPool.run_as", "Sandbox.dashboards_user", used=True)

    def __init__(self, source: str, run_as: RunAs | None = None, **kwargs):
        """*run_as*: the dashboards' account (`Sandbox.dashboards_account()`); the current user if None."""
        super().__init__(**kwargs)
        self.source = Path(source)
        self.runner = run_as or current_user()
        self.current: VoilaProcess | None = None
        self.nice = 0  # CPU niceness of Voilà and its kernels: the gallery sets Dashboards.kernel_nice
        self._retiring: set[VoilaProcess] = set()
        self._lock = asyncio.Lock()

    def _stage(self, runner: RunAs) -> tuple[Path, Path]:
        """Copy the published notebooks into a fresh folder the unprivileged user may read."""
        root = Path(tempfile.mkdtemp(prefix="backstage-dashboards-"))
        home = private_home(Path(tempfile.mkdtemp(prefix="backstage-dashboards-home-")), runner)
        runner.own(home)
        for notebook in sorted(self.source.glob("*.ipynb")):
            target = root / notebook.name
            shutil.copyfile(notebook, target)
            os.chmod(target, 0o440)
            if os.geteuid() == 0:
                os.chown(target, 0, runner.gid)
        os.chmod(root, 0o750)  # noqa: S103 (group: the unprivileged dashboards user only)
        if os.geteuid() == 0:
            os.chown(root, 0, runner.gid)
        return root, home

    def _process(self, port: int = 0) -> VoilaProcess:
        runner = self.runner
        root, home = self._stage(runner)
        args = [
            "--VoilaConfiguration.preheat_kernel=True",
            f"--VoilaConfiguration.default_pool_size={self.pool_size}",
            f"--MappingKernelManager.cull_idle_timeout={self.cull_idle_timeout}",
            f"--MappingKernelManager.cull_interval={self.cull_interval}",
            "--MappingKernelManager.cull_connected=False",
            *self.extra_args,
        ]
        process = VoilaProcess(str(root), base_url=self.base_url, extra_args=args, port=port,
                               env=child_env(home), run_as=runner, template=self.template, nice=self.nice)
        process.cleanup_dirs = [root, home]
        return process

    async def start(self) -> None:
        async with self._lock:
            process = self._process(self.port)
            await _start_or_stop(process, self.startup_timeout)
            self.current = process

    async def reload(self) -> None:
        """Start a fresh Voilà that sees the current publications, switch to it, stop the old one.

        Voilà fills its pools only for the notebooks present when it starts, so a publication
        change needs a new process; the old one keeps serving open pages for a grace period.
        """
        async with self._lock:
            # the configured port only when no Voilà holds it: one retiring (30 s) after an earlier reload
            # would make the new one move to another port silently, and the gallery would call the old one
            busy = {p.port for p in (self.current, *self._retiring) if p is not None}
            new = self._process(0 if self.port in busy else self.port)
            await _start_or_stop(new, self.startup_timeout)
            old, self.current = self.current, new
        if old is not None:
            self._retiring.add(old)
            asyncio.get_running_loop().call_later(30, lambda: asyncio.ensure_future(self._retire(old)))

    async def _retire(self, process: VoilaProcess) -> None:
        self._retiring.discard(process)
        await process.stop()

    def kernel_count(self) -> int | None:
        """Kernels of the current Voilà (its child processes), or None if it is not running."""
        import psutil

        if self.current is None or self.current.proc is None:
            return None
        try:
            children = psutil.Process(self.current.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return None
        return sum(1 for c in children if "ipykernel" in " ".join(c.cmdline()))

    async def stop(self) -> None:
        processes = [self.current, *self._retiring]
        self._retiring.clear()
        self.current = None
        await asyncio.gather(*(p.stop() for p in processes if p is not None))
