"""Groth16 over BLS12-381: keys and proofs, QAP reduction, setup, prover, verifier, formats."""

from zkmargin.groth16.data_structures import Proof, ProvingKey, VerifyingKey
from zkmargin.groth16.generator import setup
from zkmargin.groth16.prover import prove
from zkmargin.groth16.verifier import PreparedVerifyingKey, prepare_verifying_key, verify

__all__ = ["PreparedVerifyingKey", "Proof", "ProvingKey", "VerifyingKey", "prepare_verifying_key", "prove", "setup",
           "verify"]
