"""A commitment binds the snapshot's slot layout: it never opens under another layout (issue 12, item 1).

The attack: commit an under-margined account (1,000,000 SHIB and a losing BTC-PERP
long) under assets [SHIB, BTC]; a later snapshot lists [BTC, SHIB], so the same
slot values read as 1,000,000 BTC. Without the layout in the commitment the old
commitment opens under the new snapshot and the proof verifies.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.proving import verify_account_proof
from zkmargin.circuits.registry import MODELS, circuit_from_id
from zkmargin.errors import UnsatisfiedError
from zkmargin.field import R
from zkmargin.margin.commitment import layout_digest
from zkmargin.margin.models import Account, AssetQuote, Collateral, InstrumentQuote, Position, ScenarioSet, Snapshot
from zkmargin.r1cs import ConstraintSystem

E8 = 10**8
SHIB = AssetQuote("SHIB", 1_000, 0)  # 0.00001 USD
BTC = AssetQuote("BTC", 60_000 * E8, 0)
ETH = AssetQuote("ETH", 3_000 * E8, 0)
# Two historical scenarios per instrument for var and es (the other models ignore them).
BTC_PERP = InstrumentQuote("BTC-PERP", 60_000 * E8, E8 // 20, E8, scenario_pnl_e8=(-5_000 * E8, 1_000 * E8))
ETH_PERP = InstrumentQuote("ETH-PERP", 3_000 * E8, E8 // 20, E8, scenario_pnl_e8=(-300 * E8, 100 * E8))
SALT = 424242
CONTEXT = 7

# Capacity for two assets and two instruments, per model (tiered also fixes its bracket count).
CIRCUIT_IDS = {"cross": "cross-n2-k3", "isolated": "isolated-n2-k3", "tiered": "tiered-n2-k3-t2",
               "portfolio": "portfolio-n2-k3", "var": "var-n2-k3-s2", "es": "es-n2-k3-s2"}


def snapshot(assets, instruments=(BTC_PERP,)) -> Snapshot:
    return Snapshot("s", "venue", "2026-11-25T00:00:00Z", tuple(assets), tuple(instruments), ScenarioSet(2, E8 // 2, 0))


ORIGINAL = snapshot([SHIB, BTC])
REORDERED = snapshot([BTC, SHIB])
# Under-margined: 10 USD of SHIB against a 10,000 USD loss on one BTC-PERP.
HONEST = Account("acct", (Collateral("SHIB", 1_000_000 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))
# The same slot values under the reordered snapshot: 1,000,000 BTC.
FORGED = Account("acct", (Collateral("BTC", 1_000_000 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))

LAYOUT_CHANGES = {
    "reorder assets": snapshot([BTC, SHIB]),
    "insert an asset": snapshot([SHIB, ETH, BTC]),
    "delist an asset": snapshot([BTC]),
    "rename an asset": snapshot([replace(SHIB, asset="SHIB2"), BTC]),
    "insert an instrument": snapshot([SHIB, BTC], (ETH_PERP, BTC_PERP)),
    "delist an instrument": snapshot([SHIB, BTC], ()),
    "reorder instruments": snapshot([SHIB, BTC], (ETH_PERP, BTC_PERP)),
}


def test_every_model_is_covered():
    assert set(CIRCUIT_IDS) == set(MODELS)


@pytest.mark.parametrize("model", sorted(CIRCUIT_IDS))
def test_the_attack_needs_no_more_than_a_reordered_snapshot(model):
    """The premise: the forged account is healthy under the new snapshot and has the honest slot values."""
    circuit = circuit_from_id(CIRCUIT_IDS[model])
    with pytest.raises(Exception, match="margin call"):
        circuit.require_healthy(HONEST, ORIGINAL)
    circuit.require_healthy(FORGED, REORDERED)
    honest, forged = circuit.witness(HONEST, ORIGINAL, SALT), circuit.witness(FORGED, REORDERED, SALT)
    assert (honest.quantities_e8, honest.amounts_e8) == (forged.quantities_e8, forged.amounts_e8)


@pytest.mark.parametrize("model", sorted(CIRCUIT_IDS))
def test_reordered_snapshot_does_not_open_the_commitment_at_prove_time(model):
    circuit = circuit_from_id(CIRCUIT_IDS[model])
    commitment = circuit.commitment(circuit.witness(HONEST, ORIGINAL, SALT))
    forged = circuit.witness(FORGED, REORDERED, SALT)
    assert circuit.commitment(forged) != commitment
    public = circuit.public_inputs(REORDERED, commitment, CONTEXT)
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, forged)
    assert cs.which_is_unsatisfied() == "commitment/opens"


@pytest.mark.parametrize("model", sorted(CIRCUIT_IDS))
def test_slot_values_copied_from_the_commitment_do_not_open_it_under_another_layout(model):
    """The strongest prover: the committed slot values and salt, only the layout changed."""
    circuit = circuit_from_id(CIRCUIT_IDS[model])
    honest = circuit.witness(HONEST, ORIGINAL, SALT)
    commitment = circuit.commitment(honest)
    for change, other in LAYOUT_CHANGES.items():
        public = circuit.public_inputs(other, commitment, CONTEXT)
        cs = ConstraintSystem("check")
        circuit.synthesize(cs, public, honest)
        assert cs.which_is_unsatisfied() == "commitment/opens", change


@pytest.mark.parametrize("model", sorted(CIRCUIT_IDS))
def test_hand_built_witness_with_the_old_layout_proves_but_the_verifier_refuses(model):
    """A prover who supplies the old layout digest itself gets a valid Groth16 proof for ITS inputs; the
    verifier derives the digest from its own snapshot, so verification under the reordered snapshot fails."""
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import prove, setup, verify

    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT_IDS[model])
    honest = circuit.witness(HONEST, ORIGINAL, SALT)
    commitment = circuit.commitment(honest)
    verifier_public = circuit.public_inputs(REORDERED, commitment, CONTEXT)
    old_digest = circuit.snapshot_inputs(ORIGINAL)[0]
    assert verifier_public.snapshot_values[0] != old_digest
    forged_public = StatementPublic(commitment, CONTEXT, (old_digest, *verifier_public.snapshot_values[1:]))
    forged = replace(circuit.witness(FORGED, REORDERED, SALT), layout_digest=old_digest)
    assert circuit.commitment(forged) == commitment
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, forged_public, forged)
    assert cs.which_is_unsatisfied() is None  # the statement holds for the prover's own inputs
    pk = setup(circuit.compile(), random.Random(12), backend)
    proof = prove(pk, circuit.compile(), circuit.witness_assignment(forged_public, forged), backend=backend)
    assert verify(pk.vk, forged_public.as_list(), proof, backend)
    assert not verify_account_proof(circuit, pk.vk, REORDERED, commitment, CONTEXT, proof, backend)
    # And the honest prover cannot prove the reordered claim against the attested commitment at all.
    with pytest.raises(UnsatisfiedError, match="commitment/opens"):
        prove(pk, circuit.compile(), circuit.witness_assignment(verifier_public, circuit.witness(FORGED, REORDERED, SALT)),
              backend=backend)


def test_the_layout_digest_is_a_public_input_the_verifier_derives_from_its_snapshot():
    circuit = circuit_from_id("cross-n2-k3")
    assert circuit.statement.layout.paths[0] == "layout_digest"
    assert circuit.snapshot_inputs(REORDERED)[0] == circuit.witness(FORGED, REORDERED, SALT).layout_digest
    assert circuit.snapshot_inputs(REORDERED)[0] != circuit.snapshot_inputs(ORIGINAL)[0]


def test_layout_digests_differ_for_every_change_of_layout_model_capacity_and_version():
    base = {"model": "cross", "statement_tag": 1, "capacity": (2, 3), "assets": ("SHIB", "BTC"),
            "instruments": ("BTC-PERP",)}
    variants = [
        base,
        {**base, "assets": ("BTC", "SHIB")},
        {**base, "assets": ("SHIB", "ETH", "BTC")},
        {**base, "assets": ("BTC",)},
        {**base, "instruments": ("ETH-PERP", "BTC-PERP")},
        {**base, "instruments": ()},
        {**base, "model": "isolated", "statement_tag": 2},
        {**base, "statement_tag": 5},
        {**base, "capacity": (2, 4)},
        {**base, "capacity": (3, 3)},
        {**base, "capacity": (2, 3, 4)},
        {**base, "capacity": (2, 3, 5)},
        # Names are length-delimited: moving a character between neighbours is another layout.
        {**base, "assets": ("SHIBB", "TC")},
    ]
    digests = [layout_digest(**v) for v in variants]
    assert len(set(digests)) == len(digests)
    assert all(0 <= d < R for d in digests)
    assert layout_digest(**base) == layout_digest(**dict(base))  # deterministic


@pytest.mark.parametrize("model", sorted(CIRCUIT_IDS))
def test_model_and_capacity_changes_give_other_commitments(model):
    circuit = circuit_from_id(CIRCUIT_IDS[model])
    commitment = circuit.commitment(circuit.witness(HONEST, ORIGINAL, SALT))
    others = [circuit_from_id(c) for m, c in CIRCUIT_IDS.items() if m != model]
    others.append(circuit_from_id(CIRCUIT_IDS[model].replace("-k3", "-k4")))
    if model == "tiered":
        others.append(circuit_from_id("tiered-n2-k3-t3"))
    for other in others:
        assert other.snapshot_inputs(ORIGINAL)[0] != circuit.snapshot_inputs(ORIGINAL)[0], other.circuit_id
        assert other.commitment(other.witness(HONEST, ORIGINAL, SALT)) != commitment, other.circuit_id
