"""Adversarial review of the anonymous-membership statement (issue 12, item 3).

Each test is an attack, written to PASS when the attack FAILS. Witnesses are hand-built at the
constraint-system level: full assignments z are solved from witnesses the honest code would never
produce (or spliced together from several solved assignments, or edited variable by variable),
then checked against the compiled matrices the keys are made from. Where it matters the test asserts
WHICH constraints break, so that it shows the one rule that stops the attack (and fails without it).
The last part reviews the byte encoding of the venue's signed messages (zkmargin.venue.attestation).
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from tests.circuits.assignments import broken, dot, solve
from zkmargin.backends import get_backend
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import MEMBER_HEADER, StatementPublic
from zkmargin.circuits.membership import MembershipWitness
from zkmargin.circuits.proving import prove_account, prove_member
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
from zkmargin.errors import (
    BadSignatureError,
    CircuitError,
    EncodingError,
    MalformedAttestationError,
    MarginCallError,
    PublicInputError,
    WrongCommitmentError,
)
from zkmargin.field import R, inv
from zkmargin.gadgets.merkle import (
    ID_TAG,
    LEAF_TAG,
    MAX_DEPTH,
    NULLIFIER_TAG,
    identity_commitment,
    member_leaf,
    merkle_membership_gadget,
    merkle_node,
    node_tag,
    nullifier,
)
from zkmargin.groth16 import prove, setup, verify
from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    RiskParams,
    ScenarioSet,
    Snapshot,
    Tier,
)
from zkmargin.r1cs import ConstraintSystem
from zkmargin.venue.attestation import (
    ATTESTATION_LABEL,
    ROOT_LABEL,
    Attestation,
    SignedRoot,
    VenueSigningKey,
    attest,
    attestation_message,
    check_attestation,
    check_signed_root,
    root_message,
    sign_root,
    snapshot_digest,
)
from zkmargin.venue.tree import MerklePath, MerkleTree, empty_nodes, merkle_path_to_json, parse_merkle_path

E8 = 10**8
BTC = AssetQuote("BTC", 60_000 * E8, E8 // 10)
USDC = AssetQuote("USDC", E8, 0)
PERP = InstrumentQuote("BTC-PERP", 60_000 * E8, E8 // 20, E8, scenario_pnl_e8=(-3_000 * E8, 1_000 * E8))
SNAPSHOT = Snapshot("s1", "venue", "2026-11-26T00:00:00Z", (BTC, USDC), (PERP,), ScenarioSet(2, E8 // 2, 0))
HEALTHY = Account("alice", (Collateral("BTC", E8), Collateral("USDC", 1_000 * E8)),
                  (Position("BTC-PERP", E8 // 10, 60_000 * E8),))
SICK = Account("bob", (Collateral("USDC", 10 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))
SALT, OTHER_SALT, CONTEXT, SCOPE = 987654321, 123456789, 7, 31337
MEMBER_SALTS = (11, 12, 13)  # the venue's other accounts: SICK, committed under these salts
MEMBER_SECRETS = (21, 22, 23)  # ... and the identity secrets of those accounts
SECRET, OTHER_SECRET = 0x5EC12E7, 0x0DD5EC12E7  # alice's identity secret, and one that is not hers
DEPTH = 3
INDEX = 2
MODEL_IDS = {"cross": "cross-n1-k2", "isolated": "isolated-n1-k2", "tiered": "tiered-n1-k2-t2",
             "portfolio": "portfolio-n1-k2", "var": "var-n1-k2-s2", "es": "es-n1-k2-s2"}
MODELS = sorted(MODEL_IDS)


def member_id(model: str, depth: int = DEPTH) -> str:
    return f"{MODEL_IDS[model]}-m{depth}"


# ----- assignments and the compiled constraints ----------------------------------------------------
@functools.cache
def variable_names(circuit: Circuit[Any]) -> tuple[str, ...]:
    """The name of every variable of z (Groth16 order), from a setup-mode build of the circuit."""
    cs = ConstraintSystem("setup")
    circuit.synthesize(cs)
    # The builder keeps names for labels and checks only; a test reads them to address variables of z.
    order = cs._order()
    names = [""] * len(order)
    for old, new in enumerate(order):
        names[new] = cs._names[old]
    return tuple(names)


def index_of(circuit: Circuit[Any], name: str) -> int:
    names = variable_names(circuit)
    if names.count(name) != 1:
        raise AssertionError(f"{name!r} names {names.count(name)} variables")
    return names.index(name)


def splice(circuit: Circuit[Any], into: Sequence[int], source: Sequence[int], indices: Sequence[int]) -> list[int]:
    """into, with the variables at indices taken from source."""
    assert indices, "the splice touches no variable"
    out = list(into)
    for i in indices:
        out[i] = source[i]
    return out


def only_read_by(circuit: Circuit[Any], prefix: str) -> list[int]:
    """The private variables that no constraint outside prefix mentions: a prover may set them at will without
    disturbing the rest of the statement (however the code names or allocates them)."""
    compiled = circuit.compile()
    outside: set[int] = set()
    inside: set[int] = set()
    for a, b, c, label in zip(compiled.a, compiled.b, compiled.c, compiled.labels):
        used = {v for row in (a, b, c) for v, _ in row}
        (inside if label.startswith(prefix) else outside).update(used)
    return sorted(v for v in inside - outside if v > compiled.num_public)


def constraints_using(circuit: Circuit[Any], variable: int) -> list[str]:
    compiled = circuit.compile()
    return [label for a, b, c, label in zip(compiled.a, compiled.b, compiled.c, compiled.labels)
            if any(v == variable for row in (a, b, c) for v, _ in row)]


# ----- a venue's tree ----------------------------------------------------------------------------------
def members(circuit: Circuit[Any], snapshot: Snapshot = SNAPSHOT, account: Account = SICK) -> list[int]:
    """Real leaves of the venue's other accounts (account under MEMBER_SALTS, MEMBER_SECRETS) for this circuit."""
    return [member_leaf(circuit.commitment(circuit.witness(account, snapshot, s)), identity_commitment(k))
            for s, k in zip(MEMBER_SALTS, MEMBER_SECRETS)]


