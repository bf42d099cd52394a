"""The signaling calibration as a PEtab problem: the Meyer-lab pSTAT5 dose-responses of human
PBMC to the monovalent IL-2 ligands, with the receptor layer's binding scheme as an SBML
model, so that any PEtab tool (pyPESTO, AMICI, Data2Dynamics, il2sim's own fitter) can refit
it.

One SBML model serves every condition: a cell's IL-2Ralpha and IL-2Rbeta/gamma-c numbers and
the ligand's two Kd values and concentration are condition parameters (a monovalent IL-2 unit
binds the same way whatever the mutation); the ligand is held at its dish concentration (no
depletion, as in :func:`il2sim.binding.calibrate`); binding runs in time to each measured time
point. Estimated: the cooperativity of the second bond and the transduction constant
``k_half_complexes`` (the surface cross-linking constant ``kx`` only enters as a product with
the cooperativity for one-unit ligands, so it stays fixed at its catalog value), a relative
noise, and one scale per (date, cell type, time point) mapping pSTAT5 to fluorescence (the
calibration's nuisance scales; solved in closed form by :func:`il2sim.analysis.fit_petab`).
Bivalent ligands have another reaction scheme (another model) and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from il2sim import binding, catalog
from il2sim.binding._scheme import binding_scheme
from il2sim.model import Network, Species, check_sbml, to_sbml

#: The monovalent IL-2 ligands of the data set (one IL-2 unit, IL-2Ralpha and beta/gamma-c).
MONOVALENT_IL2 = (
    "aldesleukin",
    "fc_wt_nterm_mono",
    "fc_r38q_nterm_mono",
    "fc_h16n_nterm_mono",
    "fc_r38q_h16n_mono",
)


def _sid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def signaling_model() -> Network:
    """One monovalent IL-2 unit binding IL-2Ralpha and IL-2Rbeta/gamma-c on one cell (hours,
    molecules per cell), with the signaling complexes and pSTAT5 fraction as readouts."""
    design = binding.BindingDesign("monovalent_il2", kd_il2ra_nM=1.0, kd_il2rbg_nM=1.0)
    scheme = binding_scheme(design)
    params = catalog.signaling_params()
    net = Network(
        id="il2sim_signaling_monovalent",
        name="il2sim: monovalent IL-2 binding and pSTAT5 on one cell",
        notes="Receptor layer of il2sim (binding scheme of binding._scheme) for one-unit IL-2 "
        "ligands; ligand held at its dish concentration.",
        time_units="hour",
        substance_units="item",
    )
    net.compartment("cell", 1.0, "one cell", "amounts are molecules per cell")
    kon = params.kon_per_nM_min
    net.parameter("kon", kon.value * 60.0, "per_nM_per_h", "association rate constant", kon.source)
    net.parameter(
        "kx",
        params.kx_nM_per_receptor.value,
        "nM_per_item",
        "surface cross-linking constant",
        params.kx_nM_per_receptor.source,
    )
    net.parameter(
        "cooperativity",
        params.cooperativity.value,
        "dimensionless",
        "IL-2Ralpha/IL-2Rbeta cooperativity within one IL-2 unit",
        params.cooperativity.source,
    )
    net.parameter(
        "k_half",
        params.k_half_complexes.value,
        "item",
        "signaling complexes per cell for half-maximal pSTAT5",
        params.k_half_complexes.source,
    )
    net.parameter("L_nM", 1.0, "nM", "ligand concentration in the dish", "condition")
    for kind in scheme.kinds:
        net.parameter(f"kd_{kind}", 1.0, "nM", f"Kd of the ligand to {kind}", "condition")
        net.parameter(f"R0_{kind}", 1000.0, "item", f"{kind} per cell before ligand", "condition")
        net.add_species(
            Species(
                f"R_{kind}",
                "cell",
                0.0,
                "item",
                f"free {kind}",
                amount_only=True,
                initial_assignment=f"R0_{kind}",
            )
        )
    cid = {c: f"C_{_sid(c)}" for c in scheme.complexes}
    for c in scheme.complexes:
        net.add_species(Species(cid[c], "cell", 0.0, "item", f"complex {c}", amount_only=True))

    def times(n: int) -> str:  # a count as a dimensionless parameter (SBML unit checks)
        return "" if n == 1 else net.ensure_parameter(f"n{n}", n, "dimensionless") + " * "

    for i, st in enumerate(scheme.steps):
        r, p = f"R_{st.receptor}", cid[st.product]
        kd = f"kd_{st.receptor}"
        if st.source is None:
            fwd = f"{times(st.forward_multiplicity)}kon * L_nM * {r}"
            reactants = {r: 1}
        else:
            coop = " * cooperativity" if st.cooperative else ""
            fwd = f"{times(st.forward_multiplicity)}kon * kx{coop} * {cid[st.source]} * {r}"
            reactants = {cid[st.source]: 1, r: 1}
        rate = f"{fwd} - {times(st.reverse_multiplicity)}kon * {kd} * {p}"
        net.reaction(f"bind_{i}", reactants, {p: 1}, rate, f"{st.source or 'ligand'} + {r}")
    active = " + ".join(f"{times(n)}{cid[c]}" for c, n in scheme.signaling_bonds.items() if n > 0)
    net.rule("active", active, "item", "engaged IL-2Rbeta/gamma-c complexes per cell")
    net.rule("pstat5", "active / (active + k_half)", "dimensionless", "pSTAT5 fraction")
    return net


def signaling_petab(
    out_dir: str | Path,
    *,
    drugs: Sequence[str] = MONOVALENT_IL2,
    cells: Sequence[str] | None = None,
    dates: Sequence[str] | None = None,
    times_h: Sequence[float] | None = None,
) -> Path:
    """Write the PEtab problem (model, conditions, observables, measurements, parameters,
    problem YAML) into ``out_dir`` and return the YAML's path. ``cells``, ``dates`` and
    ``times_h`` choose a subset of the data (default: all)."""
    bad = sorted(set(drugs) - set(MONOVALENT_IL2))
    if bad:
        raise ValueError(
            f"drugs: {bad} are not monovalent IL-2 ligands of the data set; "
            f"choose from {', '.join(MONOVALENT_IL2)}"
        )
    data = binding.load_pstat5_data()
    data = data[data.drug.isin(drugs)]
    for name, chosen, col in (
        ("cells", cells, "cell"),
        ("dates", dates, "date"),
        ("times_h", times_h, "time_h"),
    ):
        if chosen is not None:
            missing = sorted(set(chosen) - set(data[col]))
            if missing:
                raise ValueError(
                    f"{name}: {missing} not in the data; have {sorted(data[col].unique())}"
                )
            data = data[data[col].isin(chosen)]
    if data.empty:
        raise ValueError("no measurements left for this choice of drugs, cells, dates, times")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = signaling_model()
    text = to_sbml(net)
    problems = check_sbml(text)
    if problems:
        raise ValueError(f"signaling model fails libSBML checks: {problems[:3]}")
    (out / "model.xml").write_text(text)

    conds = []
    cond_id = {}
    for (drug, cell, dose), _ in data.groupby(["drug", "cell", "dose_nM"]):
        d = catalog.get_drug(drug)
        r = catalog.get_cell(cell).receptor_counts()
        c = f"c_{_sid(drug)}__{_sid(cell)}__{dose:g}".replace(".", "p").replace("-", "m")
        cond_id[(drug, cell, dose)] = c
        conds.append(
            {
                "conditionId": c,
                "conditionName": f"{drug} {dose:g} nM on {cell}",
                "L_nM": dose,
                "kd_IL2RA": d.kd_il2ra_nM.value,
                "kd_IL2RBG": d.kd_il2rbg_nM.value,
                "R0_IL2RA": r["IL2RA"],
                "R0_IL2RBG": min(r["IL2RB"], r["IL2RG"]),
            }
        )
    pd.DataFrame(conds).to_csv(out / "conditions.tsv", sep="\t", index=False)

    group = data.date + "_" + data.cell + "_" + data.time_h.map(lambda t: f"{t:g}h")
    scale_id = "scale_" + group.map(_sid).str.replace(".", "p", regex=False)
    gmax = data.groupby(group.to_numpy())["signal"].transform("max").to_numpy()
    meas = pd.DataFrame(
        {
            "observableId": "pSTAT5",
            "simulationConditionId": [
                cond_id[k] for k in zip(data.drug, data.cell, data.dose_nM, strict=True)
            ],
            "measurement": data.signal.to_numpy(),
            "time": data.time_h.to_numpy(),
            "observableParameters": scale_id.to_numpy(),
            "noiseParameters": np.where(gmax > 0, gmax, 1.0),
            "datasetId": "d_" + scale_id.str.removeprefix("scale_").to_numpy(),
        }
    )
    meas.to_csv(out / "measurements.tsv", sep="\t", index=False)
    pd.DataFrame(
        [
            {
                "observableId": "pSTAT5",
                "observableName": "pSTAT5 mean fluorescence (background-subtracted)",
                "observableFormula": "observableParameter1_pSTAT5 * pstat5",
                "noiseFormula": "noiseParameter1_pSTAT5 * sigma_rel",
                "observableTransformation": "lin",
                "noiseDistribution": "normal",
            }
        ]
    ).to_csv(out / "observables.tsv", sep="\t", index=False)

    p = catalog.signaling_params()
    kon_per_h = 60.0 * p.kon_per_nM_min.value  # the model runs in hours
    rows = [
        _prow("kon", "lin", *(60.0 * k for k in p.kon_per_nM_min.range), kon_per_h, 0),
        _prow("kx", "log10", 1e-5, 1e3, p.kx_nM_per_receptor.value, 0),
        _prow("cooperativity", "log10", 1e-1, 1e7, p.cooperativity.value, 1),
        _prow("k_half", "log10", 1.0, 1e5, p.k_half_complexes.value, 1),
        _prow("sigma_rel", "log10", 1e-3, 1.0, 0.1, 1),
    ]
    gm = pd.Series(gmax, index=scale_id.to_numpy()).groupby(level=0).max()
    rows += [_prow(s, "lin", 0.0, 100.0 * v, v, 1) for s, v in gm.items()]
    pd.DataFrame(rows).to_csv(out / "parameters.tsv", sep="\t", index=False)
    problem = {
        "format_version": 1,
        "parameter_file": "parameters.tsv",
        "problems": [
            {
                "sbml_files": ["model.xml"],
                "condition_files": ["conditions.tsv"],
                "measurement_files": ["measurements.tsv"],
                "observable_files": ["observables.tsv"],
            }
        ],
    }
    path = out / "problem.yaml"
    path.write_text(yaml.safe_dump(problem, sort_keys=False))
    return path


def _prow(pid: str, scale: str, lo: float, hi: float, nominal: float, estimate: int) -> dict:
    return {
        "parameterId": pid,
        "parameterScale": scale,
        "lowerBound": lo,
        "upperBound": hi,
        "nominalValue": nominal,
        "estimate": estimate,
    }
