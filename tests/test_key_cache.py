"""The test suite's shared key bundles (tests/key_cache.py): safe when xdist workers ask for one circuit at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import zkmargin.cli.keystore as keystore_module
from tests.key_cache import BUNDLE_FILES, shared_bundle
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.keystore import KeyStore

CIRCUIT = "cross-n1-k1"  # the smallest: the race, not the setup, is under test

RACER = """
import sys, time
from pathlib import Path
from tests.key_cache import shared_bundle
from zkmargin.circuits.registry import circuit_from_id
root, go = Path(sys.argv[1]), Path(sys.argv[2])
circuit_from_id(sys.argv[3]).compile()  # compiled before the start: both processes reach setup together
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
print(shared_bundle(root, sys.argv[3]), flush=True)
"""


def assert_one_valid_bundle(root: Path) -> Path:
    """The only entry under root besides lock files is one whole bundle whose keys belong together."""
    entries = [p for p in root.iterdir() if not p.name.endswith(".lock")]
    assert len(entries) == 1 and entries[0].is_dir(), sorted(p.name for p in root.iterdir())
    bundle = entries[0]
    assert sorted(p.name for p in bundle.iterdir()) == sorted(BUNDLE_FILES)
    store = KeyStore(root, circuit_from_id(CIRCUIT), bundle_dir=bundle)
    # Checks the digest file, that the proving key belongs to the verification key and to this circuit.
    store.load_proving_key(get_backend(), expected_digest=store.recorded_digest())
    return bundle


def test_two_processes_racing_for_one_circuit_make_one_valid_bundle(tmp_path):
    root, go = tmp_path / "keys", tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(root), str(go), CIRCUIT], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
              for _ in range(2)]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready", racer.stderr.read()
        go.touch()
        outputs = [racer.communicate(timeout=600) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    assert [racer.returncode for racer in racers] == [0, 0], [err[-2000:] for _, err in outputs]
    paths = {out.strip() for out, _ in outputs}
    assert paths == {str(assert_one_valid_bundle(root))}


def test_a_setup_that_dies_midway_publishes_nothing_and_the_next_one_succeeds(tmp_path, monkeypatch):
    root = tmp_path / "keys"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        # The proving key is written, the verification key is not: a half bundle must never be found.
        patch.setattr(keystore_module, "write_json", disk_full)
        with pytest.raises(OSError, match="No space left"):
            shared_bundle(root, CIRCUIT)
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == []
    made = shared_bundle(root, CIRCUIT)
    assert made == assert_one_valid_bundle(root)
    assert shared_bundle(root, CIRCUIT) == made  # found, not made again
