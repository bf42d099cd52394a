"""Virtual patients drawn from a cohort's parameter distributions.

Population draws: log-normal (or logit-normal for bounded parameters) with a correlation
matrix, through a Gaussian copula, truncated to each parameter's plausible range. Plausible
patients (for selection, Allen et al. 2016) are drawn log-uniformly (uniformly on the logit
scale) across those ranges, correlations kept. The same seed always gives the same patients.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from il2sim.catalog import CohortSpec, Variation


def _logit(p: np.ndarray | float) -> np.ndarray:
    return special.logit(p)


def correlation_matrix(spec: CohortSpec) -> np.ndarray:
    """The correlation matrix of the cohort's varied parameters (normal scale), checked to be
    positive definite."""
    names = [v.parameter for v in spec.variability]
    R = np.eye(len(names))
    for c in spec.correlations:
        i, j = names.index(c.a), names.index(c.b)
        R[i, j] = R[j, i] = c.rho
    if np.linalg.eigvalsh(R).min() <= 0:
        raise ValueError(
            f"cohort {spec.name!r}: correlations do not form a valid (positive definite) matrix"
        )
    return R


def _normal_scores(spec: CohortSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    R = correlation_matrix(spec)
    return rng.standard_normal((n, len(spec.variability))) @ np.linalg.cholesky(R).T


def _transform(v: Variation, median: float, z: np.ndarray, plausible: bool) -> np.ndarray:
    if v.distribution == "lognormal":
        lo, hi = v.plausible_range(median)
        if plausible:
            u = stats.norm.cdf(z)
            return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        return np.clip(median * np.exp(v.scale_sd * z), lo, hi)
    lo, hi = v.plausible_range(median)
    if plausible:
        u = stats.norm.cdf(z)
        eps = 1e-3
        x = _logit(eps) + u * (_logit(1 - eps) - _logit(eps))
    else:
        x = _logit((median - lo) / (hi - lo)) + v.scale_sd * z
    return lo + (hi - lo) * special.expit(x)


def sample_patients(
    spec: CohortSpec,
    n: int,
    *,
    seed: int = 1,
    defaults: Mapping[str, float],
    plausible: bool = False,
) -> pd.DataFrame:
    """``n`` patients: ``patient`` (0..n-1), ``weight_kg`` and one column per varied parameter
    (model units). ``defaults`` are the model's values (the medians unless the cohort gives
    them)."""
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    missing = [
        v.parameter for v in spec.variability if v.median is None and v.parameter not in defaults
    ]
    if missing:
        raise ValueError(
            f"cohort {spec.name!r}: variability names parameters the model does not have: {missing}"
        )
    rng = np.random.default_rng(seed)
    z = _normal_scores(spec, n, rng)
    cols: dict[str, np.ndarray] = {"patient": np.arange(n)}
    w = spec.weight
    if w is not None:
        zw = rng.standard_normal(n)
        if plausible:
            u = stats.norm.cdf(zw)
            cols["weight_kg"] = w.lower_kg + u * (w.upper_kg - w.lower_kg)
        else:
            sigma = np.sqrt(np.log1p(w.cv**2))
            cols["weight_kg"] = np.clip(w.median_kg * np.exp(sigma * zw), w.lower_kg, w.upper_kg)
    for j, v in enumerate(spec.variability):
        median = v.median if v.median is not None else float(defaults[v.parameter])
        cols[v.parameter] = _transform(v, median, z[:, j], plausible)
    return pd.DataFrame(cols)


POPULATIONS = ("vpop", "distribution", "plausible")


def is_population_file(population: str | None) -> bool:
    """Whether ``population`` names a file of patients rather than one of :data:`POPULATIONS`."""
    return population is not None and population.lower().endswith(".csv")


def read_population_file(
    spec: CohortSpec, path: str | Path, defaults: Mapping[str, float]
) -> pd.DataFrame:
    """A virtual population saved as CSV (what the selection writes: ``patient``,
    ``weight_kg`` and one column per varied parameter) for a cohort of the same patients:
    its parameter columns must be exactly ``spec``'s varied parameters and every value inside
    their plausible ranges, so that new arms of a cohort file run on the patients its
    variability describes. Each error names the file, and the row or column."""
    path = Path(path)
    where = f"population: {path}"
    if not path.is_file():
        raise ValueError(f"{where}: no such file")
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise ValueError(f"{where}: not a readable CSV table ({str(e).splitlines()[0]})") from None
    if table.empty:
        raise ValueError(f"{where}: has no patients")
    varied = [v.parameter for v in spec.variability]
    missing = [c for c in ("patient", *varied) if c not in table.columns]
    extra = [c for c in table.columns if c not in ("patient", "weight_kg", *varied)]
    if missing or extra:
        raise ValueError(
            f"{where}: its columns must be patient, weight_kg (optional) and the varied "
            f"parameters of cohort {spec.name!r}; missing {missing}, not varied by the cohort "
            f"{extra}"
        )
    for col in table.columns:
        bad = ~table[col].map(lambda x: isinstance(x, (int, float)) and np.isfinite(x))
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise ValueError(
                f"{where}: row {row + 1}, column {col!r}: {table[col].iloc[row]!r} is not a "
                "finite number"
            )
    if table.patient.duplicated().any():
        raise ValueError(f"{where}: column 'patient': ids must be unique")
    w = spec.weight
    lo_w, hi_w = (w.lower_kg, w.upper_kg) if w is not None else (0.0, np.inf)
    if "weight_kg" in table.columns and not table.weight_kg.between(lo_w, hi_w).all():
        row = int(np.argmax(~table.weight_kg.between(lo_w, hi_w).to_numpy()))
        raise ValueError(
            f"{where}: row {row + 1}, column 'weight_kg': {table.weight_kg.iloc[row]:g} is "
            f"outside the cohort's weight bounds [{lo_w:g}, {hi_w:g}]"
        )
    for v in spec.variability:
        median = v.median if v.median is not None else defaults[v.parameter]
        lo, hi = v.plausible_range(median)
        inside = table[v.parameter].between(lo * (1 - 1e-9), hi * (1 + 1e-9))
        if not inside.all():
            row = int(np.argmax(~inside.to_numpy()))
            raise ValueError(
                f"{where}: row {row + 1}, column {v.parameter!r}: "
                f"{table[v.parameter].iloc[row]:g} is outside the plausible range of cohort "
                f"{spec.name!r}, [{lo:g}, {hi:g}]; the population was selected on other patients"
            )
    return table


#: The fields of a cohort that decide who its patients are: a cohort file whose fields differ
#: from the built-in cohort of the same name cannot use that cohort's virtual population
#: (arms, targets and predictions may differ: new arms run on the same patients).
PATIENT_FIELDS = (
    "body",
    "disease",
    "run_in_days",
    "variability",
    "correlations",
    "weight",
    "plausibility",
    "endogenous_il2_binding",
)


def shipped_population(spec: CohortSpec) -> tuple[pd.DataFrame | None, list[str]]:
    """The virtual population shipped for the built-in cohort of ``spec``'s name (None when
    there is none or ``spec`` defines its patients differently), and the patient-defining
    fields in which ``spec`` differs from that built-in."""
    from il2sim.catalog import cohorts, virtual_population

    builtin = cohorts().get(spec.name)
    if builtin is None:
        return None, []
    mismatch = [f for f in PATIENT_FIELDS if getattr(builtin, f) != getattr(spec, f)]
    if mismatch:
        return None, mismatch
    return virtual_population(spec.name)[0], []


def draw_patients(
    spec: CohortSpec,
    n: int | None,
    *,
    seed: int = 1,
    defaults: Mapping[str, float],
    population: str | None = None,
) -> pd.DataFrame:
    """``n`` patients of a cohort. ``vpop``: drawn from the cohort's shipped virtual
    population (column ``vp`` names the virtual patient), n distinct patients while it has
    them, beyond that every patient once more before any a third time; ``distribution``: from
    its parameter distributions; ``plausible``: across the plausible ranges. ``None`` picks
    ``vpop`` when the cohort ships one, else ``distribution``. ``n=None`` with ``vpop``: every
    virtual patient once, in order. ``population`` may also be a CSV file of patients (see
    :func:`read_population_file`), drawn from as the shipped one is."""
    mismatch: list[str] = []
    if is_population_file(population):
        vpop: pd.DataFrame | None = read_population_file(spec, str(population), defaults)
        population = "vpop"
    else:
        vpop, mismatch = shipped_population(spec)
    if population is None:
        population = "vpop" if vpop is not None else "distribution"
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {', '.join(POPULATIONS)}; got {population!r}")
    if population == "vpop" and mismatch:
        raise ValueError(
            f"population: the shipped virtual population of {spec.name!r} belongs to the "
            f"built-in cohort, and this cohort's {', '.join(mismatch)} differ from it; rename "
            "the cohort, or use population 'distribution'"
        )
    if population != "vpop":
        if n is None:
            raise ValueError("give n (number of patients) to draw from a distribution")
        return sample_patients(
            spec, n, seed=seed, defaults=defaults, plausible=population == "plausible"
        )
    if vpop is None:
        raise ValueError(
            f"cohort {spec.name!r} has no shipped virtual population; use population "
            "'distribution' or select one (scripts/select_virtual_population.py)"
        )
    if n is None:
        rows = vpop.reset_index(drop=True)
        n = len(rows)
    elif n < 1:
        raise ValueError(f"n must be at least 1 (got {n})")
    else:  # distinct patients while the population has them, then each again, and so on
        rng = np.random.default_rng(seed)
        whole, rest = divmod(n, len(vpop))
        idx = [rng.permutation(len(vpop)) for _ in range(whole)]
        idx.append(rng.choice(len(vpop), size=rest, replace=False))
        rows = vpop.iloc[np.concatenate(idx)].reset_index(drop=True)
    rows = rows.rename(columns={"patient": "vp"})
    rows.insert(0, "patient", np.arange(n))
    return rows


def _plausible_range(v: Variation, median: float) -> tuple[float, float, bool]:
    """(low, high, logit scale) of a varied parameter's plausible range."""
    lo, hi = v.plausible_range(median)
    return lo, hi, v.distribution == "logitnormal"


