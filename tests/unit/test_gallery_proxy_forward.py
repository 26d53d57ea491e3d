"""When the dashboards' Voilà cannot answer a forwarded request (it refuses, or closes the connection mid-answer as
it stops), the viewer gets a 502 that says so, never a 500 with a traceback in the gallery's log."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest
from backstage.gallery.proxy import _forward
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def closing_upstream() -> tuple[asyncio.Server, int]:
    """An upstream that reads the request and closes the connection without answering."""

    async def hang_up(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


class Forward(web.RequestHandler):
    async def post(self):
        await _forward(self, "voila/api/shutdown/k", method="POST", body=b"")


async def answer_through_gallery(upstream_port: int, logged: list[str]) -> int:
    voila = SimpleNamespace(url=f"http://127.0.0.1:{upstream_port}/", auth_header={"Authorization": "token t"})
    app = web.Application([(r"/forward", Forward)], gallery=SimpleNamespace(voila=SimpleNamespace(current=voila)),
                          log_function=lambda handler: logged.append(f"{handler.get_status()}"))
    port = free_port()
    server = HTTPServer(app)
    server.listen(port, "127.0.0.1")
    try:
        r = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/forward", method="POST", body=b"",
                                          raise_error=False)
        return r.code
    finally:
        server.stop()


@pytest.mark.parametrize("upstream", ["closes the connection", "refuses the connection"])
def test_an_upstream_that_cannot_answer_is_a_502_that_says_so(upstream, caplog):
    async def main():
        logged = []
        if upstream == "closes the connection":
            server, port = await closing_upstream()
            try:
                code = await answer_through_gallery(port, logged)
            finally:
                server.close()
        else:
            code = await answer_through_gallery(free_port(), logged)
        return code, logged

    code, logged = asyncio.run(main())
    assert code == 502 and logged == ["502"]
    assert "Uncaught exception" not in caplog.text and "Traceback" not in caplog.text
