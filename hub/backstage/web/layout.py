"""One layout for every page of the lab: the header, the site's navigation, the phase banner and the footer.

The hub's pages (Jinja templates through ``JupyterHub.template_paths``) and the services' pages (``base.html``
here) include the same partials, ``templates/layout/header.html`` and ``templates/layout/footer.html``, and both
fill them from :func:`layout_namespace`, so who sees which link is decided here once:

- **Commons** and **Gallery**: everyone while the lab is open to read (``commons: {public: true}``), else the
  signed-in (anonymous visitors see the dashboards open to everyone, the signed-in see more);
- **My lab** (the hub's home page: start, stop, shared servers) and **Share** ("Share my server"): the signed-in;
- **Sign in** or **Sign out**.

A section's own pages (the commons' challenges, the gallery's review queue) follow its entry in the same list.
The hub knows the site from its settings (:meth:`Site.from_settings`); a service reads the same description from
``$BACKSTAGE_SITE`` (JSON, set by the hub: :meth:`Site.environ`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from urllib.parse import quote, urlparse

from backstage.roles import APPROVE_SIGNUPS_SCOPE, COMMONS_SERVICE, GALLERY_SERVICE, SHARE_SERVICE
from backstage.urls import service_url

__all__ = ["FOOTER_PAGES", "PHASE_DEFAULTS", "SITE_ENV", "HubLayout", "NavItem", "PersonLayout", "Site", "layout_namespace"]

SITE_ENV = "BACKSTAGE_SITE"

#: the phase banner (site setting ``phase``); a null ``feedback_url`` links to the commons' request form
PHASE_DEFAULTS = {"tag": "Beta", "feedback_url": None}

#: the footer's links: the pages a public service must have, served by the hub (``/hub/<path>``)
FOOTER_PAGES = (("Cookies", "cookies"), ("Privacy", "privacy"), ("Accessibility", "accessibility"),
                ("House rules", "house-rules"))

SECTIONS = ("commons", "gallery", "lab", "share", "sign-in")


@dataclass(frozen=True)
class NavItem:
    """A link of the site's navigation; ``current`` marks the section the page belongs to."""

    label: str
    href: str
    current: bool = False


@dataclass(frozen=True)
class Site:
    """What the layout needs to know about the lab: where its parts are and what its banner says."""

    hub_url: str                      # the hub's pages, e.g. http://localhost:8000/hub/
    commons_url: str = ""             # '' when the lab has no commons
    gallery_url: str = ""             # '' when the lab has no gallery
    share_url: str = ""
    commons_public: bool = True
    phase: dict = field(default_factory=lambda: dict(PHASE_DEFAULTS))

    @classmethod
    def from_settings(cls, settings: dict, services: list[str], subdomain_host: str = "", base_url: str = "/"):
        """The site as the hub's configuration sees it (``services``: the names of the managed services)."""
        hub = subdomain_host.rstrip("/") + base_url.rstrip("/") + "/hub/"

        def url(name):
            return service_url(name, "", subdomain_host, base_url=base_url) if name in services else ""

        return cls(hub_url=hub, commons_url=url(COMMONS_SERVICE), gallery_url=url(GALLERY_SERVICE),
                   share_url=url(SHARE_SERVICE), commons_public=settings.get("commons", {}).get("public", True),
                   phase={**PHASE_DEFAULTS, **settings.get("phase", {})})

    def environ(self) -> dict:
        """``{SITE_ENV: json}`` for a service's environment."""
        return {SITE_ENV: json.dumps(asdict(self))}

    @classmethod
    def from_environ(cls, environ=None):
        """The site as a service sees it: ``$BACKSTAGE_SITE``, else the hub alone (no services known)."""
        env = os.environ if environ is None else environ
        if env.get(SITE_ENV):
            return cls(**json.loads(env[SITE_ENV]))
        hub = env.get("JUPYTERHUB_PUBLIC_HUB_URL") or (
            env.get("JUPYTERHUB_HOST", "") + env.get("JUPYTERHUB_BASE_URL", "/") + "hub/")
        return cls(hub_url=hub)

    @property
    def hub_path(self) -> str:
        """The hub's pages as a path (``/hub/``): where the hub serves the layout's files."""
        return urlparse(self.hub_url).path

    @property
    def feedback_url(self) -> str:
        if self.phase.get("feedback_url"):
            return self.phase["feedback_url"]
        return f"{self.commons_url}requests/new?kind=barrier" if self.commons_url else self.hub_url + "accessibility"

    @staticmethod
    def _through_sign_in(service_url: str, signed_in: bool) -> str:
        """A service open to read knows a signed-in person only once they pass its ``sign-in`` page (the hub's
        OAuth, no form: the hub remembers them), which then shows its home: so the signed-in go through it."""
        if not signed_in:
            return service_url
        return f"{service_url}sign-in?next={quote(urlparse(service_url).path, safe='/')}"

    def nav(self, *, signed_in: bool, current: str | None = None,
            section: list | tuple = (), section_key: str | None = None,
            sign_in_url: str | None = None) -> list[NavItem]:
        """The site's navigation for one person on one page.

        Parameters
        ----------
        signed_in : bool
            Whether the person is signed in.
        current : str, optional
            The page's section, one of :data:`SECTIONS`.
        section : list of (label, href)
            The section's own pages, listed after its entry.
        section_key : str, optional
            Whose pages ``section`` lists (default: ``current``).
        sign_in_url : str, optional
            Where "Sign in" leads (default: the hub's sign-in page).
        """
        entries = []
        if self.commons_url and (self.commons_public or signed_in):
            entries.append(("commons", "Commons", self._through_sign_in(self.commons_url, signed_in)))
        if self.gallery_url and (self.commons_public or signed_in):  # a closed lab shows anonymous visitors nothing
            entries.append(("gallery", "Gallery", self._through_sign_in(self.gallery_url, signed_in)))
        if signed_in:
            entries.append(("lab", "My lab", self.hub_url + "home"))
            if self.share_url:
                entries.append(("share", "Share", self.share_url))
            entries.append(("sign-out", "Sign out", self.hub_url + "logout"))
        else:
            entries.append(("sign-in", "Sign in", sign_in_url or self.hub_url + "login"))
        owner = section_key or current
        items = []
        for key, label, href in entries:
            items.append(NavItem(label, href, key == current))
            if key == owner:
                items.extend(NavItem(lab, ref) for lab, ref in section)
        if owner not in {key for key, _, _ in entries}:  # a section not in the list: its pages at the start
            items[0:0] = [NavItem(lab, ref) for lab, ref in section]
        return items


