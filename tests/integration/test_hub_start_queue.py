"""Fair arrivals (issue 16, item 3) on a real lab that starts one server at a time: three people start at
once, each gets a server in arrival order, the later ones read on the hub's progress stream that they wait
(and how many are ahead), and sign-in stays fast meanwhile."""

from __future__ import annotations

import concurrent.futures
import json
import re
import time

import pytest
import requests
from backstage_testing.lab import own_lab
from backstage_testing.slowstart import slow_start

pytestmark = pytest.mark.integration

PEOPLE = ("qada", "qben", "qcat")
WAITING = re.compile(r"^(In the queue: \d+ (person|people) ahead of you|Waiting for a free place: )")


@pytest.fixture(scope="module")
def lab():
    with own_lab("q", gallery=False, idle_timeout=0, start_limit=1) as lab:
        yield lab


def progress_events(lab, name: str, session: requests.Session, deadline: float) -> list[dict]:
    """The events of ``name``'s start, read from the hub's progress stream as its spawn-pending page does."""
    url = f"{lab.url}/hub/api/users/{name}/server/progress"
    events = []
    while time.monotonic() < deadline:
        with session.get(url, headers={"X-XSRFToken": lab.xsrf(session)}, stream=True, timeout=300) as r:
            if r.status_code == 400 and "is not starting" in r.text:  # the start is not registered yet
                time.sleep(0.1)
                continue
            assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:300]}"
            for line in r.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        if events and (events[-1].get("ready") or events[-1].get("failed")):
            return events
    raise AssertionError(f"{name}'s progress stream never said ready or failed: {events}")


def start_and_follow(lab, name: str, session: requests.Session, delay: float) -> tuple[list[dict], float]:
    """Ask for ``name``'s server (as the hub's spawn page does) and follow its progress at once."""
    time.sleep(delay)  # arrival order: ada, then ben, then cat, a moment apart
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        request = pool.submit(session.post, f"{lab.url}/hub/api/users/{name}/server",
                              headers={"X-XSRFToken": lab.xsrf(session)}, timeout=60)
        events = progress_events(lab, name, session, time.monotonic() + 300)
        ready_at = time.monotonic()
        r = request.result()
    assert r.status_code in (201, 202), f"{name}: {r.status_code} {r.text[:300]}"
    return events, ready_at


def test_three_people_starting_at_once_are_started_one_after_another_and_told_they_wait(lab):
    sessions = {name: lab.create_user(name, groups=("participants",)) for name in PEOPLE}
    lab.create_user("qlate", groups=("participants",))

    with concurrent.futures.ThreadPoolExecutor(len(PEOPLE)) as pool:
        with slow_start(lab, "qada") as frozen:  # ada's start takes until cat is in line (a start is ~1 s now)
            futures = {name: pool.submit(start_and_follow, lab, name, sessions[name], 0.4 * i)
                       for i, name in enumerate(PEOPLE)}
            wait_for_log(lab, r"Start queue: qcat waits")
            assert frozen, "ada's server process was never seen"
            # sign-in answers fast while the queue is full
            started = time.monotonic()
            lab.login("qlate", lab.passwords["qlate"])
            sign_in_seconds = time.monotonic() - started
        results = {name: future.result() for name, future in futures.items()}

    for name, (events, _) in results.items():
        assert events[-1].get("ready"), f"{name}: {events}"
        server = lab.api("GET", f"/users/{name}").json()["servers"][""]
        assert server["ready"], server
    messages = {name: [e.get("message", "") for e in events] for name, (events, _) in results.items()}
    # the first starts at once; the later ones are told they wait, the last that someone is ahead of them
    assert not any(WAITING.match(m) for m in messages["qada"]), messages["qada"]
    assert any(WAITING.match(m) for m in messages["qben"]), messages["qben"]
    assert any(m.startswith("In the queue: 1 person ahead of you, 1 server is starting now (the lab starts 1 at "
                            "a time)") for m in messages["qcat"]), messages["qcat"]
    for name in ("qben", "qcat"):  # after waiting, the start itself is reported
        assert any(m.startswith("Starting your server") for m in messages[name]), messages[name]
    # one at a time, in arrival order
    log = lab.log_text()
    order = re.findall(r"Start queue: (q[a-z]+) may start", log)
    assert order == list(PEOPLE), order
    ready_at = {name: at for name, (_, at) in results.items()}
    assert ready_at["qada"] <= ready_at["qben"] <= ready_at["qcat"], ready_at
    assert sign_in_seconds < 5, f"sign-in took {sign_in_seconds:.1f} s while servers started"
    assert "Traceback" not in log, log[-3000:]


def wait_for_log(lab, pattern: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, lab.log_text()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the lab's log never matched {pattern!r}:\n{lab.log_text()[-3000:]}")


def test_people_who_stop_or_are_deleted_while_queued_leave_the_queue(lab):
    names = ("qeve", "qfay", "qgus", "qhal")
    sessions = {name: lab.create_user(name, groups=("participants",)) for name in names}

    def ask(name):  # as the browser does after sign-in: the spawn page, which hands over to the pending page
        r = sessions[name].get(f"{lab.url}/hub/spawn/{name}", allow_redirects=False, timeout=60)
        assert r.status_code == 302 and "/hub/spawn-pending/" in r.headers["Location"], (r.status_code, r.text[:300])

    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        with slow_start(lab, "qeve") as frozen:
            asked = []
            for name in names:  # eve starts; fay, gus and hal queue behind her, in that order
                asked.append(pool.submit(ask, name))
                time.sleep(0.2)
            wait_for_log(lab, r"Start queue: qhal waits \(1 starting, 2 waiting ahead\)")
            for future in asked:  # each is on the pending page (the spawn page hands over after 1 s)
                future.result()
            assert frozen, "eve's server process was never seen"
            # at once, while eve's server starts: fay stops her own start, the admin stops gus's (JupyterHub 6.1.1
            # deletes nobody whose start is pending, queued or not: the admin stops it, then deletes the account)
            fay = sessions["qfay"]
            stops = [pool.submit(fay.delete, f"{lab.url}/hub/api/users/qfay/server",
                                 headers={"X-XSRFToken": lab.xsrf(fay)}, timeout=60),
                     pool.submit(lab.api, "DELETE", "/users/qgus/server", timeout=60)]
            for stop in stops:
                assert stop.result().status_code in (202, 204), stop.result().text
            r = lab.api("DELETE", "/users/qgus", timeout=60)
            assert r.status_code == 204, f"{r.text}\n{lab.log_text()[-4000:]}"
            assert "Start queue: qfay may start" not in lab.log_text(), "fay started before she left the queue"
        # hal is next once eve's server is ready: nobody waits for the two who left
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            servers = lab.api("GET", "/users/qhal").json()["servers"]
            if servers.get("", {}).get("ready"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"hal's server did not start:\n{lab.log_text()[-3000:]}")

    log = lab.log_text()
    assert re.findall(r"Start queue: (q[a-z]+) may start", log)[-2:] == ["qeve", "qhal"], log[-3000:]
    assert lab.api("GET", "/users/qfay").json()["servers"] == {}
    assert lab.api("GET", "/users/qgus").status_code == 404
    assert "Creating Unix user" not in "\n".join(line for line in log.splitlines() if "qgus" in line)
