"""Run the Kubernetes-built hub configuration on JupyterHub 5.5 (the chart 4.4.0 hub image's version).

Not part of the test suite (it needs a second Python environment with JupyterHub 5.5 from PyPI). It
builds the hub's configuration exactly as on Kubernetes (``backstage.k8s.chart.render_hub``: the chart's
steps, then ``hub.extraConfig``), swaps only what the cluster provides (KubeSpawner, PostgreSQL, the proxy
pod, pod addresses) for local stand-ins, starts JupyterHub 5.5 with the real configurable-http-proxy,
and walks the sign-in path: sign up, refused until approved, the admin (password from the "Secret")
approves, the person signs in, the share page (a service in the hub pod) answers through the proxy,
her server (this repository's jupyterhub-singleuser, i.e. the user image's 6.1.1) starts and answers,
the enrolment API (`backstage kit enrol`) creates an attendee who can sign in.

Usage, from the repository's root::

    python3 -m venv /tmp/jh55
    /tmp/jh55/bin/pip install 'jupyterhub>=5.5,<5.6' pyyaml jsonschema jupyterhub-idle-culler requests
    PYTHONPATH=hub /tmp/jh55/bin/python hub/k8s/compat/try_on_jupyterhub55.py --chart ../shared/z2jh/release-4.4.0
    PYTHONPATH=hub /tmp/jh55/bin/python hub/k8s/compat/try_on_jupyterhub55.py --chart ../shared/z2jh/release-4.4.0 \
        --auth-mode shared-password
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupyterhub
import requests

REPO = Path(__file__).resolve().parents[3]
ADMIN_PASSWORD = "admin-pass-55"  # noqa: S105 - a throwaway hub on loopback
EVENT_PASSWORD = "password-of-the-day"  # noqa: S105

CONFIG = """
import sys, tempfile
sys.path.insert(0, {hub!r})
from backstage.k8s.chart import chart_values, render_hub
from backstage.k8s.hub import ensure_admin, kubernetes_settings
values = chart_values({chart!r}, {values!r})
data = values["hub"]["extraFiles"]["backstage-settings"]["data"]
data["state_dir"] = {state!r}
data["auth"] = {{"mode": {mode!r}}}
data["internal_ports"]["share"] = {share}
values["hub"]["networkPolicy"]["ingress"][0]["ports"][0]["port"] = {share}
secrets = {{"backstage-hub-db": {{"password": "x"}},
           "backstage-auth": {{"admin-password": {password!r}, "event-password": {event!r}}}}}
c.merge(render_hub(values, secrets=secrets, files_root=tempfile.mkdtemp()))
ensure_admin(kubernetes_settings(data, environ={{"BACKSTAGE_EVENT_PASSWORD": {event!r}}}, cull_timeout=3600),
             {{"BACKSTAGE_ADMIN_PASSWORD": {password!r}}})
# local stand-ins for what the chart provides on Kubernetes
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/cookie_secret"
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
# the user image's jupyterhub-singleuser (this repository's environment: JupyterHub 6.1.1), run as root here
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = list(c.Spawner.args) + ["--allow-root"]
c.Spawner.http_timeout = 120
services = []
for s in c.JupyterHub.services:
    s = dict(s)
    if s.get("command"):
        s["command"] = [sys.executable] + [a.replace("localhost:8081", "127.0.0.1:{hub_port}") for a in s["command"][1:]]
        s["environment"] = {{**s.get("environment", {{}}), "PYTHONPATH": {hub!r}}}
    if s["name"] == "share":
        s["url"] = "http://127.0.0.1:{share}"
    services.append(s)
c.JupyterHub.services = services
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _xsrf(session: requests.Session) -> dict:
    """The header a signed-in session sends with the hub's API calls (JupyterHub's XSRF check)."""
    return {"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/") or ""}


def _form_login(base: str, user: str, password: str) -> tuple[requests.Session, requests.Response]:
    s = requests.Session()
    page = s.get(f"{base}/hub/login", timeout=10)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return s, s.post(f"{base}/hub/login", data={"username": user, "password": password, "_xsrf": xsrf},
                     allow_redirects=False, timeout=10)


