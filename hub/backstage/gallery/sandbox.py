"""Who runs submitted code: a throw-away Unix account per check, and one account for the dashboards.

Run as root (a real multi-user site):

- **each check** (its kernel, its one-off Voilà, the Chromium that takes its thumbnail) runs as a Unix
  account made for it alone (``<check_user_prefix><12 hex>``, a system account with no login and its own
  private group), with its own home and ``TMPDIR`` in a 0700 folder, a scrubbed environment and
  ``no_new_privs``. Afterwards every process of that uid is killed (``kill(-1, SIGKILL)`` sent *as* that
  uid, repeated until no process with it as real, effective or saved uid is alive: a double fork, ``setsid``
  or a cleared environment does not escape it), the files it left in the machine's shared writable folders
  (``/tmp``, ``/var/tmp``, ``/dev/shm``, ...) are deleted, then the account. Accounts are marked in their GECOS
  field with the gallery's store and the process that made them; a gallery deletes, when it starts, its own
  leftovers (after a crash) and any whose maker has died.
- **the published dashboards** (their Voilà and kernels) run as ``dashboards_user``, an account the lab
  creates, which no check can signal, trace, or whose files, kernels or Voilà token it can read.

Why a per-check ``TMPDIR`` plus a sweep, not a private mount namespace (``unshare --mount``): a mount
namespace needs ``CAP_SYS_ADMIN``, which the gallery's Kubernetes pod does not have (and should not: it is
most of root). A check's uid is its own, so nothing it leaves in ``/tmp`` belongs to anyone else, and the
sweep removes it before the uid can be handed out again.

Run as an ordinary user, the lab is a one-person lab: checks run as that user (as does everything else),
and what a check started is stopped by process group and process tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from traitlets import Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .runas import RunAs, current_user, private_home

log = logging.getLogger(__name__)

MARK = "government-backstage"
#: Folders every local user may write to, where a check could leave files behind.
SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")  # noqa: S108 (swept, not used)
#: Seconds to wait for every process of a check's uid to be gone.
KILL_TIMEOUT = 10
#: Name of each check's work folder (its home and TMPDIR are inside).
WORK_PREFIX = "backstage-check-"


@dataclass(frozen=True)
class CheckAccount:
    """The identity and folders of one check."""

    run_as: RunAs
    #: root's, readable by the account's group only (0750), so the account can neither rename it nor plant
    #: links in it: the submitted notebook, and the account's own folders home/, tmp/ (TMPDIR) and out/
    #: (the kernel's working folder, where the executed notebook is written; read back with `read_untrusted`)
    work: Path
    throwaway: bool  # True: a Unix account made for this check (deleted afterwards)

    @property
    def home(self) -> Path:
        return self.work / "home"

    @property
    def tmp(self) -> Path:
        return self.work / "tmp"

    @property
    def out(self) -> Path:
        return self.work / "out"


class Sandbox(LoggingConfigurable):
    """The Unix accounts that run submitted code (see the module's docstring)."""

    dashboards_user = Unicode(
        help="""Unix account that runs the published dashboards' Voilà and kernels when the gallery runs as root
        (the one `run_as` setting: it replaces VoilaPool.run_as). The lab creates it (a system account with no
        login) if it is missing. Never root, and never an account other services share (such as nobody): a
        dashboard must be out of reach of everything else. Example: --Sandbox.dashboards_user=backstage-dashboards""",
    ).tag(config=True)

    check_user_prefix = Unicode(
        "bkcheck-",
        help="""Start of the names of the throw-away Unix accounts that run each check (as root). The gallery owns
        every account with this prefix that is marked with its store, and deletes leftovers when it starts.
        Example: --Sandbox.check_user_prefix=bkcheck-""",
    ).tag(config=True)

    @default("dashboards_user")
    def _default_dashboards_user(self):
        return self.config.VoilaPool.get("run_as") or "backstage-dashboards"  # the deprecated name, if set

    @validate("check_user_prefix")
    def _valid_prefix(self, proposal):
        value = proposal["value"]
        if not (1 <= len(value) <= 16 and value[0].isalpha() and all(c.isalnum() or c in "-_" for c in value)):
            raise ValueError(f"Sandbox.check_user_prefix={value!r} is not a usable start of a Unix name: use 1 to 16 "
                             "letters, digits, '-' or '_', starting with a letter, e.g. 'bkcheck-'")
        return value

    def __init__(self, owner: str = "", **kwargs):
        """*owner* names the gallery (its store folder): only its own leftover accounts are ever deleted."""
        super().__init__(**kwargs)
        self._owner = f"{MARK} check {hashlib.sha256(owner.encode()).hexdigest()[:12]}"
        me = psutil.Process()
        # who made an account: its gallery (the store) and this very process (pid and start time), so that any
        # gallery can tell an account whose maker is dead (a lab stopped with SIGKILL, never restarted)
        self._mark = f"{self._owner} {me.pid}-{int(me.create_time())}"
        self._live: dict[str, RunAs | None] = {}  # accounts of checks running now in this process: never leftovers

    @property
    def isolated(self) -> bool:
        return os.geteuid() == 0

    # -- the dashboards' account ----------------------------------------------------------------
    def dashboards_account(self) -> RunAs:
        """The dashboards' identity: ``dashboards_user`` (created if missing) as root, else the current user."""
        if not self.isolated:
            return current_user()
        name = self.dashboards_user
        if name.startswith(self.check_user_prefix):
            raise ValueError(f"Sandbox.dashboards_user={name!r} starts with Sandbox.check_user_prefix: choose "
                             "another name, or the dashboards would share the checks' accounts")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            log.info("creating the Unix account %s for the published dashboards", name)
            entry = _useradd(name, "/nonexistent", f"{MARK} dashboards")
        if entry.pw_uid == 0:
            raise ValueError(f"Sandbox.dashboards_user={name!r} is root: dashboards must run as an unprivileged "
                             "account, e.g. backstage-dashboards")
        return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)

    # -- the checks' accounts -------------------------------------------------------------------
    def create_check_account(self) -> CheckAccount:
        """A fresh identity for one check, with a new work folder (see `CheckAccount.work`), home and TMPDIR."""
        work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
        if not self.isolated:
            account = CheckAccount(current_user(), work, throwaway=False)
        else:
            name = f"{self.check_user_prefix}{secrets.token_hex(6)}"
            self._live[name] = None  # before it exists: a scan for leftovers running meanwhile must skip it
            try:
                with _accounts_lock():  # no uid is handed out again while a clean-up may still use it
                    entry = _useradd(name, str(work / "home"), self._mark)
            except BaseException:
                self._live.pop(name, None)
                shutil.rmtree(work, ignore_errors=True)
                raise
            account = CheckAccount(RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid), work, throwaway=True)
            self._live[name] = account.run_as
            account.run_as.share_read(work)
        private_home(account.home, account.run_as)
        for folder in (account.tmp, account.out):
            folder.mkdir(mode=0o700)
            account.run_as.own(folder)
        return account

    def destroy(self, account: CheckAccount) -> None:
        """Kill every process of *account*, delete its files and (if throw-away) the account itself."""
        if account.throwaway:
            kill_every_process_of(account.run_as)
            remove_files_of(account.run_as.uid)
        shutil.rmtree(account.work, ignore_errors=True)
        if account.throwaway:
            _userdel(account.run_as.name)
            self._live.pop(account.run_as.name, None)
            log.info("check account %s (uid %d) deleted", account.run_as.name, account.run_as.uid)

    def kill_live(self) -> None:
        """Kill every process of the checks running now (first thing when the gallery stops: their accounts
        are deleted next, and if the gallery is killed before that, at its next start)."""
        for run_as in list(self._live.values()):
            if run_as is not None:
                with contextlib.suppress(RuntimeError):
                    kill_every_process_of(run_as)

    def remove_leftovers(self) -> list[str]:
        """Delete the check accounts left behind (and all their processes and files): this gallery's own from
        an earlier run, and any gallery's whose maker process is dead.

        Checks may already be running (submissions are accepted while the dashboards' Voilà starts): their
        accounts, made by this process, are not leftovers.
        """
        if not self.isolated:
            return []
        removed = []
        with _accounts_lock():
            for entry in pwd.getpwall():
                if not entry.pw_name.startswith(self.check_user_prefix) or entry.pw_name in self._live:
                    continue
                ours = entry.pw_gecos == self._owner or entry.pw_gecos.startswith(self._owner + " ")
                if not (ours or _maker_is_dead(entry.pw_gecos)):
                    continue
                log.warning("removing the check account %s left by an earlier run", entry.pw_name)
                work = Path(entry.pw_dir).parent
                if not work.name.startswith(WORK_PREFIX):  # never delete a folder that is not a check's
                    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
                self.destroy(CheckAccount(RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid), work, throwaway=True))
                removed.append(entry.pw_name)
        return removed


