"""Government Backstage: the hub-side package (lab launcher, sign-in, roles, services, kits)."""

__version__ = "0.1.0"
