"""`zkmargin demo`: the whole trader -> verifier flow on the built-in sample data."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from zkmargin.circuits.proving import prove_account, random_context, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.inputs import circuit_option
from zkmargin.cli.keystore import KeyStore, ensure_keys, proving_message
from zkmargin.cli.output import emit, json_option, step, write_json
from zkmargin.errors import MarginCallError
from zkmargin.groth16.serialization import (
    proof_to_bytes,
    proof_to_json,
    public_inputs_to_json,
    vk_to_json,
)
from zkmargin.margin.commitment import new_salt
from zkmargin.margin.engine import compute_margin, report_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot


@click.command()
@circuit_option
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the demo's proof files (default: a temporary directory).")
@json_option
@click.pass_context
def demo(ctx: click.Context, circuit_id: str, workdir: Path | None, as_json: bool) -> None:
    """Run the whole flow on sample data: one healthy account, one under margin call."""
    if workdir is not None:
        _demo(ctx, circuit_id, workdir, as_json, kept=True)
        return
    # Without --workdir the files are only there to show the flow: nothing stays behind in the temp directory.
    with tempfile.TemporaryDirectory(prefix="zkmargin-demo-") as scratch:
        _demo(ctx, circuit_id, Path(scratch), as_json, kept=False)


def _demo(ctx: click.Context, circuit_id: str, workdir: Path, as_json: bool, kept: bool) -> None:
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    steps: list[dict] = []

    def record(name: str, started: float, detail: str) -> None:
        seconds = time.perf_counter() - started
        steps.append({"step": name, "seconds": round(seconds, 4), "detail": detail})
        if not as_json:
            click.echo(f"[{seconds:8.3f} s] {name}: {detail}")

    snapshot = sample_snapshot()
    healthy, unhealthy = sample_account("healthy"), sample_account("margin_call")
    t = time.perf_counter()
    for account in (healthy, unhealthy):
        report = report_to_json(compute_margin(account, snapshot))
        record(f"margin {account.account_id}", t,
               f"{report['status']}: equity {report['equity']}, maintenance {report['maintenance']}")
        t = time.perf_counter()

    t = time.perf_counter()
    salt = new_salt()
    commitment = circuit.commitment(circuit.witness(healthy, snapshot, salt))
    record("commit", t, f"commitment {commitment} (the salt stays with the trader)")

    store = KeyStore(ctx.obj.cache_dir, circuit)
    t = time.perf_counter()
    made = ensure_keys(ctx, store)
    compiled = circuit.compile()
    record("setup", t, f"{circuit.circuit_id}: {compiled.num_constraints} constraints, "
           f"{compiled.num_public} public inputs ({'new keys' if made else 'cached keys'}, "
           f"vk digest {store.recorded_digest()})")
    t = time.perf_counter()
    pk = store.load_proving_key(backend)
    record("load proving key", t, str(store.proving_key_path))

    context = random_context()
    t = time.perf_counter()
    with step(proving_message(circuit.circuit_id)):
        proof, public = prove_account(circuit, pk, healthy, snapshot, salt, context, backend)
    # The snarkjs triple, so `snarkjs groth16 verify verification_key.json public.json proof.json` runs here.
    write_json(workdir / "proof.json", proof_to_json(proof, backend))
    write_json(workdir / "public.json", public_inputs_to_json(public.as_list()))
    write_json(workdir / "verification_key.json", vk_to_json(pk.vk, backend))
    where = (f"written to {workdir}" if kept
             else "written to a temporary directory, removed at the end (pass --workdir to keep them)")
    record("prove", t, f"{len(proof_to_bytes(proof, backend))}-byte proof; proof.json, public.json and "
           f"verification_key.json {where}")

    t = time.perf_counter()
    valid = verify_account_proof(circuit, pk.vk, snapshot, commitment, context, proof, backend)
    record("verify", t, "valid" if valid else "INVALID")

    t = time.perf_counter()
    replayed = verify_account_proof(circuit, pk.vk, snapshot, commitment, (context + 1) % (1 << 253), proof, backend)
    record("verify with another context (replay)", t, "rejected" if not replayed else "ACCEPTED (bug)")

    t = time.perf_counter()
    try:
        prove_account(circuit, pk, unhealthy, snapshot, new_salt(), context, backend)
        refused = "PROVED (bug)"
    except MarginCallError as exc:
        refused = f"refused: {exc}"
    record(f"prove {unhealthy.account_id}", t, refused)

    ok = valid and not replayed and refused.startswith("refused")
    if as_json:
        emit(True, {"ok": ok, "circuit_id": circuit.circuit_id, "commitment": str(commitment),
                    "context": str(context), "workdir": str(workdir) if kept else None, "steps": steps}, "")
    else:
        click.echo("demo complete: all checks behaved as expected" if ok else "demo FAILED")
    if not ok:
        raise SystemExit(1)
