"""CasADi functions called from numpy without CasADi's per-call conversion.

A call through CasADi's Python wrapper converts every argument to its matrix type: ~50 us,
where evaluating a trigger or a dose's assignments takes under 1 us. The sparse engine makes
hundreds of such calls per patient (~15% of its time on high-dose aldesleukin), so it calls
them through the function's buffer instead (~3 us): numpy arrays in, a numpy array out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from il2sim.simulate._sbml_casadi import casadi


class Call:
    """``f``'s first output (dense, as a numpy array of its shape) for numpy arguments.

    Arguments are read in column-major order, as CasADi stores matrices, one per input; an
    input with no values (an integrator's z0, u, adjoint seeds) may be None or left out.
    Not thread-safe: one buffer per function."""

    def __init__(self, f: Any) -> None:
        ca = casadi()
        if not f.sparsity_out(0).is_dense() and f.is_a("SXFunction"):
            ins = f.sx_in()
            f = ca.Function(f.name(), ins, [ca.densify(f.call(ins)[0])])
        if not f.sparsity_out(0).is_dense():
            raise ValueError(f"{f.name()}: its first output must be dense")
        self.function = f
        self._sizes = [f.nnz_in(i) for i in range(f.n_in())]
        self._shape = f.size_out(0)
        self._buffer, self._eval = f.buffer()

    def __call__(self, *args: Any) -> np.ndarray:
        keep = []
        for i, size in enumerate(self._sizes):
            if i >= len(args) or args[i] is None:
                if size:
                    raise TypeError(f"{self.function.name()}: argument {i} is missing")
                continue
            v = np.ravel(np.asarray(args[i], dtype=float), order="F")
            if v.size != size:
                raise ValueError(
                    f"{self.function.name()}: argument {i} has {v.size} values, not {size}"
                )
            v = np.ascontiguousarray(v)
            keep.append(v)  # alive until the call: the buffer only points at it
            self._buffer.set_arg(i, v.data)
        out = np.empty(self._shape[0] * self._shape[1])
        self._buffer.set_res(0, out.data)
        self._eval()
        return out.reshape(self._shape, order="F")
