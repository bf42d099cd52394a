"""The report of a therapy run: a self-contained HTML page (figures embedded), the long-format
results (Parquet) and the per-arm summary (JSON)."""

from __future__ import annotations

import html
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from il2sim.report._html import img, page, png_base64
from il2sim.simulate import TherapyResult, atomic_write_bytes, write_results

_PANELS = (
    ("burden", "tumour cells or viral load (fold of day 0)", True),
    ("effector", "effector-like CD8 in the disease site (fold)", True),
    ("terminal", "terminally exhausted CD8 (fold)", True),
    ("treg", "Tregs, lymphoid tissue (fold)", True),
    ("nk", "NK cells, lymphoid tissue (fold)", True),
    ("cd8_memory", "memory CD8, lymphoid tissue (fold)", True),
    ("plasma", "IL-2 drug in plasma (ng/mL)", True),
    ("vascular_leak_index", "vascular-leak index", False),
)


def _pick(columns: list[str], key: str) -> str | None:
    if key == "burden":
        return next((c for c in columns if c in ("tumour_cells", "viral_load")), None)
    if key == "plasma":
        return next(
            (
                c
                for c in columns
                if c.startswith("plasma:")
                and "mab" not in c
                and c.split(":")[1]
                not in ("nivolumab", "pembrolizumab", "atezolizumab", "ipilimumab")
            ),
            None,
        )
    if key in ("treg", "nk", "cd8_memory"):
        return next(
            (c for c in columns if c.startswith("cells:") and c.endswith(f"{key}_peripheral")), None
        )
    if key in ("effector", "terminal"):
        tag = "effector_like" if key == "effector" else "terminal_exhausted"
        return next((c for c in columns if c.startswith("cells:") and tag in c), None)
    return key if key in columns else None


def therapy_panels(
    result: TherapyResult, setting: str
) -> list[tuple[str, bool, list[tuple[str, np.ndarray, np.ndarray]]]]:
    """What the time-course figure shows, for any renderer: per panel its title, whether its
    axis is logarithmic (where the values span a decade or more: no 1.000002 ticks), and one
    (arm label, days of treatment, values) line per arm; cell counts as fold of day 0. The
    vascular-leak panel's threshold is :func:`leak_threshold`."""
    f = result.frame[result.frame.setting == setting]
    wide = {
        a: g.pivot_table(index="time_d", columns="variable", values="value")
        for a, g in f.groupby("arm", sort=False)
    }
    panels = []
    for key, title, logy in _PANELS:
        lines = []
        for arm, w in wide.items():
            col = _pick(list(w.columns), key)
            if col is None:
                continue
            y = w[col]
            if key not in ("plasma", "vascular_leak_index"):
                y = y / y.iloc[0]
            if logy:
                y = y.clip(lower=1e-6)
            label = result.arm_summary(setting, arm).get("label") or arm
            lines.append((label, w.index.to_numpy(), y.to_numpy()))
        if logy and lines:  # a log axis only where the values span a decade or more
            ys = np.concatenate([y for _, _, y in lines])
            logy = bool(ys.max() >= 10 * ys.min())
        panels.append((title, logy, lines))
    return panels


def leak_threshold() -> float:
    """The vascular-leak index above which the model calls leak severe (catalog)."""
    from il2sim.catalog import immune_parameters

    return immune_parameters()["vascular_leak_threshold"].value


def therapy_figure(result: TherapyResult, setting: str) -> plt.Figure:
    """Eight panels over the treatment: burden, key populations, drug in plasma, vascular leak
    (with its severe threshold); one line per arm."""
    fig, axes = plt.subplots(2, 4, figsize=(17, 8))
    cmap = plt.get_cmap("tab20")
    for ax, (title, logy, lines) in zip(axes.flat, therapy_panels(result, setting), strict=True):
        for i, (label, x, y) in enumerate(lines):
            ax.plot(x, y, label=label, color=cmap(i % 20), lw=1.3)
        if title.startswith("vascular-leak"):
            ax.axhline(leak_threshold(), color="0.3", ls="--", lw=1, label="severe")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("days of treatment", fontsize=8)
        if logy:
            ax.set_yscale("log")
    axes.flat[0].legend(fontsize=7, ncol=2)
    fig.suptitle(setting)
    fig.tight_layout()
    return fig


