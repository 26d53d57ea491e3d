"""A kernel message whose wake-up was missed is found at the next short poll, not at the end of the whole wait
(or never, for a wait without a timeout, as Voilà's); the gallery's Voilà config file installs the sliced wait."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from queue import Empty

import pytest
from backstage import zmq_wakeups
from backstage.gallery.voila import _VOILA_CONFIG
from jupyter_client.channels import AsyncZMQSocketChannel


class MissedWakeupSocket:
    """A socket whose message arrived while its wake-up was missed: a poll finds it only when it times out."""

    def __init__(self, has_message: bool = True):
        self.has_message = has_message
        self.polls: list[int | None] = []

    async def poll(self, timeout_ms=None):
        self.polls.append(timeout_ms)
        if timeout_ms is None:
            await asyncio.sleep(3600)  # no timeout: nothing ever wakes it
        await asyncio.sleep(timeout_ms / 1000)
        return 1 if self.has_message else 0


class Channel:
    get_msg = zmq_wakeups.get_msg

    def __init__(self, socket):
        self.socket = socket

    async def _recv(self):
        return {"msg_type": "execute_reply"}


def test_a_wait_without_timeout_finds_the_message_at_the_first_slice():
    channel = Channel(MissedWakeupSocket())
    started = time.monotonic()
    assert asyncio.run(asyncio.wait_for(channel.get_msg(), 5)) == {"msg_type": "execute_reply"}
    assert time.monotonic() - started < 2 * zmq_wakeups.POLL_SLICE + 0.5
    assert channel.socket.polls == [int(zmq_wakeups.POLL_SLICE * 1000)]


def test_a_wait_with_a_timeout_and_no_message_ends_empty_at_the_timeout():
    channel = Channel(MissedWakeupSocket(has_message=False))
    started = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=1.2))
    assert 1.1 < time.monotonic() - started < 3
    assert 3 <= len(channel.socket.polls) <= 4 and max(channel.socket.polls) <= zmq_wakeups.POLL_SLICE * 1000


def test_install_replaces_jupyter_clients_wait():
    from zmq.eventloop.zmqstream import ZMQStream

    original, original_stream_init = AsyncZMQSocketChannel.get_msg, ZMQStream.__init__
    try:
        zmq_wakeups.install()
        assert AsyncZMQSocketChannel.get_msg is zmq_wakeups.get_msg
    finally:
        AsyncZMQSocketChannel.get_msg, ZMQStream.__init__ = original, original_stream_init


def test_the_voila_config_file_installs_it(tmp_path):
    """The config file Voilà reads (as `c`): run it as Voilà would, with the token on a pipe."""
    config = tmp_path / "voila.py"
    config.write_text(_VOILA_CONFIG)
    reader, writer = os.pipe()
    os.write(writer, b"t" * 48)
    os.close(writer)
    script = (
        "from traitlets.config import Config\n"
        "from jupyter_client.channels import AsyncZMQSocketChannel\n"
        "from backstage import zmq_wakeups\n"
        f"c = Config(); exec(open({str(config)!r}).read())\n"
        "assert c.Voila.token == 't' * 48\n"
        "assert AsyncZMQSocketChannel.get_msg is zmq_wakeups.get_msg, 'not installed'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, "BACKSTAGE_VOILA_TOKEN_FD": str(reader)},
                            pass_fds=(reader,), capture_output=True, text=True, timeout=60)
    os.close(reader)
    assert result.returncode == 0, result.stderr


def _delivery_after_a_missed_wakeup(watch: bool, wait: float = 3.0) -> float | None:
    """Seconds until a ZMQStream hands over a message whose wake-up another operation on the socket took (as a raw
    send on the stream's socket does, ipykernel#1554); None if it never does within *wait*."""
    import secrets

    import zmq
    from zmq.eventloop.zmqstream import ZMQStream

    async def main():
        context = zmq.Context.instance()
        sender, receiver = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
        address = f"inproc://backstage-test-{secrets.token_hex(4)}"
        sender.bind(address)
        receiver.connect(address)
        stream = ZMQStream(receiver)
        if watch:
            zmq_wakeups.watch_stream(stream)
        arrived = asyncio.Event()
        stream.on_recv(lambda frames: arrived.set())
        await asyncio.sleep(0.2)  # the stream waits for a message
        sender.send(b"execute_request")
        time.sleep(0.1)  # it is in the receiver's queue, and its wake-up is pending on the socket's descriptor
        assert receiver.get(zmq.EVENTS) & zmq.POLLIN  # the other operation: it takes the wake-up
        started = time.monotonic()
        try:
            await asyncio.wait_for(arrived.wait(), wait)
            return time.monotonic() - started
        except TimeoutError:
            return None
        finally:
            stream.close(linger=0)
            sender.close(linger=0)

    return asyncio.run(main())


def test_a_stream_whose_wakeup_was_taken_never_reads_its_message_without_the_recheck():
    assert _delivery_after_a_missed_wakeup(watch=False) is None


def test_the_recheck_hands_the_message_over_within_one_interval():
    took = _delivery_after_a_missed_wakeup(watch=True)
    assert took is not None and took < zmq_wakeups.STREAM_CHECK + 1.0


def test_install_watches_every_new_stream_once():
    from zmq.eventloop.zmqstream import ZMQStream

    original = ZMQStream.__init__
    try:
        zmq_wakeups.install()
        patched = ZMQStream.__init__
        zmq_wakeups.install()
        assert patched is ZMQStream.__init__ and patched.backstage_watched and patched.__wrapped__ is original
    finally:
        ZMQStream.__init__ = original


def test_every_kernel_of_the_environment_installs_it():
    """The config file `make` installs in the venv's etc/ipython is read by each kernel before it opens a socket."""
    from jupyter_client.manager import start_new_kernel

    kernel, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        texts = []
        code = ("from zmq.eventloop.zmqstream import ZMQStream; import gc\n"
                "streams = [o for o in gc.get_objects() if isinstance(o, ZMQStream)]\n"
                "print(getattr(ZMQStream.__init__, 'backstage_watched', False), len(streams))")
        client.execute_interactive(code, timeout=60, output_hook=lambda m: texts.append(m["content"].get("text", "")))
        watched, streams = "".join(texts).split()
        assert watched == "True" and int(streams) >= 2, texts  # its shell and control streams at least
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)


def test_a_persons_server_installs_it_when_it_loads_its_extension():
    """Jupyter Server's kernel websockets are ZMQStreams: ``backstage.singleuser`` installs the re-check on load."""
    from types import SimpleNamespace

    from backstage import singleuser
    from zmq.eventloop.zmqstream import ZMQStream

    added, callbacks = [], []
    serverapp = SimpleNamespace(
        web_app=SimpleNamespace(settings={"base_url": "/user/ada/"}, add_handlers=lambda host, rules: added.extend(rules)),
        io_loop=SimpleNamespace(add_callback=lambda *args: callbacks.append(args)),
    )
    original = AsyncZMQSocketChannel.get_msg, ZMQStream.__init__
    try:
        singleuser._load_jupyter_server_extension(serverapp)
        assert getattr(ZMQStream.__init__, "backstage_watched", False)
        assert added and callbacks  # and it still serves the remix page and starts collaboration
    finally:
        AsyncZMQSocketChannel.get_msg, ZMQStream.__init__ = original
