"""Sign in with GOV.UK One Login (OpenID Connect): ``auth: {mode: oidc, ...}`` in the site settings.

Parts: :mod:`.tokens` (client assertion, ID token checks), :mod:`.people` (``sub`` → hub name),
:mod:`.handlers` (the hub pages), :mod:`.authenticator` (:class:`OIDCAuthenticator`).
"""

from backstage.auth.oidc.authenticator import OIDCAuthenticator

__all__ = ["OIDCAuthenticator"]
