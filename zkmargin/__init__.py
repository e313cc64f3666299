"""zkmargin: zero-knowledge proofs that an account is not subject to a margin call.

Map of the library (each module's docstring says more):
  field      Fr of BLS12-381, NTTs            backends   curve operations behind one Protocol
  r1cs       constraint-system builder         gadgets    range checks, Poseidon, Merkle
  groth16    keys, QAP, setup, prove, verify, batch, formats
  margin     account and snapshot formats, reference engines, commitments, risk arrays
"""

__version__ = "0.1.0"
