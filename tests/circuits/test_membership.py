"""Anonymous membership for every model (circuits/membership.py): hand-built witnesses that must not satisfy it
first, then real proofs for every model and the verifier's signed-root policy (issue 12, item 3)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from zkmargin.backends import get_backend
from zkmargin.circuits.layout import MEMBER_HEADER, StatementPublic
from zkmargin.circuits.membership import Membership, MembershipWitness
from zkmargin.circuits.proving import prove_account, prove_member
from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, MODELS, circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
from zkmargin.errors import (
    CircuitError,
    MarginCallError,
    PublicInputError,
    UnattestedError,
    WrongCommitmentError,
    WrongSnapshotError,
    WrongVenueError,
)
from zkmargin.field import R
from zkmargin.gadgets.merkle import identity_commitment, member_leaf, merkle_node, nullifier
from zkmargin.groth16 import setup
from zkmargin.margin.models import Account, AssetQuote, Collateral, InstrumentQuote, Position, ScenarioSet, Snapshot
from zkmargin.r1cs import ConstraintSystem
from zkmargin.venue.attestation import VenueSigningKey, sign_root, snapshot_digest
from zkmargin.venue.tree import MerklePath, MerkleTree

E8 = 10**8
BTC = AssetQuote("BTC", 60_000 * E8, E8 // 10)
USDC = AssetQuote("USDC", E8, 0)
PERP = InstrumentQuote("BTC-PERP", 60_000 * E8, E8 // 20, E8, scenario_pnl_e8=(-3_000 * E8, 1_000 * E8))


def make_snapshot(assets=(BTC, USDC), snapshot_id: str = "s1", venue: str = "venue") -> Snapshot:
    return Snapshot(snapshot_id, venue, "2026-11-26T00:00:00Z", tuple(assets), (PERP,), ScenarioSet(2, E8 // 2, 0))


SNAPSHOT = make_snapshot()
REORDERED = make_snapshot((USDC, BTC))
HEALTHY = Account("alice", (Collateral("BTC", E8), Collateral("USDC", 1_000 * E8)),
                  (Position("BTC-PERP", E8 // 10, 60_000 * E8),))
SICK = Account("bob", (Collateral("USDC", 10 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))
SALT, OTHER_SALT, CONTEXT, SCOPE = 987654321, 123456789, 7, 31337
DEPTH = 3
CIRCUIT_ID = f"cross-n1-k2-m{DEPTH}"
INNER_IDS = {"cross": "cross-n1-k2", "isolated": "isolated-n1-k2", "tiered": "tiered-n1-k2-t2",
             "portfolio": "portfolio-n1-k2", "var": "var-n1-k2-s2", "es": "es-n1-k2-s2"}
OTHERS = [1111, 2222, 3333]  # other accounts' leaves (stand-ins: any nonzero field elements)
SECRET, OTHER_SECRET = 0x5EC12E7, 0xB0B5EC12E7  # the trader's identity secret, and another trader's
INDEX = 2


def member_setup(circuit_id: str = CIRCUIT_ID, account: Account = HEALTHY, snapshot: Snapshot = SNAPSHOT,
                 salt: int = SALT, secret: int = SECRET, others: list[int] = OTHERS):
    """(circuit, placed witness, tree) with the account's leaf (commitment under the secret's identity) at INDEX."""
    circuit = circuit_from_id(circuit_id)
    witness = circuit.witness(account, snapshot, salt)
    leaf = member_leaf(witness.commitment, identity_commitment(secret))
    leaves = others[:INDEX] + [leaf] + others[INDEX:]
    tree = MerkleTree(leaves, circuit.statement.depth)
    path = MerklePath(account.account_id, leaf, INDEX, tuple(tree.path(INDEX)), tree.root, tree.depth)
    return circuit, circuit.statement.place(witness, path, secret), tree


def public_for(circuit, witness, root: int, scope: int = SCOPE, claimed: int | None = None,
               snapshot: Snapshot = SNAPSHOT) -> StatementPublic:
    claimed = circuit.statement.nullifier(witness, scope) if claimed is None else claimed
    return circuit.public_inputs(snapshot, root, CONTEXT, (scope, claimed))


def first_failure(circuit, public: StatementPublic, witness) -> str | None:
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    return cs.which_is_unsatisfied()


# ----- adversarial witnesses (no setup) ------------------------------------------------------------
def test_an_honest_member_satisfies_the_statement():
    circuit, witness, tree = member_setup()
    assert first_failure(circuit, public_for(circuit, witness, tree.root), witness) is None


def test_a_non_member_leaf_is_refused_at_the_root():
    circuit, witness, _ = member_setup()
    outsiders = MerkleTree(OTHERS, DEPTH)  # the same tree without this account
    forged = replace(witness, siblings=tuple(outsiders.path(INDEX)))
    assert first_failure(circuit, public_for(circuit, forged, outsiders.root), forged) == "membership/root"


def test_secret_zero_is_refused_before_proving():
    """Review (issue 22): secret 0 (a zeroed buffer) is public, so its account's nullifiers would be anyone's to
    compute; place() refuses it, as the venue refuses its identity when building leaves."""
    circuit = circuit_from_id(CIRCUIT_ID)
    witness = circuit.witness(HEALTHY, SNAPSHOT, SALT)
    leaf = member_leaf(witness.commitment, identity_commitment(0))
    tree = MerkleTree([*OTHERS[:INDEX], leaf], DEPTH)
    path = MerklePath("alice", leaf, INDEX, tuple(tree.path(INDEX)), tree.root, DEPTH)
    with pytest.raises(CircuitError, match="secret 0 is public"):
        circuit.statement.place(witness, path, 0)


def test_a_path_for_another_leaf_is_refused_before_proving():
    circuit, witness, tree = member_setup()
    other = MerklePath("other", OTHERS[0], 0, tuple(tree.path(0)), tree.root, DEPTH)
    with pytest.raises(CircuitError, match="another leaf"):
        circuit.statement.place(witness, other, SECRET)
    own = MerklePath("alice", witness.leaf, INDEX, witness.siblings, tree.root, DEPTH)
    with pytest.raises(CircuitError, match="another leaf"):
        circuit.statement.place(witness, own, OTHER_SECRET)


def test_another_members_leaf_does_not_open_as_this_account():
    """Another commitment with this account's (healthy) slot values: the opening breaks."""
    circuit, witness, tree = member_setup()
    forged = replace(witness, commitment=OTHERS[0], index_bits=(0, 0, 0), siblings=tuple(tree.path(0)))
    assert first_failure(circuit, public_for(circuit, forged, tree.root), forged) == "commitment/opens"


