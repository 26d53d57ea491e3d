"""How often a kernel's reply sits unnoticed until the wait times out, without and with
``backstage.zmq_wakeups`` (the gallery installs it in its Voilà processes and checks).

Starts ``--kernels`` fresh kernels, ``--concurrency`` at a time, and in each runs a widget cell (the gallery's
squares dashboard: a slider, a label, an Output widget) with nbclient and a ``--timeout`` s cell timeout, as Voilà
runs a dashboard (Voilà itself has no timeout: a stall there never ends), while ``--busy`` processes keep the
cores busy (as the lab's other work does: on an idle machine stalls are rare). Once with jupyter_client's own
``get_msg``, once with the sliced one. Prints, for each: executions, stalls (longer than ``--stall`` s), the
slowest, and the ratio of the slowest (without / with).

Run::

    .venv/bin/python benchmarks/kernel_reply_stalls.py --kernels 40
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time

import nbformat
from backstage import zmq_wakeups
from backstage_testing.journeys import WIDGET
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient


async def one_execution(timeout: float) -> float:
    """Seconds from sending the cell to having its reply and outputs, in a fresh kernel."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIDGET)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    km = AsyncKernelManager(kernel_name="python3")
    client = NotebookClient(nb, km=km, timeout=timeout)
    try:
        async with client.async_setup_kernel():
            started = time.monotonic()
            await client.async_execute_cell(nb.cells[0], 0)
            return time.monotonic() - started
    finally:
        if await km.is_alive():
            await km.shutdown_kernel(now=True)


async def run(kernels: int, concurrency: int, timeout: float) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> float:
        async with gate:
            return await one_execution(timeout)

    return list(await asyncio.gather(*(gated() for _ in range(kernels))))


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", type=int, default=40, help="kernels started for each variant")
    parser.add_argument("--concurrency", type=int, default=2, help="kernels at once")
    parser.add_argument("--timeout", type=float, default=30, help="nbclient's cell timeout (s)")
    parser.add_argument("--stall", type=float, default=5, help="an execution longer than this (s) is a stall")
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes running meanwhile")
    args = parser.parse_args()
    busy = [multiprocessing.Process(target=spin, args=(3600,), daemon=True) for _ in range(args.busy)]
    for process in busy:
        process.start()
    original = AsyncZMQSocketChannel.get_msg
    slowest = {}
    for name in ("jupyter_client", "zmq_wakeups"):
        AsyncZMQSocketChannel.get_msg = original
        if name == "zmq_wakeups":
            zmq_wakeups.install()
        seconds = asyncio.run(run(args.kernels, args.concurrency, args.timeout))
        stalls = [s for s in seconds if s > args.stall]
        slowest[name] = max(seconds)
        print(f"{name:15} {len(seconds)} executions, {len(stalls)} stalls over {args.stall:.0f} s "
              f"({', '.join(f'{s:.1f}' for s in sorted(stalls)) or 'none'}), slowest {max(seconds):.2f} s, "
              f"median {sorted(seconds)[len(seconds) // 2]:.2f} s")
    for process in busy:
        process.terminate()
    print(f"slowest, jupyter_client / zmq_wakeups: {slowest['jupyter_client'] / slowest['zmq_wakeups']:.1f}")


if __name__ == "__main__":
    main()
