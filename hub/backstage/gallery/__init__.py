"""The gallery service: submissions, automatic checks, review, and Voilà dashboards behind hub OAuth."""

from .app import GalleryApp, create_app, main
from .checks import Checks
from .store import Store
from .thumbnails import Thumbnails
from .voila import VoilaPool

__all__ = ["Checks", "GalleryApp", "Store", "Thumbnails", "VoilaPool", "create_app", "main"]