def perturb_patients(
    spec: CohortSpec,
    donors: pd.DataFrame,
    n: int,
    *,
    seed: int,
    first_id: int,
    defaults: Mapping[str, float],
    step: float = 0.15,
) -> pd.DataFrame:
    """``n`` new plausible patients near ``donors`` (rows of a patients table): each a donor
    moved by a normal step of ``step`` of its plausible range's width on the log (or logit)
    scale in every varied parameter, kept inside the range. For enriching a plausible set
    where published outcomes are rare (Allen 2016 searched for plausible patients with
    simulated annealing; this is a simpler local search)."""
    if donors.empty:
        raise ValueError("no donor patients to perturb")
    rng = np.random.default_rng(seed)
    picks = donors.iloc[rng.integers(0, len(donors), size=n)].reset_index(drop=True)
    cols: dict[str, np.ndarray] = {"patient": first_id + np.arange(n)}
    w = spec.weight
    if w is not None and "weight_kg" in picks:
        jitter = step * (w.upper_kg - w.lower_kg) * rng.standard_normal(n)
        cols["weight_kg"] = np.clip(picks.weight_kg.to_numpy() + jitter, w.lower_kg, w.upper_kg)
    for v in spec.variability:
        median = v.median if v.median is not None else float(defaults[v.parameter])
        lo, hi, logit = _plausible_range(v, median)
        x = picks[v.parameter].to_numpy(float)
        if logit:
            eps = 1e-6
            u = _logit(np.clip((x - lo) / (hi - lo), eps, 1 - eps))
            width = _logit(1 - 1e-3) - _logit(1e-3)
            u = u + step * width * rng.standard_normal(n)
            cols[v.parameter] = lo + (hi - lo) * np.clip(special.expit(u), 1e-3, 1 - 1e-3)
        else:
            y = np.log(x) + step * (np.log(hi) - np.log(lo)) * rng.standard_normal(n)
            cols[v.parameter] = np.exp(np.clip(y, np.log(lo), np.log(hi)))
    return pd.DataFrame(cols)
