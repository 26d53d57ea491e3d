"""A fix for JupyterHub 6.1.1: a server shared with a *group* is unreachable with tokens.

``jupyterhub.scopes.get_scopes_for(token)`` adds the shares of the token's owner, but not those of
the owner's groups (``orm.User.all_shared_with_me`` exists and is unused there). Every request
authenticated by a token (API tokens, and the OAuth tokens browsers use on single-user servers)
therefore misses group shares: found by ``tests/integration/test_hub_access.py``. :func:`apply`
wraps the function to add them, within the token's own scopes; it is idempotent, called by
``hub/jupyterhub_config.py`` inside the hub process, and harmless once JupyterHub fixes this.
"""

from __future__ import annotations

__all__ = ["apply"]


def apply() -> None:
    """Patch ``jupyterhub.scopes.get_scopes_for`` to include the shares of the owner's groups."""
    import sqlalchemy as sa
    from jupyterhub import orm, scopes

    if getattr(scopes.get_scopes_for, "_backstage_group_shares", False):
        return
    original = scopes.get_scopes_for

    def get_scopes_for(orm_object):
        result = original(orm_object)
        if not isinstance(orm_object, orm.APIToken) or orm_object.user is None:
            return result
        extra = set()
        for group in orm_object.user.groups:
            for share in group.shared_with_me:
                extra |= set(scopes.expand_share_scopes(share))
        extra -= set(result)
        if not extra:
            return result
        if "inherit" not in orm_object.scopes:
            wanted = set(scopes.expand_scopes(set(orm_object.scopes), owner=orm_object.user,
                                              oauth_client=orm_object.oauth_client))
            if orm_object.client_id != "jupyterhub":
                wanted |= set(scopes.access_scopes(orm_object.oauth_client))
            extra = set(scopes._intersect_expanded_scopes(wanted, extra, db=sa.inspect(orm_object).session))
        return set(result) | extra

    get_scopes_for._backstage_group_shares = True
    scopes.get_scopes_for = get_scopes_for
