"""Key and proof commands: setup, prove, verify, inspect."""

from __future__ import annotations

import time
from pathlib import Path

import click

from circuits.proving import parse_field_element, prove_account, verify_account_proof
from circuits.registry import circuit_from_id
from cli.account import (
    account_argument,
    circuit_option,
    load_opening,
    snapshot_argument,
)
from cli.keystore import KeyStore, read_verifying_key
from cli.output import EXIT_NO, CliError, emit, json_option, note, step, write_json
from zkmargin.groth16.r1cs_to_qap import domain_log_size
from zkmargin.groth16.serialization import (
    PROOF_SIZE_BYTES,
    proof_from_bytes,
    proof_from_json,
    proof_to_json,
    public_inputs_to_json,
)
from zkmargin.margin.models import load_account, load_snapshot


def keystore(ctx: click.Context, circuit_id: str) -> KeyStore:
    """The key store of this circuit under the global cache directory."""
    return KeyStore(ctx.obj.cache_dir, circuit_from_id(circuit_id))


def ensure_keys(ctx: click.Context, store: KeyStore, force: bool = False) -> None:
    """Run setup for the store's circuit unless its keys are cached."""
    if store.exists() and not force:
        return
    backend = ctx.obj.backend
    with step(f"setup {store.circuit.circuit_id}: compiling circuit"):
        compiled = store.circuit.compile()
    note(f"  {compiled.num_constraints} constraints, {compiled.num_public} public inputs")
    with step("setup: generating keys (toxic waste is discarded)"):
        store.generate(backend)


@click.command()
@circuit_option
@click.option("--force", is_flag=True, help="Regenerate keys even if cached.")
@json_option
@click.pass_context
def setup(ctx: click.Context, circuit_id: str, force: bool, as_json: bool) -> None:
    """Generate and cache the proving and verification keys of a circuit."""
    store = keystore(ctx, circuit_id)
    started = time.perf_counter()
    ensure_keys(ctx, store, force)
    emit(
        as_json,
        {
            "circuit_id": store.circuit.circuit_id,
            "proving_key": str(store.proving_key_path),
            "verification_key": str(store.verification_key_path),
            "seconds": round(time.perf_counter() - started, 3),
        },
        f"verification key: {store.verification_key_path}\nproving key:      {store.proving_key_path}",
    )


@click.command()
@account_argument
@snapshot_argument
@click.option("--opening", "opening_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Opening written by `zkmargin commit`.")
@click.option("--context", "context_text", required=True,
              help="The verifier's challenge or epoch, a field element (decimal or 0x-hex).")
@click.option("--out", "proof_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("proof.json"),
              show_default=True, help="Proof file (snarkjs JSON).")
@click.option("--public-out", "public_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("public.json"), show_default=True, help="Public inputs (snarkjs public.json).")
@json_option
@click.pass_context
def prove(ctx: click.Context, account_path: Path, snapshot_path: Path, opening_path: Path, context_text: str,
          proof_path: Path, public_path: Path, as_json: bool) -> None:
    """Prove ACCOUNT is not subject to a margin call under SNAPSHOT (exit 1, no proof, if it is)."""
    opening = load_opening(opening_path)
    store = keystore(ctx, opening["circuit_id"])
    circuit = store.circuit
    account = load_account(account_path)
    snapshot = load_snapshot(snapshot_path)
    context = parse_field_element(context_text, "--context")
    witness = circuit.witness(account, snapshot, opening["salt"])
    if circuit.commitment(witness) != opening["commitment"]:
        raise CliError("the account does not match the commitment in the opening (was it changed after commit?)")
    ensure_keys(ctx, store)
    backend = ctx.obj.backend
    with step("loading proving key"):
        pk = store.load_proving_key(backend)
    timings: dict[str, float] = {}
    with step(f"proving {circuit.circuit_id}") as elapsed:
        proof, public = prove_account(circuit, pk, account, snapshot, opening["salt"], context, backend, timings)
    write_json(proof_path, proof_to_json(proof, backend))
    write_json(public_path, public_inputs_to_json(public.as_list()))
    emit(
        as_json,
        {
            "proof": str(proof_path),
            "public": str(public_path),
            "circuit_id": circuit.circuit_id,
            "commitment": str(public.commitment),
            "context": str(context),
            "seconds": round(elapsed["seconds"], 3),
            "timings": {k: round(v, 4) for k, v in timings.items()},
        },
        f"proof written to {proof_path}, public inputs to {public_path}",
    )


def read_proof(path: Path, backend):  # noqa: ANN001, ANN201
    """A proof file: snarkjs JSON, or the 192-byte binary form."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"proof file not found: {path}") from None
    if len(data) == PROOF_SIZE_BYTES and not data.lstrip().startswith(b"{"):
        return proof_from_bytes(data, backend)
    return proof_from_json(data, backend)


@click.command()
@click.argument("proof_path", metavar="PROOF", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The snapshot YOU trust: prices and rates come from here, never from the prover.")
@click.option("--commitment", "commitment_text", required=True, help="The account commitment the venue attested.")
@click.option("--context", "context_text", required=True, help="The challenge or epoch you issued.")
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verification key (default: the cached key of --circuit).")
@circuit_option
@json_option
@click.pass_context
def verify(ctx: click.Context, proof_path: Path, snapshot_path: Path, commitment_text: str, context_text: str,
           vk_path: Path | None, circuit_id: str, as_json: bool) -> None:
    """Verify PROOF against your snapshot, commitment and context (exit 0 valid, 1 invalid, 2 error)."""
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    if vk_path is None:
        vk_path = KeyStore(ctx.obj.cache_dir, circuit).verification_key_path
        if not vk_path.exists():
            raise CliError(f"no cached verification key for {circuit.circuit_id}; pass --vk or run `zkmargin setup`")
    vk = read_verifying_key(vk_path, backend)
    commitment = parse_field_element(commitment_text, "--commitment")
    context = parse_field_element(context_text, "--context")
    proof = read_proof(proof_path, backend)
    snapshot = load_snapshot(snapshot_path)
    started = time.perf_counter()
    valid = verify_account_proof(circuit, vk, snapshot, commitment, context, proof, backend)
    seconds = time.perf_counter() - started
    emit(
        as_json,
        {"valid": valid, "circuit_id": circuit.circuit_id, "snapshot_id": snapshot.snapshot_id, "seconds": round(seconds, 4)},
        "OK: the account is not subject to a margin call" if valid else "INVALID proof",
    )
    if not valid:
        raise SystemExit(EXIT_NO)


@click.command()
@circuit_option
@click.option("--names", is_flag=True, help="List every public input by name.")
@json_option
def inspect(circuit_id: str, names: bool, as_json: bool) -> None:
    """Show a circuit's constraint count, domain and public inputs."""
    circuit = circuit_from_id(circuit_id)
    compiled = circuit.compile()
    log_n = domain_log_size(compiled)
    payload = {
        "circuit_id": circuit.circuit_id,
        "constraints": compiled.num_constraints,
        "public_inputs": compiled.num_public,
        "variables": compiled.num_variables,
        "domain_size": 1 << log_n,
        "public_input_names": list(compiled.public_names),
    }
    text = (
        f"circuit:       {circuit.circuit_id}\n"
        f"constraints:   {compiled.num_constraints}\n"
        f"public inputs: {compiled.num_public}\n"
        f"variables:     {compiled.num_variables}\n"
        f"domain:        2^{log_n}"
    )
    if names:
        text += "\n" + "\n".join(f"  [{i}] {name}" for i, name in enumerate(compiled.public_names))
    emit(as_json, payload, text)
