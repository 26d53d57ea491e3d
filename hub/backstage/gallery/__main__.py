"""Run the gallery service: ``python -m backstage.gallery`` (the hub starts it this way)."""

from .app import main

main()
