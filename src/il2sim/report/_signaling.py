"""Figures and tables of the receptor layer: dose-responses, EC50 and selectivity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from il2sim import binding, catalog

#: The comparison `il2sim demo` runs: the drugs the field argues about, the cells that matter.
DEMO_DRUGS = (
    "aldesleukin",
    "il2v",
    "super2",
    "nemvaleukin",
    "bempegaldesleukin",
    "il2_s4b6_complex",
    "il2_jes61_complex",
    "n88d_fc",
    "fc_wt_nterm_biv",
    "pd1_il2v",
    "pdl1_il2v",
)
DEMO_CELLS = (
    "treg",
    "cd4_helper",
    "cd8_naive",
    "cd8_memory",
    "nk",
    "cd8_stem_like",
    "cd8_terminal_exhausted",
    "endothelium_cd25",
)
_DOSES = np.logspace(-5, 3, 97)


def plot_dose_response(
    drugs: Sequence[catalog.Drug | str],
    cells: Sequence[catalog.Cell | str],
    path: Path,
    *,
    pd1_blockade: bool = False,
    uncertainty: int | None = None,
) -> Path:
    """One panel per drug: pSTAT5 (fraction of maximal) against dose for each cell; with
    ``uncertainty`` draws of the signaling posterior, each curve's 95% band."""
    tab = binding.dose_response(drugs, cells, _DOSES, pd1_blockade=pd1_blockade)
    band = None
    if uncertainty is not None:
        runs = [
            binding.dose_response(
                drugs, cells, _DOSES, params=p, pd1_blockade=pd1_blockade
            ).pstat5.to_numpy()
            for p in binding.load_posterior().params(uncertainty)
        ]
        band = np.quantile(np.stack(runs), [0.025, 0.975], axis=0)
    names = list(dict.fromkeys(tab.drug))
    ncol = min(4, len(names))
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False, sharey=True
    )
    for ax, name in zip(axes.flat, names, strict=False):
        for cell, sub in tab[tab.drug == name].groupby("cell", sort=False):
            (line,) = ax.semilogx(sub.dose_nM, sub.pstat5, label=cell)
            if band is not None:
                lo, hi = band[:, sub.index.to_numpy()]
                ax.fill_between(sub.dose_nM, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(catalog.get_drug(name).label if name in catalog.drugs() else name, fontsize=8)
        ax.set_xlabel("dose (nM)")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("pSTAT5 (fraction of max)")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class SignalingComparison:
    cells: list[str]
    ec50: pd.DataFrame  # drug x cell, nM
    selectivity: pd.DataFrame  # drug x cell: EC50(cell) / EC50(treg)
    files: list[Path]


def signaling_comparison(out_dir: Path) -> SignalingComparison:
    """EC50 table, selectivity vs Treg, and dose-response figure of the demo drugs and cells."""
    out_dir = Path(out_dir)
    pot = binding.potency(DEMO_DRUGS, DEMO_CELLS)
    ec50 = pot.pivot(index="drug", columns="cell", values="ec50_nM").loc[
        list(DEMO_DRUGS), list(DEMO_CELLS)
    ]
    sel = ec50.div(ec50["treg"], axis=0)
    files = [
        out_dir / "ec50_nM.csv",
        out_dir / "ec50_relative_to_treg.csv",
        out_dir / "dose_response.png",
    ]
    ec50.to_csv(files[0], float_format="%.5g")
    sel.to_csv(files[1], float_format="%.5g")
    plot_dose_response(DEMO_DRUGS, DEMO_CELLS, files[2])
    return SignalingComparison(list(DEMO_CELLS), ec50, sel, files)


def compare_potency(
    drug: catalog.Drug | str,
    reference: catalog.Drug | str,
    cells: Sequence[catalog.Cell | str],
    *,
    pd1_blockade: bool = False,
) -> pd.DataFrame:
    """One row per cell: EC50 and Emax of ``drug`` and of ``reference``, how many times
    weaker ``drug`` is (EC50 ratio), and each one's selectivity against Tregs
    (EC50 on Tregs / EC50 on the cell: above 1 favours the cell) where Tregs are among
    ``cells``."""
    pot = binding.potency([drug, reference], cells, pd1_blockade=pd1_blockade)
    names = list(dict.fromkeys(pot.drug))
    if len(names) == 1:  # the drug is its own reference
        names = names * 2
    mine = pot[pot.drug == names[0]].set_index("cell")
    ref = pot[pot.drug == names[1]].set_index("cell")
    order = list(dict.fromkeys(mine.index))
    table = pd.DataFrame(
        {
            "cell": order,
            "EC50 (nM)": mine.ec50_nM.loc[order].to_numpy(),
            "Emax": mine.emax.loc[order].to_numpy(),
            "reference EC50 (nM)": ref.ec50_nM.loc[order].to_numpy(),
            "EC50 / reference EC50": (mine.ec50_nM / ref.ec50_nM).loc[order].to_numpy(),
        }
    )
    treg = next((c for c in order if c.startswith("treg")), None)
    if treg is not None:
        table["selectivity vs Treg"] = mine.ec50_nM[treg] / table["EC50 (nM)"]
        table["reference selectivity vs Treg"] = ref.ec50_nM[treg] / table["reference EC50 (nM)"]
    return table


def compare_dose_response_figure(
    drug: catalog.Drug | str,
    reference: catalog.Drug | str,
    cells: Sequence[catalog.Cell | str],
    *,
    pd1_blockade: bool = False,
) -> plt.Figure:
    """pSTAT5 against dose on each cell: ``drug`` solid, ``reference`` dashed, one colour per
    cell."""
    tab = binding.dose_response([drug, reference], cells, _DOSES, pd1_blockade=pd1_blockade)
    names = list(dict.fromkeys(tab.drug))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    cmap = plt.get_cmap("tab10")
    for i, (cell, sub) in enumerate(tab.groupby("cell", sort=False)):
        colour = cmap(i % 10)
        for name, style in zip(names, ("-", "--"), strict=False):
            d = sub[sub.drug == name]
            ax.semilogx(
                d.dose_nM, d.pstat5, style, color=colour, label=cell if style == "-" else None
            )
    ax.set_xlabel("dose (nM)")
    ax.set_ylabel("pSTAT5 (fraction of max)")
    ax.grid(alpha=0.3)
    title = names[0] if len(names) == 1 else f"{names[0]} (solid) vs {names[1]} (dashed)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
