"""The pages a public service must have (issue 15 items 4–5), in Chromium on the real lab.

One walk (a module fixture) signs in as a participant (whose server starts), an official, a reviewer and an
organiser, each in a browser of their own, and opens every kind of page as that person would; an anonymous
visitor opens the public ones. On each page the walk records every cookie set (``Set-Cookie`` headers of every
response, and the browser's cookie jar for any set by a script), the serious and critical axe-core
violations, and how wide the page is at 320 px. The tests then hold the lab to:

1. the cookies page lists exactly the cookies the lab sets (a cookie set but not listed, or listed but never
   set, fails), and none of them is non-essential, so no banner is needed;
2. no serious or critical axe-core violation on any page but JupyterLab's own;
3. no page but JupyterLab scrolls sideways at 320 px;
and, in a browser of its own, that a person signs in with the keyboard only. On a lab signing in with GOV.UK One
Login (the real ``oidc-provider`` on loopback), the cookies page lists One Login's state cookie, with its lifetime,
and the lab sets no cookie it does not list (the provider's own, on its own origin, are not the lab's).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from backstage.chromium import CHROMIUM, CHROMIUM_ARGS
from backstage_testing.browser import axe_violations, fill_sign_in_form
from backstage_testing.journeys import approve_by_api, dashboard_notebook, people, submit_by_api, wait_checked
from backstage_testing.oidc import oidc_lab

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(1800)]

log = logging.getLogger(__name__)

PUBLIC_PAGES = {"cookies": "Cookies", "privacy": "Privacy notice", "accessibility": "Accessibility statement",
                "house-rules": "House rules"}
NARROW = {"width": 320, "height": 640}
WIDE = {"width": 1280, "height": 900}


@dataclass
class Visit:
    who: str
    what: str
    url: str
    violations: list = field(default_factory=list)
    width_at_320: int = 0


@dataclass
class Walk:
    visits: list[Visit] = field(default_factory=list)
    cookies: dict[str, set[str]] = field(default_factory=dict)  # name → where it was set (who: what)
    listed: dict[str, str] = field(default_factory=dict)  # name (pattern) on the cookies page → its "Expires"
    lifetimes: dict[str, set] = field(default_factory=dict)  # name → seconds it lives for (None: the session)


class Person:
    """One browser (its own profile, so its own cookies) that records what each page it opens sets."""

    def __init__(self, playwright, tmp_path_factory, walk: Walk, who: str, lab_port: int | None = None):
        profile = tmp_path_factory.mktemp(f"chromium-{who}")
        self.context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, viewport=WIDE)
        self.context.set_default_timeout(90_000)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.walk, self.who, self.doing = walk, who, "arriving"
        self.lab_port = lab_port  # when set, only the lab's responses count (not an outside provider's)
        self.context.on("response", self._record)

    def _record(self, response):
        if self.lab_port is not None and urlparse(response.url).port != self.lab_port:
            return
        try:
            headers = response.headers_array()
        except Exception:  # noqa: BLE001 (a response of a page that has gone: its headers are gone too)
            return
        for header in headers:
            if header["name"].lower() == "set-cookie":
                for line in header["value"].split("\n"):  # Chromium joins several Set-Cookie headers with \n
                    name = line.split("=", 1)[0].strip()
                    if name:
                        self.walk.cookies.setdefault(name, set()).add(f"{self.who}: {self.doing} ({response.url})")
                        lifetime = _lifetime(line)
                        if lifetime != 0:  # not a removal
                            self.walk.lifetimes.setdefault(name, set()).add(lifetime)

    def open(self, what: str, url: str, *, checked: bool = True, wait_for=None) -> None:
        """Go to ``url`` and look at the page (axe-core, 320 px) unless ``checked`` is False."""
        self.doing = what
        self.page.goto(url)
        if wait_for is not None:
            wait_for(self.page)
        self.look(what, checked=checked)

    def look(self, what: str, *, checked: bool = True) -> None:
        self.doing = what
        log.info("%s: %s (%s)", self.who, what, self.page.url)
        self.page.wait_for_load_state("load")
        visit = Visit(self.who, what, self.page.url)
        if checked:
            visit.violations = axe_violations(self.page)
            self.page.set_viewport_size(NARROW)
            visit.width_at_320 = self.page.evaluate("() => document.documentElement.scrollWidth")  # lays out anew
            self.page.set_viewport_size(WIDE)
        self.walk.visits.append(visit)

    def jar(self) -> None:
        """Cookies a script set (no Set-Cookie header) are in the browser's jar."""
        if self.lab_port is not None:  # a jar's cookies have no port: the provider's on loopback would count
            return
        for cookie in self.context.cookies():
            self.walk.cookies.setdefault(cookie["name"], set()).add(f"{self.who}: in the cookie jar")

    def sign_in(self, lab, person: dict, lands_on) -> None:
        self.open("sign-in page", f"{lab.url}/hub/login")
        self.doing = "signing in"
        fill_sign_in_form(self.page, person["name"], person["password"])
        self.page.wait_for_url(lands_on, timeout=180_000)

    def sign_out(self) -> None:
        self.jar()
        self.doing = "signing out"
        self.page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign out").click()
        self.page.wait_for_url("**/hub/login**")
        self.look("signed-out page")

    def close(self) -> None:
        self.jar()
        self.context.close()


