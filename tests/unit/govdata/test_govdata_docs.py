"""The examples in govdata's docstrings run (against the mirror folder, offline)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from govdata import provenance

MODULES = ["govdata", "govdata.catalog", "govdata.settings", "govdata.fetch", "govdata.load", "govdata.geo",
           "govdata.maps", "govdata.ckan", "govdata.provenance", "govdata.recipes", "govdata.arrowcache"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, mirror_env, monkeypatch):
    monkeypatch.setattr(provenance, "_loaded", {})
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in ("govdata", "govdata.catalog", "govdata.settings"):
        assert result.attempted > 0


def test_every_public_name_is_documented():
    import govdata

    for name in govdata.__all__:
        obj = getattr(govdata, name)
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name
