"""Run one notebook top to bottom in a fresh kernel: ``python -m backstage.gallery.execute IN OUT``.

The checks start this as a separate process under the unprivileged identity of `runas`, so the
submitted code never runs inside (or with the rights of) the gallery service. It prints one JSON
line: ``{"ok", "error", "seconds"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from backstage import zmq_wakeups


def run(source: str, target: str, cell_timeout: int, cwd: str) -> dict:
    zmq_wakeups.install()  # a missed wake-up would hold a cell's reply until cell_timeout
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", resources={"metadata": {"path": cwd}})
    started = time.monotonic()
    result: dict = {"ok": True, "error": None}
    try:
        client.execute()
    except CellExecutionError as e:
        lines = [line for line in str(e).splitlines() if line.strip()]
        result = {"ok": False, "error": "\n".join(lines[-12:])}
    except CellTimeoutError:
        result = {"ok": False, "error": f"a cell ran longer than {cell_timeout} s"}
    except DeadKernelError as e:
        result = {"ok": False, "error": f"the kernel died: {e}"}
    result["seconds"] = round(time.monotonic() - started, 2)
    nbformat.write(nb, target)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--cwd", default=".")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.source, args.target, args.cell_timeout, args.cwd)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
