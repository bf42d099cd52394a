"""The GPU path of issue 20's batched solving, measured on whatever JAX finds (a CUDA GPU when
one is there and jax[cuda] is installed; else the CPU): B patients of one arm solved at once by
``jax.vmap`` over a stiff diffrax solve (Kvaerno5, an ESDIRK method, with a PID step-size
controller), against the sparse engine's one-at-a-time CVODES solve
(:class:`il2sim.simulate.SparseSimulator`) on the same shipped melanoma patients.

The right-hand side is the sparse engine's own CasADi graph of the trial model, turned into a
JAX function instruction by instruction (:func:`jax_function`), so both solves integrate the
same equations. Doses and their assignments, the leak flag that withholds a dose and the other
state events are the sparse engine's (numpy, per patient), with one simplification that makes
this a measurement, not an engine: the batch is solved from dose time to dose time and state
events fire at those times and at the end instead of being located inside an interval (as in
``bench_batched.py``). It reports per patient the wall time (the first batch separately: it
includes XLA's compilation) and the tumour at the end against the one-at-a-time solve.

Needs JAX and diffrax (`pip install "jax[cpu]" diffrax`, or `jax[cuda12]` on a GPU machine; not
il2sim dependencies). Run: `.venv/bin/python benchmarks/bench_jax_batched.py [--arm A]
[--patients N] [--batch B] [--days D]`.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench_batched import give_doses, one_at_a_time, start_batch, tumour_at_end
from il2sim.cohort._run import TOLERANCES
from il2sim.simulate import SparseSimulator
from il2sim.simulate._sbml_casadi import casadi


def jax_function(f: Any) -> Callable[..., list]:
    """A JAX function evaluating the CasADi SX function ``f`` (dense inputs and outputs, in
    order), built by replaying its instructions; it traces, jits and vmaps as any JAX code."""
    import jax.numpy as jnp

    ca = casadi()
    binary = {
        ca.OP_ADD: jnp.add,
        ca.OP_SUB: jnp.subtract,
        ca.OP_MUL: jnp.multiply,
        ca.OP_DIV: jnp.divide,
        ca.OP_POW: jnp.power,
        ca.OP_CONSTPOW: jnp.power,
        ca.OP_FMAX: jnp.maximum,
        ca.OP_FMIN: jnp.minimum,
        ca.OP_LT: lambda a, b: (a < b).astype(a.dtype),
        ca.OP_LE: lambda a, b: (a <= b).astype(a.dtype),
        ca.OP_EQ: lambda a, b: (a == b).astype(a.dtype),
        ca.OP_NE: lambda a, b: (a != b).astype(a.dtype),
        ca.OP_AND: lambda a, b: ((a != 0) & (b != 0)).astype(a.dtype),
        ca.OP_OR: lambda a, b: ((a != 0) | (b != 0)).astype(a.dtype),
        ca.OP_IF_ELSE_ZERO: lambda c, a: jnp.where(c != 0, a, 0.0),
    }
    unary = {
        ca.OP_ASSIGN: lambda a: a,
        ca.OP_NEG: jnp.negative,
        ca.OP_EXP: jnp.exp,
        ca.OP_LOG: jnp.log,
        ca.OP_SQ: jnp.square,
        ca.OP_SQRT: jnp.sqrt,
        ca.OP_FABS: jnp.abs,
        ca.OP_SIGN: jnp.sign,
        ca.OP_NOT: lambda a: (a == 0).astype(a.dtype),
        ca.OP_TWICE: lambda a: 2.0 * a,
        ca.OP_INV: lambda a: 1.0 / a,
        ca.OP_FLOOR: jnp.floor,
        ca.OP_CEIL: jnp.ceil,
    }
    program = [
        (
            f.instruction_id(k),
            f.instruction_input(k),
            f.instruction_output(k),
            f.instruction_constant(k) if f.instruction_id(k) == ca.OP_CONST else None,
        )
        for k in range(f.n_instructions())
    ]
    unknown = {op for op, *_ in program} - set(binary) - set(unary)
    unknown -= {ca.OP_CONST, ca.OP_INPUT, ca.OP_OUTPUT}
    if unknown:
        raise ValueError(f"CasADi operations without a JAX counterpart here: {sorted(unknown)}")
    sizes = [f.size1_out(i) for i in range(f.n_out())]

    def run(*args: Any) -> list:
        w: list[Any] = [None] * f.sz_w()
        outs: list[list[Any]] = [[0.0] * n for n in sizes]
        for op, i, o, c in program:
            if op == ca.OP_CONST:
                w[o[0]] = jnp.asarray(c)
            elif op == ca.OP_INPUT:
                w[o[0]] = jnp.reshape(args[i[0]], (-1,))[i[1]]
            elif op == ca.OP_OUTPUT:
                outs[o[0]][o[1]] = w[i[0]]
            elif op in binary:
                w[o[0]] = binary[op](w[i[0]], w[i[1]])
            else:
                w[o[0]] = unary[op](w[i[0]])
        return [jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in out]) for out in outs]

    return run


def batched_solver(sim: SparseSimulator, rtol: float, atol: float) -> Callable:
    """``solve(t0, t1, X, P)``: every row of X (states) from t0 to t1 with its row of P (the
    model's parameters), at once; jitted and vmapped over the rows."""
    import diffrax
    import jax

    ca = casadi()
    m = sim.model
    rhs = jax_function(ca.Function("rhs", [m.t, m.x, m.p], [m.rhs]))

    def one(t0, t1, x, p):
        term = diffrax.ODETerm(lambda t, y, args: rhs(t, y, args)[0])
        sol = diffrax.diffeqsolve(
            term,
            diffrax.Kvaerno5(),
            t0,
            t1,
            None,
            x,
            args=p,
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=20_000,
            throw=False,
        )
        return sol.ys[-1], sol.stats["num_steps"], sol.result == diffrax.RESULTS.successful

    return jax.jit(jax.vmap(one, in_axes=(None, None, 0, 0)))


def solve_batch(sim, arm, patients, days: float, solve) -> tuple[np.ndarray, int, int]:
    """Tumour at the end of run-in + ``days`` for ``patients`` solved as one batch; the most
    steps any one took, and how many failed."""
    runs, cuts = start_batch(sim, arm, patients, days)
    steps, failed = 0, np.zeros(len(runs), bool)
    for a, z in itertools.pairwise(cuts):
        x = np.stack([r.x for r in runs])
        p = np.stack([r.p for r in runs])
        xs, n, ok = solve(a, z, x, p)
        xs, steps, failed = np.asarray(xs), max(steps, int(np.max(n))), failed | ~np.asarray(ok)
        for j, r in enumerate(runs):
            r.x, r.t = xs[j].copy(), z
        give_doses(sim, runs, z)
    return tumour_at_end(sim, arm, runs), steps, int(failed.sum())


def main(arm_name: str, n: int, batch: int, days: float) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    arm, sim, patients, single, one = one_at_a_time(arm_name, n, days)
    rtol, atol = TOLERANCES[0]
    device = jax.devices()[0]
    print(f"melanoma {arm_name}, {n} shipped patients, run-in + {days:g} days; JAX on {device}\n")
    print("| solve | per patient (ms) | vs CVODES one at a time | most steps | failed | "
          "tumour at end: max rel. diff |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| sparse engine, one at a time | {1000 * one:.0f} | 1.0x | - | - | - |")
    solve = batched_solver(sim, rtol, atol)
    ends, walls, most, failed = [], [], 0, 0
    for i in range(0, n, batch):
        t0 = time.perf_counter()
        tumour, steps, bad = solve_batch(sim, arm, patients[i : i + batch], days, solve)
        walls.append(time.perf_counter() - t0)
        ends.append(tumour)
        most, failed = max(most, steps), failed + bad
    diff = np.max(np.abs(np.concatenate(ends) / single - 1.0))
    rest = sum(walls[1:]) / max(n - batch, 1)
    print(
        f"| batches of {batch}, first (with compilation) | {1000 * walls[0] / batch:.0f} | "
        f"{one / (walls[0] / batch):.2f}x | {most} | {failed} | {diff:.1e} |"
    )
    if len(walls) > 1:
        print(f"| batches of {batch}, the others | {1000 * rest:.0f} | {one / rest:.2f}x | | | |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arm", default="hd_aldesleukin")
    ap.add_argument("--patients", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--days", type=float, default=30.0)
    a = ap.parse_args()
    main(a.arm, a.patients, a.batch, a.days)
