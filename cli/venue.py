"""Venue commands: keygen, sign-snapshot, attest (signed commitments), tree (signed Merkle root + paths), check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from zkmargin.cli.inputs import (
    identities_option,
    load_signing_key,
    open_identity_registry,
    save_identity_registry,
    snapshot_argument,
)
from zkmargin.cli.output import EXIT_NO, CliError, emit, json_option, note, read_json, write_atomic, write_json
from zkmargin.errors import AttestationError, EncodingError, MalformedAttestationError, WrongVenueError
from zkmargin.gadgets.merkle import EMPTY_LEAF
from zkmargin.jsontext import decode_json
from zkmargin.margin.models import Snapshot, load_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    check_attestation,
    check_identifier,
    check_membership,
    check_signed_root,
    parse_attestation,
    parse_field_decimal,
    parse_public_key,
    parse_signed_root,
    public_key_to_json,
    sign_root,
    sign_snapshot,
    signed_root_to_json,
    snapshot_digest,
    snapshot_signature_to_json,
)
from zkmargin.venue.tree import MerklePath, MerkleTree, member_leaves, merkle_path_to_json, parse_merkle_path

DEFAULT_DEPTH = 20

requests_argument = click.argument("requests_path", metavar="REQUESTS", type=click.Path(path_type=Path))
key_option = click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                          help="The venue's private key (PEM, from `zkmargin venue keygen`).")
public_key_option = click.option("--public-key", "public_key_path", required=True,
                                 type=click.Path(dir_okay=False, path_type=Path),
                                 help="The venue's public key document (OUT.pub.json of keygen).")


@click.group()
def venue() -> None:
    """Venue side: signing keys, attested commitments, signed Merkle roots of all commitments."""


@venue.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--venue", "venue_name", required=True, help="The venue's name, as its snapshots spell it.")
@json_option
def keygen(out: Path, venue_name: str, as_json: bool) -> None:
    """Write a new Ed25519 private key to OUT (mode 0600) and its public key document to OUT.pub.json."""
    key = VenueSigningKey.generate()
    public = key.public_key(venue_name)
    public_path = out.with_name(out.name + ".pub.json")
    if public_path.exists():
        raise CliError(f"{public_path} already exists; refusing to overwrite it")
    write_atomic(out, key.to_pem(), mode=0o600, overwrite=False)
    write_json(public_path, public_key_to_json(public), overwrite=False)
    emit(as_json, {"private_key": str(out), "public_key": str(public_path), "venue": public.venue,
                   "key_id": public.key_id},
         f"private key: {out} (keep it secret)\npublic key:  {public_path} (venue {public.venue!r}, id {public.key_id})")


@venue.command("sign-snapshot")
@snapshot_argument
@key_option
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the snapshot signature document.")
@json_option
def sign_snapshot_command(snapshot_path: Path, key_path: Path, out_path: Path, as_json: bool) -> None:
    """Sign {venue, snapshot id, snapshot digest}: the verifier service stores only snapshots signed so."""
    snapshot = load_snapshot(snapshot_path)
    signed = sign_snapshot(load_signing_key(key_path), snapshot)
    write_json(out_path, snapshot_signature_to_json(signed))
    emit(as_json, {"snapshot_id": signed.snapshot_id, "snapshot_digest": signed.snapshot_digest.hex(),
                   "out": str(out_path)}, f"snapshot signature written to {out_path}")


@venue.command("attest")
@snapshot_argument
@click.argument("requests_path", metavar="[REQUESTS]", required=False, type=click.Path(path_type=Path))
@key_option
@click.option("--account-id", default=None, help="One account: its id (with --commitment, instead of REQUESTS).")
@click.option("--commitment", "commitment_text", default=None, help="One account: its commitment (decimal).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the attestation (one account) or one attestation per line (REQUESTS).")
@json_option
def attest_command(snapshot_path: Path, requests_path: Path | None, key_path: Path, account_id: str | None,
                   commitment_text: str | None, out_path: Path, as_json: bool) -> None:
    """Sign {venue, snapshot digest, account id, commitment} for one account or every request in REQUESTS.

    REQUESTS is a JSONL file or a directory of .json files, each an object with account_id and
    commitment (an opening from `zkmargin commit` qualifies; a snapshot_id in it must be SNAPSHOT's).
    Any bad request fails the whole run and nothing is written.
    """
    snapshot = load_snapshot(snapshot_path)
    key = load_signing_key(key_path)
    if (requests_path is None) == (account_id is None and commitment_text is None):
        raise CliError("give REQUESTS, or --account-id and --commitment for one account (not both)")
    if requests_path is None:
        if account_id is None or commitment_text is None:
            raise CliError("one account needs both --account-id and --commitment")
        attestation = attest(key, snapshot, account_id, parse_field_decimal(commitment_text, "--commitment"))
        write_json(out_path, attestation_to_json(attestation))
        emit(as_json, {"attestations": 1, "out": str(out_path)}, f"attestation written to {out_path}")
        return
    requests = _checked_requests(requests_path, snapshot)
    lines = [json.dumps(attestation_to_json(attest(key, snapshot, a, c)), sort_keys=True) for _, a, c, _ in requests]
    write_atomic(out_path, ("\n".join(lines) + "\n").encode())
    emit(as_json, {"attestations": len(lines), "out": str(out_path)},
         f"{len(lines)} attestations written to {out_path}")


@venue.command()
@snapshot_argument
@requests_argument
@key_option
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=click.IntRange(1, 32),
              help="Tree depth: room for 2^depth accounts (24 for 16M).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for root.json (the signed root) and paths.jsonl (one path per account).")
@identities_option
@json_option
def tree(snapshot_path: Path, requests_path: Path, key_path: Path, depth: int, out_dir: Path,
         registry_path: Path | None, as_json: bool) -> None:
    """Build the Poseidon Merkle tree over REQUESTS' accounts, sign its root, write every account's path.

    Each request carries the account's identity (from the trader's `zkmargin account new-identity`);
    its leaf binds the commitment to it. Two accounts with one identity fail the whole run, and so does,
    with --identities, an identity the registry does not hold for that account: nothing is written.
    """
    snapshot = load_snapshot(snapshot_path)
    key = load_signing_key(key_path)
    registry = open_identity_registry(registry_path, snapshot.venue)
    requests = _checked_requests(requests_path, snapshot)
    if len(requests) > 2**depth:
        raise CliError(f"{len(requests)} accounts do not fit a tree of depth {depth}; raise --depth")
    identities = [_identity(where, identity) for where, _, _, identity in requests]
    try:
        leaves = member_leaves([(where, c, k) for (where, _, c, _), k in zip(requests, identities)])
    except EncodingError as exc:
        raise CliError(str(exc)) from None
    if registry is not None:
        for (where, account_id, _, _), identity in zip(requests, identities):
            registry.claim(where, account_id, identity, snapshot.snapshot_id)
    built = MerkleTree(leaves, depth)
    signed = sign_root(key, snapshot, depth, built.size, built.root)
    lines = [json.dumps(merkle_path_to_json(MerklePath(a, leaves[i], i, tuple(built.path(i)), built.root, depth)))
             for i, (_, a, _, _) in enumerate(requests)]
    # Recorded before the root goes out: no published root binds an account the registry has not recorded.
    recorded = save_identity_registry(registry)
    write_atomic(out_dir / "paths.jsonl", ("\n".join(lines) + "\n").encode())
    write_json(out_dir / "root.json", signed_root_to_json(signed))
    emit(as_json, {"accounts": built.size, "depth": depth, "root": str(built.root), "out": str(out_dir),
                   "identities_recorded": recorded},
         f"root {built.root} over {built.size} accounts (depth {depth}); root.json and paths.jsonl in {out_dir}")


@venue.command()
@snapshot_argument
@public_key_option
@click.option("--attestation", "attestation_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An attestation to check (with --commitment).")
@click.option("--commitment", "commitment_text", default=None, help="The commitment the attestation must vouch for.")
@click.option("--root", "root_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A signed root to check (with --path for an account's membership).")
@click.option("--path", "path_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An account's path document (one line of paths.jsonl), checked against --root.")
@json_option
def check(snapshot_path: Path, public_key_path: Path, attestation_path: Path | None, commitment_text: str | None,
          root_path: Path | None, path_path: Path | None, as_json: bool) -> None:
    """Check an attestation, or a signed root (and a path under it), against the venue's key and SNAPSHOT.

    Exit 0 when it holds, 1 when it is refused (wrong venue, snapshot, commitment or signature),
    2 for malformed input.
    """
    snapshot = load_snapshot(snapshot_path)
    public_key = parse_public_key(read_json(public_key_path, "public key"))
    digest = snapshot_digest(snapshot)
    if (attestation_path is None) == (root_path is None):
        raise CliError("give --attestation (with --commitment) or --root (optionally with --path)")
    try:
        if snapshot.venue != public_key.venue:
            raise_wrong_venue(snapshot, public_key.venue)
        if attestation_path is not None:
            if commitment_text is None or path_path is not None:
                raise CliError("--attestation needs --commitment and takes no --path")
            attestation = parse_attestation(read_json(attestation_path, "attestation"))
            check_attestation(attestation, public_key, digest, parse_field_decimal(commitment_text, "--commitment"))
            result = {"valid": True, "kind": "attestation", "account_id": attestation.account_id}
            text = f"OK: venue {public_key.venue!r} attests the commitment of account {attestation.account_id!r}"
        elif root_path is not None:
            if commitment_text is not None:
                raise CliError("--commitment goes with --attestation; a path names its own leaf")
            signed = parse_signed_root(read_json(root_path, "signed root"))
            check_signed_root(signed, public_key, digest)
            result = {"valid": True, "kind": "root", "root": str(signed.root)}
            text = f"OK: venue {public_key.venue!r} signed root {signed.root} over {signed.leaf_count} accounts"
            if path_path is not None:
                path = parse_merkle_path(read_json(path_path, "path"))
                check_membership(signed, path, public_key, digest)
                # A leaf hides the commitment and identity; the path's account_id is the holder's label, never signed.
                result.update({"leaf": str(path.leaf), "index": path.index, "unsigned_account_id": path.account_id})
                text += (f"\nOK: leaf {path.leaf} is leaf {path.index} under it (the path names account "
                         f"{path.account_id!r}; the root does not sign account names)")
    except MalformedAttestationError:
        raise
    except AttestationError as exc:
        emit(as_json, {"valid": False, "reason": str(exc)}, f"REFUSED: {exc}")
        raise SystemExit(EXIT_NO) from None
    emit(as_json, result, text)


def raise_wrong_venue(snapshot: Snapshot, key_venue: str) -> None:
    """The snapshot names another venue than the key's: nothing signed by this key can vouch for it."""
    raise WrongVenueError(f"snapshot {snapshot.snapshot_id!r} is venue {snapshot.venue!r}'s; the key is {key_venue!r}'s")


