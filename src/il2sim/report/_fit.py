"""The report of a PEtab fit: estimates with profile-likelihood intervals, the profiles, and
measured against simulated values."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from il2sim.analysis import PROFILE_THRESHOLD, FitResult
from il2sim.report._html import img, page, png_base64


def parameter_table(result: FitResult, intervals: pd.DataFrame | None, names: list[str]):
    """Estimate and 95% profile interval of each parameter in ``names``."""
    rows = []
    ci = intervals.set_index("parameter") if intervals is not None else pd.DataFrame()
    for n in names:
        row = {"parameter": n, "estimate": result.parameters[n]}
        if n in ci.index:
            row["lower_95"] = ci.loc[n, "lower_95"]
            row["upper_95"] = ci.loc[n, "upper_95"]
        rows.append(row)
    return pd.DataFrame(rows)


def profile_figure(profiles: pd.DataFrame) -> plt.Figure:
    """Rise of the negative log-likelihood along each profiled parameter."""
    names = list(dict.fromkeys(profiles.parameter))
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        p = profiles[profiles.parameter == name]
        ax.plot(p.value, p.delta, "o-", ms=3)
        ax.axhline(PROFILE_THRESHOLD, color="grey", ls="--", lw=0.8)
        if (p.value > 0).all() and p.value.max() / p.value.min() > 5:
            ax.set_xscale("log")
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylim(bottom=-0.1)
    axes[0][0].set_ylabel("rise of -log L")
    fig.tight_layout()
    return fig


def fit_figure(result: FitResult) -> plt.Figure:
    """Measured against simulated, one colour per observable."""
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    d = result.fit
    for obs, g in d.groupby("observableId"):
        ax.scatter(g.simulation, g.measurement, s=6, alpha=0.6, label=str(obs))
    lim = [
        float(np.nanmin(d[["simulation", "measurement"]].to_numpy())),
        float(np.nanmax(d[["simulation", "measurement"]].to_numpy())),
    ]
    ax.plot(lim, lim, color="grey", lw=0.8)
    ax.set_xlabel("simulated")
    ax.set_ylabel("measured")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_fit_report(
    result: FitResult,
    out: str | Path,
    *,
    names: list[str],
    profiles: pd.DataFrame | None = None,
    intervals: pd.DataFrame | None = None,
    title: str = "PEtab fit",
) -> list[Path]:
    """Write ``report.html``, ``parameters.csv`` (every estimated parameter), ``fit.parquet``
    (measurements with the simulation) and, with profiles, ``profiles.csv``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.html", out / "parameters.csv", out / "fit.parquet"]
    pd.DataFrame(
        {"parameter": list(result.parameters), "estimate": list(result.parameters.values())}
    ).to_csv(files[1], index=False)
    fit = result.fit.copy()
    for col in fit.columns:  # mixed id/number columns do not go into Parquet as they are
        if fit[col].dtype == object:
            fit[col] = fit[col].astype(str)
    fit.to_parquet(files[2], index=False)
    y, s = result.fit.measurement.to_numpy(float), result.fit.simulation.to_numpy(float)
    r2 = 1.0 - np.sum((y - s) ** 2) / np.sum((y - y.mean()) ** 2)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>-log likelihood {result.nll:.6g} at the best of {len(result.starts)} starts; "
        f"{len(y)} measurements, R<sup>2</sup> {r2:.3f}. Intervals: profile likelihood, 95% "
        f"(rise of {PROFILE_THRESHOLD:.2f}); nan where the profile stays below it (not "
        "identifiable on that side within the bounds).</p>",
        parameter_table(result, intervals, names).to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        ),
        img(png_base64(fit_figure(result)), "measured vs simulated"),
    ]
    if profiles is not None and not profiles.empty:
        files.append(out / "profiles.csv")
        profiles.to_csv(files[-1], index=False)
        parts.append(img(png_base64(profile_figure(profiles)), "profiles"))
    if result.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    files[0].write_text(page(title, parts))
    return files
