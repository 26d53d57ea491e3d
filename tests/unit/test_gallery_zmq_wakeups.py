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
from backstage.gallery import zmq_wakeups
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
    original = AsyncZMQSocketChannel.get_msg
    try:
        zmq_wakeups.install()
        assert AsyncZMQSocketChannel.get_msg is zmq_wakeups.get_msg
    finally:
        AsyncZMQSocketChannel.get_msg = original


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
        "from backstage.gallery import zmq_wakeups\n"
        f"c = Config(); exec(open({str(config)!r}).read())\n"
        "assert c.Voila.token == 't' * 48\n"
        "assert AsyncZMQSocketChannel.get_msg is zmq_wakeups.get_msg, 'not installed'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, "BACKSTAGE_VOILA_TOKEN_FD": str(reader)},
                            pass_fds=(reader,), capture_output=True, text=True, timeout=60)
    os.close(reader)
    assert result.returncode == 0, result.stderr
