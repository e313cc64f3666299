"""The book (venue solvency): per-account sums, their reference implementation and the Merkle-sum tree."""

from zkmargin.book.reference import (
    BookSums,
    CensusBucket,
    account_sums,
    book_totals,
    census_by_size,
    sum_names,
    zero_sums,
)
from zkmargin.book.tree import BookNode, BookPath, BookTree, leaf_hash

__all__ = ["BookNode", "BookPath", "BookSums", "BookTree", "CensusBucket", "account_sums", "book_totals",
           "census_by_size", "leaf_hash", "sum_names", "zero_sums"]
