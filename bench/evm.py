"""Gas of the exported Solidity verifiers in a Prague EVM (solc 0.8.37 + ethereumjs, tests/evm/harness.mjs).

Cases: the plain verifier with 2 public inputs (the cube test circuit), and for cross-margin keys
(cross-n16-k4, cross-n64-k8 with full snapshots) the plain verifier over all inputs next to the margin
verifier, whose snapshot is registered once and whose checks multiply only the per-proof inputs: named
mode (commitment, context) and membership mode (-m20: root, context, scope, nullifier, whose check
also records the nullifier). Each margin check also reads the venue's registration of the commitment
or root and recomputes the context (and scope) for the beneficiary and epoch.
Gas is deterministic (no machine-load caveat); "tx" adds the intrinsic 21,000 and the calldata cost
(Prague: EIP-2028 with the EIP-7623 floor) to the execution gas. Prints a table, writes JSON.

Usage: python bench/evm.py [--out bench/results/evm.json] [--sizes 16x4,64x8]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from tests.evm.node_evm import NodeEvm, transaction_gas, unavailable_reason  # noqa: E402
from tests.groth16.circuits import compiled_cube, cube_witness  # noqa: E402
from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prove_account, prove_member  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.evm import (  # noqa: E402
    margin_verifier_source,
    onchain_context,
    onchain_scope,
    register_attested_calldata,
    register_snapshot_calldata,
    verifier_source,
    verify_margin_calldata,
    verify_proof_calldata,
)
from zkmargin.gadgets.merkle import identity_commitment, member_leaf  # noqa: E402
from zkmargin.groth16 import prove, setup  # noqa: E402
from zkmargin.venue.tree import MerklePath, MerkleTree  # noqa: E402

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.circuits.circuit import AnyCircuit
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey
    from zkmargin.margin.models import Account, Snapshot

VENUE = "0x" + "ab" * 20
BENEFICIARY = "0x" + "be" * 20
CHAIN_ID = 1  # the harness runs Mainnet's Prague rules
EPOCH = 1
MEMBER_DEPTH = 20
MARGIN_TARGET_GAS = 300_000


def _plain(evm: NodeEvm, name: str, vk: VerifyingKey, public: list[int], proof: Proof, backend: CurveBackend) -> dict:
    evm.compile({f"{name}.sol": verifier_source(vk, backend, name)})
    address, deployed = evm.deploy(name)
    data = verify_proof_calldata(public, proof, backend)
    result = evm.call(address, data)
    if not result.returned_true:
        raise SystemExit(f"{name}: our proof was not accepted: {result}")
    return {"public_inputs": len(public), "code_bytes": evm.compiled[name]["deployedSize"],
            "deploy_execution_gas": deployed.gas_used, "calldata_bytes": len(data),
            "verify_execution_gas": result.gas_used, "verify_tx_gas": transaction_gas(result.gas_used, data)}


def _margin(evm: NodeEvm, name: str, circuit: AnyCircuit, pk: ProvingKey, account: Account, snapshot: Snapshot,
            backend: CurveBackend) -> dict:
    """Deploy, register the snapshot and the commitment or root, then one margin check by a third party."""
    mode = "membership" if circuit.circuit_id.endswith(f"-m{MEMBER_DEPTH}") else "named"
    head = circuit.per_proof_inputs
    evm.compile({f"{name}.sol": margin_verifier_source(pk.vk, mode, backend, name)})
    address, deployed = evm.deploy(name, bytes(12) + bytes.fromhex(VENUE[2:]))
    register = register_snapshot_calldata(b"\x01" * 32, circuit.snapshot_inputs(snapshot), head)
    registered = evm.call(address, register, sender=VENUE)
    if not registered.success:
        raise SystemExit(f"{name}: registering the snapshot failed: {registered}")
    context = onchain_context(CHAIN_ID, address, BENEFICIARY, EPOCH)
    if mode == "named":
        proof, public_obj = prove_account(circuit, pk, account, snapshot, 4321, context, backend)
    else:
        leaf = member_leaf(circuit.witness(account, snapshot, 4321).commitment, identity_commitment(4322))
        tree = MerkleTree([1111, leaf, 3333], MEMBER_DEPTH)
        path = MerklePath(account.account_id, leaf, 1, tuple(tree.path(1)), tree.root, tree.depth)
        scope = onchain_scope(CHAIN_ID, address, EPOCH)
        proof, public_obj = prove_member(circuit, pk, account, snapshot, 4321, context, path, scope, 4322, backend)
    public = public_obj.as_list()
    attested = evm.call(address, register_attested_calldata(b"\x01" * 32, [public[0]]), sender=VENUE)
    if not attested.success:
        raise SystemExit(f"{name}: registering the commitment or root failed: {attested}")
    data = verify_margin_calldata(b"\x01" * 32, BENEFICIARY, EPOCH, public[:head], proof, backend)
    result = evm.call(address, data)
    if not result.returned_true:
        raise SystemExit(f"{name}: our proof was not accepted: {result}")
    return {"mode": mode, "per_proof_inputs": head, "snapshot_inputs": len(public) - head,
            "code_bytes": evm.compiled[name]["deployedSize"], "deploy_execution_gas": deployed.gas_used,
            "register_execution_gas": registered.gas_used, "register_tx_gas": transaction_gas(registered.gas_used, register),
            "calldata_bytes": len(data), "verify_execution_gas": result.gas_used,
            "verify_tx_gas": transaction_gas(result.gas_used, data)}


def main() -> None:
    """Prove, deploy, call, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "evm.json")
    parser.add_argument("--sizes", default="16x4,64x8", help="cross-margin capacities n x k")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        raise SystemExit(reason)
    backend = get_backend("arkworks")
    evm = NodeEvm()
    rows: dict[str, dict] = {}
    try:
        compiled = compiled_cube()
        pk = setup(compiled, random.Random(1), backend)
        z, public = cube_witness(3)
        rows["plain, 2 inputs (cube)"] = _plain(evm, "Cube", pk.vk, public, prove(pk, compiled, z, backend=backend),
                                                backend)
        for size in args.sizes.split(","):
            n, k = (int(v) for v in size.split("x"))
            circuit = circuit_from_id(f"cross-n{n}-k{k}")
            snapshot, account = market(n, k, random.Random(n))
            pk = setup(circuit.compile(), backend=backend)
            proof, public_obj = prove_account(circuit, pk, account, snapshot, 4321, 77, backend)
            public = public_obj.as_list()
            rows[f"plain, {circuit.circuit_id}"] = _plain(evm, f"Plain{n}x{k}", pk.vk, public, proof, backend)
            rows[f"margin, {circuit.circuit_id}"] = _margin(evm, f"Margin{n}x{k}", circuit, pk, account, snapshot,
                                                           backend)
            member = circuit_from_id(f"cross-n{n}-k{k}-m{MEMBER_DEPTH}")
            member_pk = setup(member.compile(), backend=backend)
            rows[f"margin, {member.circuit_id}"] = _margin(evm, f"Member{n}x{k}", member, member_pk, account, snapshot,
                                                          backend)
    finally:
        evm.close()

    print(f"{'case':<32} {'inputs':>6} {'code B':>7} {'register tx':>12} {'verify exec':>12} {'verify tx':>10}")
    for name, row in rows.items():
        inputs = row.get("public_inputs", row.get("per_proof_inputs", 0) + row.get("snapshot_inputs", 0))
        register = f"{row['register_tx_gas']:,}" if "register_tx_gas" in row else "-"
        print(f"{name:<32} {inputs:>6} {row['code_bytes']:>7,} {register:>12} {row['verify_execution_gas']:>12,} "
              f"{row['verify_tx_gas']:>10,}")
    margin_rows = {k: v for k, v in rows.items() if k.startswith("margin")}
    worst = max(v["verify_tx_gas"] for v in margin_rows.values()) if margin_rows else None
    if worst is not None:
        print(f"margin check, worst case: {worst:,} gas per transaction (target < {MARGIN_TARGET_GAS:,})")
    result = {
        "machine": platform.platform(),
        "evm": "ethereumjs @ethereumjs/evm 10.1.3, hardfork prague; solc 0.8.37, optimizer 200 runs",
        "margin_target_tx_gas": MARGIN_TARGET_GAS,
        "margin_worst_tx_gas": worst,
        "cases": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
