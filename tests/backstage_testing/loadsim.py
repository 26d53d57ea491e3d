"""The core of the hub load benchmark: simulated people on a running lab, and the lab's memory.

Each simulated person walks the participant's path on the real lab (:class:`backstage_testing.lab.Lab`):

1. **login**: signs in through the hub's login form (``GET /hub/login``, ``POST`` with the form's
   XSRF token), as a browser does;
2. **spawn**: starts their server with the session's cookie and XSRF header (what the hub's home
   page does), follows the spawn-progress event stream until ``ready`` (what the spawn-pending page
   does), then waits until the server itself answers ``/api/status`` through the proxy;
3. **kernel**: starts a kernel on their server;
4. **execute**: runs a person-specific product over the kernel's websocket and checks the answer;
5. **stop**: shuts the kernel down, stops the server and waits until the hub says it is gone.

A person who fails a step is recorded with the step and the reason, and their server is stopped
by the admin so that a failure cannot leave memory behind. People arrive spread over a ramp, at
most ``concurrency`` at a time; every step has a time limit.

While they run, :class:`ProcessSampler` samples the resident memory (RSS) of the hub, the proxy and
the single-user servers with their kernels, and counts the servers alive.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psutil
import requests
import websocket

from backstage_testing.kernel import KernelTimeout, execute, request

log = logging.getLogger(__name__)

__all__ = ["CPU_PARTS", "WARM_UP", "LoadResult", "PersonResult", "ProcessSampler", "StepTimeouts", "cpu_lines", "percentile",
           "provision", "result_record", "run_person", "simulate", "start_cpu", "summary_lines", "wait_for_warm_servers"]

STEPS = ("login", "spawn", "kernel", "execute", "stop")
# where a start's CPU goes, per person (the hub's and the proxy's share is the run's total over the starts)
CPU_PARTS = ("server start", "server subprocesses", "first kernel")
WARM_UP = "warm-up (ahead of time)"  # a warm server's CPU before it was handed over (not on the arrival's path)
MB = 1024 * 1024


@dataclass(frozen=True)
class StepTimeouts:
    """Time limits (seconds) of each step of a person; spawn matches the hub's ``start_timeout``."""

    login: float = 60
    spawn: float = 150
    kernel: float = 60
    execute: float = 60
    stop: float = 60


@dataclass
class PersonResult:
    """What happened to one simulated person: seconds per step, and the failed step with its reason."""

    name: str
    arrival: float = 0.0  # seconds after the start of the run when the person was due
    started: float = 0.0  # seconds after the start of the run when a slot was free
    seconds: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)  # CPU seconds of this person's start, by part (CPU_PARTS)
    failed_step: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_step is None


class StepError(RuntimeError):
    """A step of a simulated person went wrong (the message says what came back)."""


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _rss(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0


def is_server_command(cmdline: str) -> bool:
    """True for a person's server: ``python -m backstage.singleuser`` (the lab's) or ``jupyterhub-singleuser``."""
    return "backstage.singleuser" in cmdline or "jupyterhub-singleuser" in cmdline


def _cpu(times) -> float:
    return times.user + times.system


def person_processes(name: str, unix_name: str | None = None) -> tuple[psutil.Process | None, list[psutil.Process]]:
    """``name``'s server process and its kernels: found by its Unix account ``unix_name`` when given (a warm
    server's ``/proc`` environment is the one it was started with, not the person's), else by ``JUPYTERHUB_USER``
    in its environment (a one-person lab, where every server is the same account's)."""
    for proc in psutil.process_iter():
        try:
            if not is_server_command(_cmdline(proc)):
                continue
            if proc.username() == unix_name if unix_name else proc.environ().get("JUPYTERHUB_USER") == name:
                kernels = [k for k in proc.children(recursive=True) if "ipykernel" in _cmdline(k)]
                return proc, kernels
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, KeyError):
            continue
    return None, []


def start_cpu(name: str, unix_name: str | None = None) -> dict:
    """CPU seconds of ``name``'s server so far: its own, its finished subprocesses', its kernels'.

    A warm server's (backstage/warmpool.py) own figure counts only what it spent once handed over: the
    imports it did ahead of time are in ``warm-up (ahead of time)``.
    """
    server, kernels = person_processes(name, unix_name)
    if server is None:
        return {}
    try:
        times = server.cpu_times()
        cpu = {"server start": _cpu(times), "server subprocesses": times.children_user + times.children_system}
        cpu["first kernel"] = sum(_cpu(k.cpu_times()) for k in kernels)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return {}
    ahead = _WARM_UP_CPU.get(server.pid)
    if ahead is not None:
        cpu["server start"] -= ahead
        cpu[WARM_UP] = ahead
    return cpu


