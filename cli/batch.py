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
from cli.keystore import digest_option, parse_digest, read_verifying_key
from cli.output import EXIT_ERROR, EXIT_NO, CliError, emit, json_option
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
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Spread decoding and pairing checks over this Dask scheduler's workers, in chunks.")
@digest_option
@circuit_option
@json_option
@click.pass_context
def verify_batch_command(ctx: click.Context, input_path: Path, vk_path: Path, snapshot_path: Path,
                         report_dir: Path, scheduler: str | None, vk_digest_text: str | None, circuit_id: str,
                         as_json: bool) -> None:
    """Verify a batch of proofs (JSON Lines file or directory) in one pairing check.

    Exit 0 all valid, 1 any proof invalid, 2 bad input (including malformed items when no proof is invalid).
    """
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    expected_digest = parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None
    vk = read_verifying_key(vk_path, backend, expected_digest)
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
        raise CliError(f"the batch {input_path} is empty: no items to verify")
    tail = circuit.snapshot_inputs(snapshot)
    parsed = [parse_item(item) for item in raw_items]
    if scheduler is not None:
        from cli.venue_run import verify_on_cluster

        decoded, result, decode_s = verify_on_cluster(scheduler, vk, parsed, tail, backend, started)
    else:
        decoded, result, decode_s = _verify_here(vk, parsed, tail, backend, started)
    verify_s = time.perf_counter() - started - decode_s
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
    failing = {
        "invalid_ids": [r["id"] for r in rows if not r["valid"] and r["error"] is None],
        "malformed_ids": [r["id"] for r in rows if r["error"] is not None],
        "duplicate_ids": [r["id"] for r in rows if r["duplicate_of"] is not None],
    }
    paths = write_reports(report_dir, summary, rows)
    emit(as_json,
         {**{k: v for k, v in summary.items() if k != "snapshot"}, **failing, "reports": [str(p) for p in paths]},
         summary_text(summary, rows, report_dir))
    # An invalid proof answers "no" (1); malformed items alone mean bad input (2): nothing was decided for them.
    if summary["invalid"]:
        raise SystemExit(EXIT_NO)
    if summary["malformed"]:
        raise SystemExit(EXIT_ERROR)


def _verify_here(vk, parsed: list, tail: list[int], backend, started: float):  # noqa: ANN001, ANN202
    """Decode (over local processes) and batch-verify in this process; ((item, meta) pairs, result, decode seconds)."""
    wanted = [(i, fields[2]) for i, (_, fields) in enumerate(parsed) if not isinstance(fields, str)]
    decoded_proofs: dict[int, Proof | MalformedProofError] = {}
    # Checked point decoding dominates; decode_proofs spreads it over worker processes.
    with click.progressbar(length=len(parsed), label="decoding proofs", file=sys.stderr) as bar:
        for start in range(0, len(wanted), DECODE_CHUNK):
            chunk = wanted[start : start + DECODE_CHUNK]
            for (i, _), outcome in zip(chunk, decode_proofs([e for _, e in chunk], backend)):
                decoded_proofs[i] = outcome
            bar.update(len(chunk))
        bar.update(len(parsed) - len(wanted))
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
    # The snapshot's inputs are the same for every item: fold them once.
    result = verify_batch(vk, items, backend, fixed=fixed_inputs_sum(vk, 2, tail, backend))
    return decoded, result, decode_s


SHOWN_IDS = 10


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def summary_text(summary: dict, rows: list[dict], report_dir: Path) -> str:
    """The terminal summary: counts, the ids that failed and the duplicates."""
    lines = [f"{summary['valid']}/{summary['total']} valid, {summary['invalid']} invalid, "
             f"{summary['malformed']} malformed, {summary['duplicates']} duplicate"
             f"{'' if summary['duplicates'] == 1 else 's'} "
             f"({summary['pairing_checks']} pairing checks, {summary['timings_s']['total']:.2f} s); "
             f"reports in {report_dir}"]
    invalid = [r["id"] for r in rows if not r["valid"] and r["error"] is None]
    if invalid:
        lines.append(f"invalid: {_ids(invalid)}")
    malformed = [f"{r['id']} ({r['error']})" for r in rows if r["error"] is not None]
    if malformed:
        lines.append(f"malformed: {_ids(malformed)}")
    duplicates = [f"{r['id']} = {r['duplicate_of']}" for r in rows if r["duplicate_of"] is not None]
    if duplicates:
        lines.append(f"duplicates (same commitment, context and proof): {_ids(duplicates)}")
    return "\n".join(lines)
