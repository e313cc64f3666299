"""Native field and curve code: the C extensions _fr_kernels (NTTs, QAP), _msm (MSM, subgroup checks, point
decoding) and _pairing (pairing products), compiled at install and optional, and _fr_numba (Fr in numba, for the
Merkle tree builder). Import the module you need; this package imports nothing, so `import zkmargin` stays light."""
