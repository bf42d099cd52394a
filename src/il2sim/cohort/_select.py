"""Selecting a virtual population from plausible patients so that it reproduces every training
row of its disease jointly (Allen RJ, Rieger TR, Musante CJ 2016 CPT Pharmacometrics Syst
Pharmacol 5:140, with the prevalence weights found by optimisation as in MAPEL-like weighted
selection).

Each plausible patient simulated on every target arm falls in one class: whether it counts
towards each rate target (its best overall response on that arm) and, for each median-PFS
target, whether it is progression-free at the two ends of the published median's interval.
The class frequencies q of the selected population are those closest to the plausible
patients' own (least Kullback-Leibler divergence) that put every rate inside its published
interval (aimed at its value) and every Kaplan-Meier median inside its interval (scans fall
within their visit windows, so progression times are spread between scheduled days).
Patients are then drawn without replacement, class by class, in those proportions: every
virtual patient is distinct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from il2sim.catalog import DAYS_PER_MONTH, RATE_ENDPOINTS, SAFETY_ENDPOINTS, CohortSpec, Target
from il2sim.cohort._endpoints import endpoint_value, in_class, progression_free_at

#: Largest Lagrange multiplier of a target: where targets cannot all be met, the solution
#: stops here instead of emptying every class but one.
LAMBDA_MAX = 30.0
#: Population sizes tried, largest first (5% steps): each class gives at most all its patients.
SIZES = tuple(sorted({round(400 * 0.95**k) for k in range(40)}, reverse=True))
#: Rates are kept this far (as a share of the interval's half-width) inside their interval,
#: and Kaplan-Meier survival this far from one half, so that rounding cannot push them out.
MARGIN = 0.25
S_MARGIN = 0.03


@dataclass
class Selection:
    """Plausible patients with their class and whether they were kept."""

    table: pd.DataFrame  # patient, class, weight, selected
    achieved: dict[str, dict]  # arm -> endpoint -> value of the selected population
    targets: list[Target]
    note: str = ""

    @property
    def selected(self) -> np.ndarray:
        return self.table.loc[self.table.selected, "patient"].to_numpy()

    def within_ci(self) -> dict[str, bool]:
        """Whether each target's interval contains the selected population's value."""
        out = {}
        for t in self.targets:
            v = self.achieved[t.arm][t.endpoint]
            lo, hi = t.interval
            out[f"{t.arm}:{t.endpoint}"] = v is not None and lo <= v <= hi
        return out


def _selecting(spec: CohortSpec) -> list[Target]:
    """The targets virtual patients are selected against: all but the safety rates, whose
    event hazards are calibrated on the selected population afterwards."""
    return [t for t in spec.targets if t.endpoint not in SAFETY_ENDPOINTS]


def _median_bounds(t: Target) -> tuple[float | None, float]:
    """The days whose survival decides a median target: S(lo) > 1/2 and S(hi) <= 1/2 put
    the Kaplan-Meier median (the first day with S <= 1/2) in (lo, hi]."""
    lo, hi = (x * DAYS_PER_MONTH for x in t.interval)
    return (lo if lo > 0 else None), hi


def _features(ok: pd.DataFrame, targets: list[Target]) -> tuple[pd.DataFrame, list[tuple]]:
    """Per patient (index), the class features; and the linear constraints on them:
    (feature, kind, value, lo, hi)."""
    arms = sorted({t.arm for t in targets})
    feats: dict[str, pd.Series] = {}
    cons: list[tuple] = []
    for a in arms:
        x = ok[ok.arm == a].set_index("patient")
        for t in (t for t in targets if t.arm == a):
            if t.endpoint in RATE_ENDPOINTS:
                col = f"{a}:{t.endpoint}"
                feats[col] = pd.Series(in_class(x, t.endpoint), index=x.index)
                cons.append((col, "rate", t.value, *t.interval))
                continue
            before, at = _median_bounds(t)
            for day, side in ((before, "above"), (at, "below")):
                if day is None:
                    continue
                col = f"{a}:pf@{day:g}"
                feats[col] = pd.Series(progression_free_at(x, day), index=x.index)
                cons.append((col, side, 0.5, 0.0, 1.0))
    return pd.DataFrame(feats).dropna(), cons


def _bounds(cons: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """The interval each constraint's population mean must lie in: a rate within its
    published interval, drawn ``MARGIN`` of the way towards its value; survival at a scan
    above or below one half by ``S_MARGIN``."""
    lo, hi = [], []
    for _, kind, value, a, b in cons:
        if kind == "rate":
            lo.append(a + MARGIN * (value - a))
            hi.append(b - MARGIN * (b - value))
        elif kind == "above":
            lo.append(0.5 + S_MARGIN)
            hi.append(1.0)
        else:
            lo.append(0.0)
            hi.append(0.5 - S_MARGIN)
    return np.array(lo), np.array(hi)


def _solve(p: np.ndarray, A: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The class frequencies closest to ``p`` (Kullback-Leibler) with lo <= A q <= hi, by
    their dual: q = p exp(A^T lambda) / Z, lambda = lambda_lo - lambda_hi >= 0 each,
    minimising log Z - lambda_lo . lo + lambda_hi . hi (L-BFGS-B). Where no q meets every
    interval the multipliers stop at their bound and q is the nearest compromise."""
    m = A.shape[0]

    def tilt(x: np.ndarray) -> tuple[np.ndarray, float]:
        z = A.T @ (x[:m] - x[m:])
        z_max = z.max()
        w = p * np.exp(z - z_max)
        return w / w.sum(), float(np.log(w.sum()) + z_max)

    def dual(x: np.ndarray) -> tuple[float, np.ndarray]:
        q, log_z = tilt(x)
        mean = A @ q
        f = log_z - x[:m] @ lo + x[m:] @ hi
        return f, np.concatenate([mean - lo, hi - mean])

    res = optimize.minimize(
        dual,
        np.zeros(2 * m),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, LAMBDA_MAX)] * (2 * m),
        options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-14},
    )
    return tilt(res.x)[0]


