"""HTML pages on GOV.UK Frontend: one layout (``templates/base.html`` around ``templates/layout/govuk.html``, the
header, navigation, phase banner and footer the hub's pages share: :mod:`.layout`), escaped output, working XSRF
fields.

Tornado's ``xsrf_form_html()`` returns a plain ``str``: in an autoescaping Jinja2 environment it would be
printed as text, and every form post would then fail with 403. :meth:`PageHandler.render_page` passes it as
``markupsafe.Markup`` (``{{ xsrf_html() }}`` in a template), and it carries JupyterHub's XSRF token.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup
from tornado import web

from .api import error_message
from .auth import HubUserHandler
from .layout import Site, layout_namespace

HERE = Path(__file__).resolve().parent
GOVUK_PATH = HERE.parent / "static" / "vendor" / "govuk-frontend"

#: Content Security Policy of every page: scripts and styles from the service itself only.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


def format_date(value) -> str:
    """``1 March 2026`` from a Unix time, a ``datetime`` or an ISO date string ('' for nothing)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.strftime("%-d %B %Y")


def make_jinja_env(*template_dirs: str | os.PathLike) -> jinja2.Environment:
    """An autoescaping environment that finds a service's own templates first, then the shared layout.

    A service's page extends ``"base.html"`` (shared) and fills ``title`` and ``content``.
    """
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader([str(d) for d in template_dirs]),
                                  jinja2.FileSystemLoader(str(HERE / "templates"))])
    env = jinja2.Environment(loader=loader, autoescape=True)
    env.filters["date"] = format_date
    return env


class PageHandler(HubUserHandler):
    """A page of a service. The app's settings hold ``jinja_env`` and ``prefix``; subclasses add to
    :meth:`page_namespace` (their own pages as ``nav``, service name) what every page of theirs shows."""

    #: the site's section these pages belong to, marked in the navigation (:data:`.layout.SECTIONS`)
    site_section: str | None = None

    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Content-Security-Policy", PAGE_CSP)

    def page_namespace(self) -> dict:
        """Names every template of the service sees; ``base.html`` uses ``service_name``, ``prefix`` and ``nav``
        (the service's own pages, listed after its entry in the site's navigation), and ``sign_in_url`` if set."""
        return {
            "service_name": "Government Backstage",
            "nav": [],
            "prefix": self.settings["prefix"],
            "hub_prefix": os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/",
        }

    def layout(self, ns: dict) -> dict:
        """The shared layout's names (:func:`.layout.layout_namespace`) for the viewer of this page."""
        user = self.current_user or {}
        return layout_namespace(
            Site.from_environ(), user_name=user.get("name"), assets=ns["prefix"], current=self.site_section, section=ns.get("nav", ()),
            sign_in_url=ns.get("sign_in_url"), service_name=ns.get("service_name", "Government Backstage"))

    def render_page(self, name: str, status: int = 200, **ns) -> None:
        ns = {**self.page_namespace(), **ns}
        html = self.settings["jinja_env"].get_template(name).render(
            user=self.current_user, xsrf_html=lambda: Markup(self.xsrf_form_html()),  # noqa: S704 (tornado escapes it)
            status=status, layout=self.layout(ns), **ns,
        )
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)

    def write_error(self, status_code, **kwargs):
        message = error_message(status_code, kwargs)
        try:
            self.render_page("error.html", status=status_code, message=message)
        except Exception:  # never fail while reporting a failure
            self.finish(f"{status_code}: {message}")


class GovukCSSHandler(web.RequestHandler):
    """GOV.UK Frontend's stylesheet with its ``/assets/`` URLs pointed at this service's own copy."""

    _cache: dict[str, bytes] = {}

    def initialize(self, prefix: str | None = None):
        self.prefix = prefix or self.settings["prefix"]

    def get(self):
        prefix = self.prefix
        if prefix not in self._cache:
            path = GOVUK_PATH / "govuk-frontend.min.css"
            if not path.exists():
                raise web.HTTPError(500, f"GOV.UK Frontend is missing at {path}: run 'make vendor'")
            css = path.read_bytes()
            self._cache[prefix] = css.replace(b"url(/assets/", f"url({prefix}govuk/assets/".encode())
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=3600")
        self.finish(self._cache[prefix])


def asset_routes(prefix: str, mount: str | None = None) -> list[tuple]:
    """Routes for GOV.UK Frontend (``<prefix>govuk/...``) and the shared scripts and styles (``<prefix>web/...``).

    ``mount`` is where the routes are declared when it differs from the URL prefix: the hub adds its own
    prefix to ``JupyterHub.extra_handlers``, so it mounts them at ``/`` and serves them at ``/hub/``.
    """
    at = prefix if mount is None else mount
    return [
        (at + "govuk/govuk-frontend.css", GovukCSSHandler, {"prefix": prefix}),
        (at + r"govuk/(.*)", web.StaticFileHandler, {"path": str(GOVUK_PATH)}),
        (at + r"web/(.*)", web.StaticFileHandler, {"path": str(HERE / "static")}),
    ]
