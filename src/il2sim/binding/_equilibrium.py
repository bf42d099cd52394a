"""Equilibrium of a multivalent drug with several receptor kinds on one cell, vectorised.

Model (one formulation for every drug). A molecule is made of *units* (an IL-2 unit, a
targeting arm), ``n_u`` identical copies of unit u. Each unit has binding sites s (an IL-2
unit: an IL-2Ralpha site and an IL-2Rbeta/gamma-c site); site s binds receptor kind j with
association constant ``a_sj = 1/Kd_sj`` (1/nM). The first bond of a molecule forms from solution
at free concentration ``L`` (nM); every further bond engages a free receptor with weight
``w_s = Kx * sum_j a_sj R_j``: ``Kx`` (nM per receptor per cell) is the effective local
concentration one free receptor contributes (cross-linking constant). When two or more sites of
the *same* unit are bound (IL-2 held by IL-2Ralpha and IL-2Rbeta/gamma-c together: the
high-affinity trimer), the state gains the cooperativity factor ``c_u``. A unit's partition
function is ``z_u = (1 - c)(1 + sum_s w_s) + c prod_s (1 + w_s)``; the molecule's is
``Q = prod_u z_u^n_u`` and

    B = (L / Kx) (Q - 1)                               molecules bound per cell
    bound sites of s = (L / Kx) Q n_u w_s (dz_u/dw_s) / z_u.

Free receptors follow from conservation, solved by a damped Newton method in log space for all
points at once. For one site it reduces to ``R_b = R_t L / (Kd + L)``; with ``c = 1`` the sites
are independent.

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
    """Solution for N points (receptor kinds along the last axis, J; site types, S)."""

    free_receptors: np.ndarray  # (N, J) molecules per cell
    bound_receptors: np.ndarray  # (N, J)
    bound_ligand: np.ndarray  # (N,) drug molecules bound per cell
    bound_sites: np.ndarray  # (N, S) bound sites per cell by site type
    iterations: int


def solve_equilibrium(
    conc_nM: np.ndarray,
    unit_multiplicity: np.ndarray,
    affinity_per_nM: np.ndarray,
    receptors_per_cell: np.ndarray,
    kx_nM_per_receptor: float | np.ndarray,
    *,
    site_unit: tuple[int, ...],
    cooperativity: float | np.ndarray = 1.0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> EquilibriumState:
    """Solve the multivalent equilibrium for N points at once.

    Shapes (leading shapes broadcast to N points): ``conc_nM`` (N,), ``unit_multiplicity``
    (N, U), ``affinity_per_nM`` (N, S, J), ``receptors_per_cell`` (N, J),
    ``kx_nM_per_receptor`` and ``cooperativity`` scalar or (N,). ``site_unit[s]`` is the unit
    (0..U-1) site s belongs to; ``cooperativity`` applies to units with two or more sites.
    """
    L = np.asarray(conc_nM, dtype=float)
    n = np.asarray(unit_multiplicity, dtype=float)
    a = np.asarray(affinity_per_nM, dtype=float)
    rt = np.asarray(receptors_per_cell, dtype=float)
    kx = np.asarray(kx_nM_per_receptor, dtype=float)
    c = np.asarray(cooperativity, dtype=float)
    S, J, U = a.shape[-2], a.shape[-1], n.shape[-1]
    if len(site_unit) != S or max(site_unit) >= U:
        raise ValueError("site_unit must give a unit index < U for each of the S sites")
    shape = np.broadcast_shapes(
        L.shape, n.shape[:-1], a.shape[:-2], rt.shape[:-1], kx.shape, c.shape
    )
    N = int(np.prod(shape))
    L = np.broadcast_to(L, shape).reshape(N)
    kx = np.broadcast_to(kx, shape).reshape(N)
    c = np.broadcast_to(c, shape).reshape(N)
    n = np.broadcast_to(n, (*shape, U)).reshape(N, U)
    a = np.broadcast_to(a, (*shape, S, J)).reshape(N, S, J)
    rt = np.broadcast_to(rt, (*shape, J)).reshape(N, J)
    if np.any(L < 0) or not np.all(np.isfinite(L)):
        raise ValueError("conc_nM must be finite and >= 0")
    if np.any(kx <= 0):
        raise ValueError("kx_nM_per_receptor must be > 0")
    if np.any(c <= 0):
        raise ValueError("cooperativity must be > 0")

    rt_pos = np.maximum(rt, _R_FLOOR)
    u = np.empty((N, J))
    it = 0
    for lo in range(0, N, _CHUNK):  # cache-sized blocks: several times faster than one pass
        sl = slice(lo, lo + _CHUNK)
        u[sl], it_c = _newton(
            L[sl], n[sl], a[sl], rt_pos[sl], kx[sl], c[sl], site_unit, tol=tol, max_iter=max_iter
        )
        it = max(it, it_c)
    R = np.where(rt > _R_FLOOR, np.minimum(np.exp(u), rt_pos), 0.0)
    w = kx[:, None] * np.einsum("nsj,nj->ns", a, R)
    logQ, dlogz = _unit_terms(w, n, c, site_unit)
    Q = np.exp(logQ)
    bound_sites = (L * Q / kx)[:, None] * n[:, list(site_unit)] * w * dlogz
    return EquilibriumState(
        free_receptors=R,
        bound_receptors=np.maximum(rt - R, 0.0) * (rt > _R_FLOOR),
        bound_ligand=L / kx * np.expm1(logQ),
        bound_sites=bound_sites,
        iterations=it,
    )


def _unit_terms(
    w: np.ndarray, n: np.ndarray, c: np.ndarray, site_unit: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """log Q (N,) and d log z_u / d w_s (N, S) for given site weights (dense, for outputs)."""
    logQ = np.zeros(w.shape[0])
    dlogz = np.zeros_like(w)
    for unit in range(n.shape[1]):
        sites = [s for s, uu in enumerate(site_unit) if uu == unit]
        one_plus = 1.0 + w[:, sites]
        P = one_plus.prod(axis=1)
        cc = c if len(sites) > 1 else 1.0
        z = (1.0 - cc) * (1.0 + w[:, sites].sum(axis=1)) + cc * P
        logQ += n[:, unit] * np.log(z)
        for i, s in enumerate(sites):
            dlogz[:, s] = ((1.0 - cc) + cc * P / one_plus[:, i]) / z
    return logQ, dlogz


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


def _compact(v: np.ndarray) -> np.ndarray | float:
    """A per-point array that is constant becomes a scalar (cheaper vector arithmetic)."""
    if v.size and np.all(v == v.flat[0]):
        return float(v.flat[0])
    return v


def _take(v: np.ndarray | float, idx: np.ndarray | None) -> np.ndarray | float:
    return v if idx is None or not isinstance(v, np.ndarray) else v[idx]


def _partition(unit_sites: dict, w: dict, cl, nn: dict, m: int):
    """Each unit's partition function z over its sites' weights ``w`` (cooperativity ``cl``
    between a unit's sites): sum of n log z over units, D_s = (dz/dw_s) / z and
    dD_s/dw_t, for the points in play."""
    logQ = np.zeros(m)
    D = {}  # D_s = (dz/dw_s) / z
    dD = {}  # (s, t) -> d D_s / d w_t
    for unit, ss in unit_sites.items():
        one_plus = {s: 1.0 + w[s] for s in ss}
        if len(ss) == 1:
            s = ss[0]
            z = one_plus[s]
            D[s] = 1.0 / z
            dD[s, s] = -D[s] * D[s]
        else:
            P = np.prod([one_plus[s] for s in ss], axis=0)
            z = (1.0 - cl) * (1.0 + sum(w[s] for s in ss)) + cl * P
            zi = 1.0 / z
            zp = {s: (1.0 - cl) + cl * P / one_plus[s] for s in ss}
            for s in ss:
                D[s] = zp[s] * zi
            for s in ss:
                for t in ss:
                    zpp = 0.0 if s == t else cl * P / (one_plus[s] * one_plus[t])
                    dD[s, t] = zpp * zi - D[s] * D[t]
        logQ += nn[unit] * np.log(z)
    return logQ, D, dD


def _jacobian(terms, by_kind: dict, unit_sites: dict, site_unit, keep) -> list[list[np.ndarray]]:
    """dF_j/du_k = delta_jk + (g_j dlogQ_k + L Q sum_s n a_sj dD_s/du_k) / (1 + g_j), with
    dD_s/du_k = sum_t dD_s/dw_t * kx a_tk R_k (t in the unit of s); rows of the points kept."""
    g, dlogQ, og, LQ, nn, aa, dD, kxl, R = terms
    J = len(g)
    jac = []
    for j in range(J):
        row = []
        for k in range(J):
            val = g[j] * dlogQ[k]
            for s in by_kind[j]:
                for t in unit_sites[site_unit[s]]:
                    if (t, k) in aa:
                        val = (
                            val
                            + LQ * nn[site_unit[s]] * aa[s, j] * dD[s, t] * kxl * aa[t, k] * R[k]
                        )
            val = val * og[j]
            if j == k:
                val = val + 1.0
            row.append(val[keep])
        jac.append(row)
    return jac


def _newton(
    L: np.ndarray,
    n: np.ndarray,
    a: np.ndarray,
    rt: np.ndarray,
    kx: np.ndarray,
    c: np.ndarray,
    site_unit: tuple[int, ...],
    *,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Damped Newton in u = log(free receptors).

    Loops over the few units, sites and receptor kinds so that every operation is a flat vector
    operation over points; per-point constants (a design shared by all points) stay scalars,
    and converged points drop out.
    """
    N, S, J = a.shape
    pairs = [(s, j) for s in range(S) for j in range(J) if np.any(a[:, s, j] > 0)]
    sites = sorted({s for s, _ in pairs})
    units = sorted({site_unit[s] for s in sites})
    unit_sites = {uu: [s for s in sites if site_unit[s] == uu] for uu in units}
    a_sj = {(s, j): _compact(np.ascontiguousarray(a[:, s, j])) for s, j in pairs}
    n_u = {uu: _compact(np.ascontiguousarray(n[:, uu])) for uu in units}
    c_c = _compact(c)
    kx_c = _compact(kx)
    by_kind = {j: [s for s, jj in pairs if jj == j] for j in range(J)}
    log_rt = np.log(rt)
    u = np.empty((N, J))
    for j in range(J):
        tot = sum((n_u[site_unit[s]] * a_sj[s, j] for s in by_kind[j]), 0.0)
        u[:, j] = log_rt[:, j] - np.log1p(L * tot)
    idx: np.ndarray | None = None  # None = all points active
    F_max = np.zeros(N)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        m = N if idx is None else len(idx)
        uu_ = u if idx is None else u[idx]
        R = [np.exp(uu_[:, j]) for j in range(J)]
        Ll, kxl, cl = _take(L, idx), _take(kx_c, idx), _take(c_c, idx)
        aa = {p: _take(v, idx) for p, v in a_sj.items()}
        nn = {k: _take(v, idx) for k, v in n_u.items()}
        w = {}
        for s in sites:
            acc: float | np.ndarray = 0.0
            for j in range(J):
                if (s, j) in aa:
                    acc = acc + aa[s, j] * R[j]
            w[s] = kxl * acc
        logQ, D, dD = _partition(unit_sites, w, cl, nn, m)
        LQ = Ll * np.exp(logQ)
        nD = {s: nn[site_unit[s]] * D[s] for s in sites}
        g, dlogQ, F = [], [], []
        err = np.zeros(m)
        lrt = log_rt if idx is None else log_rt[idx]
        for j in range(J):
            sj = sum((nD[s] * aa[s, j] for s in by_kind[j]), np.zeros(m))
            g.append(LQ * sj)
            dlogQ.append(kxl * sj * R[j])
        for j in range(J):
            f = uu_[:, j] + np.log1p(g[j]) - lrt[:, j]
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
        og = [1.0 / (1.0 + gj) for gj in g]
        terms = (g, dlogQ, og, LQ, nn, aa, dD, kxl, R)
        jac = _jacobian(terms, by_kind, unit_sites, site_unit, keep)
        step = _solve_small(jac, [-F[j][keep] for j in range(J)])
        sub = (np.arange(N) if idx is None else idx)[keep]
        for j in range(J):
            u[sub, j] += np.clip(step[j], -2.0, 2.0)
        idx = None if len(sub) == N else sub
    else:
        bad = int(np.argmax(F_max))
        raise EquilibriumError(
            f"equilibrium did not converge in {max_iter} iterations at point {bad}: "
            f"conc_nM={L[bad]:g}, kx_nM_per_receptor={kx[bad]:g}, cooperativity={c[bad]:g}, "
            f"receptors={rt[bad].tolist()}, affinity_per_nM={a[bad].tolist()}, "
            f"unit_multiplicity={n[bad].tolist()}"
        )
    return u, it
