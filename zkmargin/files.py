"""Files written whole or not at all: a crash or a full disk never leaves half a key or half a proof."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path | str, data: bytes, mode: int = 0o644, overwrite: bool = True,
                 durable: bool = True) -> None:
    """Write via a temporary file in the same folder, fsync, then rename; FileExistsError if not overwrite.

    durable=False skips the fsync: the file is still whole or absent after a crash of the process, but may be
    lost to a power cut (a venue run's bundles, rechecked on resume, need no more).
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the target appeared meanwhile: no silent overwrite.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path} already exists; refusing to overwrite it") from None
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path | str, obj: Any, mode: int = 0o644, overwrite: bool = True) -> None:
    """Pretty JSON (one-space indent, final newline: snarkjs's files read the same) written atomically."""
    write_atomic(path, (json.dumps(obj, indent=1) + "\n").encode(), mode, overwrite)
