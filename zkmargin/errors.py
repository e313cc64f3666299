"""One exception hierarchy for the whole library: one type per kind of failure, the same wherever it is found.

| failure | type |
|---|---|
| a document (account, snapshot, batch) that breaks its format or limits | FormatError |
| a snapshot or account with more slots than the circuit holds | CapacityError (a CircuitError) |
| a public input of the wrong count, type or range (snapshot values included) | PublicInputError |
| a circuit built or used inconsistently (parameters, missing values, mode) | CircuitError |
| a witness that breaks a constraint | UnsatisfiedError (a CircuitError) |
| bytes or JSON that do not decode: keys, proofs, points | MalformedKeyError, MalformedProofError, MalformedPointError |
| an account subject to a margin call (so no proof exists) | MarginCallError |
| an attestation or signed root that does not vouch for what is checked | AttestationError and its kinds |
| a membership proof for another scope than the one the verifier chose | WrongScopeError (refused, as an AttestationError) |
| an account whose identity is not the one the venue's identity registry holds for it, or is another account's; a damaged registry | IdentityRegistryError |
A wrong proof is not an error: verification returns False.
"""


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class EncodingError(ZkMarginError):
    """Bytes, JSON or a number that does not decode to the expected value."""


class CircuitError(ZkMarginError):
    """A circuit was built or used inconsistently (missing value, bad parameters)."""


class CapacityError(CircuitError):
    """A snapshot or account with more slots than the circuit's capacity (or a bracket table too long for it)."""


class UnsatisfiedError(CircuitError):
    """The witness breaks a constraint; the message names the constraint's label."""

    def __init__(self, label: str) -> None:
        super().__init__(f"witness does not satisfy constraint {label!r}")
        self.label = label


class MalformedKeyError(EncodingError):
    """A proving or verification key that is inconsistent or unsafe to use."""


class PublicInputError(EncodingError):
    """Public inputs of the wrong count, type or range (every input must lie in [0, r))."""


class MalformedProofError(EncodingError):
    """A proof that cannot be a Groth16 proof: bad encoding, wrong shape, identity points."""


class MarginCallError(ZkMarginError):
    """The account is subject to a margin call, so no solvency proof exists for it."""


class MalformedPointError(EncodingError):
    """Bytes or coordinates that are not a point of the expected prime-order group."""


class FormatError(EncodingError):
    """An account, snapshot or batch document that breaks the format or its limits; the message names the field."""


class AttestationError(ZkMarginError):
    """A venue attestation or signed root that does not vouch for what it is checked against."""


class MalformedAttestationError(AttestationError, EncodingError):
    """An attestation, signed root or venue key document that does not decode."""


class UnattestedError(AttestationError):
    """No attestation where the verifier's policy requires one (the venue's key is registered)."""


class WrongVenueError(AttestationError):
    """Signed by (or naming) another venue than the one whose key the verifier holds."""


class WrongSnapshotError(AttestationError):
    """Made for another snapshot than the verifier's."""


class WrongCommitmentError(AttestationError):
    """Vouches for another commitment (or root) than the one being checked."""


class WrongScopeError(AttestationError):
    """A membership proof for another scope than the one the verifier chose; refused like an unanchored root."""


class BadSignatureError(AttestationError):
    """The signature does not verify under the venue's public key."""


class OpeningMismatchError(ZkMarginError):
    """An account and salt that do not open the commitment of the opening they came with."""


class IdentityRegistryError(ZkMarginError):
    """An account's identity that the venue's identity registry refuses (it holds another for the account, or
    the identity is another account's), or a registry file that is damaged or another venue's."""


class RunStateError(ZkMarginError):
    """A venue run's output directory holds another run (or a damaged plan): resuming would mix two runs."""


class ClusterError(ZkMarginError):
    """The Dask scheduler cannot be reached or refuses the client."""


class CeremonyError(ZkMarginError):
    """A trusted-setup file that cannot serve: a ptau too small, a zkey for another circuit, a transcript that does not verify."""
