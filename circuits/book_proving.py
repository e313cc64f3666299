"""Prove a batch of the book, verify every batch proof and the top, and check a trader's own leaf.

The top (levels batch_depth + 1 .. depth) is not a proof: the verifier recomputes it from the
batch proofs' public roots and sums (2^(depth - b) - 1 hashes, cheaper than verifying one more
proof, with nothing left to trust). Each batch proof binds its place through its context
(zkmargin.book.batches.batch_context), so a batch moved, repeated or taken from another
snapshot is refused by name.

Every leaf is tied to the venue's attested set: each batch proof makes public the venue tree's
node over its slots (attested_root), and verify_book folds them at their indices with the venue
tree's empty nodes up to the venue tree's depth and requires the venue's signed root (the venue
run's root.json, which the book carries), checked with the venue's key for this venue and snapshot.
So the book's leaves are, slot for slot, the accounts the venue attested to its traders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zkmargin.book.batches import attested_batch_root, attested_top, batch_context, batch_node, top_node
from zkmargin.book.document import PublishedBatch, PublishedBook
from zkmargin.book.reference import BookSums, account_sums
from zkmargin.book.tree import BookNode, BookPath, leaf_hash
from zkmargin.circuits.book_batch import BookBatchStatement, batch_witness
from zkmargin.circuits.book_sparse import SparseBookBatchStatement
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.parts import SlotValues
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier, Verdict
from zkmargin.errors import CircuitError, EncodingError, ZkMarginError
from zkmargin.margin.models import Account, Snapshot
from zkmargin.venue.attestation import SignedRoot, VenuePublicKey, check_signed_root, snapshot_digest
from zkmargin.venue.tree import MerklePath

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey


BookStatement = BookBatchStatement | SparseBookBatchStatement
"""A book batch statement over dense or sparse cross accounts."""


def book_statement(circuit: Circuit[Any]) -> BookStatement:
    """The batch statement of a book circuit; CircuitError for any other circuit."""
    statement = circuit.statement
    if not isinstance(statement, BookBatchStatement | SparseBookBatchStatement):
        raise CircuitError(f"{circuit.circuit_id} is not a book batch circuit (book-cross-n<N>-k<K>-b<B> or "
                           "book-cross-n<N>-p<P>-k<K>-b<B>)")
    return statement


def account_leaf(circuit: Circuit[Any], account: Account, snapshot: Snapshot, salt: int) -> tuple[int, BookSums]:
    """(commitment, sums) of an account's leaf: its cross commitment under salt and its reference figures."""
    statement = book_statement(circuit)
    return _entry_leaf(statement, statement.entry(account, snapshot, salt), account, snapshot)


def _entry_leaf(statement: BookBatchStatement, entry: SlotValues, account: Account,
                snapshot: Snapshot) -> tuple[int, BookSums]:
    return statement.cross.commitment(entry), account_sums(account, snapshot, statement.n_collateral)


def prove_batch(circuit: Circuit[Any], pk: ProvingKey, snapshot: Snapshot, index: int,
                accounts: Sequence[tuple[Account, int, int]], backend: CurveBackend | None = None
                ) -> tuple[BookNode, int, Proof]:
    """Prove batch `index` over (account, salt, venue-tree identity) in book order: its root (hash and sums), its
    attested root (the venue tree's node over its slots) and the proof."""
    from zkmargin.groth16 import prove

    statement = book_statement(circuit)
    entries = [statement.entry(account, snapshot, salt) for account, salt, _ in accounts]
    # The leaves from the entries the witness uses: each account's cross witness is built once.
    leaves = [_entry_leaf(statement, entry, account, snapshot) for entry, (account, _, _) in zip(entries, accounts)]
    node = batch_node(leaves, statement.batch_depth, statement.n_collateral)
    identities = [identity for _, _, identity in accounts]
    attested = attested_batch_root([(c, i) for (c, _), i in zip(leaves, identities)], statement.batch_depth)
    public = circuit.public_inputs(snapshot, node.hash, batch_context(snapshot, index),
                                   [*node.sums.as_fields(), attested])
    z = circuit.witness_assignment(public, batch_witness(statement, entries, identities))
    return node, attested, prove(pk, circuit.compile(), z, backend=backend)


