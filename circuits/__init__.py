"""Statements, one module each, written against zkmargin's R1CS builder."""
