"""The errors govdata raises: each names the thing, the cause and the fix."""

from __future__ import annotations


class GovdataError(Exception):
    """Base class for every error govdata raises on purpose."""


class UnknownDatasetError(GovdataError, KeyError):
    """An id that is not in the catalog (the message suggests the nearest ids)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class HashMismatchError(GovdataError, ValueError):
    """A downloaded or cached file whose sha256 differs from the catalog's pinned hash."""


class DatasetUnavailableError(GovdataError, OSError):
    """A file that could not be fetched from any source, with no verified copy in the cache."""


class PortalError(GovdataError):
    """A CKAN portal answered with an error or something that is not a CKAN response."""
