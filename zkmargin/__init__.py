"""zkmargin: zero-knowledge proofs that an account is not subject to a margin call."""
