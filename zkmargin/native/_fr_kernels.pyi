"""Types of the compiled prover kernels (zkmargin/native/_fr_kernels.c); every element is 32 little-endian bytes below r."""

def transform(values: bytes, omega: bytes, pre_base: bytes, post_scale: bytes, post_base: bytes) -> bytes: ...
def quotient(
    a: bytes, b: bytes, c: bytes, omega: bytes, omega_inv: bytes, n_inv: bytes, g: bytes, g_inv: bytes, z_inv: bytes
) -> bytes: ...
def evaluate(
    z: bytes,
    n: int,
    num_inputs: int,
    a_rows: bytes, a_cols: bytes, a_ids: bytes, a_table: bytes,
    b_rows: bytes, b_cols: bytes, b_ids: bytes, b_table: bytes,
    c_rows: bytes, c_cols: bytes, c_ids: bytes, c_table: bytes,
) -> tuple[bytes, bytes, bytes, int]: ...
def set_assembly(wanted: bool) -> bool: ...
