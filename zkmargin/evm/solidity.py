"""Solidity verifiers for our Groth16 keys, over the EIP-2537 BLS12-381 precompiles (Prague).

Two contracts, each a file with the shared library ``Bls12381Groth16``:
  * ``verifier_source``: ``verifyProof(bytes proof, uint256[] publicInputs) -> bool``, the analogue of
    snarkjs's exported verifier, for any of our keys;
  * ``margin_verifier_source``: a venue (set at deployment) registers a snapshot's values once, the
    contract folds them into one G1 point with G1MSM and stores it; the venue also registers the
    commitments (named mode) or roots (membership mode) it signed for that snapshot.
    ``verifyMargin(snapshotId, beneficiary, epoch, perProofInputs, proof)`` accepts only a registered
    commitment or root, recomputes the context (and, in membership mode, the scope) itself
    (zkmargin.evm.context), counts a nullifier once per scope, multiplies only the per-proof inputs
    and emits ``MarginProofVerified`` naming the beneficiary. The key's public inputs must be the
    per-proof ones first (MARGIN_MODES), then the snapshot's, as in every margin circuit here.
The pairing equation is e(A, B) * e(alpha, -beta) * e(acc, -gamma) * e(C, -delta) == 1, so only
constants are negated and the contract does no field arithmetic. The key is checked (vk_from_json's
checks) before any code is written.
"""

from __future__ import annotations

import re
from importlib import resources

from zkmargin import __version__
from zkmargin.backends import CurveBackend, get_backend
from zkmargin.errors import PublicInputError, ZkMarginError
from zkmargin.evm.eip2537 import PACKED_G1_BYTES, g1_packed, g1_to_eip2537, g2_to_eip2537
from zkmargin.groth16.data_structures import VerifyingKey
from zkmargin.groth16.verifier import check_verifying_key

