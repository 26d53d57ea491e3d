"""Smoke: the session lab starts, answers health, and signs the admin in."""

import pytest

pytestmark = pytest.mark.integration


def test_lab_answers_health_and_admin_has_a_token(lab):
    import requests

    assert requests.get(f"{lab.url}/hub/health", timeout=10).status_code == 200
    me = lab.api("GET", "/user").json()
    assert me["name"] == "admin" and me["admin"] is True
