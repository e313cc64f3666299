"""zkmargin: zero-knowledge proofs that an account is not subject to a margin call.

The public API (README, "Library"), loaded on first use so that `import zkmargin` stays light:
  prove, verify, verify_batch, make_keys, ProvedAccount
  read_/write_proof, _public, _verification_key, _proving_key    (snarkjs files; binary proving key)
  load_account, load_snapshot                                    (JSON documents)

Map of the library (each module's docstring says more):
  field      Fr of BLS12-381, NTTs            backends   curve operations behind one Protocol
  r1cs       constraint-system builder         gadgets    range checks, Poseidon, Merkle
  groth16    keys, QAP, setup, prove, verify, batch, formats
  margin     account and snapshot formats, reference engines, commitments, risk arrays
  circuits   (installed from the repository's circuits/) the margin statements and the verification path
"""

# No `from __future__ import annotations` here: it would put a name `annotations` in the public namespace.
__version__ = "0.1.0"

# name -> module that defines it. The statements live in zkmargin.circuits, above this package in the layering
# (DESIGN.md), so they are imported only when a name is first used (PEP 562), never by `import zkmargin`.
_API = "zkmargin.circuits.api"
_EXPORTS = {
    **{name: _API for name in (
        "prove", "verify", "verify_batch", "make_keys", "ProvedAccount", "BatchReport", "DEFAULT_CIRCUIT_ID",
        "read_proof", "write_proof", "read_public", "write_public", "read_verification_key",
        "write_verification_key", "read_proving_key", "write_proving_key")},
    "load_account": "zkmargin.margin.models",
    "load_snapshot": "zkmargin.margin.models",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zkmargin' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
