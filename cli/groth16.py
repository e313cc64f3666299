"""`zkmargin groth16 verify`: any snarkjs BLS12-381 Groth16 proof, with snarkjs's arguments and exit codes."""

from __future__ import annotations

import time
from pathlib import Path

import click

from zkmargin.circuits.verification import verify_plain
from zkmargin.cli.inputs import read_proof
from zkmargin.cli.keystore import read_verifying_key
from zkmargin.cli.output import EXIT_NO, CliError, emit, json_option, read_json
from zkmargin.errors import EncodingError, PublicInputError
from zkmargin.groth16.serialization import public_inputs_from_json

_FILE = click.Path(dir_okay=False, path_type=Path)
ARGUMENT_ORDER = "the arguments are [VERIFICATION_KEY] [PUBLIC] [PROOF], in snarkjs's order"


@click.group("groth16")
def groth16() -> None:
    """Plain Groth16 over BLS12-381 in snarkjs's file formats (no margin statement attached)."""


@groth16.command("verify")
@click.argument("vk_path", metavar="[VERIFICATION_KEY]", default="verification_key.json", type=_FILE)
@click.argument("public_path", metavar="[PUBLIC]", default="public.json", type=_FILE)
@click.argument("proof_path", metavar="[PROOF]", default="proof.json", type=_FILE)
@json_option
@click.pass_context
def groth16_verify(ctx: click.Context, vk_path: Path, public_path: Path, proof_path: Path, as_json: bool) -> None:
    """Verify PROOF for PUBLIC under VERIFICATION_KEY (exit 0 valid, 1 invalid, 2 malformed input)."""
    backend = ctx.obj.backend
    try:
        vk = read_verifying_key(vk_path, backend)
        try:
            public_inputs = public_inputs_from_json(read_json(public_path, "public inputs"))
        except EncodingError as exc:
            raise CliError(f"public inputs file {public_path}: {exc}") from None
        proof = read_proof(proof_path, backend)
    except CliError as exc:
        raise CliError(f"{exc.message} ({ARGUMENT_ORDER})") from None
    started = time.perf_counter()
    try:
        valid = verify_plain(vk, public_inputs, proof, backend)
    except PublicInputError as exc:
        raise CliError(f"public inputs file {public_path}: {exc}") from None
    seconds = time.perf_counter() - started
    emit(as_json, {"valid": valid, "public_inputs": len(public_inputs), "seconds": round(seconds, 4)},
         "OK: the proof is valid" if valid else "INVALID proof")
    if not valid:
        raise SystemExit(EXIT_NO)
