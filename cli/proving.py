"""Key and proof commands: setup, prove, verify, inspect."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import click

from zkmargin.circuits.proving import parse_field_element, prepare_proof, prove_prepared
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import SnapshotVerifier
from zkmargin.cli.inputs import (
    account_argument,
    attestation_option,
    circuit_option,
    load_account_for,
    load_identity_secret,
    load_opening,
    read_attestation,
    read_proof,
    read_signed_root,
    read_venue_key,
    signed_root_option,
    snapshot_argument,
    venue_key_option,
)
from zkmargin.cli.keystore import (
    KeyStore,
    digest_option,
    ensure_keys,
    keystore,
    parse_digest,
    prove_account_with_zkey,
    proving_message,
    read_verifying_key,
)
from zkmargin.cli.output import (
    EXIT_NO,
    CliError,
    emit,
    json_option,
    note,
    read_json_documents,
    step,
    write_json,
)
from zkmargin.errors import AttestationError, EncodingError, MalformedAttestationError
from zkmargin.gadgets.merkle import identity_commitment, member_leaf
from zkmargin.groth16.r1cs_to_qap import domain_log_size
from zkmargin.groth16.serialization import (
    proof_to_bytes,
    proof_to_json,
    public_inputs_to_json,
    vk_digest,
)
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.attestation import (
    check_attestation,
    check_membership,
    snapshot_digest,
)
from zkmargin.venue.tree import MerklePath, parse_merkle_path


def read_member_path(path: Path, leaf: int) -> MerklePath:
    """The account's Merkle path: a path document, or the line of `venue tree`'s paths.jsonl whose leaf is this
    account's (its commitment under its identity; matched by leaf: the account ids in paths.jsonl are labels
    nobody signed)."""
    docs = read_json_documents(path, "Merkle path")
    try:
        paths = [parse_merkle_path(doc) for doc in docs]
    except EncodingError as exc:
        raise CliError(f"Merkle path file {path}: {exc}") from None
    for candidate in paths:
        if candidate.leaf == leaf:
            return candidate
    raise CliError(f"Merkle path file {path} has no path for this account's leaf {leaf} (was the tree built "
                   "from another commit, or with another identity than --identity's?)")


def member_circuit_id(circuit_id: str, depth: int, wanted_depth: int | None) -> str:
    """The membership circuit id for an opening's circuit and a path's depth; CliError when they disagree."""
    if wanted_depth is not None and wanted_depth != depth:
        raise CliError(f"--depth {wanted_depth} but the Merkle path is for a depth-{depth} tree")
    statement = circuit_from_id(circuit_id).statement
    inner_id = getattr(statement, "inner", statement).circuit_id
    if inner_id != circuit_id and circuit_id != f"{inner_id}-m{depth}":
        raise CliError(f"the opening is for {circuit_id} but the Merkle path is for a depth-{depth} tree")
    return f"{inner_id}-m{depth}"


@click.command()
@circuit_option
@click.option("--force", is_flag=True, help="Regenerate keys even if cached.")
@json_option
@click.pass_context
def setup(ctx: click.Context, circuit_id: str, force: bool, as_json: bool) -> None:
    """Verifier side: make a circuit's key bundle (proving key, verification key, its digest) in the key cache."""
    store = keystore(ctx, circuit_id)
    started = time.perf_counter()
    made = ensure_keys(ctx, store, force)
    digest = store.recorded_digest()
    emit(
        as_json,
        {
            "circuit_id": store.circuit.circuit_id,
            "keys": "new" if made else "cached",
            "bundle": str(store.directory),
            "proving_key": str(store.proving_key_path),
            "verification_key": str(store.verification_key_path),
            "vk_digest": digest,
            "seconds": round(time.perf_counter() - started, 3),
        },
        f"{'new keys made' if made else 'cached keys found (not regenerated; --force makes new ones)'} "
        f"for {store.circuit.circuit_id}\n"
        f"key bundle:       {store.directory}\n"
        f"verification key: {store.verification_key_path}\n"
        f"proving key:      {store.proving_key_path}\n"
        f"vk digest:        {digest}",
    )


@click.command()
@account_argument
@snapshot_argument
@click.option("--opening", "opening_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Opening written by `zkmargin commit`; the circuit (model and capacity) is the one recorded there.")
@click.option("--context", "context_text", required=True,
              help="The verifier's challenge or epoch, a field element (decimal or 0x-hex).")
@click.option("--keys", "bundle_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The venue's key bundle directory (default: <cache-dir>/<circuit id>).")
@digest_option
@click.option("--out", "proof_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("proof.json"),
              show_default=True, help="Proof file (snarkjs JSON).")
