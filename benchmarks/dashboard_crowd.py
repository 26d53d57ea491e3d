"""Dashboard crowd (contract 8): one dashboard opened by a crowd, a kernel per view against a page rendered once.

On a real lab (``backstage_testing.lab.running_lab``: hub, proxy, gallery, Voilà), the map dashboard of
``notebooks/06-build-a-dashboard.ipynb`` is submitted by a participant, checked, and approved by a reviewer through
the gallery's API (``backstage_testing.dashboards.publish_dashboard``). Then, in one run:

1. **old way**: ``--old-viewers`` (40) viewers over ``--over`` seconds (60) with the gallery in
   ``Dashboards.mode = "kernel_per_view"`` (every view takes a kernel that ran the notebook; a page is complete
   when its widgets' states have come over its kernel's websocket);
2. **new way**: the gallery restarted with the default mode (``rendered``: the page rendered once, its widgets'
   state in it), and the same 40 viewers (same arrival times and kinds);
3. **large crowd**: ``--viewers`` (300) viewers the new way, ``--live-share`` (10 %) of them going live: they POST
   the live endpoint with their page's ticket (in line while it answers 202), open the kernel's websocket, move
   the dashboard's control (a ``comm_msg`` ``update``) and wait for the output's ``update``, keep the live page
   ``--hold`` seconds, then close it (the page's beacon).

The crowd client is ``backstage_testing.crowd`` (asyncio + aiohttp, no browser): each viewer arrives at a random
time, fetches the page and every asset it references (the sandboxed page caches nothing) with a browser's six
kept-alive connections and no cookies, and is timed to page-complete. Viewers sign in with one hub token per kind
of viewer (officials, participants, reviewers taken in turn), not an account each: the gallery checks a token
with the hub once and caches the answer, as it does a browser's session, so this leaves out the hub's sign-in
(measured by ``benchmarks/hub_load.py``). A failure is a 5xx, a time-out (``--timeout``) or a broken page; a
viewer in line with the page shown is not one. Viewers of the old way keep the page (and its kernel) open
20-40 s, then close it.

Printed: per crowd the page-complete p50/p95/max, failures, Voilà's kernels before/after and how many were
started during the crowd, the live figures, the peak RSS of the gallery, its Voilà and Voilà's kernels; then
``held: <N> viewers, failures: <F>, p95: <S> s`` for the large crowd (F counts failed pages and failed going-live),
and last ``ratio: <R>``, the old way's p95 over the new way's, for the 40-viewer crowd. Progress goes to stderr.
The client runs on the same machine as the lab and takes some of its CPU (as the latency benchmark's does).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "06-build-a-dashboard.ipynb"
KINDS = ("official", "participant", "reviewer")
GROUPS = {"official": "officials", "participant": "participants", "reviewer": "reviewers"}
MB = 1024 * 1024


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=300, help="viewers of the large crowd (default 300)")
    parser.add_argument("--old-viewers", type=int, default=40, help="viewers of the old/new comparison (default 40)")
    parser.add_argument("--live-share", type=float, default=0.1, help="share of the large crowd going live (0.1)")
    parser.add_argument("--over", type=float, default=60, help="seconds over which a crowd arrives (default 60)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds a viewer waits for a complete page before it counts as a time-out (300)")
    parser.add_argument("--live-timeout", type=float, default=600,
                        help="seconds a live viewer waits (in line included) for the output to follow (600)")
    parser.add_argument("--hold", type=float, default=10, help="seconds a live viewer keeps the live page (10)")
    parser.add_argument("--seed", type=int, default=14, help="seed of the arrival times and kinds (14)")
    args = parser.parse_args(argv)
    if args.viewers < 1 or args.old_viewers < 1 or not 0 <= args.live_share <= 1 or args.over < 0:
        parser.error("--viewers and --old-viewers take a positive count, --live-share a share from 0 to 1, "
                     "--over seconds from 0")
    return args


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def set_mode(lab, mode: str | None) -> None:
    """Write the gallery's site config (``$BACKSTAGE_STATE/gallery_config.json``): ``Dashboards.mode``."""
    path = Path(lab.state_dir) / "gallery_config.json"
    path.write_text(json.dumps({"Dashboards": {"mode": mode}} if mode else {}))


def restart_gallery(lab, url: str, token: str, timeout: float = 300) -> None:
    """Stop the lab's gallery (SIGTERM to its pid); the hub starts its managed service again, which reads its
    site config anew and renders the published dashboards. Return once the dashboard is served rendered."""
    from backstage_testing.crowd import PageError, read_page
    from backstage_testing.dashboards import gallery_process

    old = gallery_process(lab.lab_id)
    os.kill(old.pid, signal.SIGTERM)
    old.wait(60)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
            if r.status_code == 200 and read_page(r.text, r.url).mode == "rendered":
                return
        except (requests.RequestException, PageError):
            pass  # the gallery is starting (the hub notices its exit within its poll interval) or rendering
        time.sleep(2)
    raise SystemExit(f"the gallery did not serve the rendered dashboard within {timeout:.0f} s of its restart")


def server_view_buckets(lab) -> dict[float, float]:
    """The gallery's own time to content of page views (request to the page's last byte, measured on the server):
    the cumulative counts of its Prometheus histogram by upper bound, read at ``metrics`` with the admin's token
    (``read:metrics``); empty when the gallery does not count."""
    from prometheus_client.parser import text_string_to_metric_families

    r = requests.get(f"{lab.service_url('gallery')}metrics", headers={"Authorization": f"token {lab.admin_token}"},
                     timeout=60)
    if r.status_code != 200:
        return {}
    return {float(sample.labels["le"]): sample.value
            for family in text_string_to_metric_families(r.text)
            for sample in family.samples
            if sample.name == "backstage_dashboard_time_to_content_seconds_bucket"
            and sample.labels.get("event") == "view"}


