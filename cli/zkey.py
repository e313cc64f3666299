"""`zkmargin zkey`: phase 2 of a Groth16 trusted setup in snarkjs's .zkey format, with snarkjs's verbs.

Inputs are read and checked in full before anything is written, and outputs are
written atomically: a bad input (exit 2) or an invalid transcript never leaves a
partial or replaced file behind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zkmargin.binfile import format_hash
from zkmargin.cli.keystore import read_zkey
from zkmargin.cli.output import EXIT_NO, CliError, emit, json_option, note, read_bytes, step, write_atomic, write_json
from zkmargin.groth16.ptau import read_ptau
from zkmargin.groth16.serialization import vk_digest, vk_to_json
from zkmargin.groth16.zkey import (
    beacon,
    contribute,
    new_zkey,
    secret_contribution_problem,
    transcript_entries,
    verify_zkey,
    verifying_key,
    zkey_to_bytes,
)
from zkmargin.r1cs.circom import r1cs_from_bytes

if TYPE_CHECKING:
    from zkmargin.groth16.ptau import PowersOfTau
    from zkmargin.r1cs.builder import CompiledR1CS

_IN = click.Path(dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, path_type=Path)


def _read_circuit_and_ptau(r1cs_path: Path, ptau_path: Path) -> tuple[CompiledR1CS, PowersOfTau]:
    return (r1cs_from_bytes(read_bytes(r1cs_path, "r1cs"), str(r1cs_path)),
            read_ptau(read_bytes(ptau_path, "ptau"), str(ptau_path)))


def _same_file(a: Path, b: Path) -> None:
    if a.resolve() == b.resolve():
        raise CliError(f"the output {b} would replace the input; choose another file name")


@click.group("zkey")
def zkey() -> None:
    """Phase 2 of the trusted setup (.zkey files interchangeable with snarkjs's)."""


@zkey.command("new")
@click.argument("r1cs_path", metavar="CIRCUIT.r1cs", type=_IN)
@click.argument("ptau_path", metavar="POT.ptau", type=_IN)
@click.argument("out_path", metavar="OUT.zkey", type=_OUT)
@json_option
@click.pass_context
def zkey_new(ctx: click.Context, r1cs_path: Path, ptau_path: Path, out_path: Path, as_json: bool) -> None:
    """Initial key for CIRCUIT.r1cs from a prepared powers of tau (no contribution yet: not usable alone)."""
    backend = ctx.obj.backend
    compiled, ptau = _read_circuit_and_ptau(r1cs_path, ptau_path)
    with step("computing the initial key") as elapsed:
        zk = new_zkey(compiled, ptau, backend)
    write_atomic(out_path, zkey_to_bytes(zk, backend))
    emit(as_json, {"zkey": str(out_path), "circuit_hash": zk.cs_hash.hex(), "domain_size": zk.domain_size,
                   "seconds": round(elapsed["seconds"], 3)},
         format_hash(zk.cs_hash, "Circuit hash:"))


@zkey.command("contribute")
@click.argument("in_path", metavar="IN.zkey", type=_IN)
@click.argument("out_path", metavar="OUT.zkey", type=_OUT)
@click.option("--name", "-n", default="", help="Contributor name recorded in the transcript (64 bytes at most).")
@click.option("--entropy", "-e", default="", help="Extra text mixed with 64 bytes from the OS CSPRNG.")
@json_option
@click.pass_context
def zkey_contribute(ctx: click.Context, in_path: Path, out_path: Path, name: str, entropy: str,
                    as_json: bool) -> None:
    """Add a contribution: delta is multiplied by a fresh secret, which is then forgotten."""
    _same_file(in_path, out_path)
    backend = ctx.obj.backend
    zk = read_zkey(in_path, backend)
    with step("contributing") as elapsed:
        new, digest = contribute(zk, name or None, entropy, None, backend)
    write_atomic(out_path, zkey_to_bytes(new, backend))
    emit(as_json, {"zkey": str(out_path), "contribution_hash": digest.hex(), "circuit_hash": zk.cs_hash.hex(),
                   "contributions": len(new.contributions), "seconds": round(elapsed["seconds"], 3)},
         format_hash(zk.cs_hash, "Circuit Hash:") + "\n" + format_hash(digest, "Contribution Hash:"))


@zkey.command("beacon")
@click.argument("in_path", metavar="IN.zkey", type=_IN)
@click.argument("out_path", metavar="OUT.zkey", type=_OUT)
@click.argument("beacon_hex", metavar="BEACON_HEX")
@click.argument("iterations_exp", metavar="ITERATIONS_EXP", type=int)
@click.option("--name", "-n", default="", help="Name recorded in the transcript.")
@json_option
@click.pass_context
def zkey_beacon(ctx: click.Context, in_path: Path, out_path: Path, beacon_hex: str, iterations_exp: int,
                name: str, as_json: bool) -> None:
    """Final contribution from a public random beacon (SHA-256 iterated 2^ITERATIONS_EXP times)."""
    _same_file(in_path, out_path)
    backend = ctx.obj.backend
    zk = read_zkey(in_path, backend)
    with step("applying the beacon") as elapsed:
        new, digest = beacon(zk, beacon_hex, iterations_exp, name or None, backend)
    write_atomic(out_path, zkey_to_bytes(new, backend))
    emit(as_json, {"zkey": str(out_path), "contribution_hash": digest.hex(), "contributions": len(new.contributions),
                   "seconds": round(elapsed["seconds"], 3)},
         format_hash(digest, "Contribution Hash:"))


@zkey.command("verify")
@click.argument("r1cs_path", metavar="CIRCUIT.r1cs", type=_IN)
@click.argument("ptau_path", metavar="POT.ptau", type=_IN)
@click.argument("zkey_path", metavar="FINAL.zkey", type=_IN)
@json_option
@click.pass_context
def zkey_verify(ctx: click.Context, r1cs_path: Path, ptau_path: Path, zkey_path: Path, as_json: bool) -> None:
    """Recompute the initial key and check every contribution (exit 0 valid, 1 invalid, 2 malformed)."""
    backend = ctx.obj.backend
    compiled, ptau = _read_circuit_and_ptau(r1cs_path, ptau_path)
    zk = read_zkey(zkey_path, backend)
    started = time.perf_counter()
    result = verify_zkey(compiled, ptau, zk, backend)
    seconds = time.perf_counter() - started
    contributions = transcript_entries(result.contributions, result.contribution_hashes)
    lines = [format_hash(result.cs_hash, "Circuit Hash:")]
    for entry in reversed(contributions):
        lines.append("-------------------------")
        lines.append(format_hash(bytes.fromhex(entry["hash"]), f"contribution #{entry['index']} {entry['name'] or ''}:"))
        if entry["beacon"]:
            lines.append(f"Beacon generator: {entry['beacon_hash']}")
            lines.append(f"Beacon iterations Exp: {entry['iterations_exp']}")
    lines.append("-------------------------")
    lines.append("ZKey Ok!" if result.valid else f"INVALID: {result.problem}")
    public_delta = secret_contribution_problem(zk.contributions)
    if result.valid and public_delta is not None:
        note(f"warning: {public_delta}")
    emit(as_json, {"valid": result.valid, "problem": result.problem, "circuit_hash": result.cs_hash.hex(),
                   "contributions": contributions, "seconds": round(seconds, 3)}, "\n".join(lines))
    if not result.valid:
        raise SystemExit(EXIT_NO)


@zkey.group("export")
def export() -> None:
    """Export parts of a .zkey."""


@export.command("verificationkey")
@click.argument("zkey_path", metavar="FINAL.zkey", type=_IN)
@click.argument("out_path", metavar="[VK.json]", type=_OUT, default="verification_key.json")
@click.pass_context
def export_verificationkey(ctx: click.Context, zkey_path: Path, out_path: Path) -> None:
    """Write the verification key as snarkjs JSON (the same file `snarkjs zkey export verificationkey` writes)."""
    backend = ctx.obj.backend
    zk = read_zkey(zkey_path, backend)
    public_delta = secret_contribution_problem(zk.contributions)
    if public_delta is not None:
        note(f"warning: {public_delta}")
    vk = verifying_key(zk, backend)
    write_json(out_path, vk_to_json(vk, backend))
    click.echo(f"verification key written to {out_path} (vk digest {vk_digest(vk, backend)})")


@export.command("transcript")
@click.argument("zkey_path", metavar="FINAL.zkey", type=_IN)
@click.argument("out_path", metavar="[TRANSCRIPT.json]", type=_OUT, default="transcript.json")
@click.pass_context
def export_transcript(ctx: click.Context, zkey_path: Path, out_path: Path) -> None:
    """Write the contributions' public records (zkmargin-zkey-transcript/1), to register with the key in the service."""
    from zkmargin.groth16.transcript import transcript_to_json

    zk = read_zkey(zkey_path, ctx.obj.backend)
    if not zk.contributions:
        raise CliError(f"{zkey_path} has no contribution: there is no transcript to export")
    write_json(out_path, transcript_to_json(zk, ctx.obj.backend))
    click.echo(f"transcript of {len(zk.contributions)} contributions written to {out_path}")


