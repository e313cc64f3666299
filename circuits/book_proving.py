"""Prove a batch of the book and its top, verify every batch proof and the top, and check a trader's own leaf.

Auditor mode: the verifier recomputes the top (levels batch_depth + 1 .. depth) from the batch
proofs' public roots and sums (2^(depth - b) - 1 hashes, with nothing left to trust) and, when the
book carries a top proof (circuits.book_top), checks it too against the same roots and totals.
Hidden mode (-h circuits): the batch proofs publish their roots' hashes only, and the top proof
alone shows the root over them and reserves >= liabilities per asset. Each batch proof binds its
place through its context (zkmargin.book.batches.batch_context), so a batch moved, repeated or
taken from another snapshot is refused by name; the top's children are the batch roots in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zkmargin.book.batches import batch_context, batch_node, top_context, top_node
from zkmargin.book.document import HiddenBook, PublishedBook, PublishedTop
from zkmargin.book.reference import BookSums, account_sums
from zkmargin.book.reserves import reserves_by_slot
from zkmargin.book.tree import BookNode, BookPath, BookTree, empty_node, leaf_hash
from zkmargin.circuits.book_batch import BookBatchStatement, batch_witness
from zkmargin.circuits.book_top import MAX_TOP_DEPTH, BookTopStatement, BookTopWitness
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.verification import check_key_fits
from zkmargin.errors import CircuitError, EncodingError, ZkMarginError
from zkmargin.margin.models import Account, Snapshot
from zkmargin.venue.attestation import snapshot_digest

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey


def book_statement(circuit: Circuit[Any]) -> BookBatchStatement:
    """The batch statement of a book circuit; CircuitError for any other circuit."""
    statement = circuit.statement
    if not isinstance(statement, BookBatchStatement):
        raise CircuitError(f"{circuit.circuit_id} is not a book batch circuit (book-cross-n<N>-k<K>-b<B>)")
    return statement


def account_leaf(circuit: Circuit[Any], account: Account, snapshot: Snapshot, salt: int) -> tuple[int, BookSums]:
    """(commitment, sums) of an account's leaf: its cross commitment under salt and its reference figures."""
    statement = book_statement(circuit)
    commitment = statement.cross.commitment(statement.entry(account, snapshot, salt))
    return commitment, account_sums(account, snapshot, statement.n_collateral)


def prove_batch(circuit: Circuit[Any], pk: ProvingKey, snapshot: Snapshot, index: int,
                accounts: Sequence[tuple[Account, int]], backend: CurveBackend | None = None) -> tuple[BookNode, Proof]:
    """Prove batch `index` over (account, salt) pairs in book order; its root (hash and sums) and proof."""
    from zkmargin.groth16 import prove

    statement = book_statement(circuit)
    entries = [statement.entry(account, snapshot, salt) for account, salt in accounts]
    node = batch_node([account_leaf(circuit, account, snapshot, salt) for account, salt in accounts],
                      statement.batch_depth, statement.n_collateral)
    sums = () if statement.hidden_sums else node.sums.as_fields()
    public = circuit.public_inputs(snapshot, node.hash, batch_context(snapshot, index), sums)
    z = circuit.witness_assignment(public, batch_witness(statement, entries))
    return node, prove(pk, circuit.compile(), z, backend=backend)


def verify_batch(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, index: int, root: BookNode | int,
                 proof: Proof, backend: CurveBackend | None = None) -> bool:
    """True iff proof shows batch `index` of this snapshot has this root and these sums; in hidden-sums mode (-h)
    root is the root's hash alone."""
    sums: tuple[int, ...] = ()
    if book_statement(circuit).hidden_sums:
        if not isinstance(root, int):
            raise CircuitError(f"{circuit.circuit_id} hides its sums: give the batch root's hash alone")
        root_hash = root
    elif isinstance(root, BookNode):
        root_hash, sums = root.hash, root.sums.as_fields()
    else:
        raise CircuitError(f"{circuit.circuit_id} publishes its sums: give the batch root and its sums")
    public = circuit.public_inputs(snapshot, root_hash, batch_context(snapshot, index), sums)
    return check_book_proof(circuit, vk, public, proof, backend)


def check_book_proof(circuit: Circuit[Any], vk: VerifyingKey, public: StatementPublic, proof: Proof,
                     backend: CurveBackend | None = None) -> bool:
    """True iff proof verifies for these public inputs under vk, a key of this circuit: batches and tops alike."""
    from zkmargin.groth16 import verify

    check_key_fits(circuit, vk)
    return verify(vk, public.as_list(), proof, backend)


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


