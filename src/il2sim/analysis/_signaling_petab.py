"""The signaling calibration as a PEtab problem: the Meyer-lab pSTAT5 dose-responses of human
PBMC to IL-2 (one and two IL-2 units per molecule) and IL-15, with the receptor layer's binding
schemes as one SBML model, so that any PEtab tool (pyPESTO, AMICI, Data2Dynamics, il2sim's own
fitter) can refit it.

One SBML model serves every condition: it holds one binding scheme per ligand format (one IL-2
unit; two IL-2 units; IL-15 on IL-15Ralpha and IL-2Rbeta/gamma-c) on shared receptors; a
condition sets its ligand's concentration (the other formats' are 0), its Kd values and the
cell's receptor numbers. The ligand is held at its dish concentration (no depletion, as in
:func:`il2sim.binding.calibrate`); binding runs in time to each measured time point. Estimated:
the cooperativity of a unit's second bond, the surface cross-linking constant ``kx`` (it sets
how a two-unit molecule's second unit binds; for one-unit ligands it only enters as a product
with the cooperativity, so it is fixed when no two-unit ligand is in the problem), the
transduction constant ``k_half_complexes``, a relative noise, and one scale per (date, cell type,
time point) mapping pSTAT5 to fluorescence (the calibration's nuisance scales; solved in closed
form by :func:`il2sim.analysis.fit`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from il2sim import binding, catalog
from il2sim.binding import binding_scheme
from il2sim.model import Network, Species, check_sbml, to_sbml

#: Ligand formats of the data set and the binding design each stands for (Kd values are
#: condition parameters; 1 nM here only builds the scheme).
FORMATS: dict[str, binding.BindingDesign] = {
    "mono": binding.BindingDesign("one_il2_unit", kd_il2ra_nM=1.0, kd_il2rbg_nM=1.0),
    "biv": binding.BindingDesign("two_il2_units", valency=2, kd_il2ra_nM=1.0, kd_il2rbg_nM=1.0),
    "il15": binding.BindingDesign("il15", kd_il15ra_nM=1.0, kd_il2rbg_nM=1.0),
}


@functools.cache
def _format_kinds(fmt: str) -> tuple[str, ...]:
    """The receptor kinds a ligand format binds (its scheme is built once)."""
    return binding_scheme(FORMATS[fmt]).kinds


def _receptor_kinds() -> list[str]:
    """Every receptor kind of the model, in order."""
    return list(dict.fromkeys(k for f in FORMATS for k in _format_kinds(f)))


def _sid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


@functools.cache
def ligand_format(drug: str) -> str:
    """The format (key of :data:`FORMATS`) of a catalog drug; ValueError if none fits."""
    d = binding.BindingDesign.from_drug(catalog.get_drug(drug))
    for name, f in FORMATS.items():
        if d.layout()[0] == f.layout()[0] and d.kinds == f.kinds and d.valency == f.valency:
            return name
    raise ValueError(
        f"drugs: {drug!r} binds as none of the exported formats (one or two IL-2 units, IL-15)"
    )


def signaling_model() -> Network:
    """Every ligand format's binding to IL-2Ralpha, IL-15Ralpha and IL-2Rbeta/gamma-c on one
    cell (hours, molecules per cell), with the signaling complexes and pSTAT5 as readouts."""
    params = catalog.signaling_params()
    net = Network(
        id="il2sim_signaling",
        name="il2sim: IL-2 and IL-15 binding and pSTAT5 on one cell",
        notes="Receptor layer of il2sim (binding schemes of binding._scheme) for one- and "
        "two-unit IL-2 ligands and IL-15; a condition sets one ligand's concentration.",
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
        "cooperativity of the second receptor bond within one cytokine unit",
        params.cooperativity.source,
    )
    net.parameter(
        "k_half",
        params.k_half_complexes.value,
        "item",
        "signaling complexes per cell for half-maximal pSTAT5",
        params.k_half_complexes.source,
    )
    for kind in _receptor_kinds():
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

    def times(n: int) -> str:  # a count as a dimensionless parameter (SBML unit checks)
        return "" if n == 1 else net.ensure_parameter(f"n{n}", n, "dimensionless") + " * "

    active: list[str] = []
    for fmt, design in FORMATS.items():
        scheme = binding_scheme(design)
        lig = net.parameter(
            f"L_{fmt}_nM", 0.0, "nM", f"{design.name} ligand in the dish", "condition"
        )
        for kind in scheme.kinds:
            net.parameter(
                f"kd_{fmt}_{kind}", 1.0, "nM", f"Kd of {design.name} to {kind}", "condition"
            )
        cid = {c: f"C_{fmt}_{_sid(c)}" for c in scheme.complexes}
        for c in scheme.complexes:
            net.add_species(
                Species(cid[c], "cell", 0.0, "item", f"{design.name} complex {c}", amount_only=True)
            )
        for i, st in enumerate(scheme.steps):
            r, p = f"R_{st.receptor}", cid[st.product]
            if st.source is None:
                fwd = f"{times(st.forward_multiplicity)}kon * {lig} * {r}"
                reactants = {r: 1}
            else:
                coop = " * cooperativity" if st.cooperative else ""
                fwd = f"{times(st.forward_multiplicity)}kon * kx{coop} * {cid[st.source]} * {r}"
                reactants = {cid[st.source]: 1, r: 1}
            back = f"{times(st.reverse_multiplicity)}kon * kd_{fmt}_{st.receptor} * {p}"
            net.reaction(
                f"bind_{fmt}_{i}",
                reactants,
                {p: 1},
                f"{fwd} - {back}",
                f"{st.source or design.name} + {r}",
            )
        active += [f"{times(n)}{cid[c]}" for c, n in scheme.signaling_bonds.items() if n > 0]
    net.rule("active", " + ".join(active), "item", "engaged IL-2Rbeta/gamma-c complexes per cell")
    net.rule("pstat5", "active / (active + k_half)", "dimensionless", "pSTAT5 fraction")
    return net


def condition_values(drug: str, cell: str, dose_nM: float) -> dict[str, float]:
    """The model's condition parameters for ``drug`` at ``dose_nM`` on ``cell``: that ligand's
    concentration and Kd values (every other format's ligand at 0) and the cell's receptors."""
    fmt = ligand_format(drug)
    kd = {
        kind: kd_nM
        for kind, kd_nM in filter(
            None, binding.BindingDesign.from_drug(catalog.get_drug(drug)).layout()[1]
        )
    }
    values = {f"L_{f}_nM": (dose_nM if f == fmt else 0.0) for f in FORMATS}
    for f in FORMATS:
        for kind in _format_kinds(f):
            values[f"kd_{f}_{kind}"] = float(kd[kind]) if f == fmt else 1.0
    kinds = _receptor_kinds()
    counts = binding.cell_receptor_vector(catalog.get_cell(cell), kinds)
    values.update({f"R0_{k}": float(n) for k, n in zip(kinds, counts, strict=True)})
    return values


def signaling_petab(
    out_dir: str | Path,
    *,
    drugs: Sequence[str] | None = None,
    cells: Sequence[str] | None = None,
    dates: Sequence[str] | None = None,
    times_h: Sequence[float] | None = None,
) -> Path:
    """Write the PEtab problem (model, conditions, observables, measurements, parameters,
    problem YAML) into ``out_dir`` and return the YAML's path. ``drugs``, ``cells``, ``dates``
    and ``times_h`` choose a subset of the data (default: all)."""
    data = binding.load_pstat5_data()
    subsets: tuple[tuple[str, Sequence | None, str], ...] = (
        ("drugs", drugs, "drug"),
        ("cells", cells, "cell"),
        ("dates", dates, "date"),
        ("times_h", times_h, "time_h"),
    )
    for name, chosen, col in subsets:
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

    formats = {drug: ligand_format(drug) for drug in data.drug.unique()}
    conds = []
    cond_id = {}
    for (drug, cell, dose), _ in data.groupby(["drug", "cell", "dose_nM"]):
        c = f"c_{_sid(drug)}__{_sid(cell)}__{dose:g}".replace(".", "p").replace("-", "m")
        cond_id[(drug, cell, dose)] = c
        conds.append(
            {
                "conditionId": c,
                "conditionName": f"{drug} {dose:g} nM on {cell}",
                **condition_values(drug, cell, dose),
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
    kon_lo, kon_hi = p.kon_per_nM_min.range or (p.kon_per_nM_min.value,) * 2  # fixed anyway
    rows = [
        _prow("kon", "lin", 60.0 * kon_lo, 60.0 * kon_hi, kon_per_h, 0),
        _prow("kx", "log10", 1e-5, 1e3, p.kx_nM_per_receptor.value, int("biv" in formats.values())),
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
