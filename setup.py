"""Builds the C extensions (zkmargin.native._fr_kernels, ._msm, ._pairing, ._batch); everything else is declared in pyproject.toml.

The extension is compiled when the package is installed, so no proof ever waits
for a compiler. It is optional: without a C compiler the install still succeeds
and the library falls back to the pure-Python NTT and the curve library's MSM and pairing (correct, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("zkmargin.native._fr_kernels", ["zkmargin/native/_fr_kernels.c"], extra_compile_args=["-O3"], optional=True),
        Extension("zkmargin.native._msm", ["zkmargin/native/_msm.c"], depends=["zkmargin/native/_msm_group.h", "zkmargin/native/_bls12_fields.h"],
                  extra_compile_args=["-O3"], optional=True),
        Extension("zkmargin.native._pairing", ["zkmargin/native/_pairing.c"], depends=["zkmargin/native/_bls12_fields.h"],
                  extra_compile_args=["-O3"], optional=True),
        # The batch verifier's threaded decoding and weighted check, over _msm.c's and _pairing.c's arithmetic.
        Extension("zkmargin.native._batch", ["zkmargin/native/_batch.c"],
                  depends=["zkmargin/native/_msm.c", "zkmargin/native/_pairing.c", "zkmargin/native/_msm_group.h", "zkmargin/native/_bls12_fields.h"],
                  extra_compile_args=["-O3", "-pthread"], extra_link_args=["-pthread"], optional=True),
    ]
)
