"""What the ZMQStream re-checks of ``backstage.zmq_wakeups`` cost: CPU of idle streams, without and with them.

An idle ipykernel 7 kernel has 9 ZMQStreams (its shell and control sockets and its threads' pipes); every
kernel of the environment re-checks each every ``STREAM_CHECK`` seconds. This runs ``--streams`` idle streams on
inproc socket pairs in one tornado loop for ``--seconds``, in a fresh process each way, and prints the CPU
seconds used without and with the re-checks, their ratio, and the share of one core the re-checks of one
kernel's streams take.

Run::

    .venv/bin/python benchmarks/zmq_recheck_cost.py --streams 90 --seconds 20
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

KERNEL_STREAMS = 9


def _idle(streams: int, seconds: float, watched: bool, result) -> None:
    import asyncio
    import resource

    import zmq
    from backstage import zmq_wakeups
    from zmq.eventloop.zmqstream import ZMQStream

    async def main():
        context = zmq.Context.instance()
        pairs = []
        for i in range(streams):
            sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
            sender.bind(f"inproc://cost-{i}")
            receiver.connect(f"inproc://cost-{i}")
            stream = ZMQStream(receiver)
            stream.on_recv(lambda frames: None)
            if watched:
                zmq_wakeups.watch_stream(stream)
            pairs.append((sender, stream))
        await asyncio.sleep(1)  # settled
        before = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.sleep(seconds)
        after = resource.getrusage(resource.RUSAGE_SELF)
        result.value = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    asyncio.run(main())


def cpu(streams: int, seconds: float, watched: bool) -> float:
    result = multiprocessing.get_context("spawn").Value("d", 0.0)
    process = multiprocessing.get_context("spawn").Process(target=_idle, args=(streams, seconds, watched, result))
    process.start()
    process.join()
    return result.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=90, help="idle streams (9 per kernel)")
    parser.add_argument("--seconds", type=float, default=20, help="how long they idle")
    args = parser.parse_args()
    started = time.monotonic()
    without = cpu(args.streams, args.seconds, watched=False)
    with_rechecks = cpu(args.streams, args.seconds, watched=True)
    kernels = args.streams / KERNEL_STREAMS
    per_kernel = max(0.0, with_rechecks - without) / kernels / args.seconds * 100
    print(f"{args.streams} idle streams for {args.seconds:.0f} s: CPU {without:.3f} s without the re-checks, "
          f"{with_rechecks:.3f} s with them")
    print(f"re-checks of one kernel's {KERNEL_STREAMS} streams: {per_kernel:.3f} % of a core")
    print(f"ratio (with / without): {with_rechecks / max(without, 1e-3):.1f}")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
