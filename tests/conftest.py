"""Shared fixtures: every backend-dependent test runs on both curve backends."""

from __future__ import annotations

import pytest
from hypothesis import settings

from zkmargin.backends import BACKEND_NAMES, get_backend

# Hypothesis's default 200 ms deadline per example is a wall-clock assertion: on a busy machine
# it fails correct code. The suite has no timing bounds; speed is measured under bench/.
settings.register_profile("zkmargin", deadline=None)
settings.load_profile("zkmargin")


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    """Each curve backend in turn."""
    return get_backend(request.param)
