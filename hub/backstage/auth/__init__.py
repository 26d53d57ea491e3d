"""Sign-in for the lab: our sign-up authenticator (with approval) and the event's shared password."""

from backstage.auth.event import EventPasswordAuthenticator
from backstage.auth.signup import SignupAuthenticator
from backstage.auth.store import SignupStore

__all__ = ["EventPasswordAuthenticator", "SignupAuthenticator", "SignupStore"]