def test_the_empty_leaf_cannot_be_proved():
    circuit, witness, tree = member_setup()
    empty_index = 7  # beyond the occupied prefix: an empty slot with an honest, public path
    assert tree.leaf(empty_index) == 0
    forged = replace(witness, commitment=0, index_bits=(1, 1, 1), siblings=tuple(tree.path(empty_index)))
    assert first_failure(circuit, public_for(circuit, forged, tree.root), forged) is not None


def test_an_internal_node_with_a_shorter_path_is_refused():
    """The level-1 node above this account, as a leaf of a depth-2 circuit under the depth-3 root."""
    circuit3, witness, tree = member_setup()
    circuit2 = circuit_from_id(f"cross-n1-k2-m{DEPTH - 1}")
    node = merkle_node(OTHERS[INDEX], witness.leaf, 1) if INDEX % 2 else merkle_node(witness.leaf, OTHERS[INDEX], 1)
    siblings = tuple(tree.path(INDEX)[1:])
    forged = MembershipWitness(witness.inner, node, ((INDEX >> 1) & 1, (INDEX >> 2) & 1), siblings, SECRET)
    assert first_failure(circuit2, public_for(circuit2, forged, tree.root), forged) is not None
    with pytest.raises(CircuitError, match="another leaf"):
        circuit2.statement.place(circuit2.witness(HEALTHY, SNAPSHOT, SALT),
                                 MerklePath("alice", node, INDEX >> 1, siblings, tree.root, DEPTH - 1), SECRET)