def _public_pages(person: Person, lab) -> None:
    for path, title in PUBLIC_PAGES.items():
        person.open(f"{title} page", f"{lab.url}/hub/{path}")
        assert person.page.get_by_role("heading", level=1).first.inner_text().strip() == title, person.page.url


def _signed_in_pages(person: Person, lab, dashboard_url: str) -> None:
    gallery, commons = lab.service_url("gallery"), lab.service_url("commons")
    person.open("hub home", f"{lab.url}/hub/home")
    person.open("token page", f"{lab.url}/hub/token")
    person.open("gallery", gallery, wait_for=lambda p: p.get_by_role("heading", level=1).first.wait_for())
    person.open("my submissions", gallery + "mine")
    person.open("a dashboard", dashboard_url, wait_for=lambda p: p.get_by_text("squared: 9").wait_for())
    if person.who in ("participant", "official"):  # its kernel starts at the first touch
        person.doing = "moving a dashboard's slider"
        person.page.get_by_role("slider").first.focus()
        person.page.keyboard.press("ArrowRight")
        person.page.get_by_text("squared: 16").wait_for()
    person.open("commons", commons)
    sign_in = person.page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign in")
    if sign_in.count():  # the commons knows the person once they follow its own "Sign in" (hub OAuth)
        person.doing = "signing in to the commons"
        sign_in.click()
        person.page.get_by_role("link", name="Sign out").first.wait_for()
        person.look("commons, signed in")
    person.open("challenges", commons + "challenges")
    person.open("data requests", commons + "requests")
    person.open("share page", lab.service_url("share"))
    _public_pages(person, lab)


@pytest.fixture(scope="module")
def walk(lab, playwright, tmp_path_factory) -> Walk:
    team = people(lab, participant="participants", official="officials", reviewer="reviewers",
                  organiser="organisers")
    title = f"Squares for the cookie walk {team['participant']['name'][-4:]}"
    submission = submit_by_api(lab, team["participant"]["token"], title, dashboard_notebook())
    assert wait_checked(lab, team["participant"]["token"], submission)["status"] == "awaiting-review"
    dashboard_url = urljoin(lab.service_url("gallery"), approve_by_api(lab, team["reviewer"]["token"], submission)["url"])

    result = Walk()
    anonymous = Person(playwright, tmp_path_factory, result, "anonymous")
    try:
        anonymous.open("front door (commons)", lab.url + "/")
        anonymous.open("commons challenges", lab.service_url("commons") + "challenges")
        anonymous.open("commons house rules", lab.service_url("commons") + "house-rules")
        anonymous.open("sign-in page", f"{lab.url}/hub/login")
        anonymous.doing = "signing up"
        anonymous.page.get_by_role("link", name="Sign up for an account").click()
        anonymous.look("sign-up page")
        newcomer = f"walker{team['participant']['name'][-4:]}"
        anonymous.page.get_by_label("Username").fill(newcomer)
        anonymous.page.get_by_label("Password", exact=True).fill("a-walk-in-the-lab")
        anonymous.page.get_by_label("Password again").fill("a-walk-in-the-lab")
        anonymous.page.get_by_role("button", name="Sign up").click()
        anonymous.page.get_by_role("status").wait_for()
        anonymous.look("signed up, waiting for approval")
        anonymous.open("sign-in page", f"{lab.url}/hub/login")
        fill_sign_in_form(anonymous.page, newcomer, "a-walk-in-the-lab")
        anonymous.page.locator(".login_error").wait_for()
        anonymous.look("sign-in refused (waiting for approval)")
        _public_pages(anonymous, lab)
        result.listed = _listed_cookies(anonymous.page, lab)
    finally:
        anonymous.close()

    participant = Person(playwright, tmp_path_factory, result, "participant")
    try:
        user_url = lab.user_url(team["participant"]["name"])
        participant.sign_in(lab, team["participant"], lambda url: url.startswith(user_url + "/lab"))
        participant.page.locator(".jp-NotebookPanel").first.wait_for(timeout=180_000)
        participant.look("JupyterLab", checked=False)
        _signed_in_pages(participant, lab, dashboard_url)
        participant.sign_out()
    finally:
        participant.close()

    for who, lands_on in (("official", "gallery"), ("reviewer", "gallery"), ("organiser", "hub home")):
        person = Person(playwright, tmp_path_factory, result, who)
        try:
            target = lab.service_url("gallery") if lands_on == "gallery" else f"{lab.url}/hub/home"
            person.sign_in(lab, team[who], lambda url, t=target: url.startswith(t))
            if who == "reviewer":
                person.open("review queue", lab.service_url("gallery") + "review")
            if who == "organiser":
                person.open("sign-ups", f"{lab.url}/hub/signups")
            _signed_in_pages(person, lab, dashboard_url)
            person.sign_out()
        finally:
            person.close()
    return result


