"""Sign-in that resists abuse (issue 11, finding 6 and the session id of 7), on a lab of its own (its
throttles must not touch the session's lab): hashing off the event loop, the same time for unknown
and known names, throttling with a clear message and a growing wait, a fresh session at sign-in."""

from __future__ import annotations

import concurrent.futures
import html
import logging
import re
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from backstage_testing.lab import running_lab

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def quiet_lab():
    state = Path(tempfile.mkdtemp(prefix="backstage-abuse-"))
    try:
        with running_lab(state, gallery=False, idle_timeout=0) as lab:
            yield lab
    finally:
        shutil.rmtree(state, ignore_errors=True)


def attempt(lab, name, password, session=None) -> tuple[int, str, float]:
    """One sign-in through the form: (status, login error text, seconds for the POST)."""
    s = session or requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=60)
    data = {"username": name, "password": password, "_xsrf": lab.xsrf(s)}
    start = time.perf_counter()
    r = s.post(f"{lab.url}/hub/login", data=data, allow_redirects=False, timeout=120)
    took = time.perf_counter() - start
    message = re.search(r'class="login_error">([^<]*)<', r.text)
    return r.status_code, html.unescape(message.group(1).strip()) if message else "", took


def test_forty_parallel_wrong_sign_ins_leave_the_hub_answering(quiet_lab):
    lab = quiet_lab
    stop = threading.Event()
    latencies = []

    def probe():
        while not stop.is_set():
            start = time.perf_counter()
            r = lab.api("GET", "/user")
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            # 40 different names (so the per-name throttle does not cut the hashing short), all wrong
            results = list(pool.map(lambda i: attempt(lab, f"crowd{i}", "wrong-password-" + "x" * 1000), range(40)))
    finally:
        stop.set()
        prober.join()
    assert all(status == 403 for status, _, _ in results)
    worst, median = max(latencies), statistics.median(latencies)
    log.warning("GET /hub/api/user during 40 parallel wrong sign-ins: median %.3f s, max %.3f s, %d probes",
                median, worst, len(latencies))
    print(f"\nGET /hub/api/user during 40 parallel wrong sign-ins: median {median:.3f} s, max {worst:.3f} s, "
          f"{len(latencies)} probes")
    # measured on this 2-core machine (shared): hashing on the event loop, median 0.84 s and max 3.7 s
    # (5 probes got through); in the hashing threads, median 0.027 s and max 1.0 s (73 probes)
    assert len(latencies) >= 10
    assert median < 0.3 and worst < 2.5, f"the hub stalled (median {median:.2f} s, max {worst:.2f} s)"


def test_unknown_names_take_as_long_as_known_ones(quiet_lab):
    from backstage.auth.store import SignupStore

    lab = quiet_lab
    store = SignupStore(lab.state_dir / "signups.sqlite")
    for i in range(15):
        if store.get(f"known{i}") is None:
            store.add(f"known{i}", "the-right-password", approved=True)
    known, unknown = [], []
    for i in range(15):  # interleaved, one wrong password per name (no throttling in the way)
        known.append(attempt(lab, f"known{i}", "a-wrong-password")[2])
        unknown.append(attempt(lab, f"unknown{i}", "a-wrong-password")[2])
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"\nwrong password, median of 15: known names {k * 1000:.0f} ms, unknown names {u * 1000:.0f} ms")
    assert abs(u - k) < max(0.35 * k, 0.015), f"known {k:.3f} s vs unknown {u:.3f} s"


def test_repeated_failures_for_a_name_wait_longer_each_time_with_a_clear_message(quiet_lab):
    lab = quiet_lab
    ana = lab.create_user("throttled", groups=("participants",))
    for _ in range(5):
        assert attempt(lab, "throttled", "not-her-password")[:2] == (403, "Invalid username or password")
    # the sixth failure locks the name for 1 s, the seventh for 2 s: the right password waits too
    assert attempt(lab, "throttled", "not-her-password")[0] == 403
    status, message, _ = attempt(lab, "throttled", ana.password)
    assert status == 429 and "Too many failed sign-ins for the name 'throttled'" in message
    assert re.search(r"wait \d+ seconds?, then try again", message)
    time.sleep(1.5)
    assert attempt(lab, "throttled", "not-her-password")[0] == 403
    status, message, _ = attempt(lab, "throttled", ana.password)
    assert status == 429 and "wait 2 seconds" in message, message
    # other names are not affected, and once the wait is over the right password works
    lab.login("admin", lab.admin_password)
    deadline = time.monotonic() + 10
    while attempt(lab, "throttled", ana.password)[0] == 429 and time.monotonic() < deadline:
        time.sleep(0.5)
    lab.login("throttled", ana.password)


def test_sign_in_gives_a_fresh_session_id_and_xsrf_token(quiet_lab):
    lab = quiet_lab
    person = lab.create_user("freshsession", groups=("participants",))
    # a session id planted before sign-in (e.g. by a page on a sibling host) must not survive it
    planted = "planted0000000000000000000000000"
    s = requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=30, headers={"Cookie": f"jupyterhub-session-id={planted}"})
    xsrf_before = lab.xsrf(s)
    r = s.post(f"{lab.url}/hub/login", allow_redirects=False, timeout=60,
               data={"username": "freshsession", "password": person.password, "_xsrf": xsrf_before},
               headers={"Cookie": "; ".join([f"jupyterhub-session-id={planted}",
                                             *(f"{c.name}={c.value}" for c in s.cookies)])})
    assert r.status_code == 302
    set_cookies = r.raw.headers.getlist("Set-Cookie")
    fresh = [c.split(";")[0].split("=", 1)[1] for c in set_cookies if c.startswith("jupyterhub-session-id=")]
    assert fresh and fresh[0] != planted, set_cookies
    assert lab.xsrf(s) != xsrf_before
    r = s.get(f"{lab.url}/hub/api/user", headers={"X-XSRFToken": lab.xsrf(s)}, timeout=30)
    assert r.status_code == 200 and r.json()["name"] == "freshsession"