def batch_leading(snapshot: Snapshot, index: int, root: BookNode, attested_root: int) -> tuple[int, ...]:
    """The leading public inputs of batch `index`'s proof: its root hash, its context, its sums, its attested root."""
    return (root.hash, batch_context(snapshot, index), *root.sums.as_fields(), attested_root)


def batch_verifier(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot,
                   backend: CurveBackend | None = None) -> SnapshotVerifier:
    """The one verdict path's verifier of a book circuit's batch proofs (the snapshot part folded once)."""
    from zkmargin.backends import get_backend

    book_statement(circuit)
    return SnapshotVerifier(circuit, vk, snapshot, backend or get_backend())


def verify_batch(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, index: int, root: BookNode,
                 attested_root: int, proof: Proof, backend: CurveBackend | None = None) -> bool:
    """True iff proof shows batch `index` of this snapshot has this root, these sums and this attested root."""
    return batch_verifier(circuit, vk, snapshot, backend).verify_leading(
        batch_leading(snapshot, index, root, attested_root), proof)


@dataclass(frozen=True)
class BookVerdict:
    """An auditor's verdict on a published book: valid, or the first failing batch (None: the top) and why."""

    valid: bool
    failing_batch: int | None = None
    reason: str = ""


def verify_book(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: PublishedBook,
                venue_key: VenuePublicKey, backend: CurveBackend | None = None) -> BookVerdict:
    """Check the venue's signed root the book carries (with venue_key), every batch proof against the verifier's
    snapshot, then the top root and totals from their outputs and the batches' attested roots against the signed
    root: valid means every leaf is, slot for slot, an account the venue attested, and every attested account is
    a leaf."""
    statement = book_statement(circuit)
    if book.circuit_id != circuit.circuit_id or book.batch_depth != statement.batch_depth:
        return BookVerdict(False, None, f"the book was made with {book.circuit_id}, not {circuit.circuit_id}")
    if book.snapshot_digest != snapshot_digest(snapshot) or book.snapshot_id != snapshot.snapshot_id:
        return BookVerdict(False, None, "the book is of another snapshot than the one given")
    if not book.batches:
        return BookVerdict(False, None, "the book has no batch")
    if not statement.batch_depth <= book.depth or len(book.batches) > 1 << (book.depth - statement.batch_depth):
        # Checked before any pairing: the top over the batch roots (top_node) could not be built.
        return BookVerdict(False, None, f"{len(book.batches)} batches of 2^{statement.batch_depth} accounts do not "
                                        f"fit a book of depth {book.depth}")
    reason = _signed_root_refusal(book, venue_key, snapshot, statement.batch_depth)
    if reason is not None:
        return BookVerdict(False, None, reason)
    for position, batch in enumerate(book.batches):
        if batch.index != position:
            return BookVerdict(False, position, f"batch at position {position} says index {batch.index}: batches "
                                                "are listed once each, in order")
    try:
        failing = _failing_batch(batch_verifier(circuit, vk, snapshot, backend), snapshot, book.batches)
    except ZkMarginError as exc:  # a key or snapshot the circuit cannot take: no batch can be checked
        return BookVerdict(False, None, f"the batches cannot be checked: {exc}")
    if failing is not None:
        return failing
    top = top_node([b.root for b in book.batches], statement.batch_depth, book.depth, statement.n_collateral)
    if top.sums != book.root.sums:
        return BookVerdict(False, None, "the published totals are not the sums of the batches")
    if top.hash != book.root.hash:
        return BookVerdict(False, None, "the published root is not the root over the batch roots")
    signed = book.signed_root
    if signed is not None and signed.leaf_count != book.root.sums.accounts:
        return BookVerdict(False, None, f"the book counts {book.root.sums.accounts} accounts; the venue's signed "
                                        f"root attests {signed.leaf_count}")
    if signed is None or attested_top([b.attested_root for b in book.batches], statement.batch_depth,
                                      signed.depth) != signed.root:
        return BookVerdict(False, None, "the batches' leaves are not the venue's attested accounts: their attested "
                                        "roots do not fold to the venue's signed root (an account dropped, added, "
                                        "repeated, moved or bound to another identity)")
    return BookVerdict(True)


