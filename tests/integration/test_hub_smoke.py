"""Smoke: the session lab starts, answers health, and signs the admin in."""

import pytest

pytestmark = pytest.mark.integration


def test_lab_answers_health_and_admin_has_a_token(lab):
    import requests

    assert requests.get(f"{lab.url}/hub/health", timeout=10).status_code == 200
    me = lab.api("GET", "/user").json()
    assert me["name"] == "admin" and me["admin"] is True


def test_the_banner_names_the_hubs_own_origin_and_the_api_answers_on_loopback(lab):
    """Contract 1: with a host per person the lab prints http://localhost:<port>; the API is at 127.0.0.1."""
    import requests

    port = lab.port
    assert f"Government Backstage is running at http://localhost:{port}\n" in lab.log_text()
    assert requests.get(f"http://127.0.0.1:{port}/hub/api/", timeout=10).json()["version"]
