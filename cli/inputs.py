"""Shared click options and readers of the CLI: every command module imports them from here, never from another
command module (tests/test_layout.py checks it)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from zkmargin.circuits.registry import DEFAULT_CIRCUIT_ID, MODEL_NAMES, get_model
from zkmargin.cli.output import CliError, note, read_bytes, read_json
from zkmargin.errors import EncodingError, FormatError, MalformedAttestationError
from zkmargin.gadgets.merkle import check_identity_secret, identity_commitment
from zkmargin.groth16.serialization import PROOF_SIZE_BYTES, proof_from_bytes, proof_from_json
from zkmargin.margin.commitment import OPENING_FORMAT
from zkmargin.margin.models import Account, Snapshot, load_account, validate_account_against_snapshot
from zkmargin.venue.attestation import (
    Attestation,
    SignedRoot,
    VenuePublicKey,
    VenueSigningKey,
    parse_attestation,
    parse_public_key,
    parse_signed_root,
)
from zkmargin.venue.identity_registry import IdentityRegistry

account_argument = click.argument("account_path", metavar="ACCOUNT", type=click.Path(path_type=Path))


snapshot_argument = click.argument("snapshot_path", metavar="SNAPSHOT", type=click.Path(path_type=Path))


def load_account_for(account_path: Path, snapshot: Snapshot) -> Account:
    """The account file, checked against the snapshot: an unknown asset or instrument names the account's file."""
    account = load_account(account_path)
    try:
        validate_account_against_snapshot(account, snapshot)
    except FormatError as exc:
        raise FormatError(f"account {account_path}: {exc}") from None
    return account


def circuit_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--circuit <model>-n<N>-k<K> and --model <model>, merged into one circuit_id argument."""

    @functools.wraps(command)
    def merged(*args: Any, circuit_id: str, model: str | None, **kwargs: Any) -> Any:
        if model is not None:
            base, member, depth = circuit_id.rpartition("-m")
            if not (member and depth.isdigit()):
                base, depth = circuit_id, ""
            _, _, capacity = base.partition("-")
            capacity = capacity.split("-t")[0].split("-s")[0]
            circuit_id = get_model(model).circuit_id(capacity) + (f"-m{depth}" if depth else "")
        return command(*args, circuit_id=circuit_id, **kwargs)

    merged = click.option("--model", type=click.Choice(MODEL_NAMES), default=None,
                          help="Margin model (overrides the model part of --circuit).")(merged)
    return click.option(
        "--circuit", "circuit_id", default=DEFAULT_CIRCUIT_ID, show_default=True,
        help="Statement and capacity: <model>-n<positions>-k<collateral assets> (tiered: -t<brackets>, var/es: "
             "-s<scenarios>), plus -m<depth> for membership mode.",
    )(merged)


venue_key_option = click.option(
    "--venue-key", "venue_key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The venue's public key document (zkmargin-venue-public-key/1): accept only proofs whose commitment "
         "the venue attested for this snapshot.")


attestation_option = click.option(
    "--attestation", "attestation_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The venue's attestation of the commitment (zkmargin-attestation/1, from `zkmargin venue attest`).")


def read_venue_key(path: Path) -> VenuePublicKey:
    """A venue public key file; a malformed one is bad input (exit 2) naming the file."""
    try:
        return parse_public_key(read_json(path, "venue public key"))
    except MalformedAttestationError as exc:
        raise CliError(f"venue public key {path}: {exc}") from None


def read_attestation(path: Path) -> Attestation:
    """An attestation file; a malformed one is bad input (exit 2) naming the file."""
    try:
        return parse_attestation(read_json(path, "attestation"))
    except MalformedAttestationError as exc:
        raise CliError(f"attestation {path}: {exc}") from None


signed_root_option = click.option(
    "--signed-root", "signed_root_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Membership mode: the venue's signed root (zkmargin-signed-root/1, root.json of `zkmargin venue tree`), "
         "checked against --venue-key.")


def read_signed_root(path: Path) -> SignedRoot:
    """A signed root file; a malformed one is bad input (exit 2) naming the file."""
    try:
        return parse_signed_root(read_json(path, "signed root"))
    except MalformedAttestationError as exc:
        raise CliError(f"signed root {path}: {exc}") from None


def read_proof(path: Path, backend: Any) -> Any:
    """A proof file: snarkjs JSON, or the 192-byte binary form; errors name the file."""
    data = read_bytes(path, "proof")
    if not data.strip():
        raise CliError(f"proof file {path} is empty")
    try:
        if len(data) == PROOF_SIZE_BYTES and not data.lstrip().startswith(b"{"):
            return proof_from_bytes(data, backend)
        return proof_from_json(data, backend)
    except EncodingError as exc:
        raise CliError(f"proof file {path}: {exc}") from None


identities_option = click.option(
    "--identities", "registry_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
    help="The venue's identity registry (JSON, created when missing), shared by every `venue tree` and "
         "`venue run`: an account's identity is recorded the first time it is seen, and another identity for it "
         "(or its identity for another account) is refused in every later snapshot. Without it identities are "
         "not checked across snapshots (a warning says so).")


def open_identity_registry(path: Path | None, venue_name: str) -> IdentityRegistry | None:
    """The --identities registry for venue_name (exit 2 when damaged or another venue's); None, with a warning on
    stderr, without one."""
    if path is None:
        note("warning: no --identities registry: identities are not checked across snapshots (an account handed "
             "in under a new identity would get fresh nullifiers, and count twice in a scope)")
        return None
    return IdentityRegistry.load(path, venue_name)


def save_identity_registry(registry: IdentityRegistry | None) -> int | None:
    """Record the registry's new accounts (IdentityRegistryError, exit 2, when another command recorded a
    conflicting one meanwhile); how many, or None without a registry."""
    if registry is None:
        return None
    recorded = registry.save()
    note(f"identity registry {registry.path}: {recorded} new accounts recorded")
    return recorded


def load_signing_key(path: Path) -> VenueSigningKey:
    """A venue's private key (PEM); a missing or malformed one is bad input (exit 2) naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"key file not found: {path}") from None
    try:
        return VenueSigningKey.from_pem(data)
    except MalformedAttestationError as exc:
        raise CliError(f"key {path}: {exc}") from None


