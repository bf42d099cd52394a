"""Equilibrium of a multivalent drug with several receptor kinds on one cell, vectorised.

Model (one formulation for every drug). A molecule has site types s with ``n_s`` identical
sites; site s binds receptor kind j with association constant ``a_sj = 1/Kd_sj`` (1/nM). The
first bond forms from solution at free concentration ``L`` (nM); every further bond of a
molecule already on the cell engages a free receptor with weight ``Kx * a_sj * R_j``, where
``Kx`` (nM per receptor per cell) is the effective local concentration one free receptor
contributes. With ``w_s = Kx * sum_j a_sj R_j`` the bound-molecule partition function is

    B = (L / Kx) * (prod_s (1 + w_s)^n_s - 1)          molecules bound per cell

and receptors of kind j bound:  ``L * Q * R_j * sum_s n_s a_sj / (1 + w_s)``, ``Q = prod(1+w)^n``.
Free receptors follow from conservation, solved by a damped Newton method in log space, in
batches (all points at once). For a single site it reduces to ``R_b = R_t L / (Kd + L)``.

The drug concentration is held constant (cells in excess medium, as in the pSTAT5 assays);
ligand depletion belongs to the kinetic and body models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Receptor counts below this are treated as absent (keeps log space finite).
_R_FLOOR = 1e-12
#: Points per block in the Newton iterations (fits the working set in cache).
_CHUNK = 16384


class EquilibriumError(RuntimeError):
    """The solver did not converge; the message names the offending parameter set."""


@dataclass(frozen=True)
class EquilibriumState:
    """Solution for N points: receptor kinds along the last axis (J)."""

    free_receptors: np.ndarray  # (N, J) molecules per cell
    bound_receptors: np.ndarray  # (N, J)
    bound_ligand: np.ndarray  # (N,) drug molecules bound per cell
    iterations: int


def solve_equilibrium(
    conc_nM: np.ndarray,
    multiplicity: np.ndarray,
    affinity_per_nM: np.ndarray,
    receptors_per_cell: np.ndarray,
    kx_nM_per_receptor: float | np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> EquilibriumState:
    """Solve the multivalent equilibrium for N points at once.

    Shapes: ``conc_nM`` (N,), ``multiplicity`` (N, S), ``affinity_per_nM`` (N, S, J),
    ``receptors_per_cell`` (N, J), ``kx_nM_per_receptor`` scalar or (N,). Leading shapes
    broadcast against each other.
    """
    L = np.asarray(conc_nM, dtype=float)
    n = np.asarray(multiplicity, dtype=float)
    a = np.asarray(affinity_per_nM, dtype=float)
    rt = np.asarray(receptors_per_cell, dtype=float)
    kx = np.asarray(kx_nM_per_receptor, dtype=float)
    npts = np.broadcast_shapes(L.shape, n.shape[:-1], a.shape[:-2], rt.shape[:-1], kx.shape)
    if len(npts) != 1:
        npts = (int(np.prod(npts)),)
    N = npts[0]
    S, J = a.shape[-2], a.shape[-1]
    L = np.broadcast_to(L, npts).reshape(N)
    kx = np.broadcast_to(kx, npts).reshape(N)
    n = np.broadcast_to(n, (*npts, S)).reshape(N, S)
    a = np.broadcast_to(a, (*npts, S, J)).reshape(N, S, J)
    rt = np.broadcast_to(rt, (*npts, J)).reshape(N, J)
    if np.any(L < 0) or not np.all(np.isfinite(L)):
        raise ValueError("conc_nM must be finite and >= 0")
    if np.any(kx <= 0):
        raise ValueError("kx_nM_per_receptor must be > 0")

    rt_pos = np.maximum(rt, _R_FLOOR)
    u = np.empty((N, J))
    it = 0
    for lo in range(0, N, _CHUNK):  # cache-sized blocks: several times faster than one pass
        sl = slice(lo, lo + _CHUNK)
        u[sl], it_c = _newton(L[sl], n[sl], a[sl], rt_pos[sl], kx[sl], tol=tol, max_iter=max_iter)
        it = max(it, it_c)
    R = np.minimum(np.exp(u), rt_pos)
    R = np.where(rt > _R_FLOOR, R, 0.0)
    w = kx[:, None] * np.einsum("nsj,nj->ns", a, R)
    logQ = (n * np.log1p(w)).sum(axis=1)
    bound_ligand = L / kx * np.expm1(logQ)
    return EquilibriumState(
        free_receptors=R,
        bound_receptors=np.maximum(rt - R, 0.0) * (rt > _R_FLOOR),
        bound_ligand=bound_ligand,
        iterations=it,
    )


def site_occupancy(
    state: EquilibriumState,
    conc_nM: np.ndarray,
    multiplicity: np.ndarray,
    affinity_per_nM: np.ndarray,
    kx_nM_per_receptor: float | np.ndarray,
) -> np.ndarray:
    """Bound sites per cell by site type (N, S): ``L Q n_s w_s / (Kx (1 + w_s))``."""
    R = state.free_receptors
    N = R.shape[0]
    kx = np.broadcast_to(np.asarray(kx_nM_per_receptor, dtype=float), (N,))
    L = np.broadcast_to(np.asarray(conc_nM, dtype=float), (N,))
    n = np.broadcast_to(multiplicity, (N, affinity_per_nM.shape[-2]))
    a = np.broadcast_to(affinity_per_nM, (N, *affinity_per_nM.shape[-2:]))
    w = kx[:, None] * np.einsum("nsj,nj->ns", a, R)
    Q = np.exp((n * np.log1p(w)).sum(axis=1))
    return (L * Q / kx)[:, None] * n * w / (1.0 + w)


def _solve_small(jac: list[list[np.ndarray]], rhs: list[np.ndarray]) -> list[np.ndarray]:
    """Solve J x J systems for many points at once (Cramer's rule for J <= 3)."""
    J = len(rhs)
    if J == 1:
        return [rhs[0] / jac[0][0]]
    if J == 2:
        (p, q), (r, t) = jac
        det = p * t - q * r
        return [(rhs[0] * t - q * rhs[1]) / det, (p * rhs[1] - r * rhs[0]) / det]
    if J == 3:
        (a, b, c), (d, e, f), (g, h, i) = jac
        A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
        det = a * A + b * B + c * C
        y0, y1, y2 = rhs
        x0 = (y0 * A + b * (f * y2 - y1 * i) + c * (y1 * h - e * y2)) / det
        x1 = (a * (y1 * i - f * y2) + y0 * B + c * (d * y2 - y1 * g)) / det
        x2 = (a * (e * y2 - y1 * h) + b * (y1 * g - d * y2) + y0 * C) / det
        return [x0, x1, x2]
    m = np.stack([np.stack(row, axis=-1) for row in jac], axis=-2)
    x = np.linalg.solve(m, np.stack(rhs, axis=-1)[..., None])[..., 0]
    return [x[:, j] for j in range(J)]


def _compact(v: np.ndarray | float) -> np.ndarray | float:
    """A per-point array that is constant becomes a scalar (cheaper vector arithmetic)."""
    if isinstance(v, np.ndarray) and v.size and np.all(v == v.flat[0]):
        return float(v.flat[0])
    return v


def _take(v: np.ndarray | float, idx: np.ndarray | None) -> np.ndarray | float:
    return v if idx is None or not isinstance(v, np.ndarray) else v[idx]


def _newton(
    L: np.ndarray,
    n: np.ndarray,
    a: np.ndarray,
    rt: np.ndarray,
    kx: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Damped Newton in u = log(free receptors).

    Loops over the few site types and receptor kinds so that every operation is a flat vector
    operation over points; per-point constants (a design shared by all points) stay scalars,
    and converged points drop out.
    """
    N, S, J = a.shape
    pairs = [(s, j) for s in range(S) for j in range(J) if np.any(a[:, s, j] > 0)]
    sites = sorted({s for s, _ in pairs})
    a_sj = {(s, j): _compact(np.ascontiguousarray(a[:, s, j])) for s, j in pairs}
    n_s = {s: _compact(np.ascontiguousarray(n[:, s])) for s in sites}
    kx_c = _compact(kx)
    by_kind = {j: [s for s, jj in pairs if jj == j] for j in range(J)}
    # (j, k, s): site s binds both kinds j and k (only then d S_j / d u_k is non-zero).
    cross = [(j, k, s) for j in range(J) for k in range(J) for s in by_kind[j] if (s, k) in a_sj]
    log_rt = np.log(rt)
    u = np.empty((N, J))
    for j in range(J):
        tot = sum((n_s[s] * a_sj[s, j] for s in by_kind[j]), 0.0)
        u[:, j] = log_rt[:, j] - np.log1p(L * tot)
    idx: np.ndarray | None = None  # None = all points active
    F_max = np.zeros(N)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        m = N if idx is None else len(idx)
        uu = u if idx is None else u[idx]
        R = [np.exp(uu[:, j]) for j in range(J)]
        Ll, kxl = _take(L, idx), _take(kx_c, idx)
        aa = {p: _take(v, idx) for p, v in a_sj.items()}
        nn = {s: _take(v, idx) for s, v in n_s.items()}
        w = {}
        for s in sites:
            acc = 0.0
            for (ss, j), v in aa.items():
                if ss == s:
                    acc = acc + v * R[j]
            w[s] = kxl * acc
        inv = {s: 1.0 / (1.0 + w[s]) for s in sites}
        logQ = sum((nn[s] * np.log1p(w[s]) for s in sites), np.zeros(m))
        LQ = Ll * np.exp(logQ)
        ninv = {s: nn[s] * inv[s] for s in sites}
        Sj, dlogQ, g, F = [], [], [], []
        for j in range(J):
            sj = sum((ninv[s] * aa[s, j] for s in by_kind[j]), np.zeros(m))
            Sj.append(sj)
            dlogQ.append(kxl * sj * R[j])
            g.append(LQ * sj)
        err = np.zeros(m)
        lrt = log_rt if idx is None else log_rt[idx]
        for j in range(J):
            f = uu[:, j] + np.log1p(g[j]) - lrt[:, j]
            F.append(f)
            np.maximum(err, np.abs(f), out=err)
        if idx is None:
            F_max[:] = err
        else:
            F_max[idx] = err
        done = err < tol
        if np.all(done):
            break
        keep = ~done if np.count_nonzero(done) else slice(None)
        og = [1.0 / (1.0 + g[j]) for j in range(J)]
        jac = [[(g[j] * dlogQ[k]) * og[j] for k in range(J)] for j in range(J)]
        for j, k, s in cross:
            jac[j][k] = jac[j][k] - LQ * og[j] * ninv[s] * inv[s] * aa[s, j] * kxl * aa[s, k] * R[k]
        for j in range(J):
            jac[j][j] = jac[j][j] + 1.0
        jac = [[jac[j][k][keep] for k in range(J)] for j in range(J)]
        step = _solve_small(jac, [-F[j][keep] for j in range(J)])
        sub = (np.arange(N) if idx is None else idx)[keep]
        for j in range(J):
            u[sub, j] += np.clip(step[j], -2.0, 2.0)
        idx = None if len(sub) == N else sub
    else:
        bad = int(np.argmax(F_max))
        raise EquilibriumError(
            f"equilibrium did not converge in {max_iter} iterations at point {bad}: "
            f"conc_nM={L[bad]:g}, kx_nM_per_receptor={kx[bad]:g}, "
            f"receptors={rt[bad].tolist()}, affinity_per_nM={a[bad].tolist()}, "
            f"multiplicity={n[bad].tolist()}"
        )
    return u, it
