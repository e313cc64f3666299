"""One exception hierarchy for the whole library."""


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
    """An account or snapshot document that breaks the format; the message names the field and value."""
