"""Sign-up with approval: JupyterHub 6's login form, checked against our own sign-up store.

Why our own: jupyterhub-nativeauthenticator 1.3.0 (its last release) crashes on JupyterHub 6.1.1 at
``POST /hub/login``, and on JupyterHub 5 it only works with ``allow_all`` on. This authenticator is
small, keeps ``allow_all`` False (allowed = approved sign-ups, members of the lab's groups, admins),
and its pages (``/hub/signup``, ``/hub/signups``) are ordinary hub pages with the hub's XSRF check.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Bool, Integer, Unicode, default

from backstage.auth.store import SignupStore
from backstage.usernames import validate_username

__all__ = ["HubMembershipMixin", "SignupAuthenticator"]


class HubMembershipMixin(Authenticator):
    """Shared by our authenticators: the sign-up store, group-based allow rule and the lab's pages."""

    store_path = Unicode(
        config=True,
        help="SQLite file of sign-ups (mode 0600). Example: c.SignupAuthenticator.store_path = '/srv/backstage/signups.sqlite'",
    )

    @default("store_path")
    def _default_store_path(self):
        return str(Path(os.environ.get("BACKSTAGE_STATE", ".backstage")).resolve() / "signups.sqlite")

    _store = None
    _app = None

    @property
    def store(self) -> SignupStore:
        if self._store is None:
            self._store = SignupStore(self.store_path)
        return self._store

    def validate_username(self, username):
        try:
            validate_username(username)
        except ValueError:
            return False
        return super().validate_username(username)

    def in_lab_group(self, username: str) -> bool:
        """True when ``username`` is a member of any hub group (enrolled or given a role by an admin)."""
        if self._app is None:
            return False
        user = orm.User.find(self._app.db, name=username)
        return bool(user and user.groups)

    def get_handlers(self, app):
        from backstage.auth.enrol import EnrolAPIHandler

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

    async def authenticate(self, handler, data):
        try:
            username = validate_username(data.get("username", ""))
        except ValueError:
            return None
        person = self.store.check(username, data.get("password", ""))
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