def _solve_capped(
    p: np.ndarray,
    A: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cap: np.ndarray,
    uncapped: np.ndarray,
) -> np.ndarray | None:
    """As :func:`_solve`, with no class above ``cap`` (its patients over the population size
    wanted), by SLSQP from the ``uncapped`` solution; None when no such mix exists."""
    start = np.minimum(uncapped, cap)
    if start.sum() <= 0 or cap.sum() < 1.0:
        return None

    def kl(q: np.ndarray) -> tuple[float, np.ndarray]:
        qc = np.clip(q, 1e-15, None)
        return float(np.sum(qc * np.log(qc / p))), np.log(qc / p) + 1.0

    res = optimize.minimize(
        kl,
        start / start.sum(),
        jac=True,
        method="SLSQP",
        bounds=list(zip(np.zeros_like(cap), np.minimum(cap, 1.0), strict=True)),
        constraints=[
            {"type": "eq", "fun": lambda q: q.sum() - 1.0, "jac": lambda q: np.ones_like(q)},
            {"type": "ineq", "fun": lambda q: A @ q - lo, "jac": lambda q: A},
            {"type": "ineq", "fun": lambda q: hi - A @ q, "jac": lambda q: -A},
        ],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    q = np.clip(res.x, 0.0, None)
    q /= q.sum()
    got = A @ q
    ok = np.all(got >= lo - 1e-4) and np.all(got <= hi + 1e-4) and np.all(q <= cap + 1e-6)
    return q if ok else None


def _allocate(q: np.ndarray, size: int, counts: np.ndarray) -> np.ndarray:
    """Whole patients per class: ``size`` x q by largest remainders, none above its count."""
    exact = q * size
    take = np.minimum(np.floor(exact).astype(int), counts)
    for c in np.argsort(-(exact - np.floor(exact))):
        if take.sum() >= size:
            break
        if take[c] < counts[c] and exact[c] > take[c]:
            take[c] += 1
    return take


def _meets(A: np.ndarray, take: np.ndarray, cons: list[tuple]) -> bool:
    """Whether whole patients ``take`` per class meet every constraint's own interval (a rate
    inside its published one; survival above or at most one half)."""
    if take.sum() == 0:
        return False
    got = A @ take / take.sum()
    for g, (_, kind, _value, a, b) in zip(got, cons, strict=True):
        if (kind == "rate" and not a <= g <= b) or (kind == "above" and g <= 0.5):
            return False
        if kind == "below" and g > 0.5:
            return False
    return True


def select_virtual_population(
    spec: CohortSpec,
    outcomes: pd.DataFrame,
    *,
    seed: int = 1,
) -> Selection:
    """Select from plausible patients simulated on the cohort's target arms (``outcomes``: one
    row per patient and arm with ``status``, ``bor``, ``progressed``, ``pfs_days``). Only
    patients evaluable on every target arm are candidates."""
    if not _selecting(spec):
        raise ValueError(f"cohort {spec.name!r} has no targets to select against")
    arms = sorted({t.arm for t in _selecting(spec)})
    ok = outcomes[(outcomes.status == "ok") & outcomes.arm.isin(arms)]
    missing = [a for a in arms if a not in set(ok.arm)]
    if missing:
        raise ValueError(f"outcomes lack the target arms {missing}")
    feats, cons = _features(ok, _selecting(spec))
    if feats.empty:
        raise ValueError("no plausible patient is evaluable on every target arm")
    key = feats.astype(str).apply("|".join, axis=1)
    classes = key.value_counts()
    p = (classes / classes.sum()).to_numpy()
    first = feats.groupby(key).first().reindex(classes.index)
    A = np.array([first[c].astype(float).to_numpy() for c, *_ in cons])
    lo, hi = _bounds(cons)
    # a target no plausible patient reaches (or every one does) cannot be selected for: left
    # out of the selection and reported as missed
    reach = (A.max(axis=1) >= lo) & (A.min(axis=1) <= hi)
    unreachable = [c[0] for c, r in zip(cons, reach, strict=True) if not r]
    A, lo, hi = A[reach], lo[reach], hi[reach]
    cons = [c for c, r in zip(cons, reach, strict=True) if r]
    counts = classes.to_numpy()
    q, take, note = None, None, ""
    uncapped = _solve(p, A, lo, hi)
    # the largest population whose classes the plausible patients can fill and whose whole
    # patients (not only the class frequencies) meet every reachable target
    for size in SIZES:
        if size <= len(feats):
            q = _solve_capped(p, A, lo, hi, counts / size, uncapped)
            if q is not None:
                take = _allocate(q, size, counts)
                if _meets(A, take, cons):
                    break
            q, take = None, None
    if q is None:  # no mix meets every target: the nearest compromise, as large as it allows
        q = uncapped
        got = A @ q
        missed = [
            c[0]
            for c, g, a, b in zip(cons, got, lo, hi, strict=True)
            if not a - 1e-6 <= g <= b + 1e-6
        ]
        note = (
            f"the plausible patients cannot meet {', '.join(missed)} together with the other "
            "targets; the nearest mix was taken"
        )
        with np.errstate(divide="ignore"):
            n_sel = int(np.floor(np.min(np.where(q > 1e-9, counts / q, np.inf))))
        take = _allocate(q, n_sel, counts)
    if unreachable:
        note = (
            f"no plausible patient reaches {', '.join(unreachable)}: left out of the selection"
            + (f"; {note}" if note else "")
        )
    rng = np.random.default_rng(seed)
    assert take is not None  # the search or the compromise above has set it
    chosen: list[int] = []
    for cls, k in zip(classes.index, take, strict=True):
        members = np.sort(key.index[key == cls].to_numpy())
        chosen += list(rng.choice(members, size=k, replace=False)) if k else []
    table = pd.DataFrame({"patient": key.index, "class": key.values})
    table["weight"] = (pd.Series(q / p, index=classes.index)).reindex(key.values).to_numpy()
    table["selected"] = table.patient.isin(chosen)
    sel = ok[ok.patient.isin(chosen)]
    achieved = {
        a: {
            t.endpoint: endpoint_value(sel[sel.arm == a], t.endpoint)
            for t in _selecting(spec)
            if t.arm == a
        }
        for a in arms
    }
    return Selection(table, achieved, _selecting(spec), note)


def scarce(spec: CohortSpec, outcomes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per target feature the plausible patients do not reach often enough (their share is
    below the interval the selection needs), the patients that have it: donors to enrich the
    plausible set around."""
    arms = sorted({t.arm for t in _selecting(spec)})
    ok = outcomes[(outcomes.status == "ok") & outcomes.arm.isin(arms)]
    feats, cons = _features(ok, _selecting(spec))
    lo, hi = _bounds(cons)
    out = {}
    for (col, *_), a, b in zip(cons, lo, hi, strict=True):
        x = feats[col].astype(bool)
        if x.mean() < a:
            out[col] = x.index[x].to_numpy()
        elif x.mean() > b:
            out[f"not {col}"] = x.index[~x].to_numpy()
    return out


def calibrate(
    spec: CohortSpec | str,
    *,
    n_plausible: int,
    n_enrich: int = 0,
    rounds: int = 0,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir=None,
    progress=None,
) -> tuple[Selection, pd.DataFrame, dict]:
    """Draw ``n_plausible`` plausible patients, simulate them on the target arms; then, for
    ``rounds`` rounds, add ``n_enrich`` plausible patients near those with the outcomes the
    plausible set lacks (:func:`scarce`, :func:`il2sim.cohort.perturb_patients`), and select
    the virtual population from all of them. Returns the selection, the selected patients'
    covariates and parameters (what :func:`il2sim.catalog.save_virtual_population` ships), and
    how many patients each round added for which outcomes."""
    from pathlib import Path

    from il2sim.catalog import get_cohort
    from il2sim.cohort._run import build_arm, run_cohort
    from il2sim.cohort._sample import draw_patients, perturb_patients

    spec = get_cohort(spec)
    arms = sorted({t.arm for t in _selecting(spec)})
    defaults = build_arm(spec, arms[0]).defaults
    patients = draw_patients(
        spec, n_plausible, seed=seed, defaults=defaults, population="plausible"
    )
    outcomes: list[pd.DataFrame] = []
    history: dict = {"rounds": []}
    batch = patients
    for k in range(rounds + 1):
        sub = None if out_dir is None else Path(out_dir) / f"round{k}"
        res = run_cohort(
            spec,
            arms,
            patients=batch,
            workers=workers,
            scheduler=scheduler,
            out_dir=sub,
            chunk_size=10,
            progress=progress,
        )
        outcomes.append(res.outcomes)
        if k == rounds:
            break
        short = scarce(spec, pd.concat(outcomes, ignore_index=True))
        history["rounds"].append({"round": k + 1, "scarce": {c: len(i) for c, i in short.items()}})
        short = {c: ids for c, ids in short.items() if len(ids)}  # none: nothing to start from
        if not short:
            break
        per = -(-n_enrich // len(short))
        new: list[pd.DataFrame] = []
        for j, ids in enumerate(short[c] for c in sorted(short)):
            donors = patients[patients.patient.isin(ids)]
            first = int(patients.patient.max()) + 1 + sum(len(b) for b in new)
            new.append(
                perturb_patients(
                    spec,
                    donors,
                    per,
                    seed=seed + 1000 * (k + 1) + j,
                    first_id=first,
                    defaults=defaults,
                )
            )
        history["rounds"][-1]["added"] = per * len(short)
        batch = pd.concat(new, ignore_index=True)
        patients = pd.concat([patients, batch], ignore_index=True)
    every = pd.concat(outcomes, ignore_index=True)
    sel = select_virtual_population(spec, every, seed=seed)
    vpop = patients[patients.patient.isin(sel.selected)].reset_index(drop=True)
    history["n_patients"] = len(patients)
    return sel, vpop, history


def calibrate_and_save(
    cohort: str,
    *,
    n_plausible: int,
    n_enrich: int = 0,
    rounds: int = 0,
    seed: int = 1,
    workers: int = 1,
    out_dir=None,
    progress=None,
) -> tuple[Selection, dict]:
    """:func:`calibrate` a built-in cohort and ship its virtual population with a record of
    how it was made and what it reproduces."""
    import datetime

    from il2sim import __version__
    from il2sim.catalog import save_virtual_population

    sel, vpop, history = calibrate(
        cohort,
        n_plausible=n_plausible,
        n_enrich=n_enrich,
        rounds=rounds,
        seed=seed,
        workers=workers,
        out_dir=out_dir,
        progress=progress,
    )
    record = {
        "cohort": cohort,
        "method": "Allen 2016 selection from plausible patients (drawn across the plausible "
        "ranges, then enriched near patients with outcomes the set lacked); class frequencies "
        "closest (Kullback-Leibler) to the plausible ones with every training row inside its "
        "interval (dual, L-BFGS-B), distinct patients drawn class by class",
        "n_plausible_drawn": n_plausible,
        "enrichment": history,
        "n_evaluable": len(sel.table),
        "n_classes": int(sel.table["class"].nunique()),
        "n_selected": int(sel.table.selected.sum()),
        "seed": seed,
        "note": sel.note,
        "achieved": sel.achieved,
        "within_interval": sel.within_ci(),
        "targets": [t.model_dump() for t in sel.targets],
        "il2sim_version": __version__,
        "date": datetime.date.today().isoformat(),
    }
    save_virtual_population(cohort, vpop, record)
    return sel, record
