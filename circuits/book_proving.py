"""Prove a batch of the book and its top, verify every batch proof and the top, and check a trader's own leaf.

Auditor mode: the verifier recomputes the top (levels batch_depth + 1 .. depth) from the batch
proofs' public roots and sums (2^(depth - b) - 1 hashes, with nothing left to trust) and, when the
book carries a top proof (circuits.book_top), checks it too against the same roots and totals.
Hidden mode (-h circuits): the batch proofs publish their roots' hashes only, and the top proof
alone shows the root over them and reserves >= liabilities per asset. Each batch proof binds its
place through its context (zkmargin.book.batches.batch_context), so a batch moved, repeated or
taken from another snapshot is refused by name; the top's children are the batch roots in order.
Every proof, batch or top, is checked on the one verdict path (SnapshotVerifier.verify_leading).

In both modes every leaf is tied to the venue's attested set: each batch proof makes public the
venue tree's node over its slots (attested_root), and the verifier folds them at their indices with
the venue tree's empty nodes up to the venue tree's depth and requires the venue's signed root (the
venue run's root.json, which the book carries), checked with the venue's key for this venue and
snapshot. So the book's leaves are, slot for slot, the accounts the venue attested to its traders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zkmargin.book.batches import (
    attested_batch_root,
    attested_top,
    batch_context,
    batch_node,
    top_context,
    top_node,
)
from zkmargin.book.document import HiddenBatch, HiddenBook, PublishedBatch, PublishedBook, PublishedTop
from zkmargin.book.reference import BookSums, account_sums
from zkmargin.book.reserves import check_reserves, reserves_by_slot
from zkmargin.book.tree import BookNode, BookPath, BookTree, empty_node, leaf_hash
from zkmargin.circuits.book_batch import BookBatchStatement, batch_witness
from zkmargin.circuits.book_sparse import SparseBookBatchStatement
from zkmargin.circuits.book_top import MAX_TOP_DEPTH, BookTopStatement, BookTopWitness
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
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


def _entry_leaf(statement: BookStatement, entry: Any, account: Account, snapshot: Snapshot) -> tuple[int, BookSums]:
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
    sums = () if statement.hidden_sums else node.sums.as_fields()
    public = circuit.public_inputs(snapshot, node.hash, batch_context(snapshot, index), [*sums, attested])
    z = circuit.witness_assignment(public, batch_witness(statement, entries, identities))
    return node, attested, prove(pk, circuit.compile(), z, backend=backend)


def batch_leading(snapshot: Snapshot, index: int, root: BookNode | int, attested_root: int) -> tuple[int, ...]:
    """The leading public inputs of batch `index`'s proof: its root hash, its context, its sums (none when root is
    a hidden-sums batch's hash alone), its attested root."""
    if isinstance(root, BookNode):
        return (root.hash, batch_context(snapshot, index), *root.sums.as_fields(), attested_root)
    return (root, batch_context(snapshot, index), attested_root)


def batch_verifier(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot,
                   backend: CurveBackend | None = None) -> SnapshotVerifier:
    """The one verdict path's verifier of a book circuit's batch proofs (the snapshot part folded once)."""
    from zkmargin.backends import get_backend

    book_statement(circuit)
    return SnapshotVerifier(circuit, vk, snapshot, backend or get_backend())


def verify_batch(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, index: int, root: BookNode | int,
                 attested_root: int, proof: Proof, backend: CurveBackend | None = None) -> bool:
    """True iff proof shows batch `index` of this snapshot has this root, these sums and this attested root; in
    hidden-sums mode (-h) root is the root's hash alone."""
    if book_statement(circuit).hidden_sums != isinstance(root, int):
        raise CircuitError(f"{circuit.circuit_id} " + ("hides its sums: give the batch root's hash alone"
                                                        if isinstance(root, BookNode) else
                                                        "publishes its sums: give the batch root and its sums"))
    return batch_verifier(circuit, vk, snapshot, backend).verify_leading(
        batch_leading(snapshot, index, root, attested_root), proof)


def top_statement(circuit: Circuit[Any]) -> BookTopStatement:
    """The top statement of a book top circuit; CircuitError for any other circuit."""
    statement = circuit.statement
    if not isinstance(statement, BookTopStatement):
        raise CircuitError(f"{circuit.circuit_id} is not a book top circuit (book-top-k<K>-b<B>-t<T>[-h])")
    return statement