def _lifetime(set_cookie: str) -> float | None:
    """Seconds a ``Set-Cookie`` line keeps its cookie (Max-Age wins over Expires), None for the browser session,
    0 for a removal."""
    attributes = {k.strip().lower(): v.strip() for k, _, v in (a.partition("=") for a in set_cookie.split(";")[1:])}
    if "max-age" in attributes:
        return max(0, int(attributes["max-age"]))
    if "expires" in attributes:
        return max(0.0, (parsedate_to_datetime(attributes["expires"]) - datetime.now(UTC)).total_seconds())
    return None


def _stated_lifetimes(text: str) -> tuple[bool, list[float]]:
    """From the page's "Expires" cell: whether it says "when you close your browser", and the durations it gives."""
    units = {"minute": 60, "hour": 3600, "day": 86400}
    durations = [int(n) * units[unit] for n, unit in re.findall(r"(\d+) (minute|hour|day)s?", text)]
    return "close your browser" in text, durations


def _listed_cookies(page, lab) -> dict[str, str]:
    """The cookies page's names (first column) and their lifetimes (last column)."""
    page.goto(f"{lab.url}/hub/cookies")
    return {row.locator("td").first.locator("code").inner_text().strip(): row.locator("td").last.inner_text().strip()
            for row in page.locator("main table tbody tr").all()}


def _pattern(listed: str) -> re.Pattern:
    """``jupyterhub-user-<name>`` → a regular expression; ``<...>`` stands for any name."""
    parts = re.split(r"<[^>]+>", listed)
    return re.compile("[^;=\\s]+".join(re.escape(p) for p in parts) + "$")


def test_the_cookies_page_lists_exactly_the_cookies_the_lab_sets(walk):
    assert walk.listed, "the cookies page lists no cookie (a table whose first column holds each name in `code`)"
    patterns = {listed: _pattern(listed) for listed in walk.listed}
    seen_by_pattern: dict[str, set[str]] = {listed: set() for listed in walk.listed}
    unlisted = {}
    for name, where in walk.cookies.items():
        matching = [listed for listed, rx in patterns.items() if rx.match(name)]
        if not matching:
            unlisted[name] = sorted(where)
            continue
        most_specific = max(matching, key=lambda listed: len(re.sub(r"<[^>]+>", "", listed)))
        seen_by_pattern[most_specific].add(name)
    never_set = [listed for listed, names in seen_by_pattern.items() if not names]
    assert not unlisted, f"cookies set by the lab but not on the cookies page: {unlisted}"
    assert not never_set, (f"the cookies page lists cookies nobody was given on the walk: {never_set} "
                           f"(set: {sorted(walk.cookies)})")

    wrong = []
    for listed, names in seen_by_pattern.items():
        session, durations = _stated_lifetimes(walk.listed[listed])
        kept = {lifetime for name in names for lifetime in walk.lifetimes.get(name, ())}
        if not kept and "only removed" not in walk.listed[listed]:
            wrong.append(f"{listed}: the lab only removes it, the page says {walk.listed[listed]!r}")
        for lifetime in kept:
            said = session if lifetime is None else any(abs(lifetime - d) <= 0.05 * d + 120 for d in durations)
            if not said:
                wrong.append(f"{listed}: kept for {'the session' if lifetime is None else f'{lifetime:.0f} s'}, "
                             f"the page says {walk.listed[listed]!r}")
    assert not wrong, "the cookies page gives wrong lifetimes:\n" + "\n".join(wrong)


