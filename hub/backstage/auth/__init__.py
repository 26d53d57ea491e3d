"""Sign-in for the lab: our sign-up authenticator (with approval) and the event's shared password.

Names are imported on first use, so that ``backstage.auth.store`` (used by the launcher) does not
pull in JupyterHub.
"""

import importlib

__all__ = ["EventPasswordAuthenticator", "SignupAuthenticator", "SignupStore"]

_WHERE = {"EventPasswordAuthenticator": "event", "SignupAuthenticator": "signup", "SignupStore": "store"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"backstage.auth.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'backstage.auth' has no attribute {name!r}")
