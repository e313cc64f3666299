"""circom's binary constraint-system format (.r1cs), as snarkjs reads it.

Layout (iden3 container, magic "r1cs", version 1): section 1 header (n8 = 32,
the BLS12-381 scalar field prime r, nVars, nOutputs, nPubInputs, nPrvInputs,
nLabels, nConstraints), section 2 the constraints (A, B, C linear combinations of
(u32 wire, 32-byte little-endian coefficient) pairs, wires in increasing order),
section 3 the wire-to-label map. Wire 0 is the constant one and wires
1..nPubInputs are our public inputs in our order, so the z vector of a compiled
circuit is a circom witness as it stands. We write every public input as a
circom "public input" (no outputs) and every private variable as an
intermediate signal (nPrvInputs = 0): the counts snarkjs derives from them are
the ones that matter for Groth16 (nPublic = nOutputs + nPubInputs).
"""

from __future__ import annotations

import struct
from pathlib import Path

from zkmargin.binfile import BinFile, Reader, write_binfile
from zkmargin.errors import EncodingError
from zkmargin.field import R
from zkmargin.r1cs.builder import CompiledR1CS

FR_BYTES = 32
_Row = tuple[tuple[int, int], ...]


def _lc_bytes(row: _Row) -> bytes:
    parts = [struct.pack("<I", len(row))]
    for var, coeff in sorted(row):
        parts.append(struct.pack("<I", var))
        parts.append((coeff % R).to_bytes(FR_BYTES, "little"))
    return b"".join(parts)


def r1cs_to_bytes(compiled: CompiledR1CS) -> bytes:
    """The compiled circuit as a circom .r1cs file."""
    header = b"".join([
        struct.pack("<I", FR_BYTES),
        R.to_bytes(FR_BYTES, "little"),
        struct.pack("<IIII", compiled.num_variables, 0, compiled.num_public, 0),
        struct.pack("<Q", compiled.num_variables),
        struct.pack("<I", compiled.num_constraints),
    ])
    constraints = b"".join(
        _lc_bytes(a) + _lc_bytes(b) + _lc_bytes(c) for a, b, c in zip(compiled.a, compiled.b, compiled.c)
    )
    wire_map = b"".join(struct.pack("<Q", i) for i in range(compiled.num_variables))
    return write_binfile("r1cs", 1, [(1, header), (2, constraints), (3, wire_map)])


def _read_lc(reader: Reader, num_variables: int, what: str) -> _Row:
    count = reader.u32()
    terms = []
    last = -1
    for _ in range(count):
        var = reader.u32()
        coeff = reader.integer(FR_BYTES)
        if var >= num_variables:
            raise EncodingError(f"{what}: wire {var} out of range (nVars = {num_variables})")
        if coeff >= R:
            raise EncodingError(f"{what}: coefficient is not below r")
        if var <= last:
            raise EncodingError(f"{what}: wires of a linear combination must be strictly increasing")
        last = var
        terms.append((var, coeff))  # zero coefficients kept: snarkjs copies every term into the zkey
    return tuple(terms)


def r1cs_from_bytes(data: bytes, what: str = "r1cs file") -> CompiledR1CS:
    """Parse a circom .r1cs file over BLS12-381's Fr (custom gates are refused)."""
    file = BinFile(data, "r1cs", what, max_version=1)
    header = Reader(file.section(1), what)
    n8 = header.u32()
    if n8 != FR_BYTES or header.integer(n8) != R:
        raise EncodingError(f"{what}: the field prime is not BLS12-381's scalar field r")
    num_variables, outputs, public_inputs, _private_inputs = (header.u32() for _ in range(4))
    header.u64()
    num_constraints = header.u32()
    header.done()
    if file.has(4) or file.has(5):
        raise EncodingError(f"{what}: custom gates (PLONK-only) are not supported")
    num_public = outputs + public_inputs
    if num_variables < num_public + 1:
        raise EncodingError(f"{what}: {num_variables} wires cannot hold {num_public} public signals")
    reader = Reader(file.section(2), what)
    a, b, c = [], [], []
    for i in range(num_constraints):
        where = f"{what}: constraint {i}"
        a.append(_read_lc(reader, num_variables, where))
        b.append(_read_lc(reader, num_variables, where))
        c.append(_read_lc(reader, num_variables, where))
    reader.done()
    return CompiledR1CS(
        num_public=num_public,
        num_variables=num_variables,
        a=tuple(a),
        b=tuple(b),
        c=tuple(c),
        labels=tuple(f"constraint[{i}]" for i in range(num_constraints)),
        public_names=tuple(f"public[{i}]" for i in range(num_public)),
    )


def write_r1cs(compiled: CompiledR1CS, path: str | Path) -> None:
    """Write the compiled circuit to path as a .r1cs file."""
    Path(path).write_bytes(r1cs_to_bytes(compiled))


def load_r1cs(path: str | Path) -> CompiledR1CS:
    """Read a .r1cs file."""
    path = Path(path)
    return r1cs_from_bytes(path.read_bytes(), str(path))
