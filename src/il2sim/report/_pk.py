"""Figures of drug exposure and receptor engagement over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from il2sim.simulate import PKResult, pk_scenario


def pk_figure(result: PKResult) -> plt.Figure:
    """Plasma concentration (log), pSTAT5 per population and target occupancy over time."""
    t_d = result.time_h / 24.0
    fig, axes = plt.subplots(3, 1, figsize=(8, 10), sharex=True)
    for name, rule in result.model.plasma_ng_per_mL.items():
        c = result.trajectory[rule]
        axes[0].semilogy(t_d, c.clip(min=1e-6), label=name)
    axes[0].set_ylabel("plasma (ng/mL)")
    axes[0].set_ylim(bottom=1e-4)
    axes[0].legend(fontsize=8)
    for pid, rule in result.model.pstat5.items():
        axes[1].plot(t_d, result.trajectory[rule], label=pid, lw=1)
    axes[1].set_ylabel("pSTAT5 (fraction of max)")
    axes[1].legend(fontsize=6, ncol=3)
    for (kind, pid), rule in result.model.occupancy.items():
        if kind in ("PD1", "PDL1", "CTLA4", "EDB_FN") or (
            kind == "IL2RBG" and pid.endswith("central")
        ):
            axes[2].plot(t_d, result.trajectory[rule], label=f"{kind} {pid}", lw=1)
    axes[2].set_ylabel("receptor occupancy")
    axes[2].set_xlabel("time (days)")
    axes[2].legend(fontsize=6, ncol=2)
    title = ", ".join(result.model.plasma_ng_per_mL)
    fig.suptitle(f"il2sim pk: {title} in {result.model.body.name} ({result.model.weight_kg:g} kg)")
    fig.tight_layout()
    return fig


def plot_pk(result: PKResult, path: str | Path) -> Path:
    """:func:`pk_figure` written to ``path`` (PNG)."""
    fig = pk_figure(result)
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


#: Populations summarised in the demo table.
SUMMARY_POPULATIONS = (
    "treg_central",
    "nk_central",
    "cd8_memory_central",
    "endothelium_cd25_peripheral",
)


def pk_comparison(out: str | Path, scenarios: list[str]) -> tuple[pd.DataFrame, list[Path]]:
    """Simulate each scenario; write its figure and one summary table (CSV)."""
    out = Path(out)
    rows, files = [], []
    for name in scenarios:
        res = pk_scenario(name)
        files.append(plot_pk(res, out / f"pk_{name}.png"))
        drug = res.model.drug.name if res.model.drug else next(iter(res.exposure))
        e = res.exposure[drug]
        eng = res.engagement()
        row = {"scenario": name, "Cmax (ng/mL)": e.cmax, "AUC (ng*h/mL)": e.auc}
        for pid in SUMMARY_POPULATIONS:
            row[f"pSTAT5 {pid.split('_')[0]}"] = eng.get(pid, {}).get("pstat5_mean", float("nan"))
        rows.append(row)
    table = pd.DataFrame(rows)
    path = out / "pk_summary.csv"
    table.to_csv(path, index=False)
    files.append(path)
    return table, files