@pytest.mark.parametrize("bit", [2, R - 1])
def test_a_path_bit_that_is_not_0_or_1_is_refused(bit):
    circuit, witness, tree = member_setup()
    forged = replace(witness, index_bits=(bit, *witness.index_bits[1:]))
    assert first_failure(circuit, public_for(circuit, forged, tree.root), forged) == "membership/level0/index_bool"


def test_a_sibling_at_or_above_r_is_refused_before_proving():
    circuit, witness, tree = member_setup()
    siblings = list(tree.path(INDEX))
    siblings[1] += R
    with pytest.raises(CircuitError, match="sibling 1"):
        circuit.statement.place(circuit.witness(HEALTHY, SNAPSHOT, SALT),
                                MerklePath("alice", witness.leaf, INDEX, tuple(siblings), tree.root, DEPTH), SECRET)


@pytest.mark.parametrize("name", ["root", "scope", "nullifier", "context"])
def test_public_header_values_at_or_above_r_are_refused(name):
    circuit, witness, tree = member_setup()
    values = {"root": tree.root, "context": CONTEXT, "scope": SCOPE, "nullifier": 5}
    values[name] += R
    with pytest.raises(PublicInputError, match=name):
        circuit.public_inputs(SNAPSHOT, values["root"], values["context"], (values["scope"], values["nullifier"]))


def test_a_path_of_another_depth_is_refused():
    circuit, witness, tree = member_setup()
    deeper = MerkleTree([witness.leaf], DEPTH + 1)
    with pytest.raises(CircuitError, match=f"depth {DEPTH}"):
        circuit.statement.place(circuit.witness(HEALTHY, SNAPSHOT, SALT),
                                MerklePath("alice", witness.leaf, 0, tuple(deeper.path(0)), deeper.root, DEPTH + 1),
                                SECRET)
    short = replace(witness, index_bits=witness.index_bits[:-1])
    with pytest.raises(CircuitError, match="shorter"):
        first_failure(circuit, public_for(circuit, short, tree.root), short)


def test_a_witness_without_a_path_cannot_be_solved():
    circuit, _, tree = member_setup()
    bare = circuit.witness(HEALTHY, SNAPSHOT, SALT)
    with pytest.raises(CircuitError, match="no Merkle path"):
        first_failure(circuit, public_for(circuit, bare, tree.root, claimed=5), bare)
    with pytest.raises(CircuitError, match="no identity secret"):
        circuit.statement.nullifier(bare, SCOPE)


def test_a_nullifier_for_another_scope_is_refused():
    circuit, witness, tree = member_setup()
    claimed = nullifier(SECRET, SCOPE + 1)
    assert first_failure(circuit, public_for(circuit, witness, tree.root, claimed=claimed), witness) \
        == "nullifier/matches"


def test_a_nullifier_computed_from_the_salt_is_refused():
    """The nullifier is Poseidon(identity secret, scope), never the salt's (which the venue knows)."""
    circuit, witness, tree = member_setup()
    for claimed in (nullifier(SALT, SCOPE), nullifier(OTHER_SALT, SCOPE)):
        assert first_failure(circuit, public_for(circuit, witness, tree.root, claimed=claimed), witness) \
            == "nullifier/matches"
    # A witness whose inner salt is changed no longer opens the commitment.
    forged = replace(witness, inner=replace(witness.inner, salt=OTHER_SALT))
    assert first_failure(circuit, public_for(circuit, forged, tree.root), forged) == "commitment/opens"


