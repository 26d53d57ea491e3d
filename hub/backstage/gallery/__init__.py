"""The gallery service: submissions, automatic checks, review, and Voilà dashboards behind hub OAuth.

The service's parts are imported when first used, so ``from backstage.gallery.client import submit`` in a
participant's notebook loads the small client only (not tornado, JupyterHub or the service).
"""

from importlib import import_module

__all__ = ["Checks", "GalleryApp", "Store", "Thumbnails", "VoilaPool", "create_app", "main"]

_WHERE = {"Checks": "checks", "GalleryApp": "app", "Store": "store", "Thumbnails": "thumbnails",
          "VoilaPool": "voila", "create_app": "app", "main": "app"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
