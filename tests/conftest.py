"""Shared fixtures: every backend-dependent test runs on both curve backends."""

from __future__ import annotations

import pytest

from zkmargin.backends import BACKEND_NAMES, get_backend


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    """Each curve backend in turn."""
    return get_backend(request.param)