IDENTITY_FORMAT = "zkmargin-identity/1"


def load_opening(path: Path) -> dict:
    """Read and check an opening file written by `zkmargin commit`."""
    from zkmargin.circuits.proving import parse_field_element
    from zkmargin.cli.output import CliError, read_json

    opening = read_json(path, "opening")
    if not isinstance(opening, dict) or opening.get("format") != OPENING_FORMAT:
        raise CliError(f"{path} is not a zkmargin opening (format {OPENING_FORMAT})")
    for key in ("circuit_id", "commitment", "salt"):
        if not isinstance(opening.get(key), str):
            raise CliError(f"opening {path}: missing or non-string {key!r}")
    opening["commitment"] = parse_field_element(opening["commitment"], "opening commitment")
    opening["salt"] = parse_field_element(opening["salt"], "opening salt")
    return opening


def load_identity_secret(path: Path) -> int:
    """The secret of an identity file written by `zkmargin account new-identity`; CliError when it is not one."""
    from zkmargin.circuits.proving import parse_field_element
    from zkmargin.cli.output import CliError, read_json

    doc = read_json(path, "identity secret")
    if not isinstance(doc, dict) or doc.get("format") != IDENTITY_FORMAT or not isinstance(doc.get("secret"), str):
        raise CliError(f"{path} is not a zkmargin identity secret file (format {IDENTITY_FORMAT})")
    secret = parse_field_element(doc["secret"], "identity secret")
    try:
        check_identity_secret(secret)
    except EncodingError as exc:
        raise CliError(f"{path}: {exc}") from None
    if "identity" in doc and doc["identity"] != str(identity_commitment(secret)):
        raise CliError(f"identity secret {path}: its identity is not the secret's (the file was altered)")
    return secret
