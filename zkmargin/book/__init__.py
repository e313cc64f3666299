"""The book (venue solvency): per-account sums, their reference implementation and the Merkle-sum tree."""

from zkmargin.book.reference import BookSums, account_sums, book_totals, sum_names, zero_sums
from zkmargin.book.tree import BookNode, BookPath, BookTree, leaf_hash

__all__ = ["BookNode", "BookPath", "BookSums", "BookTree", "account_sums", "book_totals", "leaf_hash", "sum_names",
           "zero_sums"]
