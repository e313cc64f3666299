"""One exception hierarchy for the whole library."""


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class EncodingError(ZkMarginError):
    """Bytes, JSON or a number that does not decode to the expected value."""


class CircuitError(ZkMarginError):
    """A circuit was built or used inconsistently (missing value, bad parameters)."""


class UnsatisfiedError(CircuitError):
    """The witness breaks a constraint; the message names the constraint's label."""

    def __init__(self, label: str) -> None:
        super().__init__(f"witness does not satisfy constraint {label!r}")
        self.label = label


class MalformedKeyError(EncodingError):
    """A proving or verification key that is inconsistent or unsafe to use."""
