"""`zkmargin export solidity|calldata|register|context`: on-chain verifiers (EIP-2537, Prague) and their call arguments."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.inputs import circuit_option, read_proof, read_venue_key
from zkmargin.cli.keystore import read_verifying_key
from zkmargin.cli.output import (
    EXIT_NO,
    CliError,
    emit,
    json_option,
    note,
    read_json,
    read_json_documents,
    write_atomic,
)
from zkmargin.errors import AttestationError, MalformedAttestationError, WrongCommitmentError, WrongVenueError
from zkmargin.evm import (
    margin_verifier_source,
    onchain_context,
    onchain_scope,
    register_attested_calldata,
    register_snapshot_calldata,
    solidity_calldata,
    split_margin_inputs,
    verifier_source,
    verify_margin_calldata,
    verify_proof_calldata,
)
from zkmargin.evm.solidity import MARGIN_MODES
from zkmargin.groth16.serialization import public_inputs_from_json, vk_digest
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.attestation import (
    check_attestation,
    check_signed_root,
    parse_attestation,
    parse_signed_root,
    snapshot_digest,
)

_FILE = click.Path(dir_okay=False, path_type=Path)
_MARGIN_HELP = ("Margin verifier: 'named' (per proof: commitment, context) or 'membership' (root, context, scope, "
                "nullifier); the other public inputs are a snapshot the venue registers once.")
_MARGIN = click.Choice(list(MARGIN_MODES))


@click.group("export")
def export() -> None:
    """Export verifiers and call arguments for Ethereum (BLS12-381 precompiles, Prague and later)."""


@export.command("solidity")
@click.argument("vk_path", metavar="[VERIFICATION_KEY]", default="verification_key.json", type=_FILE)
@click.argument("out_path", metavar="[OUT]", default="verifier.sol", type=_FILE)
@click.option("--margin", "mode", type=_MARGIN, default=None, help=_MARGIN_HELP)
@click.option("--name", "contract_name", default=None, help="Contract name (default Groth16Verifier or MarginVerifier).")
@click.pass_context
def export_solidity(ctx: click.Context, vk_path: Path, out_path: Path, mode: str | None,
                    contract_name: str | None) -> None:
    """Write a Solidity verifier for VERIFICATION_KEY (snarkjs JSON, bls12381) to OUT."""
    backend = ctx.obj.backend
    vk = read_verifying_key(vk_path, backend)
    if mode is None:
        source = verifier_source(vk, backend, contract_name or "Groth16Verifier")
        what = f"verifyProof(proof, publicInputs) for {vk.num_public} public inputs"
    else:
        source = margin_verifier_source(vk, mode, backend, contract_name or "MarginVerifier")
        per_proof_inputs = MARGIN_MODES[mode]
        what = (f"verifyMargin(snapshotId, beneficiary, epoch, perProofInputs, proof), {mode} mode: "
                f"{per_proof_inputs} per-proof inputs, {vk.num_public - per_proof_inputs} registered by the venue")
    write_atomic(out_path, source.encode())
    note(f"wrote {out_path}: {what}; vk digest {vk_digest(vk, backend)}; compile with solc --evm-version prague")


@export.command("calldata")
@click.argument("public_path", metavar="[PUBLIC]", default="public.json", type=_FILE)
@click.argument("proof_path", metavar="[PROOF]", default="proof.json", type=_FILE)
@click.option("--margin", "mode", type=_MARGIN, default=None, help=_MARGIN_HELP)
@click.option("--snapshot-id", default=None, metavar="HEX32",
              help="With --margin: the bytes32 id under which the venue registered the snapshot.")
@click.option("--beneficiary", default=None, metavar="ADDRESS",
              help="With --margin: the address the proof was made for (its context is `export context`'s).")
@click.option("--epoch", type=int, default=None, help="With --margin: the epoch the proof was made for.")
@click.option("--encoded", is_flag=True, help="Print the complete ABI-encoded call (selector included) as hex.")
@click.pass_context
def export_calldata(ctx: click.Context, public_path: Path, proof_path: Path, mode: str | None,
                    snapshot_id: str | None, beneficiary: str | None, epoch: int | None, encoded: bool) -> None:
    """Print the arguments of verifyProof (or, with --margin, verifyMargin) for PROOF and PUBLIC."""
    backend = ctx.obj.backend
    margin_options = {"--snapshot-id": snapshot_id, "--beneficiary": beneficiary, "--epoch": epoch}
    if mode is not None:
        missing = [name for name, value in margin_options.items() if value is None]
        if missing:
            raise click.UsageError(f"--margin needs {', '.join(missing)}")
    elif any(value is not None for value in margin_options.values()):
        raise click.UsageError("--snapshot-id, --beneficiary and --epoch go with --margin")
    public_inputs = public_inputs_from_json(read_json(public_path, "public inputs"))
    proof = read_proof(proof_path, backend)
    if mode is None:
        text = solidity_calldata(public_inputs, proof, backend) if not encoded else \
            "0x" + verify_proof_calldata(public_inputs, proof, backend).hex()
        click.echo(text)
        return
    assert snapshot_id is not None and beneficiary is not None and epoch is not None  # checked above
    per_proof, _ = split_margin_inputs(public_inputs, MARGIN_MODES[mode])
    if not encoded:
        click.echo(solidity_calldata(public_inputs, proof, backend, MARGIN_MODES[mode], snapshot_id, beneficiary, epoch))
    else:
        click.echo("0x" + verify_margin_calldata(snapshot_id, beneficiary, epoch, per_proof, proof, backend).hex())


def _attested_values(snapshot_path: Path, venue_key_path: Path, attestation_paths: tuple[Path, ...],
                     root_paths: tuple[Path, ...], depth: int | None = None) -> tuple[bytes, list[int], str]:
    """(snapshot digest, values, what): every attestation or signed root checked against the venue's key first
    (and each root's depth against depth, when given)."""
    snapshot = load_snapshot(snapshot_path)
    public_key = read_venue_key(venue_key_path)
    if snapshot.venue != public_key.venue:
        raise WrongVenueError(f"snapshot {snapshot.snapshot_id!r} is venue {snapshot.venue!r}'s; the key is "
                              f"venue {public_key.venue!r}'s")
    digest = snapshot_digest(snapshot)
    values: list[int] = []
    for path in attestation_paths:
        for doc in read_json_documents(path, "attestation"):
            try:
                attestation = parse_attestation(doc)
            except MalformedAttestationError as exc:
                raise CliError(f"attestation {path}: {exc}") from None
            check_attestation(attestation, public_key, digest, attestation.commitment)
            values.append(attestation.commitment)
    for path in root_paths:
        for doc in read_json_documents(path, "signed root"):
            try:
                signed = parse_signed_root(doc)
            except MalformedAttestationError as exc:
                raise CliError(f"signed root {path}: {exc}") from None
            check_signed_root(signed, public_key, digest)
            if depth is not None and signed.depth != depth:
                raise WrongCommitmentError(f"signed root {path} is of a depth-{signed.depth} tree; the circuit "
                                           f"proves membership at depth {depth}")
            values.append(signed.root)
    what = f"{len(values)} {'commitments' if attestation_paths else 'roots'} signed by venue {public_key.venue!r}"
    return digest, values, what


@export.command("register")
@click.argument("snapshot_path", metavar="SNAPSHOT", type=_FILE)
@circuit_option
@click.option("--snapshot-id", default=None, metavar="HEX32",
              help="The bytes32 id to register under (default: the snapshot's SHA-256 digest, as attestations sign it).")
@click.option("--venue-key", "venue_key_path", type=_FILE, default=None,
              help="With --attestation or --signed-root: the venue's public key document, checked against each.")
@click.option("--attestation", "attestation_paths", type=_FILE, multiple=True,
              help="Named mode: an attestation (or a JSONL file of them, `zkmargin venue attest`); repeatable.")
@click.option("--signed-root", "root_paths", type=_FILE, multiple=True,
              help="Membership mode: the venue's signed root (root.json of `zkmargin venue tree`); repeatable. "
                   "With --circuit (the contract's, ending in -m<depth>), each root's signed depth must be its depth.")
@click.pass_context
def export_register(ctx: click.Context, snapshot_path: Path, circuit_id: str, snapshot_id: str | None,
                    venue_key_path: Path | None, attestation_paths: tuple[Path, ...],
                    root_paths: tuple[Path, ...]) -> None:
    """Print the calldata of registerSnapshot for SNAPSHOT (built as the circuit reads it), or with --attestation /
    --signed-root, of registerAttested for the commitments or roots the venue signed for SNAPSHOT.

    Exit 1 when a signature, venue or snapshot does not check against the venue's key, or (--signed-root with
    --circuit) a root was signed for another tree depth than the circuit's (nothing printed).
    """
    if attestation_paths or root_paths:
        if attestation_paths and root_paths:
            raise click.UsageError("give --attestation (named mode) or --signed-root (membership mode), not both")
        if venue_key_path is None:
            raise click.UsageError("--attestation and --signed-root need --venue-key to check their signatures")
        depth = None
        if ctx.get_parameter_source("circuit_id") == ParameterSource.COMMANDLINE:
            if attestation_paths:
                raise click.UsageError("--circuit builds a snapshot's values; registerAttested takes no circuit")
            depth = getattr(circuit_from_id(circuit_id).statement, "depth", None)
            if depth is None:
                raise click.UsageError(f"{circuit_id} is not a membership circuit (ids end in -m<depth>)")
        try:
            digest, values, what = _attested_values(snapshot_path, venue_key_path, attestation_paths, root_paths, depth)
        except MalformedAttestationError:
            raise
        except AttestationError as exc:
            click.echo(f"error: refused: {exc}", err=True)
            raise SystemExit(EXIT_NO) from None
        chosen_id = snapshot_id if snapshot_id is not None else digest.hex()
        data = register_attested_calldata(chosen_id, values)
        note(f"registerAttested: {what} under snapshot id 0x{chosen_id.removeprefix('0x')}")
        click.echo("0x" + data.hex())
        return
    if venue_key_path is not None:
        raise click.UsageError("--venue-key goes with --attestation or --signed-root")
    # The contract checks registered values only against r; the circuit's encoding also checks the ranges its
    # overflow argument assumes, so the venue registers what the circuit would derive, never values typed by hand.
    snapshot = load_snapshot(snapshot_path)
    circuit = circuit_from_id(circuit_id)
    values = circuit.snapshot_inputs(snapshot)
    chosen_id = snapshot_id if snapshot_id is not None else snapshot_digest(snapshot).hex()
    note(f"registerSnapshot for {circuit_id}: {len(values)} values under snapshot id 0x{chosen_id.removeprefix('0x')}")
    click.echo("0x" + register_snapshot_calldata(chosen_id, values, first_index=circuit.per_proof_inputs).hex())


@export.command("context")
@click.option("--chain-id", type=int, required=True, help="The chain's id (1: Ethereum mainnet).")
@click.option("--contract", required=True, metavar="ADDRESS", help="The deployed margin verifier's address.")
@click.option("--beneficiary", required=True, metavar="ADDRESS", help="The address the proof is for.")
@click.option("--epoch", type=int, required=True, help="The epoch (uint64) the proof is for.")
@json_option
def export_context(chain_id: int, contract: str, beneficiary: str, epoch: int, as_json: bool) -> None:
    """Print the context (and the membership scope) a margin verifier recomputes: prove with these values."""
    context = onchain_context(chain_id, contract, beneficiary, epoch)
    scope = onchain_scope(chain_id, contract, epoch)
    emit(as_json, {"context": str(context), "scope": str(scope)},
         f"context {context}\nscope {scope}")
