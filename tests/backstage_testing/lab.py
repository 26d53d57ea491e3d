"""A real lab for tests: ``running_lab(state_dir, **settings)`` runs ``backstage up`` (the code path of
``make up``) as a subprocess on free ports and stops it at exit, asserting that no process is left.

API (stable; other helpers' tests rely on it)::

    with running_lab(state_dir, user_prefix="t1a2b-") as lab:
        lab.url                  # "http://localhost:PORT", the hub's pages (with one origin per person, the
                                 # default; "http://127.0.0.1:PORT" with unsafe_shared_origin=True)
        lab.user_url("ada")      # ada's server as the proxy routes it, e.g. "http://ada.localhost:PORT/user/ada"
                                 # (no trailing slash)
        lab.service_url("gallery")   # a service's base URL, e.g. "http://gallery--service.localhost:PORT/services/gallery/"
        lab.hub_api              # "http://127.0.0.1:PORT/hub/api" (contract 1)
        lab.admin_token          # an API token of `admin`, made through the REST API
        lab.admin_password       # $BACKSTAGE_ADMIN_PASSWORD given to the lab
        s = lab.create_user("ada", groups=("participants",), password=None)
                                 # a requests.Session signed in through the real login form;
                                 # s.username, s.password; idempotent for an existing name
        s = lab.login("ada", "password")   # sign in an existing account (raises if refused)
        lab.token_for("ada")     # a new API token of ada (made by admin through the REST API)
        lab.api("GET", "/users/ada", token=None)   # requests.Response; admin token by default
        lab.xsrf(s)              # the session's XSRF token, for POST/PATCH/DELETE with cookies
        lab.spawn(s)             # start s's server and wait until it answers (returns its URL)
        lab.execute("ada", "5 * 4")   # run code in a new kernel of ada's running server over the
                                 # kernel websocket: {"result": "20", "stdout": "", "error": None}
        lab.log_text()           # everything the lab printed so far
        lab.stop()               # stop now (also done at exit); lab.stop_seconds = time taken
        lab.start_seconds        # from `backstage up` to /hub/health answering 200 and the banner printed

``settings`` are written to ``state_dir/settings.yaml`` (see ``backstage.settings.SCHEMA``), e.g.
``auth={"mode": "shared-password", "event_password": "..."}``, ``idle_timeout=0``, ``gallery=False``.
The session fixture ``lab`` (tests/conftest.py) is one such lab for the whole test session.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
import yaml
from backstage.launcher import lab_processes
from backstage.net import free_port
from backstage.urls import hub_origin, service_url, subdomain_host, user_server_url

from backstage_testing.kernel import execute_over_websocket

REPO = Path(__file__).resolve().parent.parent
BACKSTAGE = Path(sys.executable).parent / "backstage"
START_TIMEOUT = 120
STOP_TIMEOUT = 10  # contract 1: Ctrl-C stops everything within 10 s (plus the sweep's margin below)

__all__ = ["Lab", "delete_orphan_accounts", "delete_unix_users", "execute_over_websocket", "free_port", "running_lab"]


def delete_unix_users(prefix: str) -> list[str]:
    """Delete the Unix accounts the lab made with ``prefix`` (marked in their GECOS field)."""
    accounts = [e for e in pwd.getpwall() if e.pw_name.startswith(prefix) and "government-backstage" in e.pw_gecos]
    return [_delete_account(entry) for entry in accounts]


def _delete_account(entry: pwd.struct_passwd) -> str:
    """Kill what still runs as the account, then remove it."""
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == entry.pw_uid:
                proc.kill()
        except psutil.NoSuchProcess:
            pass
    subprocess.run(["userdel", entry.pw_name], check=False, capture_output=True)
    return entry.pw_name


def delete_orphan_accounts() -> list[str]:
    """Delete the accounts test labs made whose homes are gone (their lab's temporary state was removed).

    Only accounts marked by a lab, with homes in the temporary folder: a lab run by hand keeps its people.
    The folder of homes must be gone, not just the home: a running lab makes the account before the home.
    """
    tmp = Path(tempfile.gettempdir()).resolve()
    return [_delete_account(e) for e in pwd.getpwall()
            if "government-backstage" in e.pw_gecos and Path(e.pw_dir).is_relative_to(tmp)
            and not Path(e.pw_dir).parent.exists()]


class Lab:
    """A running lab (see the module docstring for the API)."""

    def __init__(self, port: int, state_dir: Path, admin_password: str, process: subprocess.Popen,
                 log_path: Path, lab_id: str, settings: dict):
        where = {**settings, "port": port}
        self.port = port
        self.url = hub_origin(where)
        self.subdomain_host = subdomain_host(where)
        self.hub_api = f"http://127.0.0.1:{port}/hub/api"
        self.state_dir = state_dir
        self.admin_password = admin_password
        self.process = process
        self.log_path = log_path
        self.lab_id = lab_id
        self.settings = settings
        self.admin_token: str | None = None
        self.stop_seconds: float | None = None
        self.start_seconds: float | None = None
        self.passwords: dict[str, str] = {"admin": admin_password}

    # -- where things are -----------------------------------------------------------------
    def user_url(self, name: str) -> str:
        """Base URL of ``name``'s server as the proxy routes it, e.g. ``http://ada.localhost:PORT/user/ada``."""
        return user_server_url(name, self.url, self.subdomain_host).rstrip("/")

    def service_url(self, name: str) -> str:
        """Base URL of a hub service as the proxy routes it (trailing slash), e.g.
        ``http://gallery--service.localhost:PORT/services/gallery/``."""
        return service_url(name, self.url, self.subdomain_host)

    # -- plumbing -------------------------------------------------------------------------
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        """Call the hub's REST API (``path`` below ``/hub/api``) with ``token`` (admin's by default)."""
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"token {token or self.admin_token}")
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.hub_api + path, headers=headers, **kwargs)

    @staticmethod
    def xsrf(session: requests.Session) -> str:
        """The XSRF token of a signed-in session (send as ``_xsrf`` form field or ``X-XSRFToken``)."""
        for cookie in session.cookies:
            # the hub's own (path /hub/): servers' and services' are on their own hosts and paths
            if cookie.name == "_xsrf" and cookie.path.startswith("/hub"):
                return cookie.value
        raise AssertionError("the session has no hub _xsrf cookie: was it signed in through the login form?")

    def login(self, username: str, password: str, next_url: str = "") -> requests.Session:
        """Sign in through the real login form; raise AssertionError when refused."""
        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=30)
        page.raise_for_status()
        data = {"username": username, "password": password, "_xsrf": self.xsrf(session)}
        r = session.post(f"{self.url}/hub/login", params={"next": next_url} if next_url else None, data=data,
                         allow_redirects=False, timeout=60)
        if r.status_code != 302:
            message = re.search(r'class="login_error">([^<]*)<', r.text)
            raise AssertionError(f"login of {username!r} refused ({r.status_code}): "
                                 f"{message.group(1) if message else r.text[:300]}")
        session.username = username
        session.password = password
        return session

    # -- people ---------------------------------------------------------------------------
    def create_user(self, name: str, groups=(), password: str | None = None) -> requests.Session:
        """Create (or reuse) an approved account in ``groups`` and return a signed-in session."""
        from backstage.auth.store import SignupStore

        mode = self.settings.get("auth", {}).get("mode", "signup")
        if mode == "shared-password":
            password = self.settings["auth"]["event_password"]
        else:
            password = password or self.passwords.get(name) or secrets.token_urlsafe(12)
            store = SignupStore(self.state_dir / "signups.sqlite")
            if store.get(name) is None:
                store.add(name, password, approved=True)
            elif name not in self.passwords or self.passwords[name] != password:
                store.set_password(name, password)
        self.passwords[name] = password
        r = self.api("GET", f"/users/{name}")
        if r.status_code == 404:
            r = self.api("POST", f"/users/{name}")
            assert r.status_code == 201, r.text
        for group in groups:
            r = self.api("POST", f"/groups/{group}/users", json={"users": [name]})
            if r.status_code == 404:
                assert self.api("POST", f"/groups/{group}").status_code == 201
                r = self.api("POST", f"/groups/{group}/users", json={"users": [name]})
            assert r.status_code == 200, r.text
        return self.login(name, password)

    def token_for(self, name: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``name``, made by the admin through the REST API."""
        body = {"note": "test", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        r = self.api("POST", f"/users/{name}/tokens", json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()["token"]

    def spawn(self, session: requests.Session, timeout: float = 120) -> str:
        """Start ``session``'s own server through the REST API and wait until it answers."""
        name = session.username
        token = self.token_for(name)
        r = self.api("POST", f"/users/{name}/server", token=token)
        assert r.status_code in (201, 202, 400), r.text  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{name}", token=token).json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                url = server["url"].rstrip("/")  # a full URL with one origin per person, else a path
                return url if "://" in url else f"{self.url}{url}"
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server did not start within {timeout} s:\n{self.log_text()[-3000:]}")

    def execute(self, name: str, code: str, timeout: float = 60) -> dict:
        """Run ``code`` in a fresh kernel on ``name``'s running server, over the kernel websocket."""
        token = self.token_for(name)
        base = self.user_url(name)
        headers = {"Authorization": f"token {token}"}
        r = requests.post(f"{base}/api/kernels", headers=headers, json={}, timeout=30)
        assert r.status_code == 201, f"{r.status_code} {r.text[:300]}"
        kernel = r.json()["id"]
        try:
            return execute_over_websocket(base.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels",
                                          token, code, timeout)
        finally:
            requests.delete(f"{base}/api/kernels/{kernel}", headers=headers, timeout=30)

    # -- life cycle -----------------------------------------------------------------------
    def stop(self) -> None:
        if self.process.poll() is not None and self.stop_seconds is not None:
            return
        start = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT + 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stop_seconds = time.monotonic() - start


def _wait_healthy(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"backstage up exited with {lab.process.returncode}:\n{lab.log_text()[-5000:]}")
        try:
            # contract 1: the banner is printed once the lab answers; wait for both
            if (requests.get(f"{lab.url}/hub/health", timeout=5).status_code == 200
                    and "Government Backstage is running at" in lab.log_text()):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the lab did not answer /hub/health within {timeout} s:\n{lab.log_text()[-5000:]}")


@contextmanager
def own_lab(letter: str = "t", *, gallery_config: dict | None = None, **settings):
    """A lab of its own for a test or a module: fresh temporary state, Unix accounts ``<letter><4 hex>-``; both
    removed afterwards. ``gallery_config`` goes to ``$BACKSTAGE_STATE/gallery_config.json`` (traits by class, e.g.
    ``{"Dashboards": {"live_per_dashboard": 2}}``); ``settings`` (and ``env=`` ...) to :func:`running_lab`.
    The accounts' prefix is ``lab.settings["user_prefix"]``."""
    state = Path(tempfile.mkdtemp(prefix="backstage-lab-"))
    if gallery_config is not None:
        (state / "gallery_config.json").write_text(json.dumps(gallery_config))
    user_prefix = f"{letter}{secrets.token_hex(2)}-"
    try:
        with running_lab(state, user_prefix=user_prefix, **settings) as lab:
            yield lab
    finally:
        delete_unix_users(user_prefix)
        keep = os.environ.get("BACKSTAGE_TEST_KEEP_LOGS")  # a folder: each lab's whole log is copied there
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for log in state.glob("lab-*.log"):
                shutil.copy(log, Path(keep) / f"{user_prefix}{log.name}")
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def running_lab(state_dir, *, admin_password: str | None = None, env: dict | None = None,
                start_timeout: float = START_TIMEOUT, run_as: str | None = None, **settings):
    """Run ``backstage up`` on a free port with state in ``state_dir``; yield a :class:`Lab`.

    ``run_as`` names an ordinary Unix user to run the lab as (the one-person lab; needs root).

    At exit the lab is stopped with SIGTERM; the context manager then asserts that it stopped
    within 10 s and that no process of the lab (hub, proxy, services, servers, kernels) is left.
    """
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if settings:
        (state_dir / "settings.yaml").write_text(yaml.safe_dump(settings))
        if run_as:
            os.chown(state_dir / "settings.yaml", pwd.getpwnam(run_as).pw_uid, pwd.getpwnam(run_as).pw_gid)
    admin_password = admin_password or secrets.token_urlsafe(16)
    port = free_port()
    lab_id = f"test-{uuid.uuid4().hex}"
    child_env = {**os.environ, **(env or {}), "BACKSTAGE_STATE": str(state_dir), "BACKSTAGE_PORT": str(port),
                 "BACKSTAGE_ADMIN_PASSWORD": admin_password, "BACKSTAGE_LAB_ID": lab_id}
    log_path = state_dir / f"lab-{port}.log"
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log_file:
        who = {"user": run_as, "group": pwd.getpwnam(run_as).pw_gid, "extra_groups": []} if run_as else {}
        process = subprocess.Popen([str(BACKSTAGE), "up"], cwd=REPO, env=child_env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                   **who)
    lab = Lab(port, state_dir, admin_password, process, log_path, lab_id, settings)
    try:
        started = time.monotonic()
        _wait_healthy(lab, start_timeout)
        lab.start_seconds = time.monotonic() - started
        admin = lab.login("admin", admin_password)
        r = admin.post(f"{lab.url}/hub/api/users/admin/tokens", json={"note": "tests", "expires_in": 86400},
                       headers={"X-XSRFToken": lab.xsrf(admin)}, timeout=30)
        assert r.status_code in (200, 201), f"could not create the admin's token: {r.status_code} {r.text}"
        lab.admin_token = r.json()["token"]
        yield lab
    finally:
        lab.stop()
        left = lab_processes(lab_id)
        for proc in left:
            proc.kill()
        if os.geteuid() == 0:  # the machine's next user inherits no account of an earlier test lab
            delete_orphan_accounts()
    log_tail = lab.log_text().rpartition("Stopping the lab")[2][-3000:]
    assert lab.stop_seconds <= STOP_TIMEOUT, (
        f"the lab took {lab.stop_seconds:.1f} s to stop (limit {STOP_TIMEOUT} s):\n{log_tail}")
    assert not left, f"processes left behind by the lab: {[p.pid for p in left]}\n{lab.log_text()[-3000:]}"