_WARM_UP_CPU: dict[int, float] = {}  # pid of a warm server -> CPU seconds it spent before being handed over


def is_warm_server(proc: psutil.Process) -> bool:
    """A server started ahead of time (backstage.singleuser.warm), still waiting for someone (root's)."""
    try:
        return "backstage.singleuser.warm" in _cmdline(proc) and proc.uids().real == 0
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _reading_stdin(proc: psutil.Process) -> bool:
    """True when ``proc`` is blocked reading its standard input (``read(0, ...)`` in /proc/<pid>/syscall)."""
    try:
        with open(f"/proc/{proc.pid}/syscall") as f:
            return f.read().startswith("0 0x0 ")
    except OSError:
        return False


def wait_for_warm_servers(hub: psutil.Process, count: int, timeout: float = 600) -> float:
    """Wait until ``count`` warm servers under ``hub`` wait for someone (their imports done, blocked reading the
    hub's pipe); remember the CPU each spent. Returns the seconds waited; raises RuntimeError at ``timeout``."""
    start = time.monotonic()
    while True:
        ready = {}
        for proc in hub.children():
            if is_warm_server(proc) and _reading_stdin(proc):
                try:
                    ready[proc.pid] = _cpu(proc.cpu_times())
                except psutil.NoSuchProcess:
                    continue
        if len(ready) >= count:
            _WARM_UP_CPU.update(ready)
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"only {len(ready)} of {count} warm servers were ready after {timeout:.0f} s")
        time.sleep(0.5)


