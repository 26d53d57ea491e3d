"""One kernel websocket client for the tests and benchmarks (jupyter_server's JSON frames, no subprotocol)."""

from __future__ import annotations

import json
import time
import uuid

import websocket

__all__ = ["KernelTimeout", "execute", "execute_over_websocket", "request"]


class KernelTimeout(AssertionError):
    """The kernel did not answer a request completely in time."""


def request(ws, msg_type: str, content: dict, timeout: float) -> list[dict]:
    """Send one shell request on a kernel websocket; return every message answering it.

    Done when both the shell ``*_reply`` and the iopub ``status: idle`` have come: the two channels
    are not ordered, so under load the reply can overtake an ``execute_result`` still on its way.
    """
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "content": content,
    }))
    replies, deadline = [], time.monotonic() + timeout
    reply_type, replied, idle = msg_type.replace("_request", "_reply"), False, False
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        replies.append(msg)
        replied = replied or msg["msg_type"] == reply_type
        idle = idle or (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle")
        if replied and idle:
            return replies
    raise KernelTimeout(f"no complete answer to {msg_type} within {timeout:.0f} s (reply: {replied}, idle: {idle})")


def execute(ws, code: str, timeout: float = 60) -> dict:
    """Run ``code`` on an open kernel websocket: ``{"result": text/plain or None, "stdout", "error"}``."""
    out = {"result": None, "stdout": "", "error": None}
    for msg in request(ws, "execute_request", {"code": code, "silent": False, "store_history": False,
                                               "allow_stdin": False}, timeout):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            out["result"] = content["data"].get("text/plain")
        elif kind == "stream":
            out["stdout"] += content.get("text", "")
        elif kind == "error":
            out["error"] = f"{content['ename']}: {content['evalue']}"
    return out


def execute_over_websocket(ws_url: str, token: str, code: str, timeout: float = 60) -> dict:
    """Connect to a kernel's channels websocket with ``token``, run ``code`` (see :func:`execute`), close."""
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=timeout)
    try:
        return execute(ws, code, timeout)
    finally:
        ws.close()
