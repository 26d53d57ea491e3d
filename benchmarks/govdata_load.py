"""Benchmark: a warm ``govdata.load()`` against parsing the source file, in the same run.

For the largest table (STATS19 Greater Manchester casualties, 2.9 MB CSV) and for the district
boundaries (1.4 MB GeoJSON): the median of ``pandas.read_csv`` / ``geopandas.read_file`` on the local
file against the median of a warm ``govdata.load()``. Prints both medians and, last, ``ratio: N``: the
smaller of the two speed-ups. Target: 10 or more.

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


def paired_medians_ms(baseline, ours, runs: int = RUNS) -> tuple[float, float]:
    """Median times of ``baseline`` and ``ours``, run alternately so that a busy shared CPU slows both alike."""
    base, warm = [], []
    for _ in range(runs):
        for fn, times in ((baseline, base), (ours, warm)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(base) * 1000, statistics.median(warm) * 1000


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
        base, warm = paired_medians_ms(baseline, lambda dataset=dataset: govdata.load(dataset))
        ratios.append(base / warm)
        print(f"{dataset}: {baseline_name} median {base:.1f} ms, warm govdata.load median {warm:.1f} ms, "
              f"{base / warm:.1f}x ({RUNS} runs each)")
    print(f"ratio: {min(ratios):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