def _maker_is_dead(gecos: str) -> bool:
    """True if *gecos* is a check account's mark whose maker process (pid-start time) is no longer running."""
    parts = gecos.split()
    if len(parts) != 4 or f"{parts[0]} {parts[1]}" != f"{MARK} check" or parts[3].count("-") != 1:
        return False
    pid, started = parts[3].split("-")
    try:
        return int(psutil.Process(int(pid)).create_time()) != int(started)
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, ValueError):
        return False


@contextlib.contextmanager
def _accounts_lock():
    """One gallery at a time creates or removes check accounts on this machine (root's own folder and file)."""
    import fcntl

    folder = Path("/run/backstage-gallery")
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / "accounts.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_untrusted(path: Path, limit: int) -> bytes | None:
    """The bytes of a file a check's account wrote, or None: never through a link, only a regular file of at
    most *limit* bytes (the account could otherwise point the gallery, which runs as root, at any file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            log.warning("ignoring %s: not a regular file of at most %d bytes", path, limit)
            return None
        return f.read(limit + 1)[:limit]


def write_new(path: Path, data: bytes, run_as: RunAs) -> None:
    """Write *data* to a new file *path* in a folder of *run_as* (never through a link it planted), theirs to read."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        if os.geteuid() == 0 and run_as.uid != 0:
            os.fchown(f.fileno(), run_as.uid, run_as.gid)