def test_a_secret_that_is_not_the_leafs_identitys_is_refused():
    """Hand-built: this account's leaf and path, another secret (and its nullifier): the recomputed leaf is off."""
    circuit, witness, tree = member_setup()
    forged = replace(witness, secret=OTHER_SECRET)
    claimed = nullifier(OTHER_SECRET, SCOPE)
    assert first_failure(circuit, public_for(circuit, forged, tree.root, claimed=claimed), forged) \
        == "membership/root"


def test_another_accounts_identity_gives_no_leaf_of_this_account():
    """Bob's leaf binds his commitment to his identity: Alice's commitment with Bob's secret is not in the tree,
    and Bob's secret with Alice's commitment cannot take Bob's place either (the opening is Alice's)."""
    bob_leaf = member_leaf(4444, identity_commitment(OTHER_SECRET))
    circuit, witness, tree = member_setup(others=[1111, bob_leaf, 3333])
    forged = replace(witness, secret=OTHER_SECRET)
    claimed = nullifier(OTHER_SECRET, SCOPE)
    assert first_failure(circuit, public_for(circuit, forged, tree.root, claimed=claimed), forged) \
        == "membership/root"
    at_bob = replace(forged, index_bits=(1, 0, 0), siblings=tuple(tree.path(1)))
    assert first_failure(circuit, public_for(circuit, at_bob, tree.root, claimed=claimed), at_bob) \
        == "membership/root"
    as_bob = replace(at_bob, commitment=4444)
    assert first_failure(circuit, public_for(circuit, as_bob, tree.root, claimed=claimed), as_bob) \
        == "commitment/opens"


def test_one_account_has_one_nullifier_per_scope_under_every_snapshot_root_and_depth():
    """Two snapshots (new salt, new commitment, other tree, other depth): the nullifier in a scope is the same,
    and each placement satisfies the statement with it."""
    circuit, witness, tree = member_setup()
    s2 = make_snapshot(snapshot_id="s2")
    circuit2, witness2, tree2 = member_setup("cross-n1-k2-m2", snapshot=s2, salt=OTHER_SALT, others=[5555, 6666])
    assert witness.commitment != witness2.commitment and tree.root != tree2.root
    same = circuit.statement.nullifier(witness, SCOPE)
    assert same == circuit2.statement.nullifier(witness2, SCOPE) == nullifier(SECRET, SCOPE)
    assert first_failure(circuit, public_for(circuit, witness, tree.root, claimed=same), witness) is None
    public2 = public_for(circuit2, witness2, tree2.root, claimed=same, snapshot=s2)
    assert first_failure(circuit2, public2, witness2) is None


def test_a_commitment_made_under_another_layout_does_not_open():
    """The leaf was committed under [BTC, USDC]; the verifier's snapshot lists [USDC, BTC]."""
    circuit, witness, tree = member_setup()
    relabelled = Account("alice", (Collateral("USDC", E8), Collateral("BTC", 1_000 * E8)), HEALTHY.positions)
    moved = circuit.witness(relabelled, REORDERED, SALT)
    assert moved.inner.amounts_e8 == witness.inner.amounts_e8
    forged = replace(witness, inner=moved.inner)
    public = public_for(circuit, forged, tree.root, snapshot=REORDERED)
    assert first_failure(circuit, public, forged) == "commitment/opens"


def test_an_unhealthy_member_cannot_satisfy_the_statement():
    circuit, witness, tree = member_setup(account=SICK)
    failing = first_failure(circuit, public_for(circuit, witness, tree.root), witness)
    assert failing is not None and failing.startswith("solvency/")


def test_the_venue_cannot_compute_the_nullifier_from_what_it_holds():
    """The venue knows each account's salt, commitment, identity and leaf, never the secret: none of them (nor the
    old salt-keyed formula) gives the nullifier."""
    circuit, witness, _ = member_setup()
    shown = circuit.statement.nullifier(witness, SCOPE)
    venue_knows = [SALT, witness.commitment, identity_commitment(SECRET), witness.leaf]
    assert all(nullifier(value, SCOPE) != shown for value in venue_knows)
    assert shown == nullifier(SECRET, SCOPE)


