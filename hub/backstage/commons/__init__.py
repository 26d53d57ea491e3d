"""The commons: challenges, ideas, votes and official responses (issue 12), and data requests (issue 13).

A JupyterHub managed service (``python -m backstage.commons``) on the shared web base (:mod:`backstage.web`).
Features plug in through :data:`backstage.commons.app.FEATURES`: each module exposes ``init_store(db)``
and ``routes(prefix)``.
"""

from .app import CommonsApp, create_app, main

__all__ = ["CommonsApp", "create_app", "main"]