def walk(base: str) -> list[tuple[str, object, object]]:
    """(step, expected, got) for the sign-in path."""
    steps = [("health", 200, requests.get(f"{base}/hub/health", timeout=10).status_code)]
    s = requests.Session()
    page = s.get(f"{base}/hub/signup", timeout=10)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = s.post(f"{base}/hub/signup", timeout=10, data={
        "_xsrf": xsrf, "username": "ada", "name": "Ada", "email": "ada@example.org",
        "password": "analytical-engine", "password_confirm": "analytical-engine"})
    steps.append(("sign-up form", 200, r.status_code))
    steps.append(("sign-in before approval", 403, _form_login(base, "ada", "analytical-engine")[1].status_code))
    steps.append(("admin, wrong password", 403, _form_login(base, "admin", "wrong-password")[1].status_code))
    admin, r = _form_login(base, "admin", ADMIN_PASSWORD)
    steps.append(("admin signs in", 302, r.status_code))
    page = admin.get(f"{base}/hub/signups", timeout=10)
    steps.append(("approval page lists ada", True, "ada" in page.text))
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    r = admin.post(f"{base}/hub/signups", data={"_xsrf": xsrf, "username": "ada", "action": "approve"}, timeout=10)
    steps.append(("approve", 200, r.status_code))
    ada, r = _form_login(base, "ada", "analytical-engine")
    steps.append(("ada signs in", 302, r.status_code))
    r = ada.get(f"{base}/services/share/", timeout=20)
    steps.append(("share page through the proxy", 200, r.status_code))
    # her server: the user image's jupyterhub-singleuser (JupyterHub 6.1.1) against this hub (5.5)
    r = ada.post(f"{base}/hub/api/users/ada/server", timeout=120,
                 headers=_xsrf(ada))
    steps.append(("ada starts her server", True, r.status_code in (201, 202)))
    for _ in range(120):
        model = ada.get(f"{base}/hub/api/users/ada", timeout=10,
                        headers=_xsrf(ada)).json()
        if model.get("servers", {}).get("", {}).get("ready"):
            break
        time.sleep(1)
    r = ada.get(f"{base}/user/ada/lab", timeout=60)
    steps.append(("her JupyterLab through the proxy (hub OAuth)", 200, r.status_code))
    r = ada.get(f"{base}/user/ada/api/status", timeout=20)
    steps.append(("her server's API with her cookie", 200, r.status_code))
    r = requests.get(f"{base}/user/ada/api/status", timeout=20)
    steps.append(("her server's API for a stranger", 403, r.status_code))
    stop = ada.delete(f"{base}/hub/api/users/ada/server", timeout=60,
                      headers=_xsrf(ada))
    steps.append(("ada stops her server", True, stop.status_code in (202, 204)))
    # an organiser's enrolment (what `backstage kit enrol` calls), with the admin's session and XSRF
    r = admin.post(f"{base}/hub/api/backstage/enrol", timeout=30,
                   headers=_xsrf(admin),
                   json={"group": "event-compat", "attendees": [{"username": "grace", "name": "Grace"}]})
    steps.append(("enrol API", 200, r.status_code))
    created = r.json().get("created", []) if r.ok else []
    if created:
        steps.append(("enrolled attendee signs in", 302,
                      _form_login(base, created[0]["username"], created[0]["password"])[1].status_code))
    r = requests.post(f"{base}/hub/api/backstage/enrol", json={"group": "event-x", "attendees": []}, timeout=10)
    steps.append(("enrol API without credentials", 403, r.status_code))
    return steps


def walk_event(base: str) -> list[tuple[str, object, object]]:
    """The shared-password mode: enrolled attendees with the password of the day, the admin with theirs."""
    steps = [("health", 200, requests.get(f"{base}/hub/health", timeout=10).status_code)]
    admin, r = _form_login(base, "admin", ADMIN_PASSWORD)
    steps.append(("admin signs in with their own password", 302, r.status_code))
    steps.append(("admin with the event password", 403, _form_login(base, "admin", EVENT_PASSWORD)[1].status_code))
    steps.append(("stranger with the event password", 403, _form_login(base, "mallory", EVENT_PASSWORD)[1].status_code))
    r = admin.post(f"{base}/hub/api/backstage/enrol", timeout=30,
                   headers=_xsrf(admin),
                   json={"group": "event-compat", "attendees": [{"username": "grace", "name": "Grace"}]})
    steps.append(("enrol API", 200, r.status_code))
    steps.append(("attendee with the event password", 302, _form_login(base, "grace", EVENT_PASSWORD)[1].status_code))
    steps.append(("attendee, wrong password", 403, _form_login(base, "grace", "not-today-123")[1].status_code))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chart", required=True, help="folder with chart 4.4.0's values.yaml and schema")
    parser.add_argument("--auth-mode", choices=["signup", "shared-password"], default="signup")
    args = parser.parse_args()
    print(f"JupyterHub {jupyterhub.__version__}")  # noqa: T201 - a command-line report
    if not jupyterhub.__version__.startswith("5.5"):
        print("run this with a Python that has JupyterHub 5.5 (see the module docstring)")  # noqa: T201
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        port, hub_port, api_port, share = _free_ports(4)
        config = Path(tmp) / "jupyterhub_config.py"
        config.write_text(CONFIG.format(
            hub=str(REPO / "hub"), chart=str(Path(args.chart).resolve()), values=str(REPO / "hub/k8s/values.yaml"),
            singleuser=str(REPO / ".venv/bin/jupyterhub-singleuser"),
            state=tmp, share=share, password=ADMIN_PASSWORD, event=EVENT_PASSWORD, mode=args.auth_mode, port=port, hub_port=hub_port, api_port=api_port,
            chp=str(REPO / "node_modules/.bin/configurable-http-proxy")))
        log = open(Path(tmp) / "hub.log", "w")  # noqa: SIM115 - closed below
        hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=tmp, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "HOME": tmp, "PYTHONPATH": str(REPO / "hub")})
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if requests.get(f"{base}/hub/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(0.5)
            steps = walk(base) if args.auth_mode == "signup" else walk_event(base)
        except Exception:
            log.flush()
            print((Path(tmp) / "hub.log").read_text()[-4000:])  # noqa: T201
            raise
        finally:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(30)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait()
            try:  # whatever is left of its session (proxy, services)
                os.killpg(hub.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            log.close()
        failed = 0
        for step, expected, got in steps:
            ok = expected == got
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {step}: expected {expected}, got {got}")  # noqa: T201
        if failed:
            print((Path(tmp) / "hub.log").read_text()[-4000:])  # noqa: T201
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
