"""Subnormal numbers flushed to zero while libRoadRunner integrates.

A drug cleared after its last dose decays exponentially in every compartment, and CVODE follows
it through 1e-308 into subnormal numbers, which x86 processors compute with microcode ~100x
slower than normal ones: one renal-cancer patient on high-dose aldesleukin took 19.5 s to solve
120 days, 2.6 s with them flushed, with the same tumour to the last digit. Amounts below 1e-308
nmol are zero for every purpose here (the solver's absolute tolerance is 1e-9 or larger), so
the solve runs with the processor's flush-to-zero and denormals-are-zero modes, restored
afterwards (the modes are per thread; numpy and everything else see the defaults).

Done with the C library's ``fegetenv``/``fesetenv`` on x86-64 Linux with glibc, where
``fenv_t`` ends with the SSE control register (MXCSR); elsewhere a no-op (not measured there).
"""

from __future__ import annotations

import ctypes
import platform
import struct
from collections.abc import Iterator
from contextlib import contextmanager

#: MXCSR bits: flush-to-zero (15) and denormals-are-zero (6)
_FTZ_DAZ = 0x8040
#: glibc x86-64 ``fenv_t``: the x87 environment (28 bytes), then MXCSR (4 bytes)
_FENV_BYTES, _MXCSR_OFFSET = 32, 28


def _libm() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libm.so.6")  # glibc's maths library, by its stable soname
    except OSError:
        return None


_LIBM = _libm()


@contextmanager
def subnormals_flushed() -> Iterator[bool]:
    """Within the block, this thread's floating point flushes subnormal results and inputs
    to zero; yields whether it could (False: the platform's defaults stay)."""
    if _LIBM is None:
        yield False
        return
    saved = ctypes.create_string_buffer(_FENV_BYTES)
    if _LIBM.fegetenv(saved) != 0:
        yield False
        return
    (mxcsr,) = struct.unpack_from("<I", saved.raw, _MXCSR_OFFSET)
    flushed = ctypes.create_string_buffer(
        saved.raw[:_MXCSR_OFFSET] + struct.pack("<I", mxcsr | _FTZ_DAZ), _FENV_BYTES
    )
    if _LIBM.fesetenv(flushed) != 0:
        yield False
        return
    try:
        yield True
    finally:
        _LIBM.fesetenv(saved)