def test_nullifiers_repeat_within_a_scope_and_differ_across_scopes_and_accounts():
    circuit, witness, _ = member_setup()
    again = member_setup()[1]
    resalted = member_setup(salt=OTHER_SALT)[1]
    other = member_setup(secret=OTHER_SECRET)[1]
    assert circuit.statement.nullifier(witness, SCOPE) == circuit.statement.nullifier(again, SCOPE)
    assert circuit.statement.nullifier(witness, SCOPE) == circuit.statement.nullifier(resalted, SCOPE)
    assert circuit.statement.nullifier(witness, SCOPE) != circuit.statement.nullifier(witness, SCOPE + 1)
    assert circuit.statement.nullifier(witness, SCOPE) != circuit.statement.nullifier(other, SCOPE)


# ----- ids, layout and composition -----------------------------------------------------------------
@pytest.mark.parametrize("model", sorted(INNER_IDS))
def test_every_model_has_a_membership_id(model):
    import re

    circuit = circuit_from_id(f"{INNER_IDS[model]}-m20")
    assert isinstance(circuit.statement, Membership) and circuit.statement.depth == 20
    assert circuit.circuit_id == f"{INNER_IDS[model]}-m20" and circuit.model == MODELS[model].name
    assert re.fullmatch(CIRCUIT_ID_PATTERN, circuit.circuit_id)
    assert not re.fullmatch(CIRCUIT_ID_PATTERN, f"{INNER_IDS[model]}-m33")


@pytest.mark.parametrize("bad", ["cross-n1-k2-m0", "cross-n1-k2-m33", "cross-n1-k2-m07", "cross-n1-k2-m3-m3",
                                 "nope-n1-k2-m3", "cross-m3", "tiered-n1-k2-m3"])
def test_bad_membership_ids_are_refused(bad):
    with pytest.raises(CircuitError):
        circuit_from_id(bad)


def test_membership_cannot_wrap_membership_or_take_a_bad_depth():
    inner = circuit_from_id("cross-n1-k2").statement
    with pytest.raises(CircuitError, match="wraps a plain"):
        Membership(Membership(inner, 2), 2)
    for depth in (0, 33, True, "3"):
        with pytest.raises(CircuitError, match="depth"):
            Membership(inner, depth)


def test_header_and_cost_compose_over_the_plain_statement():
    plain, member = circuit_from_id("cross-n1-k2"), circuit_from_id(CIRCUIT_ID)
    assert member.header == MEMBER_HEADER and member.per_proof_inputs == 4 and plain.per_proof_inputs == 2
    assert member.num_public == plain.num_public + 2
    names = member.compile().public_names
    assert names[:4] == MEMBER_HEADER and names[4:] == plain.compile().public_names[2:]
    # identity 243, leaf 243; path: leaf != 0 and root equality, 245 per level; nullifier 243 and its equality;
    # the commitment equality is the inner opening's, which the plain statement has too.
    assert member.compile().num_constraints == plain.compile().num_constraints + 243 * 2 + 2 + 245 * DEPTH + 243 + 1
    assert member.snapshot_inputs(SNAPSHOT) == plain.snapshot_inputs(SNAPSHOT)


def test_the_inner_statement_returns_the_salt_it_opened():
    circuit, witness, tree = member_setup()
    plain = circuit_from_id("cross-n1-k2")
    cs = ConstraintSystem("check")
    public = plain.public_inputs(SNAPSHOT, witness.commitment, CONTEXT)
    inputs = plain.statement.layout.allocate(cs, public)
    salt = plain.statement.synthesize(cs, inputs, witness.inner)
    assert salt.value == SALT and cs.which_is_unsatisfied() is None


# ----- real proofs -----------------------------------------------------------------------------------
BACKEND = get_backend("arkworks")
VENUE_KEY = VenueSigningKey.generate()


@pytest.fixture(scope="module")
def cross_keys():
    circuit = circuit_from_id(CIRCUIT_ID)
    return setup(circuit.compile(), random.Random(5), BACKEND)


