"""Benchmark: N simulated people on a real lab, each signing in, spawning, running code and stopping.

Starts its own lab with ``tests/backstage_testing/lab.py``'s ``running_lab`` (the code path of ``make up``: hub,
configurable-http-proxy, per-person Unix users when run as root) in a throwaway state folder, with
idle culling off and a unique Unix-user prefix, and deletes the Unix users it made at the end.

The people arrive evenly over ``--ramp`` seconds, at most ``--concurrency`` at once; each signs in
through the login form, spawns their server and waits until it answers, starts a kernel, runs a
product over the kernel websocket and checks it, then stops the kernel and the server (see
``backstage_testing.loadsim``). Meanwhile the hub's, the proxy's and the servers' memory is sampled.

Prints: users, failures (with the first reasons), p50/p95 of each step (spawn and execute among
them), where a start's CPU goes (the server's own start, its subprocesses, the first kernel, the
hub's and the proxy's share), the hub's and the proxy's peak RSS, the peak of concurrent servers, wall time, and last
``held: <N> users, failures: <F>`` (contract 6), where N people completed every step and F did not.
The exit code is 0 whenever the run took place, failures or not; 2 when the benchmark could not run.

``--warm N`` runs the lab with N servers started ahead of time (``BackstageSpawner.warm_servers``,
backstage/warmpool.py) and starts the people once those are warm; the breakdown then shows what a
warm server still costs on arrival, and what it paid before.

``--arrival S`` makes it a hack-day morning instead: the lab runs in event mode (the day's shared
password), the people are enrolled with ``backstage kit enrol`` (the organiser's command, with the
admin's token), and they arrive at random over S seconds with no cap on how many are in flight.
It then also prints ``ready p95: <S> s`` (sign-in form to a server answering) before the last line.

Run: ``.venv/bin/python benchmarks/hub_load.py --users 10 [--ramp 60] [--concurrency 4]``, or
``--users 20 --arrival 30`` (keep to 20 people on a machine others are using).
(``make bench`` runs it with the defaults: ``$HUB_LOAD_USERS``, default 10).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MAX_USERS = 500


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=int(os.environ.get("HUB_LOAD_USERS", "10")),
                   help=f"simulated people, 1 to {MAX_USERS} (default: $HUB_LOAD_USERS or 10)")
    p.add_argument("--ramp", type=float, default=None,
                   help="seconds over which people arrive, evenly (default: 3 s per person)")
    p.add_argument("--concurrency", type=int, default=4,
                   help="people in flight at most at once (default: 4, for a 2-core machine)")
    p.add_argument("--arrival", type=float, default=None, metavar="S",
                   help="event mode: people enrolled with 'backstage kit enrol' arrive at random over S seconds, "
                        "all at once if they come together (e.g. --users 20 --arrival 30)")
    p.add_argument("--start-limit", type=int, default=None, metavar="N",
                   help="the lab's start_limit setting: servers starting at once (default: the lab's, 2 per core)")
    p.add_argument("--warm", type=int, default=0, metavar="N",
                   help="the lab keeps N servers started ahead of time (BackstageSpawner.warm_servers); the run "
                        "starts once they are warm, as an organiser warms a lab before the room arrives (default: 0)")
    p.add_argument("--time-limit", type=float, default=3600,
                   help="people not started after this many seconds count as failures (default: 3600)")
    p.add_argument("--keep-state", action="store_true", help="keep the lab's state folder (for its log)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="also write every person's step times and the memory peaks to PATH (JSON)")
    return p


def enrol_with_kit(lab, names: list[str], state: Path, kit: str = "clean-air") -> dict[str, str]:
    """Enrol ``names`` as an organiser does (``backstage kit enrol KIT attendees.csv``); return their passwords.

    In event mode everyone enrolled signs in with the day's password.
    """
    folder = state / "enrol"
    folder.mkdir(mode=0o700)
    csv_path = folder / "attendees.csv"
    csv_path.write_text("username,name,email\n" + "".join(f"{n},{n},{n}@example.org\n" for n in names))
    token_file = folder / "token"
    token_file.write_text(lab.admin_token)
    token_file.chmod(0o600)
    done = subprocess.run([str(Path(sys.executable).parent / "backstage"), "kit", "enrol", kit, str(csv_path),
                           "--hub", lab.url, "--token-file", str(token_file), "--out", str(folder)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"backstage kit enrol failed ({done.returncode}): {done.stderr[-1000:]}")
    password = lab.settings["auth"]["event_password"]
    return dict.fromkeys(names, password)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 1 <= args.users <= MAX_USERS:
        print(f"--users must be between 1 and {MAX_USERS}, not {args.users}", file=sys.stderr)
        return 2
    if args.concurrency < 1:
        print(f"--concurrency must be 1 or more, not {args.concurrency}", file=sys.stderr)
        return 2
    if args.warm < 0:
        print(f"--warm must be 0 or more servers, not {args.warm}", file=sys.stderr)
        return 2
    if args.arrival is not None and args.arrival < 0:
        print(f"--arrival must be 0 or more seconds, not {args.arrival}", file=sys.stderr)
        return 2
    ramp = args.arrival if args.arrival is not None else args.ramp if args.ramp is not None else 3.0 * args.users
    if ramp < 0:
        print(f"--ramp must be 0 or more seconds, not {ramp}", file=sys.stderr)
        return 2

    from backstage_testing.lab import delete_unix_users, running_lab
    from backstage_testing.loadsim import (
        find_hub_and_proxy,
        provision,
        result_record,
        simulate,
        summary_lines,
        wait_for_warm_servers,
    )

    tag = secrets.token_hex(2)
    unix_prefix = f"l{tag}-"
    names = [f"load{i:03d}" for i in range(args.users)]
    state = Path(tempfile.mkdtemp(prefix="backstage-hub-load-"))
    at_once = "arriving at random" if args.arrival is not None else f"at most {args.concurrency} at once"
    print(f"hub load: {args.users} users over {ramp:g} s, {at_once}; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    result = teardown_problem = lab_problem = None
    try:
        start = time.monotonic()
        try:
            event = {"auth": {"mode": "shared-password", "event_password": secrets.token_urlsafe(12)}}
            limit = {"start_limit": args.start_limit} if args.start_limit else {}
            warm_env = {"BACKSTAGE_WARM_SERVERS": str(args.warm)}
            with running_lab(state, user_prefix=unix_prefix, idle_timeout=0, gallery=False, env=warm_env, **limit,
                             **(event if args.arrival is not None else {})) as lab:
                print(f"lab up at {lab.url} in {time.monotonic() - start:.1f} s (state {state})", flush=True)
                if args.warm:  # the admin opens the hub's home page: the hub makes a spawner, which fills the pool
                    admin = lab.login("admin", lab.admin_password)
                    admin.get(f"{lab.url}/hub/home", timeout=60).raise_for_status()
                    hub, _ = find_hub_and_proxy(lab.process.pid)
                    waited = wait_for_warm_servers(hub, args.warm)
                    print(f"{args.warm} warm servers ready in {waited:.1f} s", flush=True)
                start = time.monotonic()
                if args.arrival is None:
                    passwords = provision(lab, names)
                    arrivals, concurrency = None, args.concurrency
                else:
                    passwords = enrol_with_kit(lab, names, state)
                    rng = random.Random()
                    arrivals, concurrency = sorted(rng.uniform(0, args.arrival) for _ in names), len(names)
                print(f"enrolled {len(names)} people in {time.monotonic() - start:.1f} s", flush=True)
                result = simulate(lab, names, passwords, ramp, concurrency, time_limit=args.time_limit,
                                  arrivals=arrivals)
                if lab.process.poll() is not None:
                    lab_problem = f"the lab stopped during the run (backstage up exited with {lab.process.returncode})"
        except AssertionError as e:
            if result is None:
                raise
            # running_lab checks at exit that the lab stopped in time and left no process
            teardown_problem = "stopping the lab: " + str(e).splitlines()[0]
    except Exception as e:
        print(f"the benchmark could not run: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    finally:
        deleted = delete_unix_users(unix_prefix)
        troubled = result is None or result.failures or teardown_problem or lab_problem
        for log_file in state.glob("lab-*.log") if troubled and not args.keep_state else ():
            kept = Path(tempfile.gettempdir()) / f"hub-load-{tag}.log"
            shutil.copyfile(log_file, kept)
            print(f"the lab's log is kept in {kept}")
        if args.keep_state:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    print(f"deleted {len(deleted)} Unix users with the prefix {unix_prefix}")
    for problem in (lab_problem, teardown_problem):
        if problem:
            print(f"warning: {problem}")
    if args.json:
        Path(args.json).write_text(json.dumps(result_record(result), indent=1))
        print(f"per-person results written to {args.json}")
    print("\n".join(summary_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
