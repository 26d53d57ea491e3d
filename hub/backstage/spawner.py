"""Each person's server as their own Unix user (run as root), or a one-person lab (run as anyone else).

Run as root, a person ``ada`` gets the Unix account ``<prefix>ada`` (``bk-ada`` by default), created
on the first spawn with its home under ``<state>/homes/`` (mode 0700, owned by that account). The
hub's database, cookie secret and the gallery's store stay root's, mode 0600, so a participant's
code reads none of them, nor another person's home. An existing account that the lab did not create
(``root``, ``daemon``, ...) is never used.

Memory: ``Spawner.mem_limit`` is enforced with ``RLIMIT_AS`` on the server process and, inherited,
on each kernel separately (a per-process cap on address space, not a total per person).

With ``warm_servers`` set, a start hands the person a server started ahead of time (its imports
done) when one waits (backstage/warmpool.py), without waiting in the start queue, and starts a new
process otherwise.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import maybe_future, random_port
from traitlets import Bool, Integer, Unicode, default

from backstage.paths import state_dir
from backstage.singleuser.account import person_preexec
from backstage.singleuser.labconfig import write_lab_config
from backstage.starters import copy_starter_notebooks, copy_starter_notebooks_as
from backstage.startqueue import StartQueue
from backstage.warmpool import WarmPool

__all__ = ["BackstageSpawner"]

_MARK = "government-backstage"  # written into the GECOS field of accounts the lab creates
_QUEUES: dict[int, StartQueue] = {}  # one start queue per hub process (and limit)
_POOLS: dict[int, WarmPool] = {}  # one pool of warm servers per hub process (and size)
SINGLEUSER_COMMAND = [sys.executable, "-m", "backstage.singleuser"]  # jupyterhub-singleuser, cheaper


def default_start_limit() -> int:
    """Starts in flight by default: 2 per core (a start is ~1.7 s of CPU plus waits on disk and the network)."""
    return 2 * (os.cpu_count() or 1)


class BackstageSpawner(LocalProcessSpawner):
    """A local process spawner that isolates people in Unix accounts of their own."""

    isolate_users = Bool(
        True,
        config=True,
        help="Run each server as its own Unix user `<user_prefix><name>` (needs root). "
        "False: a one-person lab, servers run as the hub's user. "
        "Example: c.BackstageSpawner.isolate_users = False",
    )
    user_prefix = Unicode(
        "bk-",
        config=True,
        help="Prefix of the Unix accounts made for people, so a hub name never maps onto a system "
        "account. Example: c.BackstageSpawner.user_prefix = 'lab-'",
    )
    homes_dir = Unicode(
        config=True,
        help="Folder holding people's homes. Example: c.BackstageSpawner.homes_dir = '/srv/backstage/homes'",
    )
    starter_notebooks = Unicode(
        "",
        config=True,
        help="Folder of starter notebooks copied (missing files only) into each home as `notebooks/`. "
        "Example: c.BackstageSpawner.starter_notebooks = '/srv/backstage/notebooks'",
    )

    lab_config_dir = Unicode(
        config=True,
        help="Folder where the hub writes the configuration every server reads (server extensions, "
        "JupyterLab settings: see backstage/singleuser/labconfig.py); default: `singleuser` beside "
        "homes_dir; empty: none. Example: c.BackstageSpawner.lab_config_dir = '/srv/backstage/singleuser'",
    )

    start_limit = Integer(
        config=True,
        help="How many servers start at once; later arrivals wait in a first-come, first-served queue "
        "(before JupyterHub's start_timeout clock) and the progress page says how many are ahead. "
        "Default: 2 per CPU core. Example: c.BackstageSpawner.start_limit = 4",
    )

    warm_servers = Integer(
        config=True,
        help="How many servers to keep started ahead of time (their imports done, waiting to become someone's): "
        "a start then costs ~0.1 s of CPU instead of ~1 s. Each waiting server holds ~90 MB of memory. Set it "
        "to the room's size before a hack day; the pool fills when the hub makes its first spawner (someone "
        "opens the hub's home page) and refills a core's worth at a time once the machine is quiet. 0: none. Default: "
        "$BACKSTAGE_WARM_SERVERS, else 0. Example: c.BackstageSpawner.warm_servers = 50",
    )

    @default("warm_servers")
    def _default_warm_servers(self):
        return int(os.environ.get("BACKSTAGE_WARM_SERVERS") or 0)

    @default("start_limit")
    def _default_start_limit(self):
        return default_start_limit()

    @default("lab_config_dir")
    def _default_lab_config_dir(self):
        return str(Path(self.homes_dir).parent / "singleuser")

    @default("homes_dir")
    def _default_homes_dir(self):
        return str(state_dir() / "homes")

    @default("popen_kwargs")
    def _default_popen_kwargs(self):
        # no terminal on stdin: Jupyter Server would otherwise ask "Shutdown? (y/n)" on SIGINT
        return {"stdin": subprocess.DEVNULL}

    @property
    def unix_name(self) -> str:
        """The Unix account the server runs as."""
        if self.isolate_users:
            return f"{self.user_prefix}{self.user.name}"
        return pwd.getpwuid(os.getuid()).pw_name

    @property
    def home(self) -> Path:
        """The person's home folder."""
        return Path(self.homes_dir) / (self.unix_name if self.isolate_users else self.user.name)

    def _ensure_unix_user(self) -> pwd.struct_passwd:
        name, home = self.unix_name, self.home
        if len(name) > 32:
            raise ValueError(f"Unix name {name!r} is longer than 32 characters: choose a shorter user prefix")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            self.log.info("Creating Unix user %s with home %s", name, home)
            subprocess.run(
                ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                 "--user-group", "--comment", f"{_MARK} {self.user.name}", name],
                check=True, capture_output=True,
            )
            entry = pwd.getpwnam(name)
        if _MARK not in entry.pw_gecos or Path(entry.pw_dir) != home:
            other_lab = _MARK in entry.pw_gecos
            error = RuntimeError(
                f"the Unix account {name!r} exists but was not made by "
                f"{'this lab (another lab on this machine made it, with its home at ' + entry.pw_dir + ')' if other_lab else 'the lab'}: "
                f"refusing to run {self.user.name!r}'s server as it. Give each lab on a machine its own "
                "user_prefix in settings.yaml, or remove that account."
            )
            # what the person sees on the spawn page (JupyterHub shows `jupyterhub_message`, not a bare 500)
            error.jupyterhub_message = (
                f"Your server cannot start: the machine already has a Unix account named {name!r} that this lab "
                "did not make. This is not something you can fix: please tell the lab's organisers, who will "
                "find the details in the lab's log."
            )
            raise error
        return entry

    def _prepare_home(self) -> None:
        homes = Path(self.homes_dir)
        homes.mkdir(mode=0o711, parents=True, exist_ok=True)
        home = self.home
        if self.isolate_users:
            entry = self._ensure_unix_user()
            uid, gid = entry.pw_uid, entry.pw_gid
        else:
            uid = gid = None
        if not home.exists():
            home.mkdir(mode=0o700)
        if uid is not None:
            os.chown(home, uid, gid)
        os.chmod(home, 0o700)
        if self.starter_notebooks:
            # as the person, never following a link they left in their home (see backstage/starters.py)
            source = Path(self.starter_notebooks)
            copied = (copy_starter_notebooks(source, home) if uid is None
                      else copy_starter_notebooks_as(source, home, uid, gid))
            if copied:
                self.log.info("Copied %d starter notebook files into %s", len(copied), home)

    def make_preexec_fn(self, name):
        # the same steps as a warm server's (backstage/singleuser/account.py)
        return person_preexec(self.unix_name if self.isolate_users else None, str(self.home), self.mem_limit)

    def user_env(self, env):
        env["HOME"] = str(self.home)
        if self.isolate_users:
            entry = pwd.getpwnam(self.unix_name)
            env["USER"] = env["LOGNAME"] = entry.pw_name
            env["SHELL"] = entry.pw_shell or "/bin/bash"
        else:
            env["USER"] = self.unix_name
        return env

    @default("cmd")
    def _default_cmd(self):
        # jupyterhub-singleuser without its costs for nothing (see backstage/singleuser/__main__.py)
        return list(SINGLEUSER_COMMAND)

    def lab_links(self) -> dict[str, str]:
        """The hub's listed services, as JupyterLab's "Backstage" menu shows them: label -> URL."""
        links = {}
        for name, service in sorted(self.user.settings.get("services", {}).items()):
            if service.display and service.url:
                links[service.info.get("display_name") or name] = f"{service.host or ''}{service.prefix}"
        return links

    def get_env(self):
        env = super().get_env()
        if self.lab_config_dir:
            env["JUPYTER_CONFIG_PATH"] = str(Path(self.lab_config_dir) / "jupyter")
        return env

    @property
    def warm_pool(self) -> WarmPool:
        """The hub process's servers started ahead of time (filled on first use)."""
        pool = _POOLS.get(self.warm_servers)
        if pool is None:
            env = {key: os.environ[key] for key in self.env_keep if key in os.environ}
            pool = _POOLS[self.warm_servers] = WarmPool(self.warm_servers, {**env, "HOME": "/"})
        return pool

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._warm_proc = None  # a warm server reserved for this start, until handed over
        if self.warm_servers:
            self.warm_pool.fill_soon()  # the hub's first spawner fills the pool (later calls change nothing)

    @property
    def start_queue(self) -> StartQueue:
        """The hub process's queue of server starts."""
        queue = _QUEUES.get(self.start_limit)
        if queue is None:
            queue = _QUEUES[self.start_limit] = StartQueue(self.start_limit)
        return queue

    async def run_pre_spawn_hook(self):
        # JupyterHub 6.1.1 (User.spawn) awaits this before it calls start() under
        # asyncio.wait_for(start_timeout): the wait for a place is not counted against that limit.
        if self.warm_servers and list(self.cmd) == SINGLEUSER_COMMAND and not self.shell_cmd:
            self._warm_proc = self.warm_pool.reserve()
            if self._warm_proc is not None:  # ~0.1 s of CPU to hand over: no need to wait for a place
                return await maybe_future(super().run_pre_spawn_hook())
        queue = self.start_queue
        place = queue.place(self) or queue.holds(self)
        if not place:
            if queue.waiting or queue.starting >= queue.limit:
                self.log.info("Start queue: %s waits (%d starting, %d waiting ahead)",
                              self._log_name, queue.starting, queue.waiting)
            await queue.wait_turn(self)
            self.log.info("Start queue: %s may start (%d starting, %d waiting)",
                          self._log_name, queue.starting, queue.waiting)
            spawn = self._spawn_future
            if spawn is None:  # started without the hub's handler (none here): free the place when start returns
                self._leave_queue_after_start = True
            else:  # ready, failed or cancelled: the next in line starts
                spawn.add_done_callback(lambda _: self._leave_queue(queue))
        return await maybe_future(super().run_pre_spawn_hook())

    def _leave_queue(self, queue: StartQueue) -> None:
        queue.leave(self)
        if not queue.starting and not queue.waiting:
            self.warm_pool.refill_later()  # warming waits for a quiet moment: it never slows a start

    async def progress(self):
        queue = self.start_queue
        loop = asyncio.get_running_loop()
        joined_by = loop.time() + 10  # the hub may still be preparing the start (tokens, OAuth client)
        while (not (queue.holds(self) or queue.place(self) or self._warm_proc) and self._spawn_pending
               and loop.time() < joined_by):
            await queue.changed(queue.version, timeout=1)
        told = None
        while (place := queue.place(self)) is not None:
            seen = queue.version
            if place != told:
                yield {"progress": 5, "message": place.message()}
                told = place
            await queue.changed(seen, timeout=30)
        yield {"progress": 50, "message": "Starting your server: setting up your home and JupyterLab..."}

    async def stop(self, now=False):
        self.start_queue.leave(self)  # stopped while waiting or starting: the place goes to the next in line
        self._drop_warm_reservation()
        return await super().stop(now=now)

    async def start(self):
        try:
            return await self._start()
        except BaseException:
            self.start_queue.leave(self)  # a failed start frees its place at once
            self._drop_warm_reservation()
            raise
        finally:
            if getattr(self, "_leave_queue_after_start", False):
                self._leave_queue_after_start = False
                self.start_queue.leave(self)

    async def _start(self):
        await asyncio.get_running_loop().run_in_executor(None, self._prepare_home)
        if self.lab_config_dir:
            write_lab_config(self.lab_config_dir, self.lab_links())
        self.notebook_dir = str(self.home)
        if self._warm_proc is not None:
            started = self._start_warm()
            if started is not None:
                return started
            self.log.warning("The warm server reserved for %s was gone: starting a new one", self._log_name)
        return await super().start()

    def _start_warm(self):
        """Hand the reserved warm server to this person (what LocalProcessSpawner.start does, without a new process)."""
        proc, self._warm_proc = self._warm_proc, None
        if self.port == 0:
            self.port = random_port()
        assignment = {"unix_name": self.unix_name if self.isolate_users else None, "home": str(self.home),
                      "mem_limit": self.mem_limit or None, "env": self.get_env(),
                      "argv": ["backstage-singleuser", *self.get_args()]}
        if not self.warm_pool.hand_over(proc, assignment):
            return None
        self.log.info("Handed warm server %d to %s (%d still waiting)", proc.pid, self._log_name,
                      self.warm_pool.waiting)
        self.proc, self.pid = proc, proc.pid
        queue = self.start_queue
        if not queue.starting and not queue.waiting:
            self.warm_pool.refill_later()
        return (self.ip or "127.0.0.1", self.port)

    def _drop_warm_reservation(self) -> None:
        """A start stopped before its warm server was handed over: end that server (it has been nobody's)."""
        proc, self._warm_proc = self._warm_proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