def test_no_page_has_a_serious_or_critical_accessibility_violation(walk):
    checked = [v for v in walk.visits if v.what != "JupyterLab"]
    assert len(checked) > 40
    failing = [f"{v.who} on {v.what} ({v.url}): {v.violations}" for v in checked if v.violations]
    assert not failing, "axe-core found serious or critical violations:\n" + "\n".join(failing)


def test_no_page_scrolls_sideways_at_320_pixels(walk):
    checked = [v for v in walk.visits if v.what != "JupyterLab"]
    wide = [f"{v.who} on {v.what} ({v.url}): {v.width_at_320} px" for v in checked if v.width_at_320 > 320]
    assert all(v.width_at_320 > 0 for v in checked)
    assert not wide, "pages wider than a 320 px screen:\n" + "\n".join(wide)


def test_a_person_signs_in_with_the_keyboard_only(lab, browser):
    person = people(lab, official="officials")["official"]
    page = browser.pages[0]
    page.goto(f"{lab.url}/hub/login")

    def tab_to(label: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            focused = page.evaluate("() => { const e = document.activeElement;"
                                    " return (e.labels && e.labels[0] ? e.labels[0].innerText : '') }")
            if focused.strip().lower().startswith(label):
                return
        raise AssertionError(f"Tab never reached the field labelled {label!r} on the sign-in page")

    tab_to("username")
    page.keyboard.type(person["name"])
    tab_to("password")
    page.keyboard.type(person["password"])
    page.keyboard.press("Enter")
    gallery = lab.service_url("gallery")
    page.wait_for_url(lambda url: url.startswith(gallery))
    page.get_by_role("heading", name="Dashboards made with UK open data").wait_for()


@pytest.fixture(scope="module")
def one_login_lab():
    state = Path(tempfile.mkdtemp(prefix="backstage-oidc-cookies-"))
    state.chmod(0o711)  # run as root, each person's server (its own Unix user) reaches its home below
    try:
        with oidc_lab(state / "state", new_people="participant") as (lab, provider):
            yield lab, provider
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_with_one_login_the_cookies_page_lists_its_state_cookie_and_the_lab_sets_no_other(
        one_login_lab, playwright, tmp_path_factory):
    lab, provider = one_login_lab
    walk = Walk()
    person = Person(playwright, tmp_path_factory, walk, "one-login", lab_port=lab.port)
    name = f"grace-hopper-{uuid.uuid4().hex[:6]}"
    try:
        person.open("sign-in page (One Login)", f"{lab.url}/hub/login")
        person.doing = "signing in with One Login"
        person.page.get_by_role("button", name="Sign in with GOV.UK One Login").click()
        person.page.wait_for_url(f"{provider.issuer}/interaction/*")
        person.page.get_by_label("Email address").fill(f"{name.replace('-', '.')}@example.org")
        person.page.get_by_role("button", name="Continue").click()
        person.page.wait_for_url(f"{lab.user_url(name)}/lab/**", timeout=180_000)
        person.look("JupyterLab", checked=False)
        person.open("commons", lab.service_url("commons"))
        person.open("share page", lab.service_url("share"))
        walk.listed = _listed_cookies(person.page, lab)
        person.sign_out()
    finally:
        person.close()

    assert "oauthenticator-state" in walk.listed and "oauthenticator-state" in walk.cookies, (walk.listed, walk.cookies)
    assert "service-gallery" not in walk.listed  # this lab has no gallery: the page says only what applies
    patterns = [_pattern(listed) for listed in walk.listed]
    unlisted = sorted(name for name in walk.cookies if not any(rx.match(name) for rx in patterns))
    assert not unlisted, f"cookies set by the lab but not on its cookies page: {unlisted}"
    _, durations = _stated_lifetimes(walk.listed["oauthenticator-state"])
    assert all(any(abs(kept - d) <= 0.05 * d + 120 for d in durations)
               for kept in walk.lifetimes["oauthenticator-state"]), walk.lifetimes["oauthenticator-state"]
    failing = [f"{v.what}: {v.violations}, {v.width_at_320} px" for v in walk.visits
               if v.what != "JupyterLab" and (v.violations or v.width_at_320 > 320)]
    assert not failing, failing
