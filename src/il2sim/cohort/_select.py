"""Selecting a virtual population from plausible patients so that it reproduces published
response rates (Allen RJ, Rieger TR, Musante CJ 2016 CPT Pharmacometrics Syst Pharmacol 5:140).

Each plausible patient falls in one outcome class per calibration arm (CR / PR / no response,
or responder / not, as the targets need). The target joint distribution of those classes is
the one closest to the plausible patients' own (maximum entropy) that has the published
marginals, found by iterative proportional fitting; a patient's prevalence weight is the ratio
of target to plausible frequency of its class, and Allen's acceptance-rejection keeps it with
probability weight / max(weight). Patients in a class the plausible set never reaches cannot be
created: the achieved rates say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from il2sim.catalog import CohortSpec, Target
from il2sim.cohort._recist import rate


def outcome_class(bor: str, endpoints: set[str]) -> str:
    """The class of a best overall response for the endpoints calibrated on that arm."""
    responder = bor in ("CR", "PR")
    if "CR" in endpoints:
        return "CR" if bor == "CR" else ("PR" if responder else "NR")
    return "R" if responder else "NR"


def _marginal_targets(targets: list[Target]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for arm in sorted({t.arm for t in targets}):
        by = {t.endpoint: t.value for t in targets if t.arm == arm}
        if "CR" in by:
            orr = by.get("ORR", by["CR"])
            out[arm] = {"CR": by["CR"], "PR": orr - by["CR"], "NR": 1.0 - orr}
        else:
            out[arm] = {"R": by["ORR"], "NR": 1.0 - by["ORR"]}
    return out


@dataclass
class Selection:
    """Plausible patients with their class, prevalence weight and whether they were kept."""

    table: pd.DataFrame  # patient, class_<arm>..., weight, accept_probability, selected
    achieved: dict[str, dict]  # arm -> endpoint -> rate of the selected population
    targets: list[Target]

    @property
    def selected(self) -> np.ndarray:
        return self.table.loc[self.table.selected, "patient"].to_numpy()

    def within_ci(self) -> dict[str, bool]:
        """Whether each target's published CI contains the selected population's rate."""
        return {
            f"{t.arm}:{t.endpoint}": t.ci_low
            <= self.achieved[t.arm][t.endpoint]["value"]
            <= t.ci_high
            for t in self.targets
        }


def select_virtual_population(
    spec: CohortSpec,
    outcomes: pd.DataFrame,
    *,
    seed: int = 1,
    iterations: int = 200,
) -> Selection:
    """Select from plausible patients simulated on the cohort's target arms (``outcomes``: one
    row per patient and arm with ``status`` and ``bor``). Only patients evaluable on every
    target arm are candidates."""
    if not spec.targets:
        raise ValueError(f"cohort {spec.name!r} has no targets to select against")
    marg = _marginal_targets(spec.targets)
    arms = list(marg)
    ok = outcomes[(outcomes.status == "ok") & outcomes.arm.isin(arms)]
    wide = ok.pivot_table(index="patient", columns="arm", values="bor", aggfunc="first")
    missing = [a for a in arms if a not in wide.columns]
    if missing:
        raise ValueError(f"outcomes lack the target arms {missing}")
    wide = wide.dropna()
    if wide.empty:
        raise ValueError("no plausible patient is evaluable on every target arm")
    cls = pd.DataFrame(
        {f"class_{a}": [outcome_class(b, set(marg[a])) for b in wide[a]] for a in arms},
        index=wide.index,
    )
    key = cls.apply(lambda r: "|".join(r), axis=1)
    pp = key.value_counts(normalize=True)  # plausible joint frequency per class combination
    q = pp.copy()
    parts = {c: c.split("|") for c in q.index}
    for _ in range(iterations):  # iterative proportional fitting onto the published marginals
        for j, a in enumerate(arms):
            for level, target in marg[a].items():
                cells = [c for c in q.index if parts[c][j] == level]
                total = q[cells].sum()
                if total > 0:
                    q[cells] *= target / total
        q /= q.sum()
    weight = (q / pp).reindex(key.values).to_numpy()
    p_accept = weight / weight.max()
    rng = np.random.default_rng(seed)
    selected = rng.random(len(p_accept)) < p_accept
    table = cls.reset_index().rename(columns={"index": "patient"})
    table["weight"] = weight
    table["accept_probability"] = p_accept
    table["selected"] = selected
    achieved: dict[str, dict] = {}
    sel_bor = wide[selected]
    for a in arms:
        b = sel_bor[a].to_numpy()
        achieved[a] = {
            "ORR": rate(int(np.isin(b, ["CR", "PR"]).sum()), len(b)).as_dict(),
            "CR": rate(int((b == "CR").sum()), len(b)).as_dict(),
        }
    return Selection(table, achieved, list(spec.targets))


def calibrate(
    spec: CohortSpec | str,
    *,
    n_plausible: int,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir=None,
    progress=None,
) -> tuple[Selection, pd.DataFrame]:
    """Draw ``n_plausible`` plausible patients, simulate them on the target arms, select the
    virtual population. Returns the selection and the selected patients' covariates and
    parameters (what :func:`il2sim.catalog.save_virtual_population` ships)."""
    from il2sim.catalog import get_cohort
    from il2sim.cohort._run import run_cohort

    spec = get_cohort(spec)
    arms = sorted({t.arm for t in spec.targets})
    res = run_cohort(
        spec,
        arms,
        n=n_plausible,
        seed=seed,
        population="plausible",
        workers=workers,
        scheduler=scheduler,
        out_dir=out_dir,
        chunk_size=10,
        progress=progress,
    )
    sel = select_virtual_population(spec, res.outcomes, seed=seed)
    vpop = res.patients[res.patients.patient.isin(sel.selected)].reset_index(drop=True)
    return sel, vpop


def calibrate_and_save(
    cohort: str, *, n_plausible: int, seed: int = 1, workers: int = 1, out_dir=None, progress=None
) -> tuple[Selection, dict]:
    """:func:`calibrate` a built-in cohort and ship its virtual population with a record of
    how it was made and what it reproduces."""
    import datetime

    from il2sim import __version__
    from il2sim.catalog import save_virtual_population

    sel, vpop = calibrate(
        cohort,
        n_plausible=n_plausible,
        seed=seed,
        workers=workers,
        out_dir=out_dir,
        progress=progress,
    )
    record = {
        "cohort": cohort,
        "method": "Allen 2016 acceptance-rejection with prevalence weights from iterative "
        "proportional fitting of the plausible patients' response classes to the targets",
        "n_plausible_drawn": n_plausible,
        "n_evaluable": len(sel.table),
        "n_selected": int(sel.table.selected.sum()),
        "seed": seed,
        "achieved": sel.achieved,
        "within_ci": sel.within_ci(),
        "targets": [t.model_dump() for t in sel.targets],
        "il2sim_version": __version__,
        "date": datetime.date.today().isoformat(),
    }
    save_virtual_population(cohort, vpop, record)
    return sel, record