def top_children(statement: BookTopStatement, batch_hashes: Sequence[int]) -> tuple[int, ...]:
    """The top's public children: the batch roots in book order, then the empty subtree's hash in every place no
    batch fills (the verifier's own padding). EncodingError past 2^T batches: layers are not built."""
    if not 1 <= len(batch_hashes) <= statement.n_children:
        raise EncodingError(f"{statement.circuit_id} folds 1 .. {statement.n_children} batch roots, got "
                            f"{len(batch_hashes)}: a top folds at most 2^{MAX_TOP_DEPTH} (-t{MAX_TOP_DEPTH}); "
                            "layers of tops are not built")
    empty = empty_node(statement.batch_depth, statement.n_collateral).hash
    return (*batch_hashes, *(empty,) * (statement.n_children - len(batch_hashes)))


def top_leading(circuit: Circuit[Any], snapshot: Snapshot, root_hash: int, batch_hashes: Sequence[int],
                tail: Sequence[int]) -> tuple[int, ...]:
    """A top's public inputs (its whole header): root, the snapshot's top context, the children, then totals or
    reserves (tail)."""
    statement = top_statement(circuit)
    if len(tail) != len(statement.tail_names):
        raise EncodingError(f"{circuit.circuit_id} takes {', '.join(statement.tail_names)}; got {len(tail)} values")
    return (root_hash, top_context(snapshot, statement.depth), *top_children(statement, batch_hashes), *tail)


def top_public(circuit: Circuit[Any], snapshot: Snapshot, root_hash: int, batch_hashes: Sequence[int],
               tail: Sequence[int]) -> StatementPublic:
    """A top's public inputs as the prover assigns them (top_leading's values)."""
    leading = top_leading(circuit, snapshot, root_hash, batch_hashes, tail)
    return circuit.public_inputs(snapshot, leading[0], leading[1], leading[2:])


def top_witness(statement: BookTopStatement, tree: BookTree) -> BookTopWitness:
    """The top's private values from the venue's whole tree: each batch root's two children."""
    if tree.depth != statement.depth:
        raise EncodingError(f"{statement.circuit_id} proves a book of depth {statement.depth}, not {tree.depth}")
    level = statement.batch_depth - 1
    return BookTopWitness(tuple((tree.node(level, 2 * i), tree.node(level, 2 * i + 1))
                                for i in range(statement.n_children)))


def prove_top(circuit: Circuit[Any], pk: ProvingKey, snapshot: Snapshot, tree: BookTree, n_batches: int,
              tail: Sequence[int], backend: CurveBackend | None = None) -> Proof:
    """Prove the top of tree (its first n_batches batch roots) with tail: the totals, or the reserves by slot."""
    from zkmargin.groth16 import prove

    statement = top_statement(circuit)
    hashes = [tree.node(statement.batch_depth, i).hash for i in range(n_batches)]
    public = top_public(circuit, snapshot, tree.root.hash, hashes, tail)
    z = circuit.witness_assignment(public, top_witness(statement, tree))
    return prove(pk, circuit.compile(), z, backend=backend)


def verify_top(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, root_hash: int,
               batch_hashes: Sequence[int], tail: Sequence[int], proof: Proof,
               backend: CurveBackend | None = None) -> bool:
    """True iff proof shows root_hash is the root over these batch roots (in order, the rest empty) for this
    snapshot, with these totals (auditor) or reserves covering every liability (hidden): on the one verdict path."""
    from zkmargin.backends import get_backend

    leading = top_leading(circuit, snapshot, root_hash, batch_hashes, tail)
    return SnapshotVerifier(circuit, vk, snapshot, backend or get_backend()).verify_leading(leading, proof)


@dataclass(frozen=True)
class BookVerdict:
    """An auditor's verdict on a published book: valid, or the first failing batch (None: the top) and why."""

    valid: bool
    failing_batch: int | None = None
    reason: str = ""


TopKey = tuple[Circuit[Any], "VerifyingKey"]
"""A top circuit and its verification key, as a verifier holds them."""


