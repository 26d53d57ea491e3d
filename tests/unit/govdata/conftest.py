"""Fixtures for the govdata tests: an isolated cache per test, and a real local HTTP server."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import govdata
from govdata import provenance


@pytest.fixture
def gov_env(monkeypatch, tmp_path):
    """A fresh, empty cache; no mirror; short timeouts; provenance forgotten. Returns the cache folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GOVDATA_CACHE", str(cache))
    for var in ("GOVDATA_MIRROR", "GOVDATA_PROVENANCE_LOG", "GOVDATA_TIMEOUT", "GOVDATA_RETRIES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(provenance, "_loaded", {})
    return cache


class FileServer:
    """A threaded HTTP server on a free port serving files, with scripted misbehaviour per path.

    ``behave[name]`` is a list of actions used one per request, then plain serving: an int is an HTTP
    status to answer with, ``"stall"`` sends nothing for ``stall_seconds``, ``"tamper"`` flips a byte,
    ``"truncate"`` sends half the file. ``hits`` counts GET requests per file name.
    """

    def __init__(self, files: dict[str, bytes] | None = None, folder: Path | None = None, delay: float = 0.0):
        self.files = dict(files or {})
        self.folder = folder
        self.behave: dict[str, list] = {}
        self.hits: Counter = Counter()
        self.delay = delay
        self.stall_seconds = 5.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                name = self.path.split("?", 1)[0].lstrip("/").split("/")[-1]
                from urllib.parse import unquote

                name = unquote(name)
                with server._lock:
                    server.hits[name] += 1
                    actions = server.behave.get(name) or []
                    action = actions.pop(0) if actions else None
                body = server._body(name)
                if isinstance(action, int):
                    self.send_response(action)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action == "stall":
                    time.sleep(server.stall_seconds)
                    return
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action == "tamper":
                    body = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
                elif action == "truncate":
                    body = body[: len(body) // 2]
                if server.delay:
                    time.sleep(server.delay)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _body(self, name: str) -> bytes | None:
        if name in self.files:
            return self.files[name]
        if self.folder is not None and (self.folder / name).is_file():
            return (self.folder / name).read_bytes()
        return None

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def mirror_env(gov_env, monkeypatch, shared_datasets):
    """GOVDATA_MIRROR pointing at the shared datasets folder, with an empty cache."""
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    return gov_env


@pytest.fixture
def serve():
    """The FileServer class, for tests that script their own server: ``with serve(folder=...) as s:``."""
    return FileServer


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory, shared_datasets):
    """One cache for the session, filled once by load() of every dataset from the mirror folder.

    Yields ``(cache_folder, {id: frame})``; the frames are the cold (freshly tidied) results.
    """
    from govdata.catalog import catalog_entries

    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("warmcache")
        mp.setenv("GOVDATA_CACHE", str(cache))
        mp.setenv("GOVDATA_MIRROR", str(shared_datasets))
        mp.delenv("GOVDATA_PROVENANCE_LOG", raising=False)
        frames = {entry.id: govdata.load(entry.id) for entry in catalog_entries()}
    yield cache, frames


@pytest.fixture
def aurn_original(shared_datasets, tmp_path):
    """A file in the AURN original's layout (the original itself is not in the mirror: it carries
    non-open geocoded columns): an unnamed index, 'UK-AIR ID' ... 'Address', 'Postcode', long floats."""
    import pandas as pd

    oracle = pd.read_csv(shared_datasets / "defra_aurn_sites_2020.csv")
    original = pd.DataFrame({
        "UK-AIR ID": oracle["uk_air_id"], "Site Name": oracle["site_name"],
        "Environment Type": oracle["environment_type"],
        "Latitude": oracle["latitude"] + 4e-9, "Longitude": oracle["longitude"] - 4e-9,
        "Address": "1 Private Rd, Somewhere AB1 2CD, UK", "Postcode": "AB",
    })
    path = tmp_path / "aurn_measurement_sites_addresses_postcodes.csv"
    original.to_csv(path)  # writes the unnamed index column, as the original has
    return path
