"""Portal search against a local CKAN stand-in that serves real recorded responses (../shared/ckan)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import govdata

CKAN = Path(__file__).resolve().parents[4] / "shared" / "ckan"
UK_SEARCH = "datagovuk_2020_package_search_facet=organization.json"
BR_SEARCH = "dadosgovbr_2023_package_search_q=organization=agencia-espacial-brasileira-aeb.json"
BR_EMPTY = "dadosgovbr_2023_package_search_q=organization=agricultura-extrativismo-e-pescaa_0results.json"
NOT_FOUND = "dadosgovbr_2023_package_show_id=no-dataset_404.json"


class RecordedCkan:
    """Answers /api/3/action/package_search and package_show with the recorded bodies, and serves a CSV."""

    def __init__(self, csv: bytes):
        self.requests: list[str] = []
        self.csv = csv
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, body, kind = outer.answer(url.path, query)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, path: str, query: dict) -> tuple[int, bytes, str]:
        if path == "/files/lookup.csv":
            return 200, self.csv, "text/csv"
        if path == "/api/3/action/package_search":
            q = query.get("q", "")
            name = {"organization:agencia-espacial-brasileira-aeb": BR_SEARCH,
                    "organization:agricultura-extrativismo-e-pescaa": BR_EMPTY}.get(q, UK_SEARCH)
            return 200, (CKAN / name).read_bytes(), "application/json"
        if path == "/api/3/action/package_show":
            for prefix in ("datagovuk_2018", "datagovuk_2020"):
                candidate = CKAN / f"{prefix}_package_show_id={query.get('id')}.json"
                if candidate.exists():
                    return 200, candidate.read_bytes(), "application/json"
            return 404, (CKAN / NOT_FOUND).read_bytes(), "application/json"
        return 200, b"<html>not a CKAN portal</html>", "text/html"

    def __enter__(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def portal(gov_env, shared_datasets):
    if not (CKAN / "SOURCES.md").exists():
        pytest.fail(f"the recorded CKAN responses are missing at {CKAN}")
    with RecordedCkan((shared_datasets / "lad21_to_rgn21_lookup_england.csv").read_bytes()) as server:
        yield server


def test_portal_search_returns_a_frame_of_datasets(portal):
    found = govdata.portal_search("pollinators", portal=portal.url, rows=5)
    assert found.attrs["count"] == 10 and len(found) == 4
    first = found.iloc[0]
    assert first["organization"] == "Environmental Information Data Centre"
    assert first["license_title"] == "UK Open Government Licence (OGL)"
    assert first["page"] == f"{portal.url}/dataset/{first['name']}"
    assert "organisation-chart-cbc" in set(found["name"])
    assert "q=pollinators" in portal.requests[0] and "rows=5" in portal.requests[0]


def test_portal_search_works_on_any_ckan_portal_and_on_no_results(portal):
    found = govdata.portal_search("organization:agencia-espacial-brasileira-aeb", portal=portal.url)
    assert len(found) == 6 and "catalogo-industria-espacial" in set(found["name"])
    empty = govdata.portal_search("organization:agricultura-extrativismo-e-pescaa", portal=portal.url)
    assert empty.empty and list(empty.columns)[:2] == ["name", "title"]


def test_portal_dataset_lists_resources(portal):
    resources = govdata.portal_dataset("ford-crossings", portal=portal.url)
    assert list(resources["format"]) == ["CSV", "HTML"]
    assert resources["url"].iloc[0].endswith("Ford_crossings.csv")
    assert resources.attrs["title"] == "Ford Crossings"
    assert govdata.portal_dataset("aggregates-levy", portal=portal.url).empty  # a dataset with 0 resources


def test_an_unknown_dataset_is_a_clear_portal_error(portal):
    with pytest.raises(govdata.PortalError, match=r"Not Found Error .*no-dataset.*portal_search"):
        govdata.portal_dataset("no-dataset", portal=portal.url)


def test_a_site_that_is_not_ckan_is_named(portal):
    with pytest.raises(govdata.PortalError, match="not CKAN JSON"):
        govdata.portal_search("x", portal=portal.url + "/not-ckan")


def test_load_resource_downloads_once_verifies_and_caches(portal, shared_datasets):
    body = (shared_datasets / "lad21_to_rgn21_lookup_england.csv").read_bytes()
    sha = hashlib.sha256(body).hexdigest()
    url = portal.url + "/files/lookup.csv"
    df = govdata.load_resource(url, sha256=sha)
    assert list(df.columns) == ["FID", "LAD21CD", "LAD21NM", "RGN21CD", "RGN21NM"]  # BOM handled
    pd.testing.assert_frame_equal(govdata.load_resource(url, sha256=sha), df)
    assert govdata.load_resource(url).shape == df.shape  # unpinned: cached by URL
    assert sum(r == "/files/lookup.csv" for r in portal.requests) == 2  # once pinned, once by URL
    with pytest.raises(govdata.HashMismatchError, match="expected 0{64}"):
        govdata.load_resource(url, sha256="0" * 64)


def test_load_resource_refuses_what_is_not_a_web_address(gov_env):
    with pytest.raises(ValueError, match="http"):
        govdata.load_resource("/etc/passwd")