def verify_book(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: PublishedBook,
                venue_key: VenuePublicKey, backend: CurveBackend | None = None, top: TopKey | None = None
                ) -> BookVerdict:
    """Check the venue's signed root the book carries (with venue_key), every batch proof against the verifier's
    snapshot, the top root and totals from their outputs, the batches' attested roots against the signed root, and
    the book's top proof when it carries one (top: its circuit and key): valid means every leaf is, slot for slot,
    an account the venue attested, and every attested account is a leaf."""
    statement = book_statement(circuit)
    refusal = _book_refusal(circuit, vk, snapshot, book, venue_key, hidden=False, backend=backend)
    if refusal is not None:
        return refusal
    top_root = top_node([b.root for b in book.batches], statement.batch_depth, book.depth, statement.n_collateral)
    if top_root.sums != book.root.sums:
        return BookVerdict(False, None, "the published totals are not the sums of the batches")
    if top_root.hash != book.root.hash:
        return BookVerdict(False, None, "the published root is not the root over the batch roots")
    signed = book.signed_root
    if signed is not None and signed.leaf_count != book.root.sums.accounts:
        return BookVerdict(False, None, f"the book counts {book.root.sums.accounts} accounts; the venue's signed "
                                        f"root attests {signed.leaf_count}")
    refusal = _attested_refusal(book, statement.batch_depth)
    if refusal is not None:
        return refusal
    if book.top is not None:
        reason = _top_refusal(book.top, top, statement, snapshot, book.depth, book.root.hash,
                              [b.root.hash for b in book.batches], book.root.sums.as_fields(), backend)
        if reason is not None:
            return BookVerdict(False, None, reason)
    return BookVerdict(True)


def verify_hidden_book(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: HiddenBook,
                       venue_key: VenuePublicKey, top: TopKey | None, backend: CurveBackend | None = None
                       ) -> BookVerdict:
    """Check the venue's signed root (with venue_key), every hidden batch proof, the batches' attested roots against
    the signed root (as verify_book), then the top proof: the root over the batch roots in order and the book's
    reserves (the venue's signed statement, checked with venue_key) covering every liability per asset."""
    statement = book_statement(circuit)
    refusal = (_book_refusal(circuit, vk, snapshot, book, venue_key, hidden=True, backend=backend)
               or _attested_refusal(book, statement.batch_depth))
    if refusal is not None:
        return refusal
    if book.reserves.snapshot_digest != book.snapshot_digest or book.reserves.venue != book.venue:
        return BookVerdict(False, None, "the reserves are another venue's or of another snapshot")
    try:
        # The top proves coverage against these reserves: only the venue's own signed statement may stand there.
        check_reserves(book.reserves, venue_key, snapshot)
    except ZkMarginError as exc:
        return BookVerdict(False, None, f"the reserves are not the venue's signed statement for this snapshot: {exc}")
    try:
        reserves = reserves_by_slot(snapshot, book.reserves, statement.n_collateral)
    except EncodingError as exc:
        return BookVerdict(False, None, str(exc))
    reason = _top_refusal(book.top, top, statement, snapshot, book.depth, book.root_hash,
                          [b.root_hash for b in book.batches], reserves, backend)
    return BookVerdict(False, None, reason) if reason is not None else BookVerdict(True)


def _book_refusal(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: PublishedBook | HiddenBook,
                  venue_key: VenuePublicKey, hidden: bool, backend: CurveBackend | None) -> BookVerdict | None:
    """Why the book's head, its signed root or any batch proof is refused (either mode), or None."""
    statement = book_statement(circuit)
    if book.circuit_id != circuit.circuit_id or book.batch_depth != statement.batch_depth:
        return BookVerdict(False, None, f"the book was made with {book.circuit_id}, not {circuit.circuit_id}")
    if statement.hidden_sums != hidden:
        return BookVerdict(False, None, f"{circuit.circuit_id} is not a circuit of a {'hidden' if hidden else 'auditor'}"
                                        "-mode book")
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
        return _failing_batch(batch_verifier(circuit, vk, snapshot, backend), snapshot, book.batches)
    except ZkMarginError as exc:  # a key or snapshot the circuit cannot take: no batch can be checked
        return BookVerdict(False, None, f"the batches cannot be checked: {exc}")


