"""Sign-up with approval: JupyterHub 6's login form, checked against our own sign-up store.

Why our own: jupyterhub-nativeauthenticator 1.3.0 (its last release) crashes on JupyterHub 6.1.1 at
``POST /hub/login``, and on JupyterHub 5 it only works with ``allow_all`` on. This authenticator is
small, keeps ``allow_all`` False (allowed = approved sign-ups, members of the lab's groups, admins),
and its pages (``/hub/signup``, ``/hub/signups``) are ordinary hub pages with the hub's XSRF check.

Both of our authenticators sign in through :meth:`HubMembershipMixin.authenticate`, which throttles
failures per name and per address, refuses over-long passwords before any hashing, hashes in a
thread pool (scrypt releases the GIL, so the hub's event loop keeps answering), and gives the person
a fresh session id at sign-in.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Bool, Integer, Unicode, default

from backstage.auth.store import MAX_PASSWORD_LENGTH, Person, SignupStore
from backstage.auth.throttle import Throttle
from backstage.paths import state_dir
from backstage.usernames import validate_username

__all__ = ["HubMembershipMixin", "SignupAuthenticator", "hashing"]

# Two threads: a scrypt takes ~50 ms and 16 MB; more threads than cores would only slow each one.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="backstage-hashing")


async def hashing(fn, *args, **kwargs):
    """Run ``fn`` (a store call that hashes a password) in the hashing threads, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_HASHING, lambda: fn(*args, **kwargs))


class HubMembershipMixin(Authenticator):
    """Shared by our authenticators: the sign-up store, safe sign-in, group-based allow rule and the lab's pages."""

    store_path = Unicode(
        config=True,
        help="SQLite file of sign-ups (mode 0600). Example: c.SignupAuthenticator.store_path = '/srv/backstage/signups.sqlite'",
    )
    max_password_length = Integer(
        MAX_PASSWORD_LENGTH, config=True,
        help="Longest password accepted at sign-up and sign-in (longer ones are refused before hashing). "
             "Example: c.SignupAuthenticator.max_password_length = 256",
    )
    free_failures_per_name = Integer(
        5, config=True,
        help="Failed sign-ins for one name within 15 minutes before it must wait (1 s, doubling with each "
             "further failure, up to 15 min). Example: c.SignupAuthenticator.free_failures_per_name = 10",
    )
    free_failures_per_address = Integer(
        100, config=True,
        help="Failed sign-ins from one address within 15 minutes before it must wait (1 s, doubling, up to "
             "1 min; a hack-day room may share one address). Behind a reverse proxy, set "
             "c.JupyterHub.trusted_downstream_ips to its address, or every visitor shares the proxy's. "
             "Example: c.SignupAuthenticator.free_failures_per_address = 300",
    )

    @default("store_path")
    def _default_store_path(self):
        return str(state_dir() / "signups.sqlite")

    _store = None
    _app = None
    _throttles = None

    @property
    def store(self) -> SignupStore:
        if self._store is None:
            self._store = SignupStore(self.store_path)
        return self._store

    @property
    def throttles(self) -> tuple[Throttle, Throttle]:
        """(per name, per address)."""
        if self._throttles is None:
            # an address waits at most a minute: a room behind one address (or a site behind a proxy
            # without JupyterHub.trusted_downstream_ips) is never shut out for long by someone else
            self._throttles = (Throttle(free=self.free_failures_per_name),
                               Throttle(free=self.free_failures_per_address, cap=60))
        return self._throttles

    def validate_username(self, username):
        try:
            validate_username(username)
        except ValueError:
            return False
        return super().validate_username(username)

    def hub_user(self, username: str) -> orm.User | None:
        """The hub's record of ``username`` (None before the hub starts, or for an unknown name)."""
        if self._app is None:
            return None
        return orm.User.find(self._app.db, name=username)

    def in_lab_group(self, username: str) -> bool:
        """True when ``username`` is a member of any hub group (enrolled or given a role)."""
        user = self.hub_user(username)
        return bool(user and user.groups)

    async def check_password(self, username: str, password: str) -> Person | None:
        """The store's person when ``password`` is theirs (hashed off the event loop), else None."""
        return await hashing(self.store.check, username, password)

    async def check_credentials(self, handler, username: str, password: str) -> dict | None:
        """The authentication model for a valid ``username``/``password``, or None (subclasses)."""
        raise NotImplementedError

    async def authenticate(self, handler, data):
        data = data or {}
        raw, password = str(data.get("username", "")), data.get("password", "")
        try:
            username = validate_username(raw)
        except ValueError:
            username = None
        by_name, by_address = self.throttles
        name_key = username or raw.strip().lower()[:64]
        address = handler.request.remote_ip if handler is not None else ""
        wait_name, wait_address = by_name.wait(name_key), by_address.wait(address)
        if wait_name or wait_address:
            who = f"the name {username!r}" if wait_name and username else "your address"
            wait = max(wait_name, wait_address)
            raise web.HTTPError(429, f"Too many failed sign-ins for {who}: wait {wait} second{'s' if wait > 1 else ''}, "
                                     "then try again.")
        if len(password) > self.max_password_length:
            by_name.failed(name_key)
            by_address.failed(address)
            raise web.HTTPError(400, f"That password is longer than {self.max_password_length} characters, "
                                     "so it cannot be yours: check what you pasted and try again.")
        result = await self.check_credentials(handler, username, password) if username else None
        if result is None:
            by_name.failed(name_key)
            by_address.failed(address)
            return None
        by_name.succeeded(name_key)
        if handler is not None:
            # A fresh session id at sign-in: JupyterHub 6.1.1 keeps one set before signing in (a fixed
            # session could be planted from a sibling host); the XSRF token follows the session id.
            handler._session_id = uuid.uuid4().hex
            handler.set_session_cookie()
        return result

    def get_handlers(self, app):
        from backstage.auth import consent
        from backstage.auth.enrol import EnrolAPIHandler

        consent.apply()  # one click to a server shared with you (backstage/auth/consent.py)
        self._app = app
        return super().get_handlers(app) + [(r"/api/backstage/enrol", EnrolAPIHandler)]


class SignupAuthenticator(HubMembershipMixin):
    """Username and password from our sign-up store; new sign-ups wait for approval unless open."""

    open_signup = Bool(
        False,
        config=True,
        help="Let sign-ups in without approval (an open lab). Example: c.SignupAuthenticator.open_signup = True",
    )
    min_password_length = Integer(
        8, config=True, help="Shortest password accepted at sign-up. Example: c.SignupAuthenticator.min_password_length = 12"
    )

    async def check_credentials(self, handler, username, password):
        person = await self.check_password(username, password)
        if person is None:
            return None
        if not person.approved and username not in self.admin_users:
            raise web.HTTPError(403, f"Your sign-up as {username!r} is waiting for approval by an organiser. "
                                     "You can sign in once it is approved.")
        return {"name": username}

    def check_allowed(self, username, authentication=None):
        person = self.store.get(username)
        return bool(person and person.approved) or self.in_lab_group(username) or super().check_allowed(
            username, authentication)

    def get_handlers(self, app):
        from backstage.auth.pages import SignupHandler, SignupsHandler

        return super().get_handlers(app) + [(r"/signup", SignupHandler), (r"/signups", SignupsHandler)]
