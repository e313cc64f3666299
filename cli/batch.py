"""`zkmargin verify-batch`: an auditor checks many proofs against one snapshot, with reports.

Input: a JSON Lines file, or a directory of *.json files, one item each:
  {"id": "acct-17", "commitment": "<field element>", "context": "<field element>",
   "proof": <snarkjs proof.json object>  |  "proof_b64": "<base64 of the 192-byte proof>",
   "snapshot_id": "<optional; must match --snapshot>",
   "attestation": <optional; the venue's zkmargin-attestation/1 document for this commitment>}
Membership circuits (--circuit <id>-m<depth>) take root-mode items instead:
  {"id": ..., "root": "<field element>", "context": ..., "scope": ..., "nullifier": ...,
   "proof" | "proof_b64": ..., "snapshot_id": ..., "signed_root": <optional; zkmargin-signed-root/1>}
Field elements are JSON strings in their one canonical text (decimal without sign, spaces,
underscores or leading zeros, or lowercase 0x-hex without leading zeros), as the service takes
them: one number, one text. With --scope the auditor chooses the scope: an item may leave it out,
and an item naming another scope is refused. Duplicates and repeated nullifiers are counted on
the parsed values (zkmargin.circuits.batch_summary).
Public inputs come from the auditor's snapshot plus each item's commitment (or root, scope and
nullifier) and context. With --venue-key, an item is accepted only with the venue's attestation
of its commitment (membership: the venue's signed root) for this snapshot; an item without one
(or with one for another commitment, root, snapshot or venue, or a bad signature) is "refused"
with the reason, and the command exits 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import click

from zkmargin.circuits.batch_summary import (
    BatchSummary,
    outcome_ids,
    report_rows,
    summarize_batch,
    summary_document,
)
from zkmargin.circuits.proving import canonical_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier, check_key_fits, encoded_proof
from zkmargin.cli.inputs import circuit_option, read_venue_key, venue_key_option
from zkmargin.cli.keystore import digest_option, parse_digest, read_verifying_key
from zkmargin.cli.output import EXIT_ERROR, EXIT_NO, CliError, emit, json_option
from zkmargin.cli.report import REPORT_FORMATS, write_reports
from zkmargin.errors import ZkMarginError
from zkmargin.jsontext import decode_json
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.attestation import Attestation, SignedRoot, parse_attestation, parse_signed_root

ITEM_FIELDS = {"id", "commitment", "context", "proof", "proof_b64", "snapshot_id", "attestation"}
MEMBER_ITEM_FIELDS = {"id", "root", "context", "scope", "nullifier", "proof", "proof_b64", "snapshot_id",
                      "signed_root"}


class ParsedItem(NamedTuple):
    """A well-formed item: its per-proof inputs (the circuit's header order), encoded proof and venue document."""

    header: tuple[int, ...]
    encoded: bytes | dict
    attestation: Attestation | None = None
    signed_root: SignedRoot | None = None

    def proof_item(self, proof: Any, label: str, membership: bool) -> ProofItem:
        """The library's item for this one (proof None: the verifier decodes the encoded proof itself)."""
        if membership:
            root, context, scope, nullifier = self.header
            return ProofItem(context=context, proof=proof, label=label, root=root, scope=scope, nullifier=nullifier,
                             signed_root=self.signed_root, encoded=self.encoded)
        return ProofItem(self.header[0], self.header[1], proof, self.attestation, label=label, encoded=self.encoded)


def read_items(path: Path, show_progress: bool = False) -> list[tuple[str, Any]]:
    """(label, parsed JSON or the error text) for every item of a JSON Lines file or a directory."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json")
        out = []
        with click.progressbar(files, label="reading items", file=sys.stderr, hidden=not show_progress) as bar:
            for file in bar:
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


def parse_item(labelled: tuple[str, Any], membership: bool = False,
               scope: int | None = None) -> tuple[dict, ParsedItem | str]:
    """(report metadata, the parsed item or the error) for one raw item; root-mode fields when membership.

    scope: the auditor's scope (membership), taken when the item names none.
    """
    label, raw = labelled
    meta: dict[str, Any] = {"source": label, "id": label}
    if isinstance(raw, str):
        return meta, raw
    if not isinstance(raw, dict):
        return meta, "item must be a JSON object"
    names = ("root", "context", "scope", "nullifier") if membership else ("commitment", "context")
    meta.update(id=str(raw.get("id", label)), **{name: raw.get(name) for name in names})
    try:
        unknown = set(raw) - (MEMBER_ITEM_FIELDS if membership else ITEM_FIELDS)
        if unknown:
            hint = (" (a membership circuit takes root-mode items)" if membership
                    else " (root-mode items need a membership circuit: --circuit <id>-m<depth>)"
                    if unknown & (MEMBER_ITEM_FIELDS - ITEM_FIELDS) else "")
            raise ZkMarginError(f"unknown field {sorted(unknown)[0]!r}{hint}")
        if membership and scope is not None and "scope" not in raw:
            meta["scope"] = str(scope)
        header = tuple(_field(raw, name, scope if name == "scope" else None) for name in names)
        encoded = encoded_proof(raw.get("proof"), raw.get("proof_b64"))
    except ZkMarginError as exc:
        return meta, str(exc)
    try:
        attestation = parse_attestation(raw["attestation"]) if "attestation" in raw else None
    except ZkMarginError as exc:
        return meta, f"attestation: {exc}"
    try:
        signed_root = parse_signed_root(raw["signed_root"]) if "signed_root" in raw else None
    except ZkMarginError as exc:
        return meta, f"signed_root: {exc}"
    return meta, ParsedItem(header, encoded, attestation, signed_root)


def _field(raw: dict, name: str, default: int | None) -> int:
    # The service's parse, so that a number written two ways is one value (and counted as one).
    if name not in raw:
        if default is not None:
            return default
        raise ZkMarginError(f"{name}: missing")
    return canonical_field_element(raw[name], name)


def _field_option(text: str | None, what: str) -> int | None:
    try:
        return None if text is None else canonical_field_element(text, what)
    except ZkMarginError as exc:
        raise CliError(str(exc)) from None


VERIFY_CHUNK = 1000
"""Proofs per verify-batch task: one weighted pairing check of ~1,000 proofs costs about a second."""


def _formats(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    # --format json,csv and --format json --format csv mean the same; none writes no file.
    chosen = [name.strip().lower() for value in values for name in value.split(",") if name.strip()]
    unknown = sorted(set(chosen) - {*REPORT_FORMATS, "none"})
    if unknown or not chosen:
        raise click.BadParameter(f"{unknown[0] if unknown else '(empty)'!r} is not one of "
                                 f"{', '.join(REPORT_FORMATS)} or none")
    if "none" in chosen and len(set(chosen)) > 1:
        raise click.BadParameter("none writes no report file: give it alone")
    return tuple(name for name in REPORT_FORMATS if name in chosen)


@click.command("verify-batch")
@click.argument("input_path", metavar="PATH", type=click.Path(path_type=Path))
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Verification key (snarkjs JSON).")
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The snapshot every proof is checked against.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("batch-report"),
              show_default=True, help="Where the report files (report.json, report.csv, report.html) go.")
@click.option("--format", "formats", multiple=True, default=REPORT_FORMATS, show_default=True,
              callback=_formats, metavar="json,csv,html|none",
              help="Which report files to write (comma-separated or repeated); none writes none.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Spread decoding and pairing checks over this Dask scheduler's workers, in chunks.")
@click.option("--root", "root_text", default=None,
              help="Membership circuits: the one root the verifier trusts (from the venue itself); every item must "
                   "name it. Without it, --venue-key is needed and each item carries the venue's signed root.")
@click.option("--scope", "scope_text", default=None,
              help="Membership circuits: the scope the auditor counts nullifiers in; items may leave it out, and "
                   "an item naming another scope is refused.")
@venue_key_option
@digest_option
@circuit_option
@json_option
@click.pass_context
def verify_batch_command(ctx: click.Context, input_path: Path, vk_path: Path, snapshot_path: Path,
                         report_dir: Path, formats: tuple[str, ...], scheduler: str | None, root_text: str | None,
                         scope_text: str | None, venue_key_path: Path | None, vk_digest_text: str | None,
                         circuit_id: str, as_json: bool) -> None:
    """Verify a batch of proofs (JSON Lines file or directory) in one pairing check.

    Every item gets one outcome: valid, invalid, refused, malformed or duplicate (the same public
    inputs and proof as an earlier item). Exit 0 all valid (duplicates allowed), 1 any proof invalid
    or refused (--venue-key: not attested; --root, --scope: another root or scope), 2 bad input
    (including malformed items when no proof is invalid or refused).
    """
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    for option, given in (("--root", root_text), ("--scope", scope_text)):
        if given is not None and not circuit.is_membership:
            raise CliError(f"{option}: {circuit.circuit_id} is not a membership circuit (ids end in -m<depth>)")
    if circuit.is_membership and root_text is None and venue_key_path is None:
        raise CliError(f"{circuit.circuit_id} is a membership circuit: pass --root (the root you trust) or "
                       "--venue-key (items then carry the venue's signed root); a root taken from the items "
                       "alone could be a tree the prover built")
    trusted_root = _field_option(root_text, "--root")
    scope = _field_option(scope_text, "--scope")
    expected_digest = parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None
    vk = read_verifying_key(vk_path, backend, expected_digest)
    try:
        check_key_fits(circuit, vk)
    except ZkMarginError as exc:
        raise CliError(f"{vk_path}: {exc}") from None
    venue_key = read_venue_key(venue_key_path) if venue_key_path is not None else None
    snapshot = load_snapshot(snapshot_path)
    # A bar only for someone watching: never in --json output's company, never into a pipe or log.
    show_progress = not as_json and _is_terminal(sys.stderr)
    started = time.perf_counter()
    raw_items = read_items(input_path, show_progress)
    mixed = sorted({str(r["snapshot_id"]) for _, r in raw_items if isinstance(r, dict) and "snapshot_id" in r}
                   - {snapshot.snapshot_id})
    if mixed:
        raise CliError(f"mixed snapshots: items name {', '.join(mixed)} but --snapshot is {snapshot.snapshot_id}; "
                       "verify each snapshot's proofs in its own batch")
    if not raw_items:
        raise CliError(f"the batch {input_path} is empty: no items to verify")
    verifier = SnapshotVerifier(circuit, vk, snapshot, backend, venue_key, root=trusted_root, scope=scope)
    parsed = [parse_item(item, circuit.is_membership, scope) for item in raw_items]
    metas = [meta for meta, _ in parsed]
    items = [ProofItem(error=fields, label=meta["id"]) if isinstance(fields, str)
             else fields.proof_item(None, meta["id"], circuit.is_membership) for meta, fields in parsed]
    read_s = time.perf_counter() - started
    if scheduler is not None:
        from zkmargin.venue.cluster import dask_client

        with dask_client(scheduler) as client, click.progressbar(
                length=len(items), label="verifying on the cluster", file=sys.stderr,
                hidden=not show_progress) as bar:
            report = verifier.verify_on_cluster(client, items, chunk_size=VERIFY_CHUNK, on_chunk=bar.update)
    else:
        with click.progressbar(length=len(items), label="decoding proofs", file=sys.stderr,
                               hidden=not show_progress) as bar:
            report = verifier.verify_batch(items, decode_workers=None, on_decoded=bar.update)
    # On a cluster decoding and checks overlap in the workers: all of it counts as verifying there.
    decode_s = read_s + (report.decode_s if scheduler is None else 0.0)
    verify_s = time.perf_counter() - started - decode_s
    outcome = summarize_batch(circuit, report, [None if isinstance(f, str) else f.header for _, f in parsed],
                              [verdict.proof_bytes for verdict in report.verdicts])
    rows = report_rows(circuit, report, outcome, metas)
    counts = outcome.counts
    timings_s = {"decode": decode_s, "verify": verify_s, "total": time.perf_counter() - started}
    summary = summary_document(circuit, snapshot, report, outcome, attestations_required=venue_key is not None,
                               scope=scope, timings_s=timings_s)
    ids = outcome_ids(circuit, outcome)
    paths = write_reports(report_dir, summary, rows, formats)
    emit(as_json,
         {**{k: v for k, v in summary.items() if k != "snapshot"}, **ids, "reports": [str(p) for p in paths]},
         summary_text(summary, outcome, rows, paths))
    # An invalid or refused proof answers "no" (1); malformed items alone mean bad input (2): nothing was decided.
    if counts["invalid"] or counts["refused"]:
        raise SystemExit(EXIT_NO)
    if counts["malformed"]:
        raise SystemExit(EXIT_ERROR)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


SHOWN_IDS = 20


def _ids(ids: list[str]) -> str:
    # A terminal line per outcome stays readable for thousands of items; --json and report.json list every id.
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more (all in --json)" if len(ids) > SHOWN_IDS else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_text(summary: dict, outcome: BatchSummary, rows: list[dict], paths: list[Path]) -> str:
    """The terminal summary: one count per outcome (they add up to the total), then each outcome's ids."""
    counts = outcome.counts
    where = f"reports: {', '.join(str(p) for p in paths)}" if paths else "no report files"
    lines = [f"{counts['valid']}/{summary['total']} valid, {counts['invalid']} invalid, {counts['refused']} refused, "
             f"{counts['malformed']} malformed, {_plural(counts['duplicate'], 'duplicate')} "
             f"({summary['pairing_checks']} pairing checks, {summary['timings_s']['total']:.2f} s); {where}"]
    detail = {"invalid": lambda r: r["id"], "refused": lambda r: f"{r['id']} ({r['refused']})",
              "malformed": lambda r: f"{r['id']} ({r['error']})",
              "duplicate": lambda r: f"{r['id']} = {r['duplicate_of']}"}
    headings = {"invalid": "invalid", "refused": "refused", "malformed": "malformed",
                "duplicate": "duplicates (the same public inputs and proof as an earlier item)"}
    for name, heading in headings.items():
        listed = [detail[name](r) for r in rows if r["outcome"] == name]
        if listed:
            lines.append(f"{heading}: {_ids(listed)}")
    if outcome.repeated_nullifier_ids:
        lines.append(f"repeated nullifiers (an account proving again in its scope): "
                     f"{_ids(outcome.repeated_nullifier_ids)}")
    return "\n".join(lines)