@click.option("--public-out", "public_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("public.json"), show_default=True, help="Public inputs (snarkjs public.json).")
@click.option("--zkey", "zkey_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Prove with the final .zkey of a ceremony (snarkjs's H convention) instead of cached keys.")
@attestation_option
@click.option("--venue-key", "venue_key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The venue's public key document, to check --attestation's (or --signed-root's) signature.")
@click.option("--path", "member_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Membership mode: the account's Merkle path (a path document, or paths.jsonl of "
                   "`zkmargin venue tree`); proves the commitment is a leaf under the venue's root without "
                   "revealing it. The circuit is the opening's with -m<depth> appended.")
@click.option("--scope", "scope_text", default=None,
              help="Membership mode: the verifier's scope, a field element; public.json then holds "
                   "root, context, scope, nullifier.")
@click.option("--depth", type=click.IntRange(1, 32), default=None,
              help="Membership mode: the tree depth the verifier expects (must match the path's).")
@click.option("--identity", "identity_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Membership mode: the identity secret file (from `zkmargin account new-identity`) whose "
                   "identity the venue bound into the tree; the nullifier is Poseidon(secret, scope).")
@signed_root_option
@json_option
@click.pass_context
def prove(ctx: click.Context, account_path: Path, snapshot_path: Path, opening_path: Path, context_text: str,
          bundle_dir: Path | None, vk_digest_text: str | None, proof_path: Path, public_path: Path,
          zkey_path: Path | None, attestation_path: Path | None, venue_key_path: Path | None,
          member_path: Path | None, scope_text: str | None, depth: int | None, identity_path: Path | None,
          signed_root_path: Path | None, as_json: bool) -> None:
    """Prove ACCOUNT is not subject to a margin call under SNAPSHOT (exit 1, no proof, if it is).

    Never makes keys: missing or mismatched keys are an error (exit 2) and nothing is written.
    With --attestation (and --venue-key), the attestation must vouch for this account's commitment
    under SNAPSHOT before anything is proved (exit 1 with the reason, nothing written).
    With --path and --scope (membership mode), the proof shows the commitment is a leaf under the path's
    root; with --signed-root (and --venue-key), that root must be the venue's for SNAPSHOT.
    """
    membership = member_path is not None
    if membership and scope_text is None or scope_text is not None and not membership:
        raise CliError("--path and --scope go together (membership mode): the scope is the verifier's")
    if not membership and (depth is not None or signed_root_path is not None or identity_path is not None):
        raise CliError("--depth, --identity and --signed-root are for membership mode: pass --path and --scope too")
    if membership and identity_path is None:
        raise CliError("membership mode needs --identity: the identity secret file whose identity the venue put "
                       "in the tree (`zkmargin account new-identity`)")
    if membership and attestation_path is not None:
        raise CliError("--attestation vouches for a named commitment; in membership mode pass --signed-root")
    if (venue_key_path is not None) != (attestation_path is not None or signed_root_path is not None):
        raise CliError("--attestation (or --signed-root) and --venue-key go together: the signature is checked "
                       "against the venue's public key")
    opening = load_opening(opening_path)
    scope = parse_field_element(scope_text, "--scope") if scope_text is not None else None
    secret = load_identity_secret(identity_path) if identity_path is not None else None
    path = None
    if member_path is not None and secret is not None:
        path = read_member_path(member_path, member_leaf(opening["commitment"], identity_commitment(secret)))
    circuit_id = opening["circuit_id"]
    if path is not None:
        circuit_id = member_circuit_id(circuit_id, path.depth, depth)
    elif circuit_from_id(circuit_id).is_membership:
        raise CliError(f"the opening is for {circuit_id}, a membership circuit: pass --path and --scope")
    store = keystore(ctx, circuit_id, bundle_dir)
    expected_digest = parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None
    circuit = store.circuit
    snapshot = load_snapshot(snapshot_path)
    account = load_account_for(account_path, snapshot)
    context = parse_field_element(context_text, "--context")

    def refusals() -> None:
        """The venue's attestation or signed root, checked once the opening fits (exit 1 with the reason)."""
        if attestation_path is not None and venue_key_path is not None:
            attestation = read_attestation(attestation_path)
            try:
                check_attestation(attestation, read_venue_key(venue_key_path), snapshot_digest(snapshot),
                                  opening["commitment"], account.account_id)
            except MalformedAttestationError:
                raise
            except AttestationError as exc:
                emit(as_json, {"proved": False, "reason": str(exc)}, f"REFUSED: the attestation does not fit: {exc}")
                raise SystemExit(EXIT_NO) from None
        if signed_root_path is not None and venue_key_path is not None and path is not None:
            try:
                check_membership(read_signed_root(signed_root_path), path, read_venue_key(venue_key_path),
                                 snapshot_digest(snapshot))
            except MalformedAttestationError:
                raise
            except AttestationError as exc:
                emit(as_json, {"proved": False, "reason": str(exc)}, f"REFUSED: the signed root does not fit: {exc}")
                raise SystemExit(EXIT_NO) from None
        if path is not None and not path.verify():
            raise CliError(f"the Merkle path in {member_path} does not lead from this commitment to its root")

    # Opening, refusals and health, and the witness built once, before the (large) proving key is read: the
    # answer does not depend on it.
    public, witness = prepare_proof(circuit, account, snapshot, opening["salt"], context, path, scope, secret,
                                    commitment=opening["commitment"], checks=refusals)
    backend = ctx.obj.backend
    timings: dict[str, float] = {}
    if zkey_path is not None:
        proof, elapsed, digest = prove_account_with_zkey(circuit, zkey_path, public, witness, backend,
                                                         expected_digest, ctx.obj.cache_dir)
    else:
        if not store.exists():
            raise store.missing_keys_error()
        with step(f"loading the {circuit.circuit_id} key bundle from {store.directory}"):
            pk = store.load_proving_key(backend, expected_digest)
        with step(proving_message(circuit.circuit_id)) as elapsed:
            proof = prove_prepared(circuit, pk, public, witness, backend, timings)
        digest = store.recorded_digest()
    if expected_digest is None:
        note(f"warning: the keys are not pinned: pass --vk-digest with the digest the venue published (these keys' "
             f"is {digest}), so that a swapped key bundle is refused before proving")
    write_json(proof_path, proof_to_json(proof, backend))
    write_json(public_path, public_inputs_to_json(public.as_list()))
    emit(
        as_json,
        {
            "proof": str(proof_path),
            "public": str(public_path),
            "circuit_id": circuit.circuit_id,
            "vk_digest": digest,
            "proof_b64": base64.b64encode(proof_to_bytes(proof, backend)).decode(),
            **({"root": str(public.commitment), "scope": str(public.extra[0]), "nullifier": str(public.extra[1])}
               if path is not None else {"commitment": str(public.commitment)}),
            "context": str(context),
            "seconds": round(elapsed["seconds"], 3),
            "timings": {k: round(v, 4) for k, v in timings.items()},
        },
        f"proof for {circuit.circuit_id} written to {proof_path}, public inputs to {public_path}",
    )


WRONG_CIRCUIT_HINT = ("a proof made for another model or capacity is INVALID too: the prover's circuit id is in its "
                      "opening and in `zkmargin prove --json` output")


@click.command()
@click.argument("proof_path", metavar="PROOF", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The snapshot YOU trust: prices and rates come from here, never from the prover.")
@click.option("--commitment", "commitment_text", default=None,
              help="The account commitment the venue attested (named mode: circuits without -m<depth>).")
@click.option("--context", "context_text", required=True, help="The challenge or epoch you issued.")
@click.option("--root", "root_text", default=None,
              help="Membership mode (-m<depth> circuits): the venue's Merkle root (or give --signed-root).")
@click.option("--scope", "scope_text", default=None, help="Membership mode: the scope you chose.")
@click.option("--nullifier", "nullifier_text", default=None,
              help="Membership mode: the prover's nullifier (public.json's fourth value).")
@signed_root_option
@click.option("--vk", "vk_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verification key (default: the cached key of --circuit).")
@venue_key_option
@attestation_option
@digest_option
@circuit_option
@json_option
@click.pass_context
def verify(ctx: click.Context, proof_path: Path, snapshot_path: Path, commitment_text: str | None, context_text: str,
           root_text: str | None, scope_text: str | None, nullifier_text: str | None, signed_root_path: Path | None,
           vk_path: Path | None, venue_key_path: Path | None, attestation_path: Path | None,
           vk_digest_text: str | None, circuit_id: str, as_json: bool) -> None:
    """Verify PROOF against your snapshot, commitment and context (exit 0 valid, 1 invalid, 2 error).

    With --venue-key the proof is accepted only with --attestation, the venue's signature over this
    commitment for SNAPSHOT; a missing or non-matching attestation is refused (exit 1, with the reason).
    Membership circuits (ids ending in -m<depth>) take --root (or --signed-root), --scope and --nullifier
    instead of --commitment; with --venue-key the root must be the venue's signed root for SNAPSHOT.
    """
    circuit = circuit_from_id(circuit_id)
    if attestation_path is not None and venue_key_path is None:
        raise CliError("--attestation is checked against the venue's public key: pass --venue-key too")
    if signed_root_path is not None and venue_key_path is None:
        raise CliError("--signed-root is checked against the venue's public key: pass --venue-key too")
    member_options = {"--root": root_text, "--scope": scope_text, "--nullifier": nullifier_text,
                      "--signed-root": signed_root_path}
    if circuit.is_membership:
        if commitment_text is not None or attestation_path is not None:
            raise CliError(f"{circuit.circuit_id} is a membership circuit: it takes --root (or --signed-root), "
                           "--scope and --nullifier, not --commitment or --attestation")
        missing = [name for name in ("--scope", "--nullifier") if member_options[name] is None]
        if root_text is None and signed_root_path is None:
            missing.insert(0, "--root (or --signed-root)")
        if missing:
            raise CliError(f"{circuit.circuit_id} is a membership circuit: pass {', '.join(missing)}")
    else:
        given = [name for name, value in member_options.items() if value is not None]
        if given:
            raise CliError(f"{', '.join(given)}: membership options, but {circuit.circuit_id} is not a membership "
                           "circuit (pass --circuit <id>-m<depth>)")
        if commitment_text is None:
            raise CliError("pass --commitment (the account commitment the proof opens)")
    backend = ctx.obj.backend
    expected_digest = parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None
    if vk_path is None:
        vk_path = KeyStore(ctx.obj.cache_dir, circuit).verification_key_path
        if not vk_path.exists():
            if circuit.is_membership:
                # The prover used the venue's keys: keys of the verifier's own would make every proof INVALID.
                raise CliError(f"no cached verification key for {circuit.circuit_id}; pass --vk with "
                               f"verification_key.json from the venue's {circuit.circuit_id} key bundle (the keys "
                               "its provers use), and --vk-digest with the digest the venue published")
            raise CliError(f"no cached verification key for {circuit.circuit_id}; pass --vk with the venue's key "
                           f"or make keys with `zkmargin setup --circuit {circuit.circuit_id}`")
    vk = read_verifying_key(vk_path, backend, expected_digest)
    context = parse_field_element(context_text, "--context")
    signed_root = read_signed_root(signed_root_path) if signed_root_path is not None else None
    if circuit.is_membership:
        root = parse_field_element(root_text, "--root") if root_text is not None else None
        if signed_root is not None and root is not None and signed_root.root != root:
            raise CliError(f"--root {root} is not the root in {signed_root_path} ({signed_root.root})")
        header = (root if root is not None else signed_root.root if signed_root is not None else 0,
                  parse_field_element(scope_text or "", "--scope"),
                  parse_field_element(nullifier_text or "", "--nullifier"))
    else:
        commitment = parse_field_element(commitment_text or "", "--commitment")
    proof = read_proof(proof_path, backend)
    venue_key = read_venue_key(venue_key_path) if venue_key_path is not None else None
    attestation = read_attestation(attestation_path) if attestation_path is not None else None
    snapshot = load_snapshot(snapshot_path)
    started = time.perf_counter()
    # Only --root is the verifier's own root; a root read from --signed-root counts only under --venue-key.
    verifier = SnapshotVerifier(circuit, vk, snapshot, backend, venue_key,
                                root=root if circuit.is_membership else None)
    try:
        if circuit.is_membership:
            valid = verifier.verify_member(header[0], context, header[1], header[2], proof, signed_root)
        else:
            valid = verifier.verify(commitment, context, proof, attestation)
    except MalformedAttestationError:
        raise
    except AttestationError as exc:
        emit(as_json, {"valid": False, "refused": str(exc), "circuit_id": circuit.circuit_id,
                       "snapshot_id": snapshot.snapshot_id},
             f"REFUSED: {exc}")
        raise SystemExit(EXIT_NO) from None
    seconds = time.perf_counter() - started
    signed = (signed_root if circuit.is_membership else attestation) is not None and venue_key is not None
    emit(
        as_json,
        {"valid": valid, "circuit_id": circuit.circuit_id, "snapshot_id": snapshot.snapshot_id,
         "vk_digest": vk_digest(vk, backend), "seconds": round(seconds, 4),
         **({"mode": "membership", "root_signed": signed, "nullifier": str(header[2])} if circuit.is_membership
            else {"attested": signed})},
        ("OK: an account of the venue's root is not subject to a margin call" if circuit.is_membership
         else "OK: the account is not subject to a margin call") if valid
        else f"INVALID proof (checked as {circuit.circuit_id}; {WRONG_CIRCUIT_HINT})",
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
        "sizes": circuit.sizes,
        "public_input_names": list(compiled.public_names),
    }
    text = (
        f"circuit:       {circuit.circuit_id}\n"
        f"sizes:         {', '.join(f'{symbol} = {value}' for symbol, value in circuit.sizes.items())}\n"
        f"constraints:   {compiled.num_constraints}\n"
        f"public inputs: {compiled.num_public}\n"
        f"variables:     {compiled.num_variables}\n"
        f"domain:        2^{log_n}"
    )
    if names:
        text += "\n" + "\n".join(f"  [{i}] {name}" for i, name in enumerate(compiled.public_names))
    emit(as_json, payload, text)