def member_proof(circuit_id: str, pk, salt: int = SALT, scope: int = SCOPE, snapshot: Snapshot = SNAPSHOT):
    circuit, witness, tree = member_setup(circuit_id, snapshot=snapshot, salt=salt)
    path = MerklePath("alice", witness.leaf, INDEX, witness.siblings, tree.root, tree.depth)
    proof, public = prove_member(circuit, pk, HEALTHY, snapshot, salt, CONTEXT, path, scope, SECRET, BACKEND)
    return circuit, proof, public, tree


@pytest.mark.parametrize("model", ["cross", "isolated", "tiered", "portfolio", "var"])
def test_every_model_proves_and_verifies_in_membership_mode(model, cross_keys):
    circuit_id = f"{INNER_IDS[model]}-m2"
    circuit = circuit_from_id(circuit_id)
    pk = cross_keys if circuit_id == CIRCUIT_ID else setup(circuit.compile(), random.Random(6), BACKEND)
    circuit, proof, public, tree = member_proof(circuit_id, pk)
    assert public.as_list()[:4] == [tree.root, CONTEXT, SCOPE, nullifier(SECRET, SCOPE)]
    verifier = SnapshotVerifier(circuit, pk.vk, SNAPSHOT, BACKEND, root=tree.root)
    assert verifier.verify_member(tree.root, CONTEXT, SCOPE, public.extra[1], proof)


def test_a_member_proof_verifies_only_with_its_root_scope_nullifier_and_context(cross_keys):
    circuit, proof, public, tree = member_proof(CIRCUIT_ID, cross_keys)
    verifier = SnapshotVerifier(circuit, cross_keys.vk, SNAPSHOT, BACKEND)
    good = dict(root=tree.root, context=CONTEXT, scope=SCOPE, nullifier=public.extra[1])

    def proof_holds(checker: SnapshotVerifier, **header: int) -> bool:
        # The verifier trusts the root under test, so what is checked is the proof's binding, not the root policy.
        return checker.with_root(header["root"]).verify_member(**header, proof=proof)

    assert proof_holds(verifier, **good)
    for name in good:
        assert not proof_holds(verifier, **{**good, name: good[name] + 1}), name
    assert not proof_holds(SnapshotVerifier(circuit, cross_keys.vk, REORDERED, BACKEND), **good)


def test_the_same_account_twice_in_one_scope_shows_the_same_nullifier(cross_keys):
    _, _, first, _ = member_proof(CIRCUIT_ID, cross_keys)
    # Another snapshot: a fresh salt, so another commitment, leaf and root; the nullifier stays.
    _, _, second, tree2 = member_proof(CIRCUIT_ID, cross_keys, salt=OTHER_SALT, snapshot=make_snapshot(snapshot_id="s2"))
    assert second.commitment == tree2.root != first.commitment
    _, _, elsewhere, _ = member_proof(CIRCUIT_ID, cross_keys, scope=SCOPE + 1)
    assert first.extra[1] == second.extra[1] != elsewhere.extra[1]


def test_an_unhealthy_member_gets_no_proof(cross_keys):
    circuit, witness, tree = member_setup(account=SICK)
    path = MerklePath("bob", witness.leaf, INDEX, witness.siblings, tree.root, DEPTH)
    with pytest.raises(MarginCallError):
        prove_member(circuit, cross_keys, SICK, SNAPSHOT, SALT, CONTEXT, path, SCOPE, SECRET, BACKEND)


def test_modes_do_not_mix(cross_keys):
    circuit, proof, public, tree = member_proof(CIRCUIT_ID, cross_keys)
    with pytest.raises(CircuitError, match="Merkle path, a scope"):
        prove_account(circuit, cross_keys, HEALTHY, SNAPSHOT, SALT, CONTEXT, BACKEND)
    verifier = SnapshotVerifier(circuit, cross_keys.vk, SNAPSHOT, BACKEND)
    with pytest.raises(PublicInputError, match="root, scope and nullifier"):
        verifier.verify(tree.root, CONTEXT, proof)
    with pytest.raises(PublicInputError, match="root"):
        verifier.verify_member(tree.root + R, CONTEXT, SCOPE, public.extra[1], proof)


