"""The `zkmargin` command line: a click root group and one module per command group."""
