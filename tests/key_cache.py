"""Key bundles shared by every test process of a run: made once per circuit, under a lock, published whole.

Two pytest-xdist workers may ask for one circuit's keys at the same moment. Each bundle has a lock file
(fcntl.flock: the kernel drops it when its holder dies, so a crashed worker never blocks the others); the
holder makes the bundle in a private staging folder and renames the whole folder into place, so no process
ever sees a bundle without its three files, or a proving key beside another setup's verification key.
The folder name carries the circuit's digest: a cache kept between runs ($ZKMARGIN_CACHE_DIR) never hands
out keys of a circuit that has changed since.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.keystore import DIGEST_FILE, PROVING_KEY_FILE, VERIFICATION_KEY_FILE, KeyStore

BUNDLE_FILES = (PROVING_KEY_FILE, VERIFICATION_KEY_FILE, DIGEST_FILE)
SHARED_KEYS_DIR = "test-key-bundles"


def shared_key_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run's workers share bundles: $ZKMARGIN_CACHE_DIR/test-key-bundles, else beside their basetemps."""
    if os.environ.get("ZKMARGIN_CACHE_DIR"):
        return Path(os.environ["ZKMARGIN_CACHE_DIR"]) / SHARED_KEYS_DIR
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <run>/popen-gwN: their common parent belongs to this run alone.
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return run_dir / SHARED_KEYS_DIR


def shared_bundle(root: Path, circuit_id: str) -> Path:
    """The key bundle folder of circuit_id under root, made by the first process to ask; the others wait for it."""
    circuit = circuit_from_id(circuit_id)
    final = root / f"{circuit_id}-{circuit.compile().digest().hex()[:16]}"
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{final.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not final.is_dir():
            staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}."))
            try:
                KeyStore(staging, circuit, bundle_dir=staging / "bundle").generate(get_backend())
                os.rename(staging / "bundle", final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return final


def copy_bundle(source: Path, target: Path, files: tuple[str, ...] = BUNDLE_FILES) -> Path:
    """Copy a bundle's files (all three unless named) into target, made if missing; target."""
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(source / name, target / name)
    return target


def install_bundle(bundle: Path, cache_dir: Path, circuit_id: str) -> Path:
    """Copy a shared bundle to <cache_dir>/<circuit_id>/, where `zkmargin --cache-dir` looks (a test may change it)."""
    return copy_bundle(bundle, cache_dir / circuit_id)
