"""Curve backends behind one interface: arkworks (fast, default) and py_ecc (pure-Python reference)."""

from __future__ import annotations

import os

from zkmargin.backends.base import CurveBackend
from zkmargin.errors import ZkMarginError

BACKEND_NAMES = ("arkworks", "py_ecc")
DEFAULT_BACKEND = "arkworks"
ENV_VARIABLE = "ZKMARGIN_BACKEND"

_instances: dict[str, CurveBackend] = {}


class UnknownBackendError(ZkMarginError):
    """A backend name that is not one of BACKEND_NAMES."""


def get_backend(name: str | None = None) -> CurveBackend:
    """The named backend; None means $ZKMARGIN_BACKEND, else arkworks. Instances are shared."""
    chosen = name or os.environ.get(ENV_VARIABLE) or DEFAULT_BACKEND
    if chosen not in BACKEND_NAMES:
        raise UnknownBackendError(f"unknown curve backend {chosen!r}; choose one of {', '.join(BACKEND_NAMES)}")
    if chosen not in _instances:
        # Imported here so that `import zkmargin` never loads a curve library.
        if chosen == "arkworks":
            from zkmargin.backends.arkworks import ArkworksBackend

            _instances[chosen] = ArkworksBackend()
        else:
            from zkmargin.backends.py_ecc_backend import PyEccBackend

            _instances[chosen] = PyEccBackend()
    return _instances[chosen]


__all__ = ["BACKEND_NAMES", "CurveBackend", "get_backend"]
