"""The gallery dashboards' front end: its websocket framing matches jupyter_server's, and the build has no CDN."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from backstage.gallery import proxy
from backstage.gallery.voila import FRONT_END_BUNDLE, TEMPLATE_ROOT
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    serialize_binary_message,
)

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "hub" / "backstage" / "gallery" / "dashboard_frontend"
ESBUILD = REPO / "node_modules" / ".bin" / "esbuild"

# Runs kernel.js's serialize/deserialize in Node on messages given as JSON (buffers as base64).
DRIVER = """
import { serialize, deserialize } from './kernel.js';
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const b64 = (view) => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
const out = {};
const msg = { ...input.msg, buffers: input.msg.buffers.map((b) => new Uint8Array(Buffer.from(b, 'base64'))) };
const frame = serialize(msg);
out.frame = typeof frame === 'string' ? { text: frame } : { binary: Buffer.from(frame).toString('base64') };
const back = deserialize(new Uint8Array(Buffer.from(input.python_frame, 'base64')).buffer);
out.parsed = { ...back, buffers: back.buffers.map(b64) };
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def framing(tmp_path_factory):
    if not ESBUILD.exists() or not shutil.which("node"):
        pytest.fail("node and node_modules/.bin/esbuild are needed: run `make install`")
    folder = tmp_path_factory.mktemp("frontend")
    shutil.copy(FRONTEND / "kernel.js", folder / "kernel.js")
    (folder / "driver.js").write_text(DRIVER)
    bundle = folder / "driver.cjs"
    subprocess.run([str(ESBUILD), str(folder / "driver.js"), "--bundle", "--platform=node", "--format=cjs",
                    f"--outfile={bundle}", "--log-level=error"], check=True)

    def run(msg: dict, python_frame: bytes) -> dict:
        payload = {"msg": {**msg, "buffers": [base64.b64encode(b).decode() for b in msg.get("buffers", [])]},
                   "python_frame": base64.b64encode(python_frame).decode()}
        result = subprocess.run(["node", str(bundle)], input=json.dumps(payload), capture_output=True, text=True,
                                check=True, timeout=60)
        return json.loads(result.stdout)

    return run


def _msg(msg_type: str, buffers: list[bytes]) -> dict:
    return {"header": {"msg_id": "m1", "msg_type": msg_type, "session": "s", "username": "", "version": "5.3",
                       "date": "2026-11-26T00:00:00Z"},
            "parent_header": {}, "metadata": {}, "content": {"comm_id": "c1", "data": {"method": "update"}},
            "channel": "shell", "buffers": buffers}


def test_a_message_with_buffers_is_framed_as_jupyter_server_reads_it(framing):
    buffers = [b"\x00\x01\x02binary", b"second buffer"]
    out = framing(_msg("comm_msg", buffers), serialize_binary_message(_msg("comm_msg", buffers)))
    frame = base64.b64decode(out["frame"]["binary"])
    back = deserialize_binary_message(frame)
    assert back["header"]["msg_type"] == "comm_msg" and back["content"]["data"] == {"method": "update"}
    assert [bytes(b) for b in back["buffers"]] == buffers
    assert proxy.message_type(frame) == "comm_msg"  # and the gallery's websocket filter reads its type


def test_a_binary_frame_from_jupyter_server_is_read_with_its_buffers(framing):
    buffers = [b"abc", b"\xff" * 1000]
    out = framing(_msg("comm_msg", []), serialize_binary_message(_msg("comm_msg", buffers)))
    assert out["parsed"]["header"]["msg_type"] == "comm_msg" and out["parsed"]["content"]["comm_id"] == "c1"
    assert [base64.b64decode(b) for b in out["parsed"]["buffers"]] == buffers


def test_a_message_without_buffers_is_a_json_text_frame(framing):
    out = framing(_msg("comm_open", []), serialize_binary_message(_msg("comm_open", [])))
    assert json.loads(out["frame"]["text"])["header"]["msg_type"] == "comm_open"
    assert proxy.message_type(out["frame"]["text"]) == "comm_open"


def test_the_built_front_end_loads_nothing_from_outside_the_lab():
    static = FRONT_END_BUNDLE.parent
    assert FRONT_END_BUNDLE.exists(), "run `make install` to build the dashboards' front end"
    built = {p.name: p.read_text("utf-8") for p in static.iterdir() if p.suffix in (".js", ".css")}
    assert {"dashboard.js", "chunk.js", "output.js", "dashboard.css"} <= set(built)
    for name, text in built.items():
        assert not re.search(r"cdn\.jsdelivr|unpkg\.com|cdnjs|googleapis|@import\s+url\(\s*['\"]?https?:", text), name
    template = (TEMPLATE_ROOT / "voila" / "templates" / "backstage-dashboard" / "index.html.j2").read_text("utf-8")
    assert "https://" not in template and "http://" not in template
