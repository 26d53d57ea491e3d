"""The "Share my server" page: a hub service that lists, adds and revokes shares of my server.

It calls the hub's sharing API with the visitor's own OAuth token, which the hub limits to
``shares!user``, ``read:users:name`` and ``read:groups:name`` (see ``backstage.roles.SHARE_PAGE_SCOPES``).
"""

from backstage.share.app import create_app, main

__all__ = ["create_app", "main"]
