"""Benchmark: a warm ``govdata.load()`` against parsing the source file, in the same run.

For the largest table (STATS19 Greater Manchester casualties, 2.9 MB CSV) and for the district
boundaries (1.4 MB GeoJSON): the median of ``pandas.read_csv`` / ``geopandas.read_file`` on the local
file against the median of a warm ``govdata.load()``, run alternately. Prints both medians (wall clock,
and CPU time for reference on a shared machine) and, last, ``ratio: N``: the smaller of the two
wall-clock speed-ups. Target: 10 or more.

Run: ``.venv/bin/python benchmarks/govdata_load.py`` (reads the files from ``GOVDATA_MIRROR``, default
``../shared/datasets``; uses a throwaway cache).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "21"))


def paired_medians_ms(baseline, ours, runs: int = RUNS) -> dict[str, float]:
    """Median wall and CPU times (ms) of ``baseline`` and ``ours``, run alternately so that a busy shared
    CPU slows both alike."""
    times: dict[str, list[float]] = {"base": [], "ours": [], "base_cpu": [], "ours_cpu": []}
    for _ in range(runs):
        for fn, key in ((baseline, "base"), (ours, "ours")):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[key].append(time.perf_counter() - wall)
            times[key + "_cpu"].append(time.process_time() - cpu)
    return {key: statistics.median(values) * 1000 for key, values in times.items()}


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    mirror = Path(os.environ.get("GOVDATA_MIRROR") or repo.parent / "shared" / "datasets")
    if not (mirror / "lad_dec2021_uk_buc.geojson").exists():
        print(f"the datasets are missing at {mirror}: set GOVDATA_MIRROR to the folder", file=sys.stderr)
        return 2
    os.environ["GOVDATA_MIRROR"] = str(mirror)
    os.environ["GOVDATA_CACHE"] = tempfile.mkdtemp(prefix="govdata-bench-")

    import geopandas
    import pandas as pd

    import govdata

    cases = [
        ("stats19-greater-manchester", "pandas.read_csv",
         lambda: pd.read_csv(mirror / "stats19_casualties_greater_manchester_2019-2024H1.csv")),
        ("lad-boundaries-2021", "geopandas.read_file",
         lambda: geopandas.read_file(mirror / "lad_dec2021_uk_buc.geojson")),
    ]
    ratios = []
    for dataset, baseline_name, baseline in cases:
        govdata.load(dataset)  # cold: fetch, verify, tidy, cache
        baseline()  # warm the baseline's imports and the OS file cache too
        m = paired_medians_ms(baseline, lambda dataset=dataset: govdata.load(dataset))
        ratios.append(m["base"] / m["ours"])
        print(f"{dataset}: {baseline_name} median {m['base']:.1f} ms, warm govdata.load median {m['ours']:.1f} ms,"
              f" {m['base'] / m['ours']:.1f}x wall-clock ({RUNS} runs each; CPU time {m['base_cpu']:.1f} ms vs "
              f"{m['ours_cpu']:.1f} ms, {m['base_cpu'] / max(m['ours_cpu'], 1e-6):.1f}x)")
    print(f"ratio: {min(ratios):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