def processes_of(uid: int) -> list[psutil.Process]:
    """Live processes with *uid* as their real, effective or saved uid (zombies are not alive)."""
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        with contextlib.suppress(psutil.Error):
            if uid in tuple(proc.info["uids"] or ()) and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def kill_every_process_of(run_as: RunAs, timeout: float = KILL_TIMEOUT) -> None:
    """SIGKILL every process of *run_as*'s uid until none is alive (raise RuntimeError if some survive).

    ``kill(-1, SIGKILL)`` sent by a process running as that uid reaches every process the uid owns, as the
    kernel sees it, however they detached; it is repeated until a scan of ``/proc`` finds none, so a process
    forked in between is caught by the next round.
    """
    if run_as.uid in (0, os.geteuid()):
        raise ValueError(f"refusing to kill every process of uid {run_as.uid}: it is not a throw-away account")
    deadline = time.monotonic() + timeout
    while alive := processes_of(run_as.uid):
        subprocess.run([sys.executable, "-I", "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
                       check=False, user=run_as.uid, group=run_as.gid, extra_groups=[], env={}, cwd="/",
                       stdin=subprocess.DEVNULL, capture_output=True)
        for proc in alive:  # and from here too (e.g. a process that switched its real uid)
            with contextlib.suppress(psutil.Error):
                proc.kill()
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of {run_as.name} (uid {run_as.uid}) survive SIGKILL: "
                               f"{[p.pid for p in alive]}; the account is kept so that they can be found")
        time.sleep(0.05)


def remove_files_of(uid: int, roots=SHARED_WRITABLE) -> int:
    """Delete what *uid* left in the shared writable folders (and world-writable folders below them)."""
    removed = 0
    pending = [Path(r) for r in roots if os.path.isdir(r)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            if info.st_uid == uid:
                if is_dir:
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                removed += 1
            elif is_dir and info.st_mode & stat.S_IWOTH:
                pending.append(Path(entry.path))
    return removed


def _useradd(name: str, home: str, comment: str) -> pwd.struct_passwd:
    """Create a system account with its own group and no login (retrying while /etc/passwd is locked)."""
    argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home,
            "--shell", "/usr/sbin/nologin", "--comment", comment, name]
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)  # made now, or by another gallery at the same time
        if done.returncode == 0 or time.monotonic() > deadline:
            raise RuntimeError(f"could not create the Unix account {name!r}: {done.stderr.strip() or done.returncode}"
                               " (the gallery must run as root with useradd installed)")
        time.sleep(0.2)  # another process holds the lock on /etc/passwd


def _userdel(name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(["userdel", name], check=False, capture_output=True, text=True)
        try:
            pwd.getpwnam(name)
        except KeyError:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not delete the Unix account {name!r}: {done.stderr.strip()}")
        time.sleep(0.2)


def warn_deprecated(logger, old: str, new: str, used: bool = False) -> None:
    """The three ``run_as`` settings became one (issue 17): say which name replaces *old*."""
    if used:
        logger.warning("%s is deprecated: use %s (its value is used meanwhile), e.g. --%s=backstage-dashboards",
                       old, new, new)
    else:
        logger.warning("%s is deprecated and ignored: each check runs as its own throw-away Unix account named "
                       "after %s, e.g. --%s=bkcheck-", old, new, new)