def test_under_a_venue_key_only_the_venues_signed_root_for_this_snapshot_is_accepted(cross_keys):
    circuit, proof, public, tree = member_proof(CIRCUIT_ID, cross_keys)
    key = VENUE_KEY.public_key("venue")
    verifier = SnapshotVerifier(circuit, cross_keys.vk, SNAPSHOT, BACKEND, key)
    args = (tree.root, CONTEXT, SCOPE, public.extra[1], proof)
    signed = sign_root(VENUE_KEY, SNAPSHOT, DEPTH, 3, tree.root)
    assert verifier.verify_member(*args, signed_root=signed)
    with pytest.raises(UnattestedError):
        verifier.verify_member(*args)
    with pytest.raises(WrongSnapshotError):
        verifier.verify_member(*args, signed_root=sign_root(VENUE_KEY, make_snapshot(snapshot_id="s2"), DEPTH, 3,
                                                            tree.root))
    with pytest.raises(WrongCommitmentError, match="signed root is"):
        verifier.verify_member(*args, signed_root=sign_root(VENUE_KEY, SNAPSHOT, DEPTH, 3, tree.root + 1))
    with pytest.raises(WrongCommitmentError, match="depth"):
        verifier.verify_member(*args, signed_root=sign_root(VENUE_KEY, SNAPSHOT, DEPTH + 1, 3, tree.root))
    other_venue = SnapshotVerifier(circuit, cross_keys.vk, SNAPSHOT, BACKEND,
                                   VenueSigningKey.generate().public_key("elsewhere"))
    with pytest.raises(WrongVenueError):
        other_venue.verify_member(*args, signed_root=signed)
    assert signed.snapshot_digest == snapshot_digest(SNAPSHOT)


def test_batches_fold_root_mode_items(cross_keys):
    circuit, proof, public, tree = member_proof(CIRCUIT_ID, cross_keys)
    _, proof2, public2, _ = member_proof(CIRCUIT_ID, cross_keys, scope=SCOPE + 5)
    key = VENUE_KEY.public_key("venue")
    signed = sign_root(VENUE_KEY, SNAPSHOT, DEPTH, 3, tree.root)
    verifier = SnapshotVerifier(circuit, cross_keys.vk, SNAPSHOT, BACKEND, key)

    def item(p, pub, label, **changes):
        fields = dict(root=tree.root, context=CONTEXT, scope=pub.extra[0], nullifier=pub.extra[1], proof=p,
                      signed_root=signed, label=label)
        return ProofItem(**{**fields, **changes})

    items = [item(proof, public, "a"), item(proof2, public2, "b"),
             item(proof, public, "wrong-nullifier", nullifier=public2.extra[1]),
             item(proof, public, "unsigned", signed_root=None),
             item(proof, public, "no-scope", scope=None),
             ProofItem(commitment=tree.root, context=CONTEXT, proof=proof, label="named-mode")]
    report = verifier.verify_batch(items)
    assert [v.outcome for v in report.verdicts] == ["valid", "valid", "invalid", "refused", "malformed",
                                                    "malformed"]
    assert report.tally == {"valid": 2, "invalid": 1, "malformed": 2, "refused": 1}


def test_depth_20_member_satisfies_and_a_flipped_top_bit_does_not():
    circuit, witness, tree = member_setup("cross-n1-k2-m20")
    public = public_for(circuit, witness, tree.root)
    assert first_failure(circuit, public, witness) is None
    flipped = replace(witness, index_bits=(*witness.index_bits[:-1], 1 - witness.index_bits[-1]))
    assert first_failure(circuit, public, flipped) == "membership/root"
