"""`zkmargin verify-batch`: an auditor checks many proofs against one snapshot, with reports.

Input: a JSON Lines file, or a directory of *.json files, one item each:
  {"id": "acct-17", "commitment": "<field element>", "context": "<field element>",
   "proof": <snarkjs proof.json object>  |  "proof_b64": "<base64 of the 192-byte proof>",
   "snapshot_id": "<optional; must match --snapshot>"}
Public inputs come from the auditor's snapshot plus each item's commitment and context.
"""

from __future__ import annotations

import base64
import binascii
import sys
import time
from pathlib import Path
from typing import Any

import click

from circuits.proving import parse_field_element
from circuits.registry import circuit_from_id
from cli.account import circuit_option
from cli.keystore import read_verifying_key
from cli.output import EXIT_NO, CliError, emit, json_option, note
from cli.report import write_reports
from zkmargin.errors import MalformedProofError, ZkMarginError
from zkmargin.groth16 import Proof
from zkmargin.groth16.batch import BatchItem, verify_batch
from zkmargin.groth16.serialization import decode_proofs, proof_to_bytes
from zkmargin.groth16.verifier import fixed_inputs_sum
from zkmargin.jsontext import decode_json
from zkmargin.margin.models import load_snapshot, snapshot_to_json

ITEM_FIELDS = {"id", "commitment", "context", "proof", "proof_b64", "snapshot_id"}


