"""FastAPI verifier service: venues register keys and snapshots, verify proofs, keep receipts."""
