"""``backstage up``: prepare the state folder and run JupyterHub in the foreground until Ctrl-C.

The banner (``Government Backstage is running at <URL>``) is printed once the lab's sign-in page
answers through the proxy at that URL, not before. Ctrl-C or SIGTERM stops the hub, which stops
the proxy, its services and every server; the services, servers and kernels are signalled at the
same time (the hub would stop them one after another), but the proxy is left to the hub: stopped
under it, the hub's proxy check (every 5 s) would start it again mid-shutdown. Anything still
alive after the grace period (found by the lab's id in its environment) is killed, so no process
is left behind.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil

from backstage.auth.store import SignupStore
from backstage.hubconfig import REPO
from backstage.net import free_port
from backstage.paths import state_dir
from backstage.settings import SettingsError, load_settings
from backstage.urls import hub_origin

log = logging.getLogger(__name__)

__all__ = ["add_parser", "is_proxy_process", "lab_processes", "prepare_state", "run", "wait_until_answering"]

# seconds the hub gets to stop everything before the sweep (SIGKILL), within contract 1's 10 s: measured,
# the hub's clean-up of the services takes ~1-6 s (the gallery stops its Voilà and checks first; longer
# while its Voilà is still starting), then the proxy goes
STOP_GRACE = 7.0
LINGER = 0.5  # seconds the hub may outlive everything it started (the proxy goes last, then "...done")
ANSWER_PATH = "/hub/login"  # the page that must answer through the proxy before the banner
# JupyterHub's last start-up line, logged once its routes are in the proxy: polling the public URL
# before it only fills the log with the proxy's 404s (~20 s while the services start)
HUB_READY_LINE = b"JupyterHub is now running at"
SLOW_START = 60.0  # seconds: past this, say that the lab is still starting


def add_parser(subparsers) -> None:
    """Add ``backstage up`` to the ``backstage`` command."""
    p = subparsers.add_parser("up", help="start the lab in the foreground (Ctrl-C stops it)",
                              description=__doc__)
    p.add_argument("--state", default=None, help="state folder (default: $BACKSTAGE_STATE or .backstage)")
    p.add_argument("--port", type=int, default=None, help="public port (default: $BACKSTAGE_PORT or 8000)")
    p.set_defaults(func=run)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def prepare_state(state: Path, admin: str, isolated: bool, password: str | None) -> str | None:
    """Create the state folder and the admin's password; return a newly generated password, if any.

    The folder is 0700, or 0711 when people's servers run as their own Unix users (they must
    traverse it to reach their homes; they cannot list it, and every file in it is 0600 root).
    """
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711 if isolated else 0o700)
    homes = state / "homes"
    homes.mkdir(exist_ok=True)
    os.chmod(homes, 0o711 if isolated else 0o700)
    store = SignupStore(state / "signups.sqlite")
    generated = None
    password_file = state / "admin-password"
    if password:
        store.set_password(admin, password)
    elif store.get(admin) is None:  # first start without $BACKSTAGE_ADMIN_PASSWORD; later ones keep it
        generated = secrets.token_urlsafe(12)
        _write_private(password_file, generated + "\n")
        store.set_password(admin, generated)
    for name in ("jupyterhub.sqlite", "jupyterhub_cookie_secret", "settings.yaml"):
        if (state / name).exists():
            os.chmod(state / name, 0o600)  # settings may hold the event password
    return generated


def lab_processes(lab_id: str) -> list[psutil.Process]:
    """Every process carrying ``BACKSTAGE_LAB_ID=lab_id`` in its environment."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get("BACKSTAGE_LAB_ID") == lab_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def is_proxy_process(proc: psutil.Process) -> bool:
    """True for the configurable-http-proxy the hub started (it alone gets the proxy's auth token)."""
    try:
        return "CONFIGPROXY_AUTH_TOKEN" in proc.environ()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def wait_until_answering(url: str, is_alive, should_stop, interval: float = 0.3) -> bool:
    """Poll ``url`` until it answers 200; False if ``is_alive()`` turns false or ``should_stop()`` true first.

    A 404 (the proxy is up but has no route to the hub yet), a 502/503 or a refused connection
    mean "not yet".
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no HTTP proxy
    started = time.monotonic()
    warned = False
    while is_alive() and not should_stop():
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        if not warned and time.monotonic() - started > SLOW_START:
            log.warning("The lab does not answer at %s after %.0f s; still waiting (a busy machine?)", url,
                        SLOW_START)
            warned = True
        time.sleep(interval)
    return False


def _forward_output(stream, ready: threading.Event) -> None:
    """Copy the hub's output (and its services' and servers') to ours, line by line; set ``ready`` at
    JupyterHub's "now running" line."""
    out = sys.stdout.buffer
    for line in iter(stream.readline, b""):
        try:
            out.write(line)
            out.flush()
        except (OSError, ValueError):  # our stdout is gone: keep draining, so the lab never blocks on it
            pass
        if not ready.is_set() and HUB_READY_LINE in line:
            ready.set()


