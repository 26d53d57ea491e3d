"""A live kernel's Voilà page that does not come in time is asked for once more (Voilà then hands out another
kernel); other failures are not retried, and a second silence is the viewer's error."""

from __future__ import annotations

import asyncio
import socket

import pytest
from backstage.gallery.live import live_page
from backstage.gallery.rendered import RenderError, RenderTimeout
from tornado import web
from tornado.httpserver import HTTPServer

PAGE = '<script id="jupyter-config-data" type="application/json">{"kernelId": "%s"}</script>'
KERNEL = "0f84c6be-bf1a-4c56-8b8b-549704e7ca04"


class FakeVoila:
    """What `voila_page` uses of a running Voilà: its URL and auth header; its answers are scripted."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.auth_header = {"Authorization": "token test"}


class Pool:
    def __init__(self, voila):
        self.current = voila


def serve(answers: list[str]):
    """A stand-in for Voilà's render handler: each request takes the next answer ('hang', 'page' or '500')."""
    requests = []

    class Render(web.RequestHandler):
        async def get(self, slug):
            requests.append(slug)
            answer = answers[len(requests) - 1]
            if answer == "hang":
                await asyncio.sleep(30)
            elif answer == "500":
                raise web.HTTPError(500)
            self.finish(PAGE % KERNEL)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = HTTPServer(web.Application([(r"/voila/render/(.*)\.ipynb", Render)]))
    server.listen(port, "127.0.0.1")
    return server, Pool(FakeVoila(port)), requests


def run(answers, timeout=0.5):
    async def main():
        server, pool, requests = serve(answers)
        try:
            return await live_page(pool, "squares", timeout), requests
        finally:
            server.stop()

    return asyncio.run(main())


def test_a_page_that_does_not_come_is_asked_for_again_and_the_second_kernel_is_used():
    (html, kernel_id), requests = run(["hang", "page"])
    assert kernel_id == KERNEL and requests == ["squares", "squares"]


def test_two_silences_are_an_error_that_says_so():
    with pytest.raises(RenderTimeout, match=r"no page from Voilà for squares within 0 s"):
        run(["hang", "hang", "page"], timeout=0.3)


def test_an_error_answer_is_not_asked_again():
    with pytest.raises(RenderError, match="Voilà answered 500 for squares") as failure:
        run(["500", "page"])
    assert not isinstance(failure.value, RenderTimeout)
