"""A venue's tools: attestations and signed roots (Ed25519), the Poseidon Merkle tree of commitments, the
identity registry, the resumable venue run and its Dask cluster plumbing."""
