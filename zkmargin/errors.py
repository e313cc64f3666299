"""One exception hierarchy for the whole library."""


class ZkMarginError(Exception):
    """Base class of every error zkmargin raises on purpose."""


class EncodingError(ZkMarginError):
    """Bytes, JSON or a number that does not decode to the expected value."""
