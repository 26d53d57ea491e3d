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

Run: ``.venv/bin/python benchmarks/hub_load.py --users 10 [--ramp 60] [--concurrency 4]``
(``make bench`` runs it with the defaults: ``$HUB_LOAD_USERS``, default 10).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
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
    p.add_argument("--time-limit", type=float, default=3600,
                   help="people not started after this many seconds count as failures (default: 3600)")
    p.add_argument("--keep-state", action="store_true", help="keep the lab's state folder (for its log)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="also write every person's step times and the memory peaks to PATH (JSON)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 1 <= args.users <= MAX_USERS:
        print(f"--users must be between 1 and {MAX_USERS}, not {args.users}", file=sys.stderr)
        return 2
    if args.concurrency < 1:
        print(f"--concurrency must be 1 or more, not {args.concurrency}", file=sys.stderr)
        return 2
    ramp = args.ramp if args.ramp is not None else 3.0 * args.users
    if ramp < 0:
        print(f"--ramp must be 0 or more seconds, not {ramp}", file=sys.stderr)
        return 2

    from backstage_testing.loadsim import provision, result_record, simulate, summary_lines
    from backstage_testing.lab import delete_unix_users, running_lab

    tag = secrets.token_hex(2)
    unix_prefix = f"l{tag}-"
    names = [f"load{i:03d}" for i in range(args.users)]
    state = Path(tempfile.mkdtemp(prefix="backstage-hub-load-"))
    print(f"hub load: {args.users} users over {ramp:g} s, at most {args.concurrency} at once; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    result = teardown_problem = lab_problem = None
    try:
        start = time.monotonic()
        try:
            with running_lab(state, user_prefix=unix_prefix, idle_timeout=0, gallery=False) as lab:
                print(f"lab up at {lab.url} in {time.monotonic() - start:.1f} s (state {state})", flush=True)
                start = time.monotonic()
                passwords = provision(lab, names)
                print(f"enrolled {len(names)} people in {time.monotonic() - start:.1f} s", flush=True)
                result = simulate(lab, names, passwords, ramp, args.concurrency, time_limit=args.time_limit)
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