def find_hub_and_proxy(launcher_pid: int, timeout: float = 20) -> tuple[psutil.Process, psutil.Process]:
    """The hub process (child of ``backstage up``) and its configurable-http-proxy child."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            hubs = [p for p in psutil.Process(launcher_pid).children() if "jupyterhub" in _cmdline(p)]
            proxies = [p for h in hubs for p in h.children() if "configurable-http-proxy" in _cmdline(p)]
        except psutil.NoSuchProcess as e:
            raise RuntimeError(f"the lab's launcher (pid {launcher_pid}) is gone: did the lab stop?") from e
        if hubs and proxies:
            return hubs[0], proxies[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not find the hub and proxy processes under pid {launcher_pid} "
                               f"(hub found: {bool(hubs)}, proxy found: {bool(proxies)})")
        time.sleep(0.5)


class ProcessSampler(threading.Thread):
    """Sample, every ``interval`` seconds, the RSS of the hub, the proxy and the servers with their kernels.

    Parameters
    ----------
    launcher_pid : int
        The pid of ``backstage up`` (``lab.process.pid``); the hub is its child.
    interval : float
        Seconds between samples.
    """

    def __init__(self, launcher_pid: int, interval: float = 0.5):
        super().__init__(name="hub-load-sampler", daemon=True)
        self.hub, self.proxy = find_hub_and_proxy(launcher_pid)
        self._cpu_at_start = {"hub": self._cpu_of(self.hub), "proxy": self._cpu_of(self.proxy)}
        self.cpu_used = {"hub": 0.0, "proxy": 0.0}  # CPU seconds since the sampler was made
        self.interval = interval
        self.samples = 0
        self.hub_peak = self.proxy_peak = self.servers_rss_peak = 0
        self.servers_peak = self.kernels_peak = 0
        self.available_min = psutil.virtual_memory().available
        self._stop_event = threading.Event()

    @staticmethod
    def _cpu_of(proc: psutil.Process) -> float:
        try:
            return _cpu(proc.cpu_times())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0.0

    def sample(self) -> None:
        """Take one sample and update the peaks."""
        for part, proc in (("hub", self.hub), ("proxy", self.proxy)):
            self.cpu_used[part] = max(self.cpu_used[part], self._cpu_of(proc) - self._cpu_at_start[part])
        self.hub_peak = max(self.hub_peak, _rss(self.hub))
        self.proxy_peak = max(self.proxy_peak, _rss(self.proxy))
        try:
            children = self.hub.children()
        except psutil.NoSuchProcess:
            children = []
        servers = [p for p in children if is_server_command(_cmdline(p))]
        total = kernels = 0
        for server in servers:
            total += _rss(server)
            try:
                below = server.children(recursive=True)
            except psutil.NoSuchProcess:
                below = []
            kernels += sum(1 for k in below if "ipykernel" in _cmdline(k))
            total += sum(_rss(k) for k in below)
        self.servers_peak = max(self.servers_peak, len(servers))
        self.kernels_peak = max(self.kernels_peak, kernels)
        self.servers_rss_peak = max(self.servers_rss_peak, total)
        self.available_min = min(self.available_min, psutil.virtual_memory().available)
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.sample()
            except Exception:  # a sampler must never end the run; the next sample retries
                log.exception("memory sample failed")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        self.sample()


def provision(lab, names: list[str], group: str = "participants") -> dict[str, str]:
    """Create approved accounts ``names`` in ``group`` (as an organiser's enrolment would); return passwords."""
    passwords = {}
    for name in names:
        session = lab.create_user(name, groups=(group,))
        passwords[name] = session.password
        session.close()
    return passwords


def _check(r: requests.Response, expected: tuple[int, ...], what: str) -> requests.Response:
    if r.status_code not in expected:
        raise StepError(f"{what}: HTTP {r.status_code} {r.text[:200]!r}")
    return r


def _execute(ws, code: str, timeout: float) -> str | None:
    """Run ``code``; return its ``text/plain`` result, or raise with the kernel's error."""
    try:
        out = execute(ws, code, timeout)
    except KernelTimeout as e:
        raise StepError(str(e)) from None
    if out["error"]:
        raise StepError(f"the kernel raised {out['error']}")
    return out["result"]


def _spawn(lab, session: requests.Session, name: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    xsrf = {"X-XSRFToken": lab.xsrf(session)}
    _check(session.post(f"{lab.url}/hub/api/users/{name}/server", headers=xsrf, timeout=30), (201, 202),
           "POST /hub/api/users/NAME/server")
    url = None
    with session.get(f"{lab.url}/hub/api/users/{name}/server/progress", stream=True, timeout=(10, 30),
                     headers={"Accept": "text/event-stream"}) as r:
        _check(r, (200,), "GET spawn progress")
        for line in r.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                raise StepError(f"the server was not ready within {timeout:.0f} s")
            if not line or not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("failed"):
                raise StepError(f"spawn failed: {event.get('message', '')[:300]}")
            if event.get("ready"):
                url = event["url"]
                break
    if url is None:
        raise StepError("the spawn-progress stream ended without a ready event")
    # the hub has checked the server; now it must answer through the proxy too (the hub's cookies are
    # for its own host: the server's URL is a full one, on its own host, with one origin per person)
    server = url.rstrip("/") if "://" in url else f"{lab.url}{url.rstrip('/')}"
    while True:
        try:
            r = session.get(f"{server}/api/status", timeout=10, allow_redirects=False,
                            headers={"Authorization": f"token {session.token}"})
            if r.status_code == 200:
                return server
            last = f"HTTP {r.status_code}"
        except requests.RequestException as e:
            last = type(e).__name__
        if time.monotonic() > deadline:
            raise StepError(f"the server was ready at the hub but did not answer within {timeout:.0f} s ({last})")
        time.sleep(0.3)


def _stop(lab, session: requests.Session, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    r = session.delete(f"{lab.url}/hub/api/users/{name}/server", headers={"X-XSRFToken": lab.xsrf(session)},
                       timeout=30)
    _check(r, (202, 204), "DELETE /hub/api/users/NAME/server")
    while True:
        model = _check(session.get(f"{lab.url}/hub/api/users/{name}", timeout=30), (200,), "GET own user model").json()
        if "" not in (model.get("servers") or {}):
            return
        if time.monotonic() > deadline:
            raise StepError(f"the server had not stopped after {timeout:.0f} s (pending: "
                            f"{model['servers'][''].get('pending')})")
        time.sleep(0.3)


def run_person(lab, name: str, password: str, timeouts: StepTimeouts = StepTimeouts(),
               result: PersonResult | None = None) -> PersonResult:
    """Walk one person through login, spawn, kernel, execute and stop; record seconds per step.

    Never raises for a failure of the lab: the failed step and its reason are in the result.
    """
    result = result or PersonResult(name)
    session = None
    kernel_url = None
    step = "login"
    headers = {}
    try:
        start = time.monotonic()
        session = lab.login(name, password)
        r = _check(session.post(f"{lab.url}/hub/api/users/{name}/tokens", headers={"X-XSRFToken": lab.xsrf(session)},
                                json={"note": "hub load benchmark", "expires_in": 3600}, timeout=timeouts.login),
                   (200, 201), "POST own token")
        session.token = r.json()["token"]
        headers = {"Authorization": f"token {session.token}"}
        result.seconds["login"] = time.monotonic() - start

        step = "spawn"
        start = time.monotonic()
        server = _spawn(lab, session, name, timeouts.spawn)
        result.seconds["spawn"] = time.monotonic() - start
        unix_name = f"{lab.settings['user_prefix']}{name}" if lab.settings.get("user_prefix") and os.getuid() == 0 else None
        result.cpu.update(start_cpu(name, unix_name))  # ready: what the start itself cost

        step = "kernel"
        start = time.monotonic()
        r = _check(requests.post(f"{server}/api/kernels", headers=headers, json={}, timeout=timeouts.kernel),
                   (201,), "POST /api/kernels")
        kernel_url = f"{server}/api/kernels/{r.json()['id']}"
        ws = websocket.create_connection(kernel_url.replace("http", "ws", 1) + "/channels",
                                         header=[f"Authorization: token {session.token}"], timeout=timeouts.kernel)
        try:
            request(ws, "kernel_info_request", {}, timeouts.kernel)  # answered once the kernel is up
            result.seconds["kernel"] = time.monotonic() - start

            step = "execute"
            a, b = secrets.randbelow(9000) + 1000, secrets.randbelow(9000) + 1000
            start = time.monotonic()
            out = _execute(ws, f"{a} * {b}", timeouts.execute)
            result.seconds["execute"] = time.monotonic() - start
            if result.cpu:
                result.cpu["first kernel"] = start_cpu(name, unix_name).get("first kernel", 0.0)
        finally:
            ws.close()
        if out != str(a * b):
            raise StepError(f"{a} * {b} should give {a * b}, the kernel answered {out!r}")

        step = "stop"
        start = time.monotonic()
        _check(requests.delete(kernel_url, headers=headers, timeout=timeouts.stop), (204,), "DELETE kernel")
        kernel_url = None
        _stop(lab, session, name, timeouts.stop)
        result.seconds["stop"] = time.monotonic() - start
    except Exception as e:  # every failure of the lab is a result, not a crash of the benchmark
        result.failed_step = step
        result.reason = f"{type(e).__name__}: {e}"[:400]
        _clean_up_after_failure(lab, name)
    finally:
        if session is not None:
            session.close()
    return result


def _clean_up_after_failure(lab, name: str) -> None:
    """Stop a failed person's server (as admin) so that it does not hold memory for the rest of the run."""
    try:
        r = lab.api("DELETE", f"/users/{name}/server", timeout=60)
        if r.status_code not in (202, 204, 400, 404):
            log.warning("could not stop %s's server after a failure: HTTP %s", name, r.status_code)
    except requests.RequestException as e:
        log.warning("could not stop %s's server after a failure: %s", name, e)


@dataclass
class LoadResult:
    """A whole run: the people, the sampler's peaks, the wall time and the most people in flight."""

    people: list[PersonResult]
    sampler: ProcessSampler
    wall: float
    in_flight_peak: int
    ramp: float
    concurrency: int

    @property
    def failures(self) -> list[PersonResult]:
        return [p for p in self.people if not p.ok]

    @property
    def held(self) -> int:
        return sum(1 for p in self.people if p.ok)


def simulate(lab, names: list[str], passwords: dict[str, str], ramp: float, concurrency: int,
             timeouts: StepTimeouts = StepTimeouts(), time_limit: float = 3600,
             arrivals: list[float] | None = None) -> LoadResult:
    """Run ``names`` through :func:`run_person`, arriving evenly over ``ramp`` seconds, ``concurrency`` at once.

    ``arrivals`` (seconds after the start, one per name) replaces the even ramp, e.g. random
    arrival times as people come in. People not started within ``time_limit`` seconds count as
    failures (step ``queue``).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, not {concurrency}")
    if arrivals is not None and len(arrivals) != len(names):
        raise ValueError(f"{len(arrivals)} arrival times for {len(names)} people: give one per person")
    sampler = ProcessSampler(lab.process.pid)
    sampler.start()
    lock = threading.Lock()
    in_flight = {"now": 0, "peak": 0}
    t0 = time.monotonic()

    def one(index: int, name: str) -> PersonResult:
        arrival = arrivals[index] if arrivals is not None else ramp * index / max(len(names), 1)
        result = PersonResult(name, arrival=arrival)
        delay = t0 + result.arrival - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        result.started = time.monotonic() - t0
        if result.started > time_limit:
            result.failed_step, result.reason = "queue", f"not started within the time limit of {time_limit:.0f} s"
            return result
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        try:
            return run_person(lab, name, passwords[name], timeouts, result)
        finally:
            with lock:
                in_flight["now"] -= 1

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="person") as pool:
            people = list(pool.map(one, range(len(names)), names))
    finally:
        sampler.stop()
    return LoadResult(people, sampler, time.monotonic() - t0, in_flight["peak"], ramp, concurrency)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values`` (``nan`` when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def result_record(result: LoadResult) -> dict:
    """The run as plain data (people with their step times, the sampler's peaks in bytes), for JSON."""
    s = result.sampler
    return {
        "ramp": result.ramp, "concurrency": result.concurrency, "wall": result.wall,
        "in_flight_peak": result.in_flight_peak, "held": result.held, "failures": len(result.failures),
        "peaks": {"hub_rss": s.hub_peak, "proxy_rss": s.proxy_peak, "servers_rss": s.servers_rss_peak,
                  "servers": s.servers_peak, "kernels": s.kernels_peak, "available_min": s.available_min,
                  "samples": s.samples},
        "cpu_used": s.cpu_used,
        "people": [{"name": p.name, "arrival": p.arrival, "started": p.started, "seconds": p.seconds, "cpu": p.cpu,
                    "failed_step": p.failed_step, "reason": p.reason} for p in result.people],
        "loadavg": os.getloadavg(),
    }


def cpu_lines(people: list[PersonResult], sampler: ProcessSampler) -> list[str]:
    """Where a start's CPU went: per person (median) for the server's parts, the run's share for hub and proxy."""
    started = [p for p in people if p.cpu]
    if not started:
        return ["start CPU: no start measured"]
    parts = {part: percentile([p.cpu.get(part, 0.0) for p in started], 50) for part in CPU_PARTS}
    warmed = [p.cpu[WARM_UP] for p in started if WARM_UP in p.cpu]
    spawned = sum(1 for p in people if "spawn" in p.seconds) or 1
    parts["hub (run total / starts)"] = sampler.cpu_used["hub"] / spawned
    parts["proxy (run total / starts)"] = sampler.cpu_used["proxy"] / spawned
    total = sum(parts.values())
    lines = [f"start CPU per person: {total:.2f} s (median of {len(started)} starts, to the first result)"] + [
        f"  {part}: {seconds:.2f} s" for part, seconds in parts.items()]
    if warmed:
        lines.append(f"  + paid before arrival by {len(warmed)} warm servers: {percentile(warmed, 50):.2f} s each "
                     "(median; not in the total above)")
    return lines


def summary_lines(result: LoadResult, show_reasons: int = 5) -> list[str]:
    """The figures of a run, ending with the contract-6 line ``held: N users, failures: F``."""
    people, failures, s = result.people, result.failures, result.sampler
    lines = [f"users: {len(people)} (ramp {result.ramp:g} s, at most {result.concurrency} at once)",
             f"failures: {len(failures)}"]
    by_step = {}
    for p in failures:
        by_step[p.failed_step] = by_step.get(p.failed_step, 0) + 1
    if by_step:
        lines.append("  failed at: " + ", ".join(f"{step} {n}" for step, n in by_step.items()))
    for p in failures[:show_reasons]:
        lines.append(f"  {p.name} at {p.failed_step}: {p.reason}")
    for step in STEPS:
        values = [p.seconds[step] for p in people if step in p.seconds]
        label = {"kernel": "kernel start time", "login": "sign-in time (the form)",
                 "spawn": "server ready time (after sign-in)"}.get(step, f"{step} time")
        if not values:
            lines.append(f"{label}: none completed (n=0)")
            continue
        lines.append(f"{label}: p50 {percentile(values, 50):.2f} s, p95 {percentile(values, 95):.2f} s, "
                     f"max {max(values):.2f} s (n={len(values)})")
    lines.extend(cpu_lines(people, s))
    waits = [p.started - p.arrival for p in people]
    lines.append(f"queue wait for a free slot: p50 {percentile(waits, 50):.1f} s, max {max(waits, default=0):.1f} s")
    lines.append(f"hub peak memory (RSS): {s.hub_peak / MB:.0f} MB")
    lines.append(f"proxy peak memory (RSS): {s.proxy_peak / MB:.0f} MB")
    lines.append(f"servers + kernels peak memory (RSS): {s.servers_rss_peak / MB:.0f} MB; peak concurrent "
                 f"servers: {s.servers_peak}, kernels: {s.kernels_peak}; people in flight at most: "
                 f"{result.in_flight_peak}")
    lines.append(f"lowest available memory of the machine: {s.available_min / MB:.0f} MB "
                 f"({s.samples} samples)")
    lines.append(f"wall time: {result.wall:.1f} s")
    lines.append(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ready = [p.seconds["login"] + p.seconds["spawn"] for p in people if "spawn" in p.seconds]
    if ready:
        lines.append(f"ready p95: {percentile(ready, 95):.1f} s")  # from the sign-in form to a server answering
    else:
        lines.append("ready p95: none ready")
    lines.append(f"held: {result.held} users, failures: {len(failures)}")
    return lines
