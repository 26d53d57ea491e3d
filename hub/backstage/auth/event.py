"""Event mode: JupyterHub's own shared-password authenticator, for a hack day.

Attendees sign in with the password of the day under the name their organiser enrolled them with
(``backstage kit enrol``), so ``allow_all`` stays False: allowed = members of the lab's groups. The
admin signs in with their own password from the sign-up store (JupyterHub's ``admin_password``
would have to be a second shared secret of 32+ characters).
"""

from __future__ import annotations

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

from backstage.auth.signup import HubMembershipMixin

__all__ = ["EventPasswordAuthenticator"]


class EventPasswordAuthenticator(HubMembershipMixin, SharedPasswordAuthenticator):
    """Shared password for attendees, the admin's own password for the admin."""

    async def authenticate(self, handler, data):
        username = self.normalize_username(data.get("username", ""))
        if not self.validate_username(username):
            return None
        if username in self.admin_users:
            person = self.store.check(username, data.get("password", ""))
            return {"name": username, "admin": True} if person else None
        return await super().authenticate(handler, {"username": username, "password": data.get("password", "")})

    def check_allowed(self, username, authentication=None):
        # An admin got here only with their own password (authenticate); JupyterHub adds admins to the
        # allowed set only when that set is non-empty, and ours is empty (allowed = group members).
        return (username in self.admin_users or self.in_lab_group(username)
                or super().check_allowed(username, authentication))
