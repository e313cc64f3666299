"""`zkmargin export solidity|calldata|register`: on-chain verifiers (EIP-2537, Prague) and their call arguments."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin.attestation import snapshot_digest
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.account import circuit_option
from zkmargin.cli.keystore import read_verifying_key
from zkmargin.cli.output import note, read_json, write_atomic
from zkmargin.cli.proving import read_proof
from zkmargin.evm import (
    margin_verifier_source,
    register_snapshot_calldata,
    solidity_calldata,
    split_margin_inputs,
    verifier_source,
    verify_margin_calldata,
    verify_proof_calldata,
)
from zkmargin.groth16.serialization import public_inputs_from_json, vk_digest
from zkmargin.margin.models import load_snapshot

_FILE = click.Path(dir_okay=False, path_type=Path)
_MARGIN_HELP = ("Margin verifier: the first N public inputs (commitment or root, context: N = 2 for our margin "
                "circuits) come with each proof; the rest are a snapshot the venue registers once.")


@click.group("export")
def export() -> None:
    """Export verifiers and call arguments for Ethereum (BLS12-381 precompiles, Prague and later)."""


@export.command("solidity")
@click.argument("vk_path", metavar="[VERIFICATION_KEY]", default="verification_key.json", type=_FILE)
@click.argument("out_path", metavar="[OUT]", default="verifier.sol", type=_FILE)
@click.option("--margin", "per_proof_inputs", type=int, default=None, metavar="N", help=_MARGIN_HELP)
@click.option("--name", "contract_name", default=None, help="Contract name (default Groth16Verifier or MarginVerifier).")
@click.pass_context
def export_solidity(ctx: click.Context, vk_path: Path, out_path: Path, per_proof_inputs: int | None,
                    contract_name: str | None) -> None:
    """Write a Solidity verifier for VERIFICATION_KEY (snarkjs JSON, bls12381) to OUT."""
    backend = ctx.obj.backend
    vk = read_verifying_key(vk_path, backend)
    if per_proof_inputs is None:
        source = verifier_source(vk, backend, contract_name or "Groth16Verifier")
        what = f"verifyProof(proof, publicInputs) for {vk.num_public} public inputs"
    else:
        source = margin_verifier_source(vk, per_proof_inputs, backend, contract_name or "MarginVerifier")
        what = (f"verifyMargin(snapshotId, perProofInputs, proof): {per_proof_inputs} per-proof inputs, "
                f"{vk.num_public - per_proof_inputs} registered by the venue")
    write_atomic(out_path, source.encode())
    note(f"wrote {out_path}: {what}; vk digest {vk_digest(vk, backend)}; compile with solc --evm-version prague")


@export.command("calldata")
@click.argument("public_path", metavar="[PUBLIC]", default="public.json", type=_FILE)
@click.argument("proof_path", metavar="[PROOF]", default="proof.json", type=_FILE)
@click.option("--margin", "per_proof_inputs", type=int, default=None, metavar="N", help=_MARGIN_HELP)
@click.option("--snapshot-id", default=None, metavar="HEX32",
              help="With --margin: the bytes32 id under which the venue registered the snapshot.")
@click.option("--encoded", is_flag=True, help="Print the complete ABI-encoded call (selector included) as hex.")
@click.pass_context
def export_calldata(ctx: click.Context, public_path: Path, proof_path: Path, per_proof_inputs: int | None,
                    snapshot_id: str | None, encoded: bool) -> None:
    """Print the arguments of verifyProof (or, with --margin, verifyMargin) for PROOF and PUBLIC."""
    backend = ctx.obj.backend
    public_inputs = public_inputs_from_json(read_json(public_path, "public inputs"))
    proof = read_proof(proof_path, backend)
    if per_proof_inputs is not None and snapshot_id is None:
        raise click.UsageError("--margin needs --snapshot-id")
    if snapshot_id is not None and per_proof_inputs is None:
        raise click.UsageError("--snapshot-id goes with --margin")
    if not encoded:
        click.echo(solidity_calldata(public_inputs, proof, backend, per_proof_inputs, snapshot_id))
    elif per_proof_inputs is None:
        click.echo("0x" + verify_proof_calldata(public_inputs, proof, backend).hex())
    else:
        per_proof, _ = split_margin_inputs(public_inputs, per_proof_inputs)
        click.echo("0x" + verify_margin_calldata(snapshot_id, per_proof, proof, backend).hex())  # type: ignore[arg-type]


@export.command("register")
@click.argument("snapshot_path", metavar="SNAPSHOT", type=_FILE)
@circuit_option
@click.option("--snapshot-id", default=None, metavar="HEX32",
              help="The bytes32 id to register under (default: the snapshot's SHA-256 digest, as attestations sign it).")
def export_register(snapshot_path: Path, circuit_id: str, snapshot_id: str | None) -> None:
    """Print the registerSnapshot calldata of a margin verifier for SNAPSHOT, built as the circuit reads it."""
    # The contract checks registered values only against r; the circuit's encoding also checks the ranges its
    # overflow argument assumes, so the venue registers what the circuit would derive, never values typed by hand.
    snapshot = load_snapshot(snapshot_path)
    circuit = circuit_from_id(circuit_id)
    values = circuit.snapshot_inputs(snapshot)
    chosen_id = snapshot_id if snapshot_id is not None else snapshot_digest(snapshot).hex()
    note(f"registerSnapshot for {circuit_id}: {len(values)} values under snapshot id 0x{chosen_id.removeprefix('0x')}")
    click.echo("0x" + register_snapshot_calldata(chosen_id, values, first_index=circuit.per_proof_inputs).hex())