def placed(circuit: Circuit[Any], account: Account = HEALTHY, salt: int = SALT, snapshot: Snapshot = SNAPSHOT,
           in_tree: bool = True, others_account: Account = SICK, secret: int = SECRET):
    """(witness, tree): the account's witness and the venue's tree; placed at INDEX when in_tree, else the
    tree holds only the other members and the witness carries the path of member 0 (a non-member's best try)."""
    witness = circuit.witness(account, snapshot, salt)
    others = members(circuit, snapshot, others_account)
    depth = circuit.statement.depth
    if not in_tree:
        tree = MerkleTree(others, depth)
        return replace(witness, index_bits=(0,) * depth, siblings=tuple(tree.path(0)), secret=secret), tree
    leaf = member_leaf(witness.commitment, identity_commitment(secret))
    tree = MerkleTree(others[:INDEX] + [leaf] + others[INDEX:], depth)
    path = MerklePath(account.account_id, leaf, INDEX, tuple(tree.path(INDEX)), tree.root, depth)
    return circuit.statement.place(witness, path, secret), tree


def public(circuit: Circuit[Any], witness: MembershipWitness, root: int, scope: int = SCOPE,
           claimed: int | None = None, snapshot: Snapshot = SNAPSHOT) -> StatementPublic:
    claimed = nullifier(witness.secret, scope) if claimed is None else claimed
    return circuit.public_inputs(snapshot, root, CONTEXT, (scope, claimed))


