"""The shared web base in a real Tornado app (no hub): form pages carry a working XSRF field (not escaped
text), output is escaped, errors keep their status, and JSON errors name the cause."""

from __future__ import annotations

import json

import jinja2
from backstage.web import APIHandler, PageHandler, asset_routes, make_jinja_env
from jupyterhub.services.auth import HubOAuth
from tornado import web
from tornado.testing import AsyncHTTPTestCase


class FormPage(PageHandler):
    def get(self):
        self.render_page("form.html", text=self.get_argument("text", ""))


class Missing(PageHandler):
    def get(self):
        raise web.HTTPError(404, "no such thing: check the address")


class Refusing(APIHandler):
    def post(self):
        self.json_body()
        self.require_user()


class WebBaseTest(AsyncHTTPTestCase):
    def get_app(self):
        hub_auth = HubOAuth(api_token="test", api_url="http://127.0.0.1:9/hub/api", oauth_client_id="service-test",
                            base_url="/services/test/", cache_max_age=60)
        env = make_jinja_env()
        env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({"form.html": (
            '{% extends "base.html" %}{% block title %}Form{% endblock %}{% block content %}'
            '<p id="text">{{ text }}</p><form method="post">{{ xsrf_html() }}</form>{% endblock %}')}), env.loader])
        p = "/services/test/"
        return web.Application([(p + "form", FormPage), (p + "missing", Missing), (p + "api", Refusing),
                                *asset_routes(p)], hub_auth=hub_auth, jinja_env=env, prefix=p,
                               cookie_secret="x" * 32, xsrf_cookies=False)

    def test_a_form_page_carries_a_real_xsrf_field_and_escapes_what_it_shows(self):
        r = self.fetch("/services/test/form?text=%3Cscript%3Ealert(1)%3C/script%3E")
        html = r.body.decode()
        assert r.code == 200
        assert '<input type="hidden" name="_xsrf" value="' in html and "&lt;input" not in html
        assert '<p id="text">&lt;script&gt;alert(1)&lt;/script&gt;</p>' in html
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"

    def test_an_error_page_keeps_its_status_and_says_why(self):
        r = self.fetch("/services/test/missing")
        assert r.code == 404 and "Page not found" in r.body.decode() and "check the address" in r.body.decode()

    def test_json_errors_name_the_cause(self):
        r = self.fetch("/services/test/api", method="POST", body="not json")
        assert r.code == 400 and "not JSON" in json.loads(r.body)["error"]
        r = self.fetch("/services/test/api", method="POST", body="{}")
        assert r.code == 403 and json.loads(r.body) == {"error": "sign in first, or send 'Authorization: token "
                                                                  "<your hub token>'", "status": 403}

    def test_govuk_frontend_is_served_with_its_asset_urls_under_the_prefix(self):
        r = self.fetch("/services/test/govuk/govuk-frontend.css")
        assert r.code == 200 and b"url(/services/test/govuk/assets/" in r.body and b"url(/assets/" not in r.body
