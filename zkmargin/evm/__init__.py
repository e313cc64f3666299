"""On-chain verification: Solidity verifiers over the EIP-2537 BLS12-381 precompiles, and their calldata."""

from zkmargin.evm.calldata import (
    check_margin_calldata,
    register_attested_calldata,
    register_snapshot_calldata,
    solidity_calldata,
    split_margin_inputs,
    verify_margin_calldata,
    verify_proof_calldata,
)
from zkmargin.evm.context import onchain_context, onchain_scope
from zkmargin.evm.eip2537 import g1_to_eip2537, g2_to_eip2537, proof_to_eip2537
from zkmargin.evm.solidity import margin_verifier_source, verifier_source

__all__ = [
    "check_margin_calldata",
    "g1_to_eip2537",
    "g2_to_eip2537",
    "margin_verifier_source",
    "onchain_context",
    "onchain_scope",
    "proof_to_eip2537",
    "register_attested_calldata",
    "register_snapshot_calldata",
    "solidity_calldata",
    "split_margin_inputs",
    "verifier_source",
    "verify_margin_calldata",
    "verify_proof_calldata",
]