SOLIDITY_PRAGMA = "^0.8.24"
"""mcopy (used to pad points) needs 0.8.24 and evmVersion cancun; the precompiles need a Prague chain."""
EIP170_CODE_LIMIT_BYTES = 24_576
# Runtime code besides the key's bytes, measured with solc 0.8.37 (optimizer, 200 runs): 1,844 and
# 4,908 bytes (membership mode), plus headroom for other compiler versions. The key's points are most of the plain
# verifier's code, so a key with too many public inputs is refused here rather than failing at
# deployment. The margin verifier keeps its snapshot points in a data contract of their own (a STOP
# byte, then 96 bytes a point), which bounds the snapshot inputs exactly.
PLAIN_CODE_OVERHEAD_BYTES = 2_000
MARGIN_CODE_OVERHEAD_BYTES = 6_000
VK_CONSTANT_BYTES = 128 + 384 + 256 + 256
MARGIN_MODES = {"named": 2, "membership": 4}
"""Per-proof inputs of each margin mode: (commitment, context) or (root, context, scope, nullifier)."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")


def _template(name: str) -> str:
    return resources.files("zkmargin.evm").joinpath("templates", name).read_text()


def _render(template: str, values: dict[str, str]) -> str:
    text = template
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = _PLACEHOLDER.search(text)
    if leftover:
        raise RuntimeError(f"template placeholder {leftover.group()} has no value")  # a bug here, not bad input
    return text


def _check_name(contract_name: str) -> None:
    if not _IDENTIFIER.fullmatch(contract_name) or contract_name == "Bls12381Groth16":
        raise ZkMarginError(f"{contract_name!r} is not a usable Solidity contract name")


def _vk_constants(vk: VerifyingKey, backend: CurveBackend) -> str:
    alpha_neg_beta = g1_to_eip2537(vk.alpha_g1, backend) + g2_to_eip2537(backend.g2_neg(vk.beta_g2), backend)
    rows = [
        ("[gamma_abc_0]_1", "GAMMA_ABC_0", g1_to_eip2537(vk.gamma_abc_g1[0], backend)),
        ("[alpha]_1 || [-beta]_2", "ALPHA_NEG_BETA", alpha_neg_beta),
        ("[-gamma]_2", "NEG_GAMMA", g2_to_eip2537(backend.g2_neg(vk.gamma_g2), backend)),
        ("[-delta]_2", "NEG_DELTA", g2_to_eip2537(backend.g2_neg(vk.delta_g2), backend)),
    ]
    return "".join(
        f"    /// {doc}, EIP-2537 encoding\n    bytes internal constant {name} = hex\"{value.hex()}\";\n"
        for doc, name, value in rows
    )


def _check_code_size(vk: VerifyingKey, overhead: int, in_code: int | None = None) -> None:
    """Refuse a key whose contract would pass EIP-170: in_code of its inputs' points in the contract (default all),
    the rest in a data contract of their own."""
    in_code = vk.num_public if in_code is None else in_code
    estimate = overhead + VK_CONSTANT_BYTES + in_code * PACKED_G1_BYTES
    data_bytes = 1 + (vk.num_public - in_code) * PACKED_G1_BYTES
    if estimate > EIP170_CODE_LIMIT_BYTES or data_bytes > EIP170_CODE_LIMIT_BYTES:
        if in_code == vk.num_public:
            limit = (EIP170_CODE_LIMIT_BYTES - overhead - VK_CONSTANT_BYTES) // PACKED_G1_BYTES
        else:
            limit = in_code + (EIP170_CODE_LIMIT_BYTES - 1) // PACKED_G1_BYTES
        raise ZkMarginError(
            f"a verifier for {vk.num_public} public inputs would pass Ethereum's {EIP170_CODE_LIMIT_BYTES:,}-byte "
            f"code limit (EIP-170); this contract takes at most {limit}"
        )


def _packed(vk: VerifyingKey, start: int, stop: int, backend: CurveBackend) -> str:
    return "".join(g1_packed(p, backend).hex() for p in vk.gamma_abc_g1[start:stop])


def _file(contract: str) -> str:
    header = (
        "// SPDX-License-Identifier: Apache-2.0\n"
        f"// Generated by zkmargin {__version__} from a Groth16 verification key over BLS12-381. Do not edit.\n"
        "// Compile with evmVersion cancun or later (mcopy); it runs only where the EIP-2537 precompiles exist (Prague).\n"
        f"pragma solidity {SOLIDITY_PRAGMA};\n\n"
    )
    return header + _template("Bls12381Groth16.sol") + "\n" + contract


def verifier_source(vk: VerifyingKey, backend: CurveBackend | None = None, contract_name: str = "Groth16Verifier") -> str:
    """Solidity source of a verifier for this key: verifyProof(bytes proof, uint256[] publicInputs)."""
    backend = backend or get_backend()
    _check_name(contract_name)
    check_verifying_key(vk, backend)
    _check_code_size(vk, PLAIN_CODE_OVERHEAD_BYTES)
    contract = _render(
        _template("Groth16Verifier.sol"),
        {
            "CONTRACT_NAME": contract_name,
            "PUBLIC_INPUTS": str(vk.num_public),
            "VK_CONSTANTS": _vk_constants(vk, backend),
            "INPUT_POINTS": _packed(vk, 1, vk.num_public + 1, backend),
        },
    )
    return _file(contract)


def margin_verifier_source(
    vk: VerifyingKey,
    mode: str = "named",
    backend: CurveBackend | None = None,
    contract_name: str = "MarginVerifier",
) -> str:
    """Solidity source of a margin verifier (mode 'named' or 'membership'): per-proof inputs per call, the rest registered once."""
    backend = backend or get_backend()
    _check_name(contract_name)
    if mode not in MARGIN_MODES:
        raise ZkMarginError(f"margin mode must be one of {', '.join(MARGIN_MODES)}, got {mode!r}")
    per_proof_inputs = MARGIN_MODES[mode]
    if vk.num_public < per_proof_inputs:
        raise PublicInputError(
            f"a {mode} margin verifier needs at least {per_proof_inputs} public inputs; this key has {vk.num_public}"
        )
    check_verifying_key(vk, backend)
    _check_code_size(vk, MARGIN_CODE_OVERHEAD_BYTES, per_proof_inputs)
    contract = _render(
        _template("MarginVerifier.sol"),
        {
            "CONTRACT_NAME": contract_name,
            "PER_PROOF_INPUTS": str(per_proof_inputs),
            "SNAPSHOT_INPUTS": str(vk.num_public - per_proof_inputs),
            "MEMBERSHIP": "true" if mode == "membership" else "false",
            "VK_CONSTANTS": _vk_constants(vk, backend),
            "PER_PROOF_POINTS": _packed(vk, 1, per_proof_inputs + 1, backend),
            "SNAPSHOT_POINTS": _packed(vk, per_proof_inputs + 1, vk.num_public + 1, backend),
        },
    )
    return _file(contract)
