"""One click to a server shared with you: no OAuth consent page when nothing is asked but that server.

JupyterHub 6.1.1 asks a person to "authorize" every server that is not their own, shares included.
For a share that page says nothing the person needs: the server's OAuth client may only ask for
access to itself and for the person's identity (``Spawner.oauth_client_allowed_scopes`` is left
empty in this lab, so ``jupyterhub.scopes.access_scopes`` and ``identify_scopes`` are all it can
get), and the person chose to open it from "Shared with me". :func:`apply` skips the page exactly
then: the client is a server shared with this person (directly or through a group, not expired)
and every scope granted is one JupyterHub itself calls required (access to that server, identify).
Anything more (a client that asks for other scopes) still gets the page. Applied once per hub
process by our authenticators (``HubMembershipMixin.get_handlers``); covered by the sharing journey
(tests/browser/test_journey_sharing.py), which fails if the page comes back.
"""

from __future__ import annotations

__all__ = ["apply", "opens_a_share_only"]


def opens_a_share_only(orm_user, oauth_client, granted_scopes) -> bool:
    """True when ``oauth_client`` is a server shared with ``orm_user`` and asks for nothing beyond it."""
    from jupyterhub import scopes

    spawner = getattr(oauth_client, "spawner", None)
    if spawner is None or orm_user is None:
        return False
    shared = any(share.spawner_id == spawner.id and not share.expired for share in orm_user.all_shared_with_me)
    if not shared:
        return False
    required = {*scopes.identify_scopes(), *scopes.access_scopes(oauth_client)}
    return set(granted_scopes) <= required


def apply() -> None:
    """Wrap ``OAuthAuthorizeHandler.needs_oauth_confirm`` (idempotent)."""
    from jupyterhub.apihandlers.auth import OAuthAuthorizeHandler

    original = OAuthAuthorizeHandler.needs_oauth_confirm
    if getattr(original, "_backstage_shares", False):
        return

    def needs_oauth_confirm(self, user, oauth_client, requested_scopes):
        if not original(self, user, oauth_client, requested_scopes):
            return False
        return not opens_a_share_only(getattr(user, "orm_user", user), oauth_client, requested_scopes)

    needs_oauth_confirm._backstage_shares = True
    OAuthAuthorizeHandler.needs_oauth_confirm = needs_oauth_confirm