def _sweep(lab_id: str) -> int:
    procs = lab_processes(lab_id)
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=2)
    return len(procs)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_hub(hub: subprocess.Popen) -> bool:
    """Wait for the hub to exit; True if it did (or only lingered in its interpreter's exit).

    Once everything the hub started is gone for ``LINGER`` seconds, the hub's clean-up is over (it
    stops the proxy last, once it has recorded the stopped servers) and what is left is its
    interpreter's finalisation, which can take seconds with servers having run: it is ended then.
    The hub's descendants are looked at, not every process's environment (that scan takes ~0.5 s
    on a busy machine); whatever escaped them is found by the sweep afterwards.
    """
    deadline = time.monotonic() + STOP_GRACE
    children_gone_at = None
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            return True
        try:
            started_by_hub = psutil.Process(hub.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started_by_hub = []
        if not [p for p in started_by_hub if _alive(p)]:
            children_gone_at = children_gone_at or time.monotonic()
            if time.monotonic() - children_gone_at > LINGER:
                log.info("Everything else has stopped; ending the hub's exit")
                hub.kill()
                hub.wait()
                return True
        time.sleep(0.2)
    return False


def _banner(url: str, admin: str, generated: str | None, state: Path, isolated: bool) -> str:
    lines = [f"Government Backstage is running at {url}", ""]
    if generated:
        lines.append(f"Sign in as '{admin}' with the generated password: {generated}")
        lines.append(f"(shown once; it is kept in {state / 'admin-password'}, readable by you only)")
    elif os.environ.get("BACKSTAGE_ADMIN_PASSWORD"):
        lines.append(f"Sign in as '{admin}' with the password in $BACKSTAGE_ADMIN_PASSWORD.")
    elif (state / "admin-password").exists():
        lines.append(f"Sign in as '{admin}' with the password in {state / 'admin-password'}.")
    else:
        lines.append(f"Sign in as '{admin}' with the $BACKSTAGE_ADMIN_PASSWORD you gave an earlier start.")
    lines.append(f"Others sign up at {url}/hub/signup; approve them at {url}/hub/signups.")
    if not isolated:
        lines.append("Not running as root: this is a one-person lab (every server runs as you, homes under "
                     f"{state / 'homes'}). Run as root for a lab where each person has their own Unix user.")
    lines.append(f"State: {state}. Stop with Ctrl-C.")
    return "\n".join(lines)


def run(args) -> int:
    """Run the lab in the foreground; return the hub's exit code."""
    env = dict(os.environ)
    if getattr(args, "state", None):
        env["BACKSTAGE_STATE"] = args.state
    if getattr(args, "port", None) is not None:
        env["BACKSTAGE_PORT"] = str(args.port)
    env["BACKSTAGE_STATE"] = str(state_dir(env))
    try:
        settings = load_settings(env)
    except SettingsError as e:
        log.error("%s", e)
        return 2
    state = Path(settings["state_dir"])
    isolated = settings["isolation"] == "users"
    if isolated and os.geteuid() != 0:
        log.error("isolation 'users' needs root: run as root, or set isolation: none in %s", state / "settings.yaml")
        return 2
    admin = settings["admin_users"][0]
    generated = prepare_state(state, admin, isolated, env.get("BACKSTAGE_ADMIN_PASSWORD") or None)
    lab_id = env.get("BACKSTAGE_LAB_ID") or uuid.uuid4().hex
    runtime = {
        "state_dir": str(state),
        "port": settings["port"],
        "lab_id": lab_id,
        "internal_ports": {k: free_port()
                           for k in ("hub", "proxy_api", "gallery", "gallery_voila", "share", "commons")},
    }
    env.update(BACKSTAGE_RUNTIME=json.dumps(runtime), BACKSTAGE_LAB_ID=lab_id)
    env.pop("BACKSTAGE_ADMIN_PASSWORD", None)  # the hub never needs it: the store has the hash
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    cmd = [str(Path(bin_dir) / "jupyterhub"), "-f", str(REPO / "hub" / "jupyterhub_config.py")]
    url = hub_origin(settings)  # http://localhost:<port> with one origin per person

    stopping = {"signal": None}

    def on_signal(signum, frame):
        stopping["signal"] = signum

    # Our own handlers (not SIG_IGN) so the hub and everything it starts get the default SIGINT
    # action back at exec: children that ignore SIGINT make the hub's shutdown hang.
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        # umask 077: whatever the hub and its services write in the state folder is theirs alone
        hub = subprocess.Popen(cmd, cwd=state, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, umask=0o077)
        hub_ready = threading.Event()
        threading.Thread(target=_forward_output, args=(hub.stdout, hub_ready), name="hub-output", daemon=True).start()
        while not hub_ready.wait(0.2) and hub.poll() is None and stopping["signal"] is None:
            pass
        if hub_ready.is_set() and wait_until_answering(url + ANSWER_PATH, lambda: hub.poll() is None,
                                                       lambda: stopping["signal"]):
            print(_banner(url, admin, generated, state, isolated), flush=True)  # noqa: T201 (a CLI banner)
        while hub.poll() is None and stopping["signal"] is None:
            time.sleep(0.2)
        if hub.poll() is None:
            log.info("Stopping the lab (signal %s)", stopping["signal"])
            # Services, servers and kernels at once: the hub stops them one after another, polling
            # each; signalled together, they are all gone by the time the hub looks.
            others = [p for p in lab_processes(lab_id) if p.pid != hub.pid and not is_proxy_process(p)]
            hub.send_signal(signal.SIGTERM)
            for proc in others:
                try:
                    proc.terminate()
                except psutil.NoSuchProcess:
                    pass
            if not _wait_for_hub(hub):
                log.warning("The hub did not stop within %.0f s: killing it", STOP_GRACE)
                os.killpg(hub.pid, signal.SIGKILL)
                hub.wait()
        left = _sweep(lab_id)
        if left:
            log.warning("Killed %d processes the hub left behind", left)
        return 0 if stopping["signal"] else (hub.returncode or 0)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