def layout_namespace(site: Site, *, user_name: str | None, assets: str, current: str | None = None,
                     section=(), section_key: str | None = None, sign_in_url: str | None = None,
                     service_name: str = "Government Backstage") -> dict:
    """``layout``: everything ``templates/layout/*.html`` shows, for one person on one page.

    ``assets`` is the URL prefix under which GOV.UK Frontend (``govuk/``) and the shared files (``web/``) are
    served to this page (each service serves its own copy: pages and their styles share an origin).
    """
    nav = site.nav(signed_in=bool(user_name), current=current, section=section,
                   section_key=section_key, sign_in_url=sign_in_url)
    return {
        "service_name": service_name,
        "home_url": site.commons_url or site.hub_url,
        "nav": nav,
        "phase_tag": site.phase.get("tag") or PHASE_DEFAULTS["tag"],
        "feedback_url": site.feedback_url,
        "footer_links": [(label, site.hub_url + path) for label, path in FOOTER_PAGES],
        "user_name": user_name,
        "assets": assets,
    }


@dataclass(frozen=True)
class HubLayout:
    """``JupyterHub.template_vars["backstage_layout"]``: the hub calls it with the signed-in user (or None);
    the hub's ``page.html`` then asks :meth:`PersonLayout.page` for the names of the layout."""

    site: Site
    signups: bool  # the authenticator serves /hub/signups

    def __call__(self, user) -> PersonLayout:
        return PersonLayout(self, user)


class PersonLayout:
    """The layout for one person on the hub's pages (lab pages: tokens, sign-ups, admin follow "My lab")."""

    def __init__(self, hub: HubLayout, user):
        self._hub, self._user = hub, user

    @property
    def site(self) -> Site:
        return self._hub.site

    def page(self, current: str | None = None, scopes=(), admin_ui: bool = False) -> dict:
        """``layout`` for a hub page of section ``current``; ``scopes``: the viewer's expanded scopes."""
        user, site = self._user, self._hub.site
        section = []
        if user is not None:
            section.append(("Tokens", site.hub_url + "token"))
            if self._hub.signups and APPROVE_SIGNUPS_SCOPE in scopes:
                section.append(("Sign-ups", site.hub_url + "signups"))
            if admin_ui:
                section.append(("Admin", site.hub_url + "admin"))
        return layout_namespace(site, user_name=user.name if user is not None else None, assets=site.hub_path, current=current, section=section, section_key="lab")