def tree_levels(leaves: Sequence[int], depth: int) -> list[list[int]]:
    """Every level of the depth-level tree over leaves (empty slots filled), from the pure-Python hash."""
    empty = empty_nodes(depth)
    levels = [list(leaves) + [empty[0]] * (2**depth - len(leaves))]
    for level in range(1, depth + 1):
        below = levels[-1]
        levels.append([merkle_node(below[2 * i], below[2 * i + 1], level) for i in range(len(below) // 2)])
    return levels


# ----- 0. the baseline every "only X breaks" claim below rests on ------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_an_honest_member_satisfies_the_compiled_constraints(model):
    circuit = circuit_from_id(member_id(model))
    witness, tree = placed(circuit)
    assert broken(circuit, solve(circuit, public(circuit, witness, tree.root), witness)) == []


# ----- 1. a commitment that is not a leaf ----------------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_a_non_member_with_a_members_path_breaks_only_the_root(model):
    """A healthy account the venue never put in its tree, with member 0's real siblings: only the root check
    stops it (satisfying it is a Poseidon second preimage)."""
    circuit = circuit_from_id(member_id(model))
    witness, tree = placed(circuit, in_tree=False)
    assert broken(circuit, solve(circuit, public(circuit, witness, tree.root), witness)) == ["membership/root"]


@pytest.mark.parametrize("level", [0, DEPTH - 1])
def test_a_non_boolean_path_bit_would_let_a_non_member_reach_the_root(level):
    """The attack the boolean check exists for. With left = node + b (s - node), right = node + s - left, a prover
    free to pick any b and s makes (left, right) ANY pair: s = L + R - node, b = (L - node) / (s - node). So a
    non-member's node is steered onto the real pair (L, R) of member 0's path at one level and the real root
    follows. Only level{h}/index_bool must break."""
    circuit = circuit_from_id(member_id("cross"))
    witness = replace(circuit.witness(HEALTHY, SNAPSHOT, SALT), secret=SECRET)
    others = members(circuit)
    levels = tree_levels(others, DEPTH)
    # Below the attacked level, any path at all (here: index 0 among empty siblings).
    node, bits, siblings = witness.leaf, [], []
    for h in range(level):
        sibling = empty_nodes(DEPTH)[h]
        bits.append(0)
        siblings.append(sibling)
        node = merkle_node(node, sibling, h + 1)
    pair_left, pair_right = levels[level][0], levels[level][1]
    sibling = (pair_left + pair_right - node) % R
    bit = (pair_left - node) * inv((sibling - node) % R) % R
    assert bit not in (0, 1)
    bits.append(bit)
    siblings.append(sibling)
    # Above it, member 0's honest path.
    for h in range(level + 1, DEPTH):
        bits.append(0)
        siblings.append(levels[h][1])
    forged = replace(witness, index_bits=tuple(bits), siblings=tuple(siblings))
    z = solve(circuit, public(circuit, forged, levels[DEPTH][0]), forged)
    assert broken(circuit, z) == [f"membership/level{level}/index_bool"]
    assert levels[DEPTH][0] == MerkleTree(others, DEPTH).root


@pytest.mark.parametrize("bit", [2, R - 1, inv(2)])
def test_non_boolean_bits_with_honest_siblings_break_the_boolean_check(bit):
    """2, r - 1 and 1/2 (which makes left == right) at level 1, the root recomputed for the forged path: the
    boolean check is the one constraint that breaks."""
    circuit = circuit_from_id(member_id("cross"))
    witness, _ = placed(circuit)
    bits = list(witness.index_bits)
    bits[1] = bit
    node = witness.leaf
    for h, (b, s) in enumerate(zip(bits, witness.siblings)):
        left = (node + b * (s - node)) % R
        node = merkle_node(left, (node + s - left) % R, h + 1)
    forged = replace(witness, index_bits=tuple(bits))
    assert broken(circuit, solve(circuit, public(circuit, forged, node), forged)) == ["membership/level1/index_bool"]


@pytest.mark.parametrize("field, value", [("siblings", "alias"), ("siblings", "r"), ("leaf", "alias"),
                                          ("root", "alias"), ("root", "r"), ("index", 2**DEPTH), ("index", True),
                                          ("index", -1), ("depth", DEPTH + 1)])
def test_path_documents_with_values_at_or_above_r_or_out_of_range_are_refused(field, value):
    """A sibling s + r hashes as s in the circuit: the path document is refused before it gets there."""
    circuit = circuit_from_id(member_id("cross"))
    witness, tree = placed(circuit)
    doc = merkle_path_to_json(MerklePath("alice", witness.leaf, INDEX, witness.siblings, tree.root, DEPTH))
    assert parse_merkle_path(doc).verify()
    if value in ("alias", "r"):
        current = doc["siblings"][1] if field == "siblings" else doc[field]
        bad = str(int(current) + R if value == "alias" else R)
        if field == "siblings":
            doc["siblings"][1] = bad
        else:
            doc[field] = bad
    else:
        doc[field] = value
    with pytest.raises(EncodingError):
        parse_merkle_path(doc)


# ----- 2. the empty leaf ----------------------------------------------------------------------------------
def gadget_circuit(depth: int):
    """merkle_membership_gadget alone: private leaf, bits, siblings; public root. Returns (build, names)."""

    def build(cs: ConstraintSystem, leaf=None, bits=None, siblings=None, root=None):
        root_var = cs.public_input("root", root)
        leaf_var = cs.private_input("leaf", leaf)
        bit_vars = [cs.private_input(f"bit[{h}]", None if bits is None else bits[h]) for h in range(depth)]
        sibling_vars = [cs.private_input(f"sibling[{h}]", None if siblings is None else siblings[h])
                        for h in range(depth)]
        merkle_membership_gadget(cs, leaf_var, bit_vars, sibling_vars, root_var, depth, "m")

    setup_cs = ConstraintSystem("setup")
    build(setup_cs)
    order = setup_cs._order()
    names = [""] * len(order)
    for old, new in enumerate(order):
        names[new] = setup_cs._names[old]
    return build, setup_cs.compile(), names


def gadget_broken(compiled, z) -> list[str]:
    return [label for a, b, c, label in zip(compiled.a, compiled.b, compiled.c, compiled.labels)
            if dot(a, z) * dot(b, z) % R != dot(c, z)]


def gadget_assignment(build, leaf, bits, siblings, root) -> list[int]:
    cs = ConstraintSystem("check")
    build(cs, leaf, bits, siblings, root)
    return cs.assignment()


@pytest.mark.parametrize("inverse", [0, 1, R - 1, 0x1234567890ABCDEF])
def test_the_empty_leaf_with_its_public_path_breaks_only_leaf_nonzero_whatever_the_inverse(inverse):
    """Slot 7 of the venue's tree is empty: its path to the real root is public. Whatever value the prover puts in
    the inverse, 0 * inverse != 1 is the one broken constraint."""
    build, compiled, names = gadget_circuit(DEPTH)
    tree = MerkleTree(members(circuit_from_id(member_id("cross"))), DEPTH)
    assert tree.leaf(7) == 0
    z = gadget_assignment(build, 0, (1, 1, 1), tuple(tree.path(7)), tree.root)
    z[names.index("m/leaf_inverse")] = inverse
    assert gadget_broken(compiled, z) == ["m/leaf_nonzero"]


def test_the_empty_leaf_cannot_be_reached_in_the_full_statement():
    """The leaf is a hash the circuit computes: a commitment 0 with the empty slot's path breaks the opening and
    the root (reaching leaf 0 would take a Poseidon preimage)."""
    circuit = circuit_from_id(member_id("cross"))
    witness, tree = placed(circuit)
    forged = replace(witness, commitment=0, index_bits=(1, 1, 1), siblings=tuple(tree.path(7)))
    failures = broken(circuit, solve(circuit, public(circuit, forged, tree.root), forged))
    assert "membership/root" in failures and any(f.endswith("commitment/opens") for f in failures)


# ----- 3. depth confusion: an internal node as a leaf ----------------------------------------------------
def test_an_internal_node_as_the_leaf_of_a_shorter_path_breaks_only_the_root():
    """The level-1 node above leaves 2 and 3, with its real siblings up to the depth-3 root, in a depth-2 gadget:
    the per-level tags make its recomputed root differ, and that is the one broken constraint."""
    build, compiled, _ = gadget_circuit(DEPTH - 1)
    leaves = members(circuit_from_id(member_id("cross")))
    levels = tree_levels(leaves, DEPTH)
    node_index = INDEX >> 1
    siblings = [levels[h][(node_index >> (h - 1)) ^ 1] for h in range(1, DEPTH)]
    bits = [(node_index >> (h - 1)) & 1 for h in range(1, DEPTH)]
    z = gadget_assignment(build, levels[1][node_index], bits, siblings, levels[DEPTH][0])
    assert gadget_broken(compiled, z) == ["m/root"]


def test_an_internal_node_as_a_leaf_at_full_depth_breaks_only_the_root():
    """The same node in a depth-3 gadget, its two real siblings shifted down one level and any top sibling: the
    fixed depth leaves one hash too many, whatever the tags."""
    build, compiled, _ = gadget_circuit(DEPTH)
    levels = tree_levels(members(circuit_from_id(member_id("cross"))), DEPTH)
    siblings = [levels[1][0], levels[2][1], 0]
    z = gadget_assignment(build, levels[1][1], (1, 0, 0), siblings, levels[DEPTH][0])
    assert gadget_broken(compiled, z) == ["m/root"]


def test_tree_nullifier_and_commitment_domain_tags_never_meet():
    """Every tree level, the nullifier and every statement's commitment hash under distinct capacity words: node
    tags and the nullifier tag below 2^64, commitment tags at or above it (and a wider permutation)."""
    tags = [node_tag(level) for level in range(1, MAX_DEPTH + 1)]
    assert len(set(tags)) == MAX_DEPTH and not {NULLIFIER_TAG, ID_TAG, LEAF_TAG} & set(tags)
    assert len({NULLIFIER_TAG, ID_TAG, LEAF_TAG}) == 3
    assert max([*tags, NULLIFIER_TAG, ID_TAG, LEAF_TAG]) < 2**64
    for model in MODELS:
        assert circuit_from_id(MODEL_IDS[model]).statement.domain_tag >= 2**64


# ----- 4. the private commitment is the inner statement's opening -------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_the_merkle_leaf_hashes_the_very_variable_the_inner_opening_opens(model):
    """No second commitment to alias: the one private variable named commitment is constrained by the commitment
    opening and read by the leaf hash, and the secret by the identity hash and the nullifier."""
    circuit = circuit_from_id(member_id(model))
    users = constraints_using(circuit, index_of(circuit, "commitment"))
    assert any(label.endswith("commitment/opens") for label in users)
    assert users and all(label.endswith("commitment/opens") or label.startswith("membership/leaf/hash/round0/")
                         for label in users)
    secret_users = constraints_using(circuit, index_of(circuit, "membership/secret"))
    assert any(label.startswith("membership/identity/hash/round0/") for label in secret_users)
    assert any(label.startswith("nullifier/hash/round0/") for label in secret_users)
    assert all(label.startswith(("membership/identity/hash/round0/", "nullifier/hash/round0/"))
               for label in secret_users)


@pytest.mark.parametrize("model", MODELS)
def test_a_members_path_spliced_onto_a_non_members_opening_breaks(model):
    """Decoupling attempt: the inner statement opens healthy alice (not in the tree), while every private variable
    only the Merkle part reads comes from an honest solve of member SICK at index 0. With the leaf from SICK too, the
    opening breaks; without it, the path's first level breaks."""
    circuit = circuit_from_id(member_id(model))
    outsider, tree = placed(circuit, in_tree=False)
    z_outsider = solve(circuit, public(circuit, outsider, tree.root), outsider)
    member = circuit.statement.place(
        circuit.witness(SICK, SNAPSHOT, MEMBER_SALTS[0]),
        MerklePath("bob", tree.leaf(0), 0, tuple(tree.path(0)), tree.root, DEPTH), MEMBER_SECRETS[0])
    z_member = solve(circuit, public(circuit, member, tree.root, claimed=nullifier(SECRET, SCOPE)), member)
    free = only_read_by(circuit, "membership/")
    path_only = broken(circuit, splice(circuit, z_outsider, z_member, free))
    assert path_only and all(label.startswith("membership/") for label in path_only)
    with_leaf = broken(circuit, splice(circuit, z_outsider, z_member, [*free, index_of(circuit, "commitment")]))
    assert any(label.endswith("commitment/opens") for label in with_leaf)
    with_secret = broken(circuit, splice(circuit, z_outsider, z_member,
                                         [*free, index_of(circuit, "commitment"), index_of(circuit, "membership/secret")]))
    assert any(label.endswith("commitment/opens") for label in with_secret)


@pytest.mark.parametrize("model", sorted(set(MODELS) - {"cross"}) + ["cross-capacity"])
def test_a_leaf_committed_for_another_model_or_capacity_does_not_open(model):
    """The venue's tree holds alice's cross-n1-k2 commitment; she proves with another statement (or capacity)
    over the same account, the honest path of that leaf: the opening is the one constraint that breaks."""
    cross = circuit_from_id(member_id("cross"))
    commitment = cross.commitment(cross.witness(HEALTHY, SNAPSHOT, SALT))
    leaf = member_leaf(commitment, identity_commitment(SECRET))
    target = circuit_from_id("cross-n2-k2-m3" if model == "cross-capacity" else member_id(model))
    others = members(cross)
    tree = MerkleTree(others[:INDEX] + [leaf] + others[INDEX:], DEPTH)
    witness = replace(target.witness(HEALTHY, SNAPSHOT, SALT), commitment=commitment,
                      index_bits=(0, 1, 0), siblings=tuple(tree.path(INDEX)), secret=SECRET)
    assert witness.inner.salt == SALT
    failures = broken(target, solve(target, public(target, witness, tree.root), witness))
    assert len(failures) == 1 and failures[0].endswith("commitment/opens")


# ----- 5. the nullifier is the identity secret's, never the salt's --------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_the_nullifier_hashes_the_secret_variable_the_leafs_identity_hashed(model):
    circuit = circuit_from_id(member_id(model))
    users = constraints_using(circuit, index_of(circuit, "membership/secret"))
    assert any(label.startswith("membership/identity/hash/round0/sbox1/") for label in users)
    assert any(label.startswith("nullifier/hash/round0/sbox1/") for label in users)
    salt_users = constraints_using(circuit, index_of(circuit, "salt"))
    assert any("commitment/" in label for label in salt_users)
    assert not any(label.startswith(("nullifier/", "membership/")) for label in salt_users)
    scope_users = constraints_using(circuit, index_of(circuit, "scope"))
    assert scope_users and all(label.startswith("nullifier/hash/round0/sbox2/") for label in scope_users)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("source", ["another secret", "another scope", "another account"])
def test_a_nullifier_computed_for_something_else_cannot_be_spliced_in(model, source):
    """Every private variable only the nullifier part reads, and the public nullifier, from an honest solve for
    another identity secret of the same account, the same secret under another scope, or another member's
    account: the spliced assignment breaks, and only where the hash reads the secret or the scope."""
    circuit = circuit_from_id(member_id(model))
    witness, tree = placed(circuit)
    z = solve(circuit, public(circuit, witness, tree.root), witness)
    if source == "another scope":
        other = witness
        z_other = solve(circuit, public(circuit, other, tree.root, scope=SCOPE + 1), other)
        other_null = nullifier(SECRET, SCOPE + 1)
    else:
        account, salt, secret = ((HEALTHY, OTHER_SALT, OTHER_SECRET) if source == "another secret"
                                 else (SICK, MEMBER_SALTS[1], MEMBER_SECRETS[1]))
        other, other_tree = placed(circuit, account, salt, secret=secret)
        z_other = solve(circuit, public(circuit, other, other_tree.root), other)
        other_null = nullifier(secret, SCOPE)
    spliced = splice(circuit, z, z_other, only_read_by(circuit, "nullifier/"))
    spliced[index_of(circuit, "nullifier")] = other_null
    failures = broken(circuit, spliced)
    wanted = "nullifier/hash/round0/sbox2/" if source == "another scope" else "nullifier/hash/round0/sbox1/"
    assert failures and all(label.startswith(wanted) for label in failures)


def test_one_leaf_gives_one_nullifier_per_scope():
    """Soundness of the nullifier: for a fixed leaf (hence secret) and scope the whole nullifier part is determined, so a
    prover who edits any single variable under nullifier/ (or the public nullifier) breaks a constraint."""
    circuit = circuit_from_id(member_id("cross"))
    witness, tree = placed(circuit)
    z = solve(circuit, public(circuit, witness, tree.root), witness)
    names = variable_names(circuit)
    targets = [i for i, name in enumerate(names) if name.startswith("nullifier/") or name == "nullifier"]
    rng = random.Random(12)
    for i in rng.sample(targets, 40) + [index_of(circuit, "nullifier")]:
        edited = list(z)
        edited[i] = (edited[i] + rng.randrange(1, R)) % R
        assert broken(circuit, edited), names[i]


def test_every_variable_of_the_wrapper_is_determined_by_the_commitment_path_secret_and_scope():
    """No free variable to alias through: propagating from the inner statement's variables, the commitment, the
    identity secret, the index bits and the siblings, every membership/ and nullifier/ variable is fixed by one constraint in which it is
    the only unknown, appearing linearly (a * b = c with one side known)."""
    circuit = circuit_from_id(member_id("cross"))
    compiled = circuit.compile()
    names = variable_names(circuit)
    known = {i for i, name in enumerate(names) if not name.startswith(("membership/", "nullifier/"))}
    known |= {i for i, name in enumerate(names)
              if name.startswith(("membership/index_bit", "membership/sibling", "membership/secret"))}
    rows = [(a, b, c) for a, b, c, label in zip(compiled.a, compiled.b, compiled.c, compiled.labels)
            if label.startswith(("membership/", "nullifier/"))]
    progress = True
    while progress:
        progress = False
        for a, b, c in rows:
            unknown = {v for row in (a, b, c) for v, _ in row} - known
            if len(unknown) != 1:
                continue
            (v,) = unknown
            in_a, in_b, in_c = (any(x == v for x, _ in row) for row in (a, b, c))
            # Linear in v: v in C only (A, B known), or v on one side of A*B with C and the other side known.
            if (in_c and not in_a and not in_b) or (in_a != in_b and not in_c):
                known.add(v)
                progress = True
    free = [names[i] for i in range(len(names)) if i not in known]
    assert free == []


# ----- 6. the layout digest under a root: the SHIB/BTC reordering -----------------------------
SHIB = AssetQuote("SHIB", 1_000, 0)  # $0.00001
BTC_SPOT = AssetQuote("BTC", 60_000 * E8, 0)
BEFORE = Snapshot("s-before", "venue", "2026-11-26T00:00:00Z", (SHIB, BTC_SPOT), (PERP,), ScenarioSet(2, E8 // 2, 0))
AFTER = Snapshot("s-after", "venue", "2026-11-26T01:00:00Z", (BTC_SPOT, SHIB), (PERP,), ScenarioSet(2, E8 // 2, 0))
WHALE = Account("whale", (Collateral("SHIB", 1_000_000 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))
RELABELLED = Account("whale", (Collateral("BTC", 1_000_000 * E8),), WHALE.positions)


@pytest.mark.parametrize("model", ["cross", "isolated", "tiered"])
def test_the_reordering_attack_under_a_root_breaks_only_the_opening(model):
    """1,000,000 SHIB and a losing BTC-PERP long, committed under [SHIB, BTC] and put in the venue's tree; the
    verifier's snapshot lists [BTC, SHIB]. The committed slot values, read in the new order, are a healthy
    account with the real leaf and path: every constraint holds except the opening, because the layout digest
    is the verifier's public input."""
    circuit = circuit_from_id(member_id(model))
    with pytest.raises(MarginCallError):
        circuit.require_healthy(WHALE, BEFORE)
    circuit.require_healthy(RELABELLED, AFTER)
    committed, tree = placed(circuit, WHALE, SALT, BEFORE, others_account=RELABELLED)
    assert circuit.witness(RELABELLED, AFTER, SALT).inner.amounts_e8 == committed.inner.amounts_e8
    z = solve(circuit, public(circuit, committed, tree.root, snapshot=AFTER), committed)
    failures = broken(circuit, z)
    assert len(failures) == 1 and failures[0].endswith("commitment/opens")
    # Nor can a key made for this circuit turn that assignment into a proof.
    if model == "cross":
        pk = setup(circuit.compile(), random.Random(3), get_backend("arkworks"))
        with pytest.raises(CircuitError):
            prove(pk, circuit.compile(), z, backend=get_backend("arkworks"))


# ----- 7. public inputs: layout, binding, folding, the r boundary, other circuits -------------------------
@pytest.mark.parametrize("model", MODELS)
def test_root_scope_and_nullifier_are_bound_by_the_statement_not_by_the_builders_fallback(model):
    """The builder would bind an unused public input with x * 1 = x; root, scope and nullifier must each be read
    by a real constraint, in the declared order, ahead of the inner snapshot part."""
    circuit = circuit_from_id(member_id(model))
    compiled = circuit.compile()
    assert compiled.public_names[:4] == MEMBER_HEADER
    assert compiled.public_names[4:] == circuit_from_id(MODEL_IDS[model]).compile().public_names[2:]
    assert not [label for label in compiled.labels
                if label in ("bind_public/root", "bind_public/scope", "bind_public/nullifier")]
    assert constraints_using(circuit, index_of(circuit, "root")) == ["membership/root"]
    assert constraints_using(circuit, index_of(circuit, "nullifier")) == ["nullifier/matches"]
    assert constraints_using(circuit, index_of(circuit, "layout_digest"))


BIG_ID = "cross-n6-k4-m8"
BACKEND = get_backend("arkworks")
VENUE = VenueSigningKey.generate()


@functools.cache
def keys(circuit_id: str):
    return setup(circuit_from_id(circuit_id).compile(), random.Random(sum(map(ord, circuit_id))), BACKEND)


@pytest.fixture(scope="module")
def big_proof():
    """A real cross-n6-k4-m8 proof for alice at INDEX among the venue's members."""
    circuit = circuit_from_id(BIG_ID)
    witness, tree = placed(circuit)
    path = MerklePath("alice", witness.leaf, INDEX, witness.siblings, tree.root, 8)
    proof, pub = prove_member(circuit, keys(BIG_ID), HEALTHY, SNAPSHOT, SALT, CONTEXT, path, SCOPE, SECRET,
                              BACKEND)
    return circuit, proof, pub, tree


def test_every_public_input_position_is_bound_and_the_fold_agrees_with_plain_verification(big_proof):
    circuit, proof, pub, _ = big_proof
    vk = keys(BIG_ID).vk
    full = pub.as_list()
    verifier = SnapshotVerifier(circuit, vk, SNAPSHOT, BACKEND)
    # Each check trusts the root it is given: what is tested is the proof's binding, not the root policy.
    assert verify(vk, full, proof, BACKEND) and verifier.with_root(full[0]).verify_member(*full[:4], proof)
    # The fold covers exactly the snapshot part, after the four per-proof inputs.
    assert verifier.fixed.leading == 4 and verifier.snapshot_values == full[4:]
    for i in range(len(full)):
        changed = list(full)
        changed[i] = (changed[i] + 1) % R
        assert not verify(vk, changed, proof, BACKEND), i
        if i < 4:
            assert not verifier.with_root(changed[0]).verify_member(*changed[:4], proof), i
        else:
            fixed = fixed_inputs_sum(vk, 4, changed[4:], BACKEND)
            assert not verify_with_fixed_inputs(vk, full[:4], fixed, proof, BACKEND), i
    for i, j in [(0, 3), (2, 3), (1, 2), (0, 1), (0, 4), (3, 4), (2, 4)]:
        swapped = list(full)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        assert not verify(vk, swapped, proof, BACKEND), (i, j)


@pytest.mark.parametrize("position", range(4))
def test_per_proof_inputs_at_or_above_r_are_refused_alone_and_in_a_batch(big_proof, position):
    """x + r is the same field element as x: the verifier must refuse it, never reduce it and accept."""
    circuit, proof, pub, tree = big_proof
    header = list(pub.header)
    header[position] += R
    verifier = SnapshotVerifier(circuit, keys(BIG_ID).vk, SNAPSHOT, BACKEND, root=pub.header[0])
    with pytest.raises(PublicInputError, match=MEMBER_HEADER[position]):
        verifier.verify_member(*header, proof)
    item = ProofItem(root=header[0], context=header[1], scope=header[2], nullifier=header[3], proof=proof)
    honest = ProofItem(root=pub.header[0], context=pub.header[1], scope=pub.header[2], nullifier=pub.header[3],
                       proof=proof)
    report = verifier.verify_batch([honest, item])
    assert [v.outcome for v in report.verdicts] == ["valid", "malformed"]
    with pytest.raises(PublicInputError):
        verify(keys(BIG_ID).vk, [*header, *pub.snapshot_values], proof, BACKEND)


def test_snapshot_inputs_at_or_above_r_are_refused_by_the_fold(big_proof):
    _, _, pub, _ = big_proof
    values = list(pub.snapshot_values)
    values[0] += R
    with pytest.raises(PublicInputError):
        fixed_inputs_sum(keys(BIG_ID).vk, 4, values, BACKEND)


@pytest.mark.parametrize("other_id", ["cross-n6-k4-m7", "cross-n6-k4-m9", "isolated-n6-k4-m8", "cross-n6-k5-m8",
                                      "tiered-n6-k4-t2-m8"])
def test_a_cross_n6_k4_m8_proof_is_not_accepted_as_another_circuit_or_depth(big_proof, other_id):
    circuit, proof, pub, _ = big_proof
    other = circuit_from_id(other_id)
    assert other.compile().digest() != circuit.compile().digest()
    verifier = SnapshotVerifier(other, keys(other_id).vk, SNAPSHOT, BACKEND, root=pub.header[0])
    assert not verifier.verify_member(*pub.header, proof)


def test_a_membership_proof_is_not_accepted_in_named_mode(big_proof):
    circuit, proof, pub, tree = big_proof
    plain = circuit_from_id("cross-n6-k4")
    with pytest.raises(PublicInputError):
        SnapshotVerifier(plain, keys(BIG_ID).vk, SNAPSHOT, BACKEND)  # 2 fewer inputs: the key does not fit
    named = SnapshotVerifier(plain, keys("cross-n6-k4").vk, SNAPSHOT, BACKEND)
    assert not named.verify(tree.root, CONTEXT, proof)
    with pytest.raises(PublicInputError):
        named.verify_member(*pub.header, proof)


def test_under_a_venue_key_the_signed_depth_is_the_verifiers_circuits(big_proof):
    """A verifier configured for depth 9 takes no depth-8 root, even if its key would check the proof."""
    circuit, proof, pub, tree = big_proof
    venue_key = VENUE.public_key("venue")
    signed = sign_root(VENUE, SNAPSHOT, 8, len(MEMBER_SALTS) + 1, tree.root)
    assert SnapshotVerifier(circuit, keys(BIG_ID).vk, SNAPSHOT, BACKEND, venue_key).verify_member(
        *pub.header, proof, signed_root=signed)
    misconfigured = SnapshotVerifier(circuit_from_id("cross-n6-k4-m9"), keys(BIG_ID).vk, SNAPSHOT, BACKEND, venue_key)
    with pytest.raises(WrongCommitmentError, match="depth"):
        misconfigured.verify_member(*pub.header, proof, signed_root=signed)


def test_batches_with_mixed_named_and_anonymous_items(big_proof):
    """A membership batch reads only root-mode fields and a named batch only named fields; an item of the other
    mode is malformed (never read through the wrong fields), a proof of the other mode is invalid."""
    circuit, proof, pub, tree = big_proof
    root, context, scope, null = pub.header
    member_verifier = SnapshotVerifier(circuit, keys(BIG_ID).vk, SNAPSHOT, BACKEND, root=root)
    plain = circuit_from_id("cross-n6-k4")
    named_proof, named_pub = prove_account(plain, keys("cross-n6-k4"), HEALTHY, SNAPSHOT, SALT, CONTEXT, BACKEND)
    named_verifier = SnapshotVerifier(plain, keys("cross-n6-k4").vk, SNAPSHOT, BACKEND)
    anonymous = ProofItem(root=root, context=context, scope=scope, nullifier=null, proof=proof, label="anon")
    named = ProofItem(commitment=named_pub.commitment, context=CONTEXT, proof=named_proof, label="named")
    items = [anonymous, named,
             ProofItem(commitment=root, context=context, proof=proof, label="anon-as-named"),
             ProofItem(root=named_pub.commitment, context=CONTEXT, scope=scope, nullifier=null, proof=named_proof,
                       label="named-as-anon"),
             replace(anonymous, scope=null, nullifier=scope, label="swapped")]
    outcomes = [v.outcome for v in member_verifier.verify_batch(items).verdicts]
    # named-as-anon names a root the verifier does not trust: refused before its proof is looked at.
    assert outcomes == ["valid", "malformed", "malformed", "refused", "invalid"]
    trusting_any = [v.outcome for v in member_verifier.with_root(named_pub.commitment).verify_batch(items).verdicts]
    assert trusting_any[3] == "invalid"
    outcomes = [v.outcome for v in named_verifier.verify_batch(items).verdicts]
    assert outcomes == ["malformed", "valid", "invalid", "malformed", "malformed"]


# ----- 8. the venue's signed messages (zkmargin.venue.attestation) ---------------------------------------------
def test_attestation_and_root_messages_are_domain_separated():
    assert ATTESTATION_LABEL != ROOT_LABEL and len(ATTESTATION_LABEL) == len(ROOT_LABEL)
    assert not ATTESTATION_LABEL.startswith(ROOT_LABEL) and not ROOT_LABEL.startswith(ATTESTATION_LABEL)
    attestation = attest(VENUE, SNAPSHOT, "alice", 5)
    signed = sign_root(VENUE, SNAPSHOT, 3, 4, 5)
    key = VENUE.public_key("venue")
    # A signature on one kind of document never checks as the other, whatever the fields.
    as_root = SignedRoot("venue", attestation.snapshot_digest, 3, 4, 5, attestation.signature)
    with pytest.raises(BadSignatureError):
        check_signed_root(as_root, key, attestation.snapshot_digest, 5)
    as_attestation = Attestation("venue", signed.snapshot_digest, "alice", 5, signed.signature)
    with pytest.raises(BadSignatureError):
        check_attestation(as_attestation, key, signed.snapshot_digest, 5)


def test_length_prefixes_keep_field_boundaries_unambiguous():
    digest = bytes(32)
    pairs = [("ab", "c"), ("a", "bc"), ("abc", "d"), ("é", "x"), ("e\u0301", "x")]
    messages = {attestation_message(v, digest, a, 1) for v, a in pairs}
    assert len(messages) == len(pairs)
    for venue, account in pairs:
        message = attestation_message(venue, digest, account, 1)
        label = len(ATTESTATION_LABEL)
        n = int.from_bytes(message[label:label + 2], "big")
        assert n == len(venue.encode()) and message[label + 2:label + 2 + n] == venue.encode()
        rest = message[label + 2 + n + 32:]
        m = int.from_bytes(rest[:2], "big")
        assert rest[2:2 + m] == account.encode() and len(rest) == 2 + m + 32
    roots = {root_message("v", digest, d, c, 7) for d, c in [(1, 2), (2, 1), (3, 2), (2, 3)]}
    assert len(roots) == 4


@pytest.mark.parametrize("venue", ["x" * 129, "x" * 70_000, "", " venue", "\ud800"])
def test_unencodable_identifiers_are_refused_with_a_typed_error(venue):
    """A 2-byte length prefix must never overflow (OverflowError) or encode something unparseable."""
    with pytest.raises(MalformedAttestationError):
        attestation_message(venue, bytes(32), "alice", 1)
    with pytest.raises(MalformedAttestationError):
        root_message(venue, bytes(32), 3, 1, 1)


@pytest.mark.parametrize("value", [R, R + 5, -1, True])
def test_field_elements_of_signed_messages_are_canonical(value):
    """fe(x) is 32 bytes of x < r: x + r would sign the same leaf-or-root under two encodings."""
    with pytest.raises(MalformedAttestationError):
        attestation_message("venue", bytes(32), "alice", value)
    with pytest.raises(MalformedAttestationError):
        root_message("venue", bytes(32), 3, 1, value)


@pytest.mark.parametrize("depth, leaf_count", [(0, 1), (33, 1), (3, 0), (3, 9), (2, 5)])
def test_root_messages_refuse_shapes_that_do_not_fit_their_fixed_widths(depth, leaf_count):
    with pytest.raises(MalformedAttestationError):
        root_message("venue", bytes(32), depth, leaf_count, 1)


def _variants(obj: Any, path: str = ""):
    """(path, obj with the one field at path changed) for every int and str leaf of a dataclass tree."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            for p, value in _variants(getattr(obj, f.name), f"{path}.{f.name}"):
                yield p, dataclasses.replace(obj, **{f.name: value})
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            for p, value in _variants(item, f"{path}[{i}]"):
                yield p, (*obj[:i], value, *obj[i + 1:])
    elif isinstance(obj, str):
        yield path, obj + "x"
    elif isinstance(obj, int) and not isinstance(obj, bool):
        yield path, obj + 1


def test_signed_messages_cover_every_field_of_the_snapshot():
    """Attestations and roots sign the snapshot through its digest: a venue's signature for one snapshot must not
    check for another that differs in any single field (price, tier, risk parameter, scenario vector, name)."""
    risk = RiskParams("future", 60_000 * E8, 5 * E8 // 100, 0, 3 * E8, 33 * E8 // 100, 1, 2, 3)
    quote = InstrumentQuote("BTC-PERP", 60_000 * E8, E8 // 20, E8,
                            tiers=(Tier(0, 10 * E8, E8 // 100, 0), Tier(10 * E8, 20 * E8, E8 // 50, 5)),
                            risk=risk, scenario_pnl_e8=(-3, 4), risk_array_e8=(1, 2))
    snapshot = Snapshot("s1", "venue", "2026-11-26T00:00:00Z",
                        (AssetQuote("BTC", 60_000 * E8, E8 // 10, scenario_value_change_e8=(5, -6)),), (quote,),
                        ScenarioSet(2, E8 // 2, 7))
    signed = sign_root(VENUE, snapshot, 3, 1, 5)
    key = VENUE.public_key("venue")
    check_signed_root(signed, key, snapshot_digest(snapshot), 5)
    changed = list(_variants(snapshot))
    assert len(changed) > 30
    for path, other in changed:
        assert snapshot_digest(other) != signed.snapshot_digest, path