def top_public(circuit: Circuit[Any], snapshot: Snapshot, root_hash: int, batch_hashes: Sequence[int],
               tail: Sequence[int]) -> StatementPublic:
    """A top's public inputs: root, the snapshot's top context, the children, then totals or reserves (tail)."""
    statement = top_statement(circuit)
    if len(tail) != len(statement.tail_names):
        raise EncodingError(f"{circuit.circuit_id} takes {', '.join(statement.tail_names)}; got {len(tail)} values")
    return circuit.public_inputs(snapshot, root_hash, top_context(snapshot, statement.depth),
                                 (*top_children(statement, batch_hashes), *tail))


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
    snapshot, with these totals (auditor) or reserves covering every liability (hidden)."""
    return check_book_proof(circuit, vk, top_public(circuit, snapshot, root_hash, batch_hashes, tail), proof,
                            backend)


@dataclass(frozen=True)
class BookVerdict:
    """An auditor's verdict on a published book: valid, or the first failing batch (None: the top) and why."""

    valid: bool
    failing_batch: int | None = None
    reason: str = ""


TopKey = tuple[Circuit[Any], "VerifyingKey"]
"""A top circuit and its verification key, as a verifier holds them."""


def verify_book(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: PublishedBook,
                backend: CurveBackend | None = None, top: TopKey | None = None) -> BookVerdict:
    """Check every batch proof against the verifier's snapshot, then the top root and totals from their outputs,
    and the book's top proof when it carries one (top: its circuit and key)."""
    statement = book_statement(circuit)
    refusal = _book_refusal(circuit, snapshot, book, hidden=False)
    if refusal is not None:
        return refusal
    for position, batch in enumerate(book.batches):
        reason = _batch_refusal(circuit, vk, snapshot, position, batch.index, batch.root, batch.proof, backend)
        if reason is not None:
            return BookVerdict(False, position, reason)
    top_root = top_node([b.root for b in book.batches], statement.batch_depth, book.depth, statement.n_collateral)
    if top_root.sums != book.root.sums:
        return BookVerdict(False, None, "the published totals are not the sums of the batches")
    if top_root.hash != book.root.hash:
        return BookVerdict(False, None, "the published root is not the root over the batch roots")
    if book.top is not None:
        reason = _top_refusal(book.top, top, statement, snapshot, book.depth, book.root.hash,
                              [b.root.hash for b in book.batches], book.root.sums.as_fields(), backend)
        if reason is not None:
            return BookVerdict(False, None, reason)
    return BookVerdict(True)


def verify_hidden_book(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, book: HiddenBook,
                       top: TopKey | None, backend: CurveBackend | None = None) -> BookVerdict:
    """Check every hidden batch proof, then the top proof: the root over the batch roots in order and the book's
    reserves (checked by the caller against the venue's key) covering every liability per asset."""
    statement = book_statement(circuit)
    refusal = _book_refusal(circuit, snapshot, book, hidden=True)
    if refusal is not None:
        return refusal
    if book.reserves.snapshot_digest != book.snapshot_digest or book.reserves.venue != book.venue:
        return BookVerdict(False, None, "the reserves are another venue's or of another snapshot")
    try:
        reserves = reserves_by_slot(snapshot, book.reserves, statement.n_collateral)
    except EncodingError as exc:
        return BookVerdict(False, None, str(exc))
    for position, batch in enumerate(book.batches):
        reason = _batch_refusal(circuit, vk, snapshot, position, batch.index, batch.root_hash, batch.proof, backend)
        if reason is not None:
            return BookVerdict(False, position, reason)
    reason = _top_refusal(book.top, top, statement, snapshot, book.depth, book.root_hash,
                          [b.root_hash for b in book.batches], reserves, backend)
    return BookVerdict(False, None, reason) if reason is not None else BookVerdict(True)


def _book_refusal(circuit: Circuit[Any], snapshot: Snapshot, book: PublishedBook | HiddenBook,
                  hidden: bool) -> BookVerdict | None:
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
    return None


def _batch_refusal(circuit: Circuit[Any], vk: VerifyingKey, snapshot: Snapshot, position: int, index: int,
                   root: BookNode | int, proof_json: Any, backend: CurveBackend | None) -> str | None:
    from zkmargin.groth16.serialization import proof_from_json

    if index != position:
        return f"batch at position {position} says index {index}: batches are listed once each, in order"
    try:
        valid = verify_batch(circuit, vk, snapshot, position, root, proof_from_json(proof_json, backend), backend)
    except ZkMarginError as exc:
        return f"batch {position}: {exc}"
    return None if valid else f"batch {position}: the proof does not verify for its root and sums"


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
