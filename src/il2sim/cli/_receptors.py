"""Commands of the receptor layer: the catalog (`drugs`, `cells`), signaling (`signal`) and
its calibration (`calibrate`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from il2sim import binding, catalog
from il2sim.cli._app import (
    _check_plot,
    _fail,
    _fmt_kd,
    _print_frame,
    _progress,
    app,
    console,
    plain_float,
)


@app.command()
def drugs() -> None:
    """List the catalog drugs with their valency, Kd values and targeting arms."""
    table = Table(title="il2sim drugs")
    for col in ("name", "kind", "valency", "Kd IL-2Ra (nM)", "Kd IL-2Rb/gc (nM)", "arms"):
        table.add_column(col)
    for name, d in sorted(catalog.drugs().items()):
        arms = ", ".join(f"{int(a.count.value)}x {a.target} ({a.kd_nM.value:g} nM)" for a in d.arms)
        table.add_row(
            name,
            d.kind,
            str(int(d.valency.value)),
            _fmt_kd(d.kd_il2ra_nM),
            _fmt_kd(d.kd_il2rbg_nM),
            arms,
        )
    console.print(table)


@app.command()
def cells(
    species: Annotated[str | None, typer.Option(help="human or mouse (default: both)")] = None,
) -> None:
    """List the catalog cell populations with their receptors per cell."""
    if species not in (None, "human", "mouse"):
        raise _fail(f"--species must be 'human' or 'mouse', got {species!r}")
    table = Table(title="il2sim cells (receptors per cell)")
    for col in ("name", "species", "IL-2Ra", "IL-2Rb", "gamma-c", "PD-1", "PD-L1", "assumed"):
        table.add_column(col)
    for name, c in sorted(catalog.cells().items()):
        if species and c.species != species:
            continue
        r = c.receptor_counts()
        assumed = sum(v.is_assumption for _, v in c.sourced_numbers())
        table.add_row(
            name,
            c.species,
            *(f"{r[k]:.0f}" for k in ("IL2RA", "IL2RB", "IL2RG", "PD1", "PDL1")),
            f"{assumed}/{len(c.sourced_numbers())}",
        )
    console.print(table)


def _parse_cells(text: str, species: str) -> list[catalog.Cell]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise _fail("--cells needs at least one cell name, e.g. --cells treg,cd8_naive,nk")
    try:
        return [catalog.get_cell(n, species=species) for n in names]
    except catalog.CatalogError as e:
        raise _fail(f"--cells: {e}") from None


@app.command()
def signal(
    drug: Annotated[str, typer.Option(help="catalog drug name or path to a drug YAML file")],
    cells: Annotated[str, typer.Option(help="comma-separated cell names")] = "treg,cd8_naive,nk",
    species: Annotated[str, typer.Option(help="human or mouse")] = "human",
    time_min: Annotated[
        float | None,
        typer.Option(
            help="pSTAT5 at this time (kinetic model) instead of at equilibrium",
            parser=plain_float,
        ),
    ] = None,
    pd1_blockade: Annotated[
        bool, typer.Option(help="apply PD-1 blockade receptor changes")
    ] = False,
    reference: Annotated[
        str | None, typer.Option(help="also give selectivity relative to this cell")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="write dose-response curves to this PNG")
    ] = None,
    uncertainty: Annotated[
        int | None,
        typer.Option(
            help="also give each EC50's 95% interval over this many draws of the signaling "
            "constants' posterior (equilibrium model)"
        ),
    ] = None,
) -> None:
    """EC50 (nM), Emax and selectivity of a drug on each cell type."""
    if species not in ("human", "mouse"):
        raise _fail(f"--species must be 'human' or 'mouse', got {species!r}")
    if time_min is not None and not (math.isfinite(time_min) and time_min > 0):
        raise _fail(f"--time-min must be a positive number of minutes, got {time_min}")
    if uncertainty is not None and not 1 <= uncertainty <= 100_000:
        raise _fail(f"--uncertainty must be between 1 and 100,000 draws, got {uncertainty}")
    if uncertainty is not None and time_min is not None:
        raise _fail("--uncertainty works at equilibrium: leave out --time-min")
    try:
        d = catalog.get_drug(drug)
    except catalog.CatalogError as e:
        raise _fail(f"--drug: {e}") from None
    _check_plot(plot)
    cell_objs = _parse_cells(cells, species)
    if reference is not None and reference not in [c.name for c in cell_objs]:
        raise _fail(
            f"--reference must be one of the --cells ({', '.join(c.name for c in cell_objs)})"
        )
    if time_min is None:
        tab = binding.potency([d], cell_objs, pd1_blockade=pd1_blockade)
    else:
        tab = binding.kinetic_potency(d, cell_objs, time_min=time_min, pd1_blockade=pd1_blockade)
    ref_ec50 = None
    if reference is not None:
        ref_ec50 = float(tab.loc[tab.cell == reference, "ec50_nM"].iloc[0])
    intervals = None
    if uncertainty is not None:
        intervals = binding.potency_intervals(
            [d], cell_objs, n=uncertainty, pd1_blockade=pd1_blockade
        ).set_index("cell")
    out: dict = {"drug": d.name, "time_min": time_min, "pd1_blockade": pd1_blockade, "cells": {}}
    for row in tab.itertuples():
        entry: dict[str, float | list[float | None] | None] = {
            "ec50_nM": None if not math.isfinite(row.ec50_nM) else float(f"{row.ec50_nM:.4g}"),
            "emax": float(f"{row.emax:.4g}"),
        }
        if intervals is not None:
            lo, hi = intervals.loc[row.cell, ["ec50_low_nM", "ec50_high_nM"]]
            entry["ec50_95_interval_nM"] = [
                None if not math.isfinite(v) else float(f"{v:.4g}") for v in (lo, hi)
            ]
        if ref_ec50 is not None:
            sel = ref_ec50 / row.ec50_nM if math.isfinite(row.ec50_nM) else 0.0
            entry[f"selectivity_vs_{reference}"] = float(f"{sel:.4g}")
        out["cells"][row.cell] = entry
    if plot is not None:
        from il2sim.report import plot_dose_response  # matplotlib only when asked

        plot_dose_response([d], cell_objs, plot, pd1_blockade=pd1_blockade, uncertainty=uncertainty)
    if as_json:
        print(json.dumps(out, indent=2))
        return
    table = Table(
        title=f"{d.label}: pSTAT5 potency" + (f" at {time_min:g} min" if time_min else "")
    )
    table.add_column("cell")
    table.add_column("EC50 (nM)", justify="right")
    if intervals is not None:
        table.add_column(f"95% interval ({uncertainty} posterior draws)", justify="right")
    table.add_column("Emax", justify="right")
    if reference:
        table.add_column(f"selectivity vs {reference}", justify="right")
    for cell, res in out["cells"].items():
        row = [cell, "no response" if res["ec50_nM"] is None else f"{res['ec50_nM']:.4g}"]
        if intervals is not None:
            lo, hi = res["ec50_95_interval_nM"]
            row.append("-" if lo is None or hi is None else f"{lo:.3g}-{hi:.3g}")
        row.append(f"{res['emax']:.3g}")
        if reference:
            row.append(f"{res[f'selectivity_vs_{reference}']:.3g}")
        table.add_row(*row)
    console.print(table)
    if plot is not None:
        console.print(f"dose-response figure written to {plot}")


@app.command()
def calibrate(
    out: Annotated[
        Path | None,
        typer.Option(help="write the fitted parameters here (default: the catalog file)"),
    ] = None,
    cross_validate: Annotated[
        bool,
        typer.Option(
            "--cross-validate",
            help="leave each ligand out, refit, predict its EC50s; prints the errors and "
            "writes nothing to the catalog (with --out: the per-curve table as CSV there)",
        ),
    ] = False,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="sample the posterior of the signaling constants (emcee, about 2 min) and "
            "store the draws (default: the catalog's signaling_posterior.csv)",
        ),
    ] = False,
) -> None:
    """Fit the signaling parameters to the Meyer-lab pSTAT5 data and store them."""
    from il2sim.binding import calibrate as fit
    from il2sim.binding import write_params

    if cross_validate and sample:
        raise _fail("--cross-validate and --sample: give one of them")
    if cross_validate:
        _cross_validate(out)
        return
    if sample:
        _sample_posterior(out)
        return

    with console.status("fitting cross-linking, cooperativity and transduction ..."):
        result = fit()
    path = out or catalog.signaling_params_path()
    write_params(result.to_params(), path)
    table = Table(title=f"calibration: R^2 = {result.r2_overall:.3f} overall")
    table.add_column("cell")
    times = sorted(
        {t for d in result.r2_by_cell_time.values() for t in d}, key=lambda s: float(s[:-1])
    )
    for t in times:
        table.add_column(f"R^2 {t}", justify="right")
    for cell, d in sorted(result.r2_by_cell_time.items()):
        table.add_row(cell, *(f"{d[t]:.3f}" for t in times))
    console.print(table)
    console.print(
        f"kx = {result.kx_nM_per_receptor:.3g} nM/receptor, cooperativity = "
        f"{result.cooperativity:.3g}, k_half = {result.k_half_complexes:.3g} complexes/cell"
    )
    console.print(f"written to {path}")


def _sample_posterior(out: Path | None) -> None:
    from il2sim.binding import sample_posterior, save_posterior

    if out is not None and out.suffix.lower() != ".csv":
        raise _fail(f"--out: with --sample give a .csv file, got {out}")
    with console.status("sampling the posterior (emcee, 16 walkers x 1,500 steps) ..."):
        post = sample_posterior()
    path = save_posterior(post, out)
    iv = post.interval()
    table = Table(
        title=f"posterior: {len(post.samples)} draws, acceptance {post.acceptance:.2f}, "
        f"likelihood tempered by {post.tempering:.3g} (each curve counts once)"
    )
    for col in ("constant (log10)", "median", "95% interval"):
        table.add_column(col)
    import numpy as np

    med = np.median(post.samples, axis=0)
    for name, m, (lo, hi) in zip(post.to_frame().columns, med, iv, strict=True):
        table.add_row(name, f"{m:.2f}", f"{lo:.2f} to {hi:.2f}")
    console.print(table)
    console.print(f"written to {path}")


def _cross_validate(out: Path | None) -> None:
    from il2sim.binding import cross_validate

    if out is not None and out.suffix.lower() != ".csv":
        raise _fail(f"--out: with --cross-validate give a .csv file, got {out}")
    with _progress() as bar:
        task = bar.add_task("leave-one-ligand-out", total=None)

        def tick(drug: str, i: int, n: int) -> None:
            bar.update(task, completed=i, total=n, description=f"held out: {drug}")

        cv = cross_validate(progress=tick)
    by_drug = cv.by_drug().merge(cv.by_drug_and_cell().reset_index(), on="drug", how="left")
    _print_frame(
        by_drug.round(2),
        f"leave-one-ligand-out: RMSE {cv.rmse:.2f} log10 EC50 over {len(cv.scored)} curves "
        "(per cell type: mean log10 predicted/measured)",
    )
    _print_frame(cv.by_time().round(2), "by time point (the model is at equilibrium)")
    console.print(
        f"floor: the best time-invariant prediction of the measured EC50s scores "
        f"{cv.rmse_floor:.2f} log10 (floor_log10 per ligand above)"
    )
    inversions = cv.order_inversions()
    if len(inversions):
        _print_frame(
            inversions.round(2),
            "measured more potent though weaker in both Kds (no affinity-ordered model can fit)",
        )
    if out is not None:
        cv.table.to_csv(out, index=False)
        console.print(f"wrote {out}")