# ----- inputs -------------------------------------------------------------------------------


def _request_objects(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, decoded JSON) for each line of a JSONL file or each .json file of a directory."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise CliError(f"no .json files in {path}")
        for file in files:
            yield str(file), read_json(file, "request")
        return
    if not path.exists():
        raise CliError(f"requests file not found: {path}")
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{number}", decode_json(line)
            except ValueError as exc:
                raise CliError(f"{path}:{number}: not valid JSON: {exc}") from None


def _identity(where: str, raw: Any) -> int:
    """A request's identity field as a field element; CliError naming the request when missing or malformed."""
    if raw is None:
        raise CliError(f"{where}: no identity (the trader's, from `zkmargin account new-identity`): "
                       "a tree leaf binds the commitment to its owner's identity")
    try:
        return parse_field_decimal(raw, "identity")
    except MalformedAttestationError as exc:
        raise CliError(f"{where}: {exc}") from None


def _checked_requests(path: Path, snapshot: Snapshot) -> list[tuple[str, str, int, Any]]:
    """(where, account_id, commitment, identity field or None) per request; a bad or duplicate one fails the run."""
    requests: list[tuple[str, str, int, Any]] = []
    seen: dict[tuple[str, object], str] = {}
    for where, obj in _request_objects(path):
        if not isinstance(obj, dict) or "account_id" not in obj or "commitment" not in obj:
            raise CliError(f"{where}: expected an object with account_id and commitment")
        if "snapshot_id" in obj and obj["snapshot_id"] != snapshot.snapshot_id:
            raise CliError(f"{where}: committed under snapshot {obj['snapshot_id']!r}, not {snapshot.snapshot_id!r}")
        try:
            commitment = parse_field_decimal(obj["commitment"], "commitment")
            account_id = check_identifier(obj["account_id"], "account_id")
        except MalformedAttestationError as exc:
            raise CliError(f"{where}: {exc}") from None
        if commitment == EMPTY_LEAF:
            raise CliError(f"{where}: commitment 0 is the empty-slot value, never a real commitment")
        for key, value in (("account", account_id), ("commitment", commitment)):
            if (key, value) in seen:
                raise CliError(f"{where}: {key} {value!r} already requested at {seen[key, value]}")
            seen[key, value] = where
        requests.append((where, account_id, commitment, obj.get("identity")))
    if not requests:
        raise CliError(f"no requests in {path}")
    note(f"{len(requests)} requests read from {path}")
    return requests
