"""Rules the suite keeps about itself: no wall-clock bound decides a test."""

from __future__ import annotations

from hypothesis import settings


def test_hypothesis_examples_have_no_deadline():
    """A per-example deadline fails correct code on a busy machine; conftest.py lifts it for every test."""
    assert settings.default.deadline is None
