"""prove_batch builds each account's cross witness once: the witness and the leaf share it."""

from __future__ import annotations

import zkmargin.groth16
from tests.book.builders import ACCOUNTS, SNAPSHOT, book_circuit, honest, identity, statement
from zkmargin.circuits.book_proving import prove_batch


def test_each_account_cross_witness_is_built_once(monkeypatch):
    circuit = book_circuit()
    cross_type = type(statement(circuit).cross)
    original = cross_type.witness
    built = []

    def counting(self, account, snapshot, salt):
        built.append(account.account_id)
        return original(self, account, snapshot, salt)

    monkeypatch.setattr(cross_type, "witness", counting)
    proved = []
    # Stands in for Groth16's prover: the witness assignment it is handed is what the count is about.
    monkeypatch.setattr(zkmargin.groth16, "prove", lambda pk, compiled, z, backend=None: proved.append(z) or "proof")
    members = [(account, 1000 + i, identity(i)) for i, account in enumerate(ACCOUNTS)]
    node, _, proof = prove_batch(circuit, None, SNAPSHOT, 0, members)
    assert proof == "proof" and len(proved) == 1
    assert len(built) == len(ACCOUNTS)
    public, _, sums = honest(circuit, ACCOUNTS)
    assert (node.hash, node.sums) == (public.commitment, sums)  # the leaves are still the accounts' own