#: The comparison the chronic-infection papers make (Hashimoto 2022, Codarri Deak 2022, West
#: 2013, Penaloza-MacMaster 2014): (panel title, population id tag or burden).
_COMPARISON = (
    ("stem-like CD8", "cd8_stem_like"),
    ("effector-like CD8", "cd8_effector_like"),
    ("terminally exhausted CD8", "cd8_terminal_exhausted"),
    ("bystander CD8 (memory, not antigen-specific)", "cd8_memory"),
    ("Tregs (site)", "treg"),
    ("viral load or tumour", None),
)


def _readout_day(result: TherapyResult) -> float:
    """The readout day the tables and the comparison use: the last one up to day 14."""
    days = result.scenario.readout_days
    return max(d for d in days if d <= 14) if any(d <= 14 for d in days) else days[0]


def comparison_figure(result: TherapyResult, setting: str) -> plt.Figure:
    """The papers' side-by-side comparison: one panel per population (and the disease burden),
    one bar per arm, log2 fold change at the readout day (0 = no change, -1 = halved; a burden
    or population at exactly 0, eradicated, is a hatched bar to the axis' end)."""
    key = f"day_{_readout_day(result):g}"
    rows = [s for s in result.summary if s["setting"] == setting]
    site = next(
        (p.rsplit("_", 1)[1] for p in rows[0]["fold_expansion"] if "cd8_stem_like" in p), None
    )
    fig, axes = plt.subplots(
        1,
        len(_COMPARISON),
        figsize=(3.1 * len(_COMPARISON), max(2.6, 1.2 + 0.3 * len(rows))),
        sharey=True,
    )
    labels = [s["arm"] for s in rows]
    for ax, (title, tag) in zip(axes, _COMPARISON, strict=True):
        values = []
        for s in rows:
            if tag is None:
                burden = s.get("viral_load_change") or s.get("tumour_cells_change") or {}
                values.append(burden.get(key, math.nan))
                continue
            pops = [p for p in s["fold_expansion"] if tag in p]
            if tag in ("treg", "cd8_memory"):  # the disease site's, else lymphoid organs'
                pops = (
                    [p for p in pops if site is not None and p.endswith(site)]
                    or [p for p in pops if p.endswith("peripheral")]
                    or pops
                )
            values.append(s["fold_expansion"][pops[0]][key] if pops else math.nan)
        logs = [math.log2(v) if v > 0 else math.nan for v in values]
        y = list(range(len(rows)))
        colours = ["#c44e52" if v < 0 else "#4c72b0" for v in logs]
        span = max([1.0, *(abs(v) for v in logs if not math.isnan(v))]) * 1.1
        gone = [v == 0 for v in values]  # eradicated (no log): a hatched bar to the axis' end
        widths = [
            -span if g else 0.0 if math.isnan(v) else v for g, v in zip(gone, logs, strict=True)
        ]
        bars = ax.barh(
            y, widths, color=["#c44e52" if g else c for g, c in zip(gone, colours, strict=True)]
        )
        for bar, g in zip(bars, gone, strict=True):
            if g:
                bar.set_hatch("//")
                ax.text(
                    -0.97 * span,
                    bar.get_y() + bar.get_height() / 2,
                    "eradicated",
                    va="center",
                    fontsize=7,
                    color="white",
                )
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_xlim(-span, span)
        ax.set_title(title, fontsize=9)
        ax.set_yticks(y, labels, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("log2 fold change", fontsize=8)
    axes[0].invert_yaxis()
    when = key.replace("_", " ")
    fig.suptitle(f"{setting}: the papers' comparison side by side, {when}", fontsize=10)
    fig.tight_layout()
    return fig


#: How the body model's locations read in a table.
LOCATIONS = {
    "central": "blood",
    "peripheral": "lymphoid tissue",
    "spleen": "spleen",
    "tumour": "tumour",
    "lung": "lung",
    "liver": "liver",
}


def population_label(pid: str) -> str:
    """A population id as a reader reads it: the cell's display name and where it is
    (``mouse_cd8_effector_like_spleen`` -> ``Mouse LCMV-specific effector-like CD8 T cells
    (CX3CR1+), spleen``); an id it cannot split is returned as it is."""
    from il2sim.catalog import cells

    known = sorted(cells(), key=len, reverse=True)
    cell = next((c for c in known if pid.startswith(f"{c}_")), None)
    if cell is None:
        return pid
    where = pid[len(cell) + 1 :]
    return f"{cells()[cell].display_name}, {LOCATIONS.get(where, where)}"


def summary_table(result: TherapyResult, setting: str) -> pd.DataFrame:
    """One row per arm: burden change, fold expansions, Treg:CD8 ratio, toxicity."""
    rows = []
    key = f"day_{_readout_day(result):g}"
    for s in result.summary:
        if s["setting"] != setting:
            continue
        row = {"arm": s.get("label") or s["arm"]}
        burden = s.get("tumour_cells_change") or s.get("viral_load_change") or {}
        row[f"burden, fold at {key.replace('_', ' ')}"] = burden.get(key, math.nan)
        for pid, folds in s["fold_expansion"].items():
            if any(
                t in pid
                for t in (
                    "effector_like",
                    "treg_peripheral",
                    "nk_peripheral",
                    "cd8_memory_peripheral",
                )
            ):
                row[f"{population_label(pid)}, fold at {key.replace('_', ' ')}"] = folds.get(
                    key, math.nan
                )
        tox = s["toxicity"]
        for idx, name in (
            ("vascular_leak_index", "vascular leak"),
            ("cytokine_release_index", "cytokine release"),
        ):
            if idx in tox:
                row[f"{name}, peak daily index"] = tox[idx]["max_daily_mean"]
                row[f"{name} severe"] = tox[idx]["exceeded"]
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(result: TherapyResult, out: str | Path) -> list[Path]:
    """Write ``report.html``, ``results.parquet`` and ``summary.json`` into ``out``."""
    out = Path(out)
    pq, js = write_results(
        out,
        {"results.parquet": result.frame},
        {"scenario": result.scenario.name, "arms": result.summary},
    )
    sc = result.scenario
    parts = [
        f"<h1>il2sim: {html.escape(sc.name)}</h1><p>{html.escape(sc.description)}</p>",
        f"<p>{sc.duration_days:g} days of treatment after a {sc.run_in_days:g}-day run-in; "
        "folds are relative to the start of treatment. Toxicity indices: see the README "
        "(vascular leak = CD25+ endothelium signaling + NK activation; cytokine release = "
        "activated NK and CD8 T cells).</p>",
    ]
    for setting in sc.settings:
        parts.append(
            f"<h2>{html.escape(setting.name)}</h2><p>{html.escape(setting.description)}</p>"
        )
        parts.append(img(png_base64(therapy_figure(result, setting.name)), setting.name))
        parts.append(
            img(png_base64(comparison_figure(result, setting.name)), f"{setting.name} comparison")
        )
        parts.append(
            summary_table(result, setting.name).to_html(
                index=False, float_format=lambda v: f"{v:.3g}"
            )
        )
        parts.append("<h3>Arms</h3><ul>")
        for a in setting.arms:
            abs_ = "; ".join(f"{d.antibody} {d.regimen}" for d in a.antibodies)
            parts.append(
                f"<li><b>{html.escape(a.name)}</b>: {html.escape(a.drug or 'no IL-2 drug')} "
                f"{html.escape(a.regimen or '')} {html.escape(abs_)}</li>"
            )
        parts.append("</ul>")
    rep = out / "report.html"
    atomic_write_bytes(rep, page(f"il2sim report: {sc.name}", parts).encode())
    return [rep, pq, js]
