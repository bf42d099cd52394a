"""Figures of drug exposure and receptor engagement over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from il2sim.simulate import PKResult


def plot_pk(result: PKResult, path: str | Path) -> Path:
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
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
