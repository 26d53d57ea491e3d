"""Event mode: JupyterHub's own shared-password authenticator, for a hack day.

Attendees sign in with the password of the day under the name their organiser enrolled them with
(``backstage kit enrol``), so ``allow_all`` stays False: allowed = members of the lab's groups.
The day's password opens only accounts whose every group is the event's (``participants`` and
``event-*``): anyone with a role (organisers, reviewers, officials, stewards) and the admin sign in
with their own password from the sign-up store, never the day's. Attendees may also use the first
password their enrolment printed.
"""

from __future__ import annotations

from hmac import compare_digest

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

from backstage.auth.signup import HubMembershipMixin

__all__ = ["EVENT_GROUPS", "EventPasswordAuthenticator", "is_event_group"]

EVENT_GROUPS = ("participants",)


def is_event_group(name: str) -> bool:
    """True for the groups an event's password may open: ``participants`` and ``event-*``."""
    return name in EVENT_GROUPS or name.startswith("event-")


class EventPasswordAuthenticator(HubMembershipMixin, SharedPasswordAuthenticator):
    """The day's password for attendees only; everyone with a role, and the admin, uses their own."""

    def event_password_may_open(self, username: str) -> bool:
        """True when ``username`` is an attendee and nothing more (no role, not an admin)."""
        if username in self.admin_users:
            return False
        user = self.hub_user(username)
        return bool(user and not user.admin and user.groups and all(is_event_group(g.name) for g in user.groups))

    async def check_credentials(self, handler, username, password):
        if (self.user_password and self.event_password_may_open(username)
                and compare_digest(password.encode(), self.user_password.encode())):
            return {"name": username}
        person = await self.check_password(username, password)
        if person is None or not person.approved:
            return None
        return {"name": username, "admin": True} if username in self.admin_users else {"name": username}

    def check_allowed(self, username, authentication=None):
        # An admin got here only with their own password (check_credentials); JupyterHub adds admins to the
        # allowed set only when that set is non-empty, and ours is empty (allowed = group members).
        return (username in self.admin_users or self.in_lab_group(username)
                or super().check_allowed(username, authentication))