def read_items(path: Path) -> list[tuple[str, Any]]:
    """(label, parsed JSON or the error text) for every item of a JSON Lines file or a directory."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json")
        out = []
        for file in files:
            try:
                out.append((file.name, decode_json(file.read_bytes())))
            except ValueError as exc:
                out.append((file.name, f"not valid JSON: {exc}"))
        return out
    if not path.exists():
        raise CliError(f"batch input not found: {path}")
    out = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                out.append((f"line {number}", decode_json(line)))
            except ValueError as exc:
                out.append((f"line {number}", f"not valid JSON: {exc}"))
    return out


def parse_item(labelled: tuple[str, Any]) -> tuple[dict, tuple[int, int, bytes | dict] | str]:
    """(report metadata, (commitment, context, encoded proof) or the error) for one raw item."""
    label, raw = labelled
    meta: dict[str, Any] = {"source": label, "id": label}
    if isinstance(raw, str):
        return meta, raw
    if not isinstance(raw, dict):
        return meta, "item must be a JSON object"
    meta.update(id=str(raw.get("id", label)), commitment=raw.get("commitment"), context=raw.get("context"))
    try:
        unknown = set(raw) - ITEM_FIELDS
        if unknown:
            raise ZkMarginError(f"unknown field {sorted(unknown)[0]!r}")
        commitment = parse_field_element(str(raw.get("commitment", "")), "commitment")
        context = parse_field_element(str(raw.get("context", "")), "context")
        if "proof" in raw:
            encoded: bytes | dict = raw["proof"]
        elif "proof_b64" in raw:
            try:
                encoded = base64.b64decode(str(raw["proof_b64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ZkMarginError("proof_b64 is not valid base64") from None
        else:
            raise ZkMarginError("item has neither proof nor proof_b64")
    except ZkMarginError as exc:
        return meta, str(exc)
    return meta, (commitment, context, encoded)


DECODE_CHUNK = 2000


@click.command("verify-batch")
@click.argument("input_path", metavar="PATH", type=click.Path(path_type=Path))
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Verification key (snarkjs JSON).")
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The snapshot every proof is checked against.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("batch-report"),
              show_default=True, help="Where report.json, report.csv and report.html go.")
@circuit_option
@json_option
@click.pass_context
def verify_batch_command(ctx: click.Context, input_path: Path, vk_path: Path, snapshot_path: Path,
                         report_dir: Path, circuit_id: str, as_json: bool) -> None:
    """Verify a batch of proofs (JSON Lines file or directory) in one pairing check; exit 1 if any is invalid."""
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    vk = read_verifying_key(vk_path, backend)
    if vk.num_public != circuit.num_public:
        raise CliError(f"{vk_path} expects {vk.num_public} public inputs; {circuit.circuit_id} has {circuit.num_public}")
    snapshot = load_snapshot(snapshot_path)
    started = time.perf_counter()
    raw_items = read_items(input_path)
    mixed = sorted({str(r["snapshot_id"]) for _, r in raw_items if isinstance(r, dict) and "snapshot_id" in r}
                   - {snapshot.snapshot_id})
    if mixed:
        raise CliError(f"mixed snapshots: items name {', '.join(mixed)} but --snapshot is {snapshot.snapshot_id}; "
                       "verify each snapshot's proofs in its own batch")
    if not raw_items:
        note("warning: the batch is empty")
    tail = circuit.snapshot_inputs(snapshot)
    parsed = [parse_item(item) for item in raw_items]
    wanted = [(i, fields[2]) for i, (_, fields) in enumerate(parsed) if not isinstance(fields, str)]
    decoded_proofs: dict[int, Proof | MalformedProofError] = {}
    # Checked point decoding dominates; decode_proofs spreads it over worker processes.
    with click.progressbar(length=len(raw_items), label="decoding proofs", file=sys.stderr) as bar:
        for start in range(0, len(wanted), DECODE_CHUNK):
            chunk = wanted[start : start + DECODE_CHUNK]
            for (i, _), outcome in zip(chunk, decode_proofs([e for _, e in chunk], backend)):
                decoded_proofs[i] = outcome
            bar.update(len(chunk))
        bar.update(len(raw_items) - len(wanted))
    decoded = []
    for i, (meta, fields) in enumerate(parsed):
        label = meta["id"]
        proof = decoded_proofs.get(i)
        if isinstance(fields, str):
            decoded.append((BatchItem(error=fields, label=label), meta))
        elif not isinstance(proof, Proof):
            decoded.append((BatchItem(error=str(proof or "proof not decoded"), label=label), meta))
        else:
            meta["proof_bytes"] = proof_to_bytes(proof, backend)
            decoded.append((BatchItem([fields[0], fields[1]], proof, label=label), meta))
    decode_s = time.perf_counter() - started
    items = [item for item, _ in decoded]
    t = time.perf_counter()
    # The snapshot's inputs are the same for every item: fold them once.
    result = verify_batch(vk, items, backend, fixed=fixed_inputs_sum(vk, 2, tail, backend))
    verify_s = time.perf_counter() - t
    seen: dict[tuple, str] = {}
    rows = []
    for (_, meta), verdict in zip(decoded, result.items):
        key = (meta.get("commitment"), meta.get("context"), meta.get("proof_bytes"))
        duplicate_of = seen.get(key) if meta.get("proof_bytes") else None
        if meta.get("proof_bytes") and key not in seen:
            seen[key] = verdict.label
        rows.append({
            "id": verdict.label,
            "source": meta["source"],
            "commitment": meta.get("commitment"),
            "context": meta.get("context"),
            "valid": verdict.valid,
            "error": verdict.error,
            "duplicate_of": duplicate_of,
        })
    summary = {
        "circuit_id": circuit.circuit_id,
        "snapshot": snapshot_to_json(snapshot),
        "total": len(rows),
        "valid": sum(r["valid"] for r in rows),
        "invalid": sum(not r["valid"] and r["error"] is None for r in rows),
        "malformed": sum(r["error"] is not None for r in rows),
        "duplicates": sum(r["duplicate_of"] is not None for r in rows),
        "pairing_checks": result.pairing_checks,
        "timings_s": {"decode": round(decode_s, 4), "verify": round(verify_s, 4),
                      "total": round(time.perf_counter() - started, 4)},
    }
    paths = write_reports(report_dir, summary, rows)
    emit(as_json, {**{k: v for k, v in summary.items() if k != "snapshot"}, "reports": [str(p) for p in paths]},
         f"{summary['valid']}/{summary['total']} valid, {summary['invalid']} invalid, {summary['malformed']} malformed "
         f"({summary['pairing_checks']} pairing checks, {summary['timings_s']['total']:.2f} s); reports in {report_dir}")
    if not result.all_valid:
        raise SystemExit(EXIT_NO)
