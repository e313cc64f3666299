"""`zkmargin r1cs`: a circuit's constraint system in circom's .r1cs format (for snarkjs and ceremonies)."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.inputs import circuit_option
from zkmargin.cli.output import emit, json_option, write_atomic
from zkmargin.r1cs.circom import r1cs_to_bytes


@click.group("r1cs")
def r1cs() -> None:
    """Constraint systems as circom .r1cs files."""


@r1cs.command("export")
@circuit_option
@click.argument("out_path", metavar="OUT.r1cs", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def export(circuit_id: str, out_path: Path, as_json: bool) -> None:
    """Write the circuit's constraints to OUT.r1cs (wire 0 = one, then the public inputs in our order)."""
    circuit = circuit_from_id(circuit_id)
    compiled = circuit.compile()
    write_atomic(out_path, r1cs_to_bytes(compiled))
    emit(
        as_json,
        {"circuit_id": circuit.circuit_id, "r1cs": str(out_path), "constraints": compiled.num_constraints,
         "public_inputs": compiled.num_public, "wires": compiled.num_variables},
        f"{out_path}: {compiled.num_constraints} constraints, {compiled.num_public} public inputs, "
        f"{compiled.num_variables} wires",
    )