def bucket_percentile(before: dict, after: dict, percent: float) -> str:
    """``"≤ 0.5 s"``: the histogram bucket holding the ``percent``-th view between two readings."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return "n/a"
    for bound, count in zip(bounds, counts, strict=True):
        if count >= percent / 100 * counts[-1]:
            return f"≤ {bound:g} s" if bound != float("inf") else f"> {bounds[-2]:g} s"
    return "n/a"


def run_one(name: str, lab, url: str, tokens: dict, viewers, args) -> dict:
    """One crowd with the gallery watched: its result, the kernels before/after/started, the peak memory."""
    from backstage_testing.crowd import run_crowd
    from backstage_testing.dashboards import GalleryWatch, settled_kernel_ids, voila_kernel_ids

    before = settled_kernel_ids(lab.lab_id)
    load, cpu, server = os.getloadavg()[0], time.process_time(), server_view_buckets(lab)
    with GalleryWatch(lab.lab_id) as watch:
        result = run_crowd(name, url, tokens, viewers, page_timeout=args.timeout, live_timeout=args.live_timeout,
                           hold=args.hold, progress=progress)
    after, server_after = voila_kernel_ids(lab.lab_id), server_view_buckets(lab)
    return {"result": result, "before": len(before), "after": len(after), "client_cpu": time.process_time() - cpu,
            "server": {p: bucket_percentile(server, server_after, p) for p in (50, 95)},
            "load": (load, os.getloadavg()[0]),
            "started": len(watch.kernels_seen - before), "peak_kernels": watch.kernels_peak, "rss": watch.rss_peak}


def report(run: dict) -> list[str]:
    from backstage_testing.crowd import crowd_lines, live_lines

    result, rss = run["result"], run["rss"]
    lines = crowd_lines(result) + live_lines(result)
    lines.append(f"{result.name} kernels: Voilà had {run['before']} before, {run['after']} after; "
                 f"{run['started']} started during the crowd, {run['peak_kernels']} at most at once")
    lines.append(f"{result.name} peak RSS: gallery {rss['gallery'] / MB:.0f} MB, Voilà {rss['voila'] / MB:.0f} MB, "
                 f"its kernels {rss['kernels'] / MB:.0f} MB, together {rss['total'] / MB:.0f} MB")
    # the client shares the machine: its CPU (one asyncio loop: parsing pages, reading assets) is part of each
    # viewer's time when the cores are busy
    lines.append(f"{result.name} machine: load average {run['load'][0]:.1f} before, {run['load'][1]:.1f} after; "
                 f"the crowd client used {run['client_cpu']:.0f} s of CPU in {result.wall:.0f} s; the page alone, "
                 f"measured by the gallery (its usage histogram): p50 {run['server'][50]}, p95 {run['server'][95]}")
    kinds = sorted({f.split(': ', 1)[1].split(' (')[0][:80] for f in result.failures})
    if kinds:
        lines.append(f"{result.name} failures by kind: {'; '.join(kinds[:8])}")
    return lines


def main(argv=None) -> int:
    from backstage_testing.crowd import plan
    from backstage_testing.dashboards import gallery_lab, publish_dashboard

    args = arguments(argv)
    if not NOTEBOOK.exists():
        raise SystemExit(f"{NOTEBOOK} is missing: the benchmark measures that starter dashboard")
    os.environ.setdefault("GOVDATA_MIRROR", str(REPO.parent / "shared" / "datasets"))
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores, shared)")
    with gallery_lab({"Dashboards": {"mode": "kernel_per_view"}}, prefix="bc") as lab:
        people = {kind: lab.create_user(f"crowd{kind[:5]}", groups=(GROUPS[kind],)) for kind in KINDS}
        tokens = {kind: lab.token_for(s.username) for kind, s in people.items()}
        author = lab.create_user("crowdauthor", groups=("participants",))
        started = time.monotonic()
        url = publish_dashboard(lab, NOTEBOOK, lab.token_for(author.username), tokens["reviewer"],
                                title="Indicators by council", summary="Pick an indicator: every council coloured")
        print(f"published {url.rsplit('/', 1)[1]} in {time.monotonic() - started:.0f} s (checks included)")

        small = plan(args.old_viewers, args.over, KINDS, 0.0, args.seed)
        old = run_one(f"old way, {args.old_viewers}", lab, url, tokens, small, args)
        for line in report(old):
            print(line, flush=True)

        set_mode(lab, None)
        started = time.monotonic()
        restart_gallery(lab, url, tokens["official"])
        print(f"gallery restarted in the rendered mode, dashboard rendered, in {time.monotonic() - started:.0f} s")
        new = run_one(f"new way, {args.old_viewers}", lab, url, tokens, small, args)
        for line in report(new):
            print(line, flush=True)

        large_plan = plan(args.viewers, args.over, KINDS, args.live_share, args.seed + 1)
        large = run_one(f"new way, {args.viewers}", lab, url, tokens, large_plan, args)
        for line in report(large):
            print(line, flush=True)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        result = large["result"]
        print(f"held: {len(result.views)} viewers, failures: {len(result.failures)}, "
              f"p95: {result.page_times(95):.3f} s")
        print(f"ratio: {old['result'].page_times(95) / new['result'].page_times(95):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