def batch_verdicts(verifier: SnapshotVerifier, snapshot: Snapshot, batches: Sequence[PublishedBatch]) -> list[Verdict]:
    """One verdict per batch, in order: every proof (for its own index, root and sums) in one weighted check with
    the snapshot part folded once, bisected down to the failing ones."""
    items = [ProofItem(leading=batch_leading(snapshot, b.index, b.root, b.attested_root), label=f"batch {b.index}",
                       encoded=b.proof if isinstance(b.proof, dict) else b"") for b in batches]
    return verifier.verify_batch(items).verdicts


def _failing_batch(verifier: SnapshotVerifier, snapshot: Snapshot,
                   batches: Sequence[PublishedBatch]) -> BookVerdict | None:
    failed = [v for v in batch_verdicts(verifier, snapshot, batches) if not v.valid]
    if not failed:
        return None
    first = failed[0]
    reason = first.error or first.refused or "the proof does not verify for its root and sums"
    others = f" (and {len(failed) - 1} more failing batches)" if len(failed) > 1 else ""
    return BookVerdict(False, first.index, f"batch {first.index}: {reason}{others}")


def _signed_root_refusal(book: PublishedBook, venue_key: VenuePublicKey, snapshot: Snapshot,
                         batch_depth: int) -> str | None:
    """Why the book's signed root cannot be the one its leaves are checked against, or None."""
    signed = book.signed_root
    if signed is None:
        return "the book carries no signed root: nothing ties its leaves to the venue's attested accounts"
    try:
        check_signed_root(signed, venue_key, snapshot_digest(snapshot))
    except ZkMarginError as exc:
        return f"the book's signed root is not the venue's for this snapshot: {exc}"
    if batch_depth > signed.depth:
        return (f"batches of 2^{batch_depth} accounts do not fit the venue tree of depth {signed.depth}: the batch "
                "depth must be at most the venue tree's")
    if len(book.batches) > 1 << (signed.depth - batch_depth):
        return f"{len(book.batches)} batches of 2^{batch_depth} accounts do not fit the venue tree of depth {signed.depth}"
    return None


def check_own_leaf(circuit: Circuit[Any], account: Account, snapshot: Snapshot, salt: int, path: BookPath,
                   book_root: BookNode) -> None:
    """Raise EncodingError unless the account's own leaf (its commitment and figures) is under the published root."""
    commitment, sums = account_leaf(circuit, account, snapshot, salt)
    if path.leaf != BookNode(leaf_hash(commitment, sums), sums):
        raise EncodingError("the book's leaf is not this account's: its commitment or figures differ "
                            f"(the book counts {path.leaf.sums}, the account gives {sums})")
    if path.root != book_root:
        raise EncodingError("the path leads to another root than the published book's")
    if not path.verify():
        raise EncodingError("the path does not lead from this account's leaf to the published root and totals")


def check_attested_place(signed_root: SignedRoot | None, membership: MerklePath, book_index: int) -> None:
    """Raise EncodingError unless the trader's membership path (its venue run bundle's) is under the signed root the
    book's leaves are checked against, at the same index as its book leaf: the venue did not check the book against
    another root than the one it gave its traders."""
    if signed_root is None or (membership.root, membership.depth) != (signed_root.root, signed_root.depth):
        raise EncodingError("the book's leaves are checked against another venue root than the one your membership "
                            "path names")
    if membership.index != book_index:
        raise EncodingError(f"your account is leaf {membership.index} of the venue's tree but leaf {book_index} of "
                            "the book")
    if not membership.verify():
        raise EncodingError("your membership path does not lead to the venue's signed root")
