"""Shared fixtures: every backend-dependent test runs on both curve backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from tests.key_cache import shared_bundle, shared_key_root
from zkmargin.backends import BACKEND_NAMES, get_backend

# Hypothesis's default 200 ms deadline per example is a wall-clock assertion: on a busy machine
# it fails correct code. The suite has no timing bounds; speed is measured under bench/.
settings.register_profile("zkmargin", deadline=None)
settings.load_profile("zkmargin")


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    """Each curve backend in turn."""
    return get_backend(request.param)


@pytest.fixture(scope="session")
def key_bundle(tmp_path_factory) -> Callable[[str], Path]:
    """circuit id -> its key bundle folder, made once per run and shared by the xdist workers (copy, never change)."""
    root = shared_key_root(tmp_path_factory)
    return lambda circuit_id: shared_bundle(root, circuit_id)