def batch_verdicts(verifier: SnapshotVerifier, snapshot: Snapshot,
                   batches: Sequence[PublishedBatch | HiddenBatch]) -> list[Verdict]:
    """One verdict per batch, in order: every proof (for its own index, root, sums unless hidden, attested root) in
    one weighted check with the snapshot part folded once, bisected down to the failing ones."""
    hidden = book_statement(verifier.circuit).hidden_sums
    # A hidden-sums batch's proof takes its root's hash alone (the venue's own batch files still hold the sums).
    items = [ProofItem(leading=batch_leading(snapshot, b.index, b.root_hash if isinstance(b, HiddenBatch)
                                             else b.root.hash if hidden else b.root, b.attested_root),
                       label=f"batch {b.index}", encoded=b.proof if isinstance(b.proof, dict) else b"")
             for b in batches]
    return verifier.verify_batch(items).verdicts


def _failing_batch(verifier: SnapshotVerifier, snapshot: Snapshot,
                   batches: Sequence[PublishedBatch | HiddenBatch]) -> BookVerdict | None:
    failed = [v for v in batch_verdicts(verifier, snapshot, batches) if not v.valid]
    if not failed:
        return None
    first = failed[0]
    reason = first.error or first.refused or "the proof does not verify for its root and sums"
    others = f" (and {len(failed) - 1} more failing batches)" if len(failed) > 1 else ""
    return BookVerdict(False, first.index, f"batch {first.index}: {reason}{others}")


def _signed_root_refusal(book: PublishedBook | HiddenBook, venue_key: VenuePublicKey, snapshot: Snapshot,
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


def _attested_refusal(book: PublishedBook | HiddenBook, batch_depth: int) -> BookVerdict | None:
    """Refused unless the batches' attested roots fold to the venue's signed root the book carries."""
    signed = book.signed_root
    if signed is None or attested_top([b.attested_root for b in book.batches], batch_depth,
                                      signed.depth) != signed.root:
        return BookVerdict(False, None, "the batches' leaves are not the venue's attested accounts: their attested "
                                        "roots do not fold to the venue's signed root (an account dropped, added, "
                                        "repeated, moved or bound to another identity)")
    return None


def _top_refusal(published: PublishedTop, top: TopKey | None, batch: BookBatchStatement, snapshot: Snapshot,
                 depth: int, root_hash: int, batch_hashes: list[int], tail: Sequence[int],
                 backend: CurveBackend | None) -> str | None:
    from zkmargin.groth16.serialization import proof_from_json

    if top is None:
        return f"the book's top proof needs the key of {published.circuit_id}"
    circuit, vk = top
    try:
        statement = top_statement(circuit)
    except CircuitError as exc:
        return str(exc)
    if published.circuit_id != circuit.circuit_id:
        return f"the top was proved with {published.circuit_id}, not {circuit.circuit_id}"
    if (statement.n_collateral, statement.batch_depth, statement.depth, statement.hidden_sums) != (
            batch.n_collateral, batch.batch_depth, depth, batch.hidden_sums):
        return f"{circuit.circuit_id} is not the top of this book (depth {depth}, batches {batch.circuit_id})"
    try:
        valid = verify_top(circuit, vk, snapshot, root_hash, batch_hashes, tail,
                           proof_from_json(published.proof, backend), backend)
    except ZkMarginError as exc:
        return f"the top: {exc}"
    if valid:
        return None
    return ("the top proof does not verify: the root over the batch roots " +
            ("with reserves covering every liability" if batch.hidden_sums else "with these totals"))


def check_own_leaf(circuit: Circuit[Any], account: Account, snapshot: Snapshot, salt: int, path: BookPath,
                   book_root: BookNode | int) -> None:
    """Raise EncodingError unless the account's own leaf (its commitment and figures) is under the published root
    (a hidden book's: its hash alone; the path's root sums are then whatever its siblings add up to)."""
    commitment, sums = account_leaf(circuit, account, snapshot, salt)
    if path.leaf != BookNode(leaf_hash(commitment, sums), sums):
        raise EncodingError("the book's leaf is not this account's: its commitment or figures differ "
                            f"(the book counts {path.leaf.sums}, the account gives {sums})")
    if (path.root.hash if isinstance(book_root, int) else path.root) != book_root:
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
