"""The statements' shared declarations (circuits.parts.SlotCapacity, circuits.sparse_parts.SparseCapacity) are a
refactoring: one small circuit per family keeps its constraint count, public-input count, R1CS digest, commitment
domain tag and layout digest byte for byte (the values the statements had when each wrote its own declarations)."""

from __future__ import annotations

import pytest

from tests.circuits.sparse_builders import SNAPSHOT
from zkmargin.circuits.registry import circuit_from_id

PINNED = [
    # circuit id, constraints, public inputs, R1CS digest (SHA-256), domain tag, layout digest of SNAPSHOT
    ("cross-n3-k2", 1373, 16, "9d32b53331a6e779d4e817cb0e2cfbfea94f2346ee5817e368da5647ac834989",
     18446744086594453506, 8054574556480117000520452362754904338594069795996220644284120827081484647580),
    ("isolated-n3-k2", 2263, 16, "15586c805a40fd9d46ff37791410a126dfbc28bb25e415805784d19ed25d0e27",
     36893488160304005122, 11423476547438137057415516327828418812739424211099351017491570560897459804315),
    ("tiered-n3-k2-t2", 2120, 37, "80ab5c193642262c4217e7cdcfec2ce001150a5ede120de70042dbb4f01aecd1",
     55340232234013556738, 2940202394051105414699005615094628702224125801395750575728172403492346768877),
    ("portfolio-n3-k2", 5130, 64, "bc5ec9125974dbbce2683a2a2e410c918369e51ae0e7c195aa46c38061090dc5",
     73786976307723108354, 683070638212301002996686733134021964373412053306152905512503693516275482335),
    ("var-n3-k2-s4", 2203, 35, "a54f2268c61eb957b297e0cff67007425f690d2d2ca3cfa0cfaddb3c51555ef4",
     92233720381432659970, None),
    ("es-n3-k2-s4", 2193, 35, "01d1e6ae6612ed1575510f52ad6840ffbc8a551290cc9e3ab58b3bfa100df45e",
     110680464455142211586, None),
    ("cross-n3-p2-k2", 2188, 11, "879f835c6d069c7bf45b08d99897f7df5e325d8e7fa0d3c741077f33ba405aa6",
     129127208524556795906, 897890196192993879257481977291483412118616337034380427464743065527117193985),
    ("isolated-n3-p2-k2", 2784, 11, "33b2e647580b627d709c07d6fc4557947ed7d19322a53428f102f5f436768580",
     147573952598266347522, 8611671749002804054691481949547253088581134691539561176477943386089656440837),
    ("cross-n3-k2-m2", 2595, 18, "ce2d6d334b84375c9060d0a9a051ac645041ff571c9c4f40971781fb519762eb",
     None, None),
    ("isolated-n3-p2-k2-m2", 4006, 13, "dc1bcdb7df7a48a609a703d706e746c18793d7a2516f4a0bae8c584f231688be",
     None, None),
]


@pytest.mark.parametrize(("circuit_id", "constraints", "public", "digest", "domain_tag", "layout_digest"), PINNED)
def test_declarations_keep_every_family_byte_identical(
    circuit_id: str, constraints: int, public: int, digest: str, domain_tag: int | None, layout_digest: int | None
) -> None:
    circuit = circuit_from_id(circuit_id)
    compiled = circuit.compile()
    assert (compiled.num_constraints, compiled.num_public) == (constraints, public)
    assert compiled.digest().hex() == digest
    statement = circuit.statement
    if domain_tag is not None:
        assert statement.domain_tag == domain_tag
    if layout_digest is not None:
        assert statement.layout_digest(SNAPSHOT) == layout_digest

