"""The `il2sim` command line: list the catalog, compute signaling, calibrate, run the demo.

It calls only the public entry points of the layers (catalog, binding).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from il2sim import binding, catalog

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="il2sim: mechanistic simulation of IL-2 immunotherapy.",
)
# Messages are printed verbatim: no markup, emoji codes or highlighting (a solver log's
# "[/path]" or a range "[low, high]" is text, not a style).
_PLAIN = {"markup": False, "emoji": False, "highlight": False}
console = Console(width=None if sys.stdout.isatty() else 160, **_PLAIN)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160, **_PLAIN)


def _show_version(value: bool) -> None:
    if value:
        from il2sim import __version__
        from il2sim.simulate import source_digest

        console.print(f"il2sim {__version__} (code and catalog digest {source_digest()[:12]})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="print the version and exit", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    """il2sim: mechanistic simulation of IL-2 immunotherapy."""


def _fail(message: str) -> typer.Exit:
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    return typer.Exit(code=2)


def _progress(transient: bool = False):
    """A progress bar whose descriptions are plain text (names may hold brackets)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def _check_workers(workers: int) -> None:
    from il2sim.simulate import MAX_WORKERS

    if not 1 <= workers <= MAX_WORKERS:
        raise _fail(
            f"--workers must be between 1 and {MAX_WORKERS} (twice this machine's cores), "
            f"got {workers}"
        )


def _check_out(out: Path) -> None:
    """Refuse an output folder that cannot be written before anything is computed."""
    from il2sim import simulate

    try:
        simulate.check_output_folder(out)
    except simulate.RunFolderError as e:
        raise _fail(str(e)) from None


def _check_plot(plot: Path | None) -> None:
    """Refuse a --plot path that is not a writable .png file before anything is computed."""
    if plot is not None:
        _check_output_file(plot, ".png", "--plot")


def _check_output_file(path: Path, suffix: str, flag: str) -> None:
    """Refuse an output path that is not a writable ``suffix`` file before anything runs."""
    import os

    if path.is_dir() or path.suffix.lower() != suffix:
        raise _fail(f"{flag}: give a file name ending in {suffix}, got {path}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise _fail(f"{flag}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _fail(f"{flag}: cannot write {path} (permission denied)")


def _say(message: str) -> None:
    err_console.print(f"note: {message}")


def _print_frame(frame, title: str, digits: int = 3) -> None:
    """A table (DataFrame) on the console, floats to ``digits`` significant figures."""
    t = Table(title=title)
    for col in frame.columns:
        t.add_column(str(col))
    for _, row in frame.iterrows():
        t.add_row(*(f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in row))
    console.print(t)


def _fmt_kd(v: catalog.Sourced | None) -> str:
    return "none" if v is None else f"{v.value:.3g}"


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
        typer.Option(help="pSTAT5 at this time (kinetic model) instead of at equilibrium"),
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
        entry = {
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
    for cell, e in out["cells"].items():
        row = [cell, "no response" if e["ec50_nM"] is None else f"{e['ec50_nM']:.4g}"]
        if intervals is not None:
            lo, hi = e["ec50_95_interval_nM"]
            row.append("-" if lo is None or hi is None else f"{lo:.3g}-{hi:.3g}")
        row.append(f"{e['emax']:.3g}")
        if reference:
            row.append(f"{e[f'selectivity_vs_{reference}']:.3g}")
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
    if out is not None:
        cv.table.to_csv(out, index=False)
        console.print(f"wrote {out}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the figure and table")] = Path(
        "demo_output"
    ),
) -> None:
    """The signaling comparison of the main drugs across the main human cell types, and the
    exposure and receptor engagement of high-dose IL-2, low-dose IL-2 and nemvaleukin."""
    from il2sim.report import pk_comparison, signaling_comparison

    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    with console.status("computing dose-responses ..."):
        result = signaling_comparison(out)
    table = Table(title="EC50 (nM) of pSTAT5, human cells, equilibrium")
    table.add_column("drug")
    for c in result.cells:
        table.add_column(c, justify="right")
    for drug, row in result.ec50.iterrows():
        table.add_row(drug, *("-" if not math.isfinite(v) else f"{v:.3g}" for v in row))
    console.print(table)
    for path in result.files:
        console.print(f"wrote {path}")
    with console.status("simulating regimens in the body model ..."):
        summary, files = pk_comparison(out, ["hd_aldesleukin", "low_dose_il2", "nemvaleukin_rp2d"])
    t2 = Table(title="Exposure and pSTAT5 (time-average over the regimen), 70-kg adult")
    for col in summary.columns:
        t2.add_column(col)
    for _, row in summary.iterrows():
        t2.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row))
    console.print(t2)
    for path in files:
        console.print(f"wrote {path}")


def _antibody_pairs(names: list[str], regimens: list[str]) -> list[tuple[str, str]]:
    if len(names) != len(regimens):
        raise _fail(
            f"give one --antibody-regimen per --antibody ({len(names)} antibodies, "
            f"{len(regimens)} regimens), e.g. --antibody nivolumab --antibody-regimen '240 mg q2w'"
        )
    for n in names:
        if n not in catalog.antibodies():
            raise _fail(
                f"--antibody: unknown {n!r}; known: {', '.join(sorted(catalog.antibodies()))}"
            )
    for r in regimens:
        try:
            catalog.parse_regimen(r)
        except catalog.RegimenError as e:
            raise _fail(f"--antibody-regimen: {e}") from None
    return list(zip(names, regimens, strict=True))


@app.command()
def pk(
    drug: Annotated[str | None, typer.Option(help="catalog drug name or drug YAML file")] = None,
    regimen: Annotated[
        str | None, typer.Option(help="e.g. '600,000 IU/kg q8h x 14 doses over 15 min'")
    ] = None,
    event_table: Annotated[
        Path | None,
        typer.Option(
            help="NONMEM-style CSV: ID, TIME (h), AMT, CMT, RATE/DUR, II, ADDL, SS, EVID, MDV, "
            "WT, BSA; each ID simulated on its own"
        ),
    ] = None,
    amount_unit: Annotated[
        str, typer.Option(help="unit of the event table's AMT (mg, ug, ug/kg, IU, MIU/m2, ...)")
    ] = "mg",
    dataset_out: Annotated[
        Path | None,
        typer.Option(help="write the event table back with the simulated DV and PRED (CSV)"),
    ] = None,
    species: Annotated[str, typer.Option(help="human or mouse")] = "human",
    weight_kg: Annotated[
        float | None, typer.Option(help="body weight (default: the table's WT, else the body's)")
    ] = None,
    bsa_m2: Annotated[
        float | None,
        typer.Option(help="body surface area (default: the table's BSA, else the body's)"),
    ] = None,
    antibody: Annotated[
        list[str] | None, typer.Option(help="checkpoint antibody (repeatable)")
    ] = None,
    antibody_regimen: Annotated[
        list[str] | None, typer.Option(help="regimen of each --antibody, e.g. '240 mg q2w'")
    ] = None,
    duration_days: Annotated[float | None, typer.Option(help="simulated time (days)")] = None,
    at: Annotated[
        str | None,
        typer.Option(help="also report the drug's concentration at these times (h), e.g. '1,8,24'"),
    ] = None,
    units: Annotated[
        str,
        typer.Option(help="the drug's concentration unit: ng/mL, IU/mL (drugs with IU/mg) or nM"),
    ] = "ng/mL",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="write concentration/engagement curves to this PNG")
    ] = None,
) -> None:
    """Drug exposure (NCA: Cmax, Tmax, Ctrough, AUC, half-lives, CL, Vz per dosing interval
    and over the run) and receptor engagement per cell population for a regimen in a virtual
    subject, or for every subject of a NONMEM-style event table."""
    from il2sim import report, simulate

    if species not in ("human", "mouse"):
        raise _fail(f"--species must be 'human' or 'mouse', got {species!r}")
    for flag, v in (
        ("--weight-kg", weight_kg),
        ("--bsa-m2", bsa_m2),
        ("--duration-days", duration_days),
    ):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise _fail(f"{flag} must be a positive number, got {v}")
    _check_plot(plot)
    if dataset_out is not None:
        if event_table is None:
            raise _fail("--dataset-out writes an --event-table back; give --event-table")
        _check_output_file(dataset_out, ".csv", "--dataset-out")
    d, reg, subjects = _pk_drug_and_regimen(drug, regimen, event_table, amount_unit)
    abs_ = _antibody_pairs(antibody or [], antibody_regimen or [])
    if d is None and not abs_:
        raise _fail(
            "nothing to dose: give --drug with --regimen, or --antibody with --antibody-regimen"
        )
    if subjects is not None and abs_:
        raise _fail("--antibody goes with --regimen; an --event-table doses the drug only")
    if subjects is not None and plot is not None and len(subjects) > 1:
        raise _fail(f"--plot draws one subject; the event table has {len(subjects)}")
    at_h = _parse_times(at, "--at")
    if at_h and (d is None or (subjects is not None and len(subjects) > 1)):
        raise _fail(
            "--at reads the drug's concentration in one subject: give --drug with --regimen "
            "(several subjects: observation rows of the event table and --dataset-out)"
        )
    factor = _unit_factor(units, d)
    duration_h = None if duration_days is None else duration_days * 24.0
    try:
        if subjects is not None:
            results = simulate.simulate_subjects(
                d,
                subjects,
                body=species,
                weight_kg=weight_kg,
                bsa_m2=bsa_m2,
                duration_h=duration_h,
            )
            res = results[0].pk
        else:
            res = simulate.pk(
                d,
                reg,
                body=species,
                weight_kg=weight_kg,
                bsa_m2=bsa_m2,
                antibodies=abs_,
                duration_h=duration_h,
                extra_times_h=at_h,
            )
    except (catalog.RegimenError, catalog.CatalogError) as e:
        raise _fail(str(e)) from None
    except simulate.SimulationError as e:
        raise _fail(f"simulation failed: {e}") from None
    if subjects is not None and dataset_out is not None:
        text = simulate.simulated_dataset(results).to_csv(index=False, float_format="%.6g")
        simulate.atomic_write_bytes(dataset_out, text.encode())
    if subjects is not None and len(subjects) > 1:
        _print_subjects(results, as_json, units, factor)
    else:
        out = _pk_summary(res, d)
        if subjects is not None:  # the subject's own clock (after any steady-state history)
            out["exposure"][d.name] = _exposure_dict(
                results[0].exposure, len(subjects[0].regimen.explicit)
            )
        if d is not None:
            out["exposure"][d.name] = _in_units(out["exposure"][d.name], units, factor)
            out.update(out["exposure"][d.name])  # the drug's metrics at top level
        if at_h:
            import numpy as np

            c = np.interp(at_h, res.time_h, res.concentration_ng_per_mL(d.name)) * factor
            key = f"concentration_{_UNIT_KEYS[units][0]}"
            out["at"] = [{"time_h": t, key: float(v)} for t, v in zip(at_h, c, strict=True)]
        if plot is not None:
            report.plot_pk(res, plot)
        if as_json:
            print(json.dumps(out, indent=2, default=float))
        else:
            _print_pk_tables(out, f"il2sim pk ({res.model.body.name}, {res.model.weight_kg:g} kg)")
        if plot is not None and not as_json:
            console.print(f"wrote {plot}")
    if dataset_out is not None and not as_json:
        console.print(f"wrote {dataset_out} (DV = PRED: simulated plasma concentration, ng/mL)")


def _pk_drug_and_regimen(
    drug: str | None, regimen: str | None, event_table: Path | None, amount_unit: str = "mg"
):
    """The --drug and its --regimen or the subjects of its --event-table (both or neither),
    each named in its error; returns (drug, regimen, subjects), one of the last two None."""
    d = None
    if drug is not None:
        try:
            d = catalog.get_drug(drug)
        except catalog.CatalogError as e:
            raise _fail(f"--drug: {e}") from None
    reg = subjects = None
    if regimen is not None and event_table is not None:
        raise _fail("give --regimen or --event-table, not both")
    try:
        if regimen is not None:
            reg = catalog.parse_regimen(regimen)
        elif event_table is not None:
            subjects = catalog.read_event_table(event_table, amount_unit=amount_unit)
    except catalog.RegimenError as e:
        raise _fail(f"{'--regimen' if regimen is not None else '--event-table'}: {e}") from None
    if (d is None) != (reg is None and subjects is None):
        raise _fail("--drug and --regimen (or --event-table) go together")
    return d, reg, subjects


#: Concentration units of `il2sim pk --units`: key suffixes of concentrations and of AUCs.
_UNIT_KEYS = {
    "ng/mL": ("ng_per_mL", "ng_h_per_mL"),
    "IU/mL": ("IU_per_mL", "IU_h_per_mL"),
    "nM": ("nM", "nM_h"),
}


def _unit_factor(units: str, d) -> float:
    """ng/mL -> ``units`` for the drug ``d``; a unit the drug cannot have is refused."""
    if units not in _UNIT_KEYS:
        raise _fail(f"--units must be one of {', '.join(_UNIT_KEYS)}, got {units!r}")
    if units == "ng/mL":
        return 1.0
    if d is None:
        raise _fail("--units converts the drug's concentrations; give --drug")
    if units == "IU/mL":
        if d.iu_per_mg is None:
            raise _fail(f"--units IU/mL: {d.name} has no IU per mg in the catalog; use ng/mL or nM")
        return d.iu_per_mg.value * 1e-6  # ng/mL x mg/ng x IU/mg
    mw = d.mw_kDa.value if d.mw_kDa is not None else catalog.disposition_for(d).mw_kDa.value
    return 1.0 / mw  # ng/mL = 1e-6 g/L; / (mw_kDa x 1e3 g/mol) x 1e9 nmol/mol


def _in_units(m: dict, units: str, factor: float) -> dict:
    """One molecule's exposure (an `_exposure_dict`) with concentrations and AUCs in
    ``units``, keys renamed to say so (``cmax_IU_per_mL``), and ``unit`` added."""
    conc, auc = _UNIT_KEYS[units]

    def conv(x: dict) -> dict:
        out: dict = {}
        for k, v in x.items():
            scaled = None if v is None or k == "intervals" else v * factor
            if k.endswith("_ng_per_mL"):
                out[k.removesuffix("ng_per_mL") + conc] = scaled
            elif k.endswith("_ng_h_per_mL"):
                out[k.removesuffix("ng_h_per_mL") + auc] = scaled
            elif k == "intervals":
                out[k] = [conv(iv) for iv in v]
            else:
                out[k] = v
        return out

    return conv(m) | {"unit": units}


def _parse_times(text: str | None, flag: str) -> list[float]:
    """Times (h) from a comma-separated list; each must be a finite number >= 0."""
    if text is None:
        return []
    out = []
    for part in text.split(","):
        try:
            t = float(part)
        except ValueError:
            raise _fail(
                f"{flag}: {part.strip()!r} is not a time in hours (e.g. '1,8,24')"
            ) from None
        if not (math.isfinite(t) and t >= 0):
            raise _fail(f"{flag}: times must be finite and >= 0 h, got {part.strip()}")
        out.append(t)
    return sorted(set(out))


def _exposure_dict(e, doses: int) -> dict:
    """One molecule's NCA as `il2sim pk` reports it (JSON-able)."""
    return {
        "cmax_ng_per_mL": e.cmax,
        "tmax_h": e.tmax_h,
        "ctrough_ng_per_mL": e.ctrough,
        "auc_ng_h_per_mL": e.auc,
        "t_half_alpha_min": e.t_half_alpha_min,
        "t_half_beta_min": e.t_half_beta_min,
        "lambda_z_per_h": e.lambda_z_per_h,
        "t_half_z_h": e.t_half_z_h,
        "auc_inf_ng_h_per_mL": e.auc_inf,
        "auc_extrap_pct": e.auc_extrap_pct,
        "cl_L_per_h": e.cl_L_per_h,
        "vz_L": e.vz_L,
        "accumulation_ratio": e.accumulation_ratio,
        "doses": doses,
        "intervals": [
            {
                "start_h": iv.start_h,
                "end_h": iv.end_h,
                "cmax_ng_per_mL": iv.cmax,
                "tmax_h": iv.tmax_h,
                "cmin_ng_per_mL": iv.cmin,
                "ctrough_ng_per_mL": iv.ctrough,
                "auc_ng_h_per_mL": iv.auc,
            }
            for iv in e.intervals
        ],
    }


def _pk_summary(res, d) -> dict:
    """What `il2sim pk` reports, as JSON-able data: the subject, each molecule's exposure (the
    drug's also at top level), engagement and occupancy per population."""
    engagement = res.engagement()
    out = {
        "subject": {
            "body": res.model.body.name,
            "weight_kg": res.model.weight_kg,
            "bsa_m2": res.model.bsa_m2,
        },
        "duration_h": res.duration_h,
        "exposure": {
            name: _exposure_dict(e, len(res.model.doses.get(name, [])))
            for name, e in res.exposure.items()
        },
        "engagement": engagement,
    }
    out["occupancy"] = {
        pid: {k: v for k, v in row.items() if "occupancy" in k} for pid, row in engagement.items()
    }
    return out


def _print_subjects(results, as_json: bool, units: str = "ng/mL", factor: float = 1.0) -> None:
    """Per-subject NCA of an event table with several IDs (concentrations in ``units``): a
    table, or JSON."""
    from il2sim.simulate import format_duration_h

    rows = []
    for r in results:
        m = r.pk.model
        row = {"id": r.subject.id, "weight_kg": m.weight_kg, "bsa_m2": m.bsa_m2}
        row["steady_state"] = r.subject.steady_state is not None
        e = _exposure_dict(r.exposure, len(r.subject.regimen.explicit))
        rows.append(row | _in_units(e, units, factor))
    if as_json:
        print(json.dumps({"subjects": rows}, indent=2, default=float))
        return

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}"

    table = Table(title=f"il2sim pk: {len(rows)} subjects of the event table (NCA per subject)")
    for col in ("ID", "WT (kg)", "doses", "SS", "Cmax (ng/mL)", "Tmax", "Ctrough (ng/mL)"):
        table.add_column(col)
    for col in ("AUC0-last", "AUC0-inf", "t1/2 z", "CL (L/h)"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            f(r["weight_kg"]),
            str(r["doses"]),
            "yes" if r["steady_state"] else "",
            f(r["cmax_ng_per_mL"]),
            format_duration_h(r["tmax_h"]),
            f(r["ctrough_ng_per_mL"]),
            f(r["auc_ng_h_per_mL"]),
            f(r["auc_inf_ng_h_per_mL"]),
            format_duration_h(r["t_half_z_h"]),
            f(r["cl_L_per_h"]),
        )
    console.print(table)


def _print_pk_tables(out: dict, title: str) -> None:
    """The exposure table and the receptor-engagement table of a `_pk_summary`."""

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}"

    from il2sim.simulate import format_duration_h

    def h(minutes: float | None) -> str:
        return format_duration_h(None if minutes is None else minutes / 60)

    table = Table(title=title)
    cols = ("molecule", "doses", "unit", "Cmax", "Tmax", "Ctrough", "AUC0-last (x h)")
    cols += ("AUC0-inf (extrap. %)", "t1/2 alpha", "t1/2 beta", "t1/2 z", "CL (L/h)", "Vz (L)")
    for col in (*cols, "accum. ratio"):
        table.add_column(col)
    for name, m in out["exposure"].items():
        unit = m.get("unit", "ng/mL")
        conc, auc = _UNIT_KEYS[unit]
        inf = m[f"auc_inf_{auc}"]
        table.add_row(
            name,
            str(m["doses"]),
            unit,
            f(m[f"cmax_{conc}"]),
            format_duration_h(m["tmax_h"]),
            f(m[f"ctrough_{conc}"]),
            f(m[f"auc_{auc}"]),
            "-" if inf is None else f"{inf:.4g} ({m['auc_extrap_pct']:.2g}%)",
            h(m["t_half_alpha_min"]),
            h(m["t_half_beta_min"]),
            format_duration_h(m["t_half_z_h"]),
            f(m["cl_L_per_h"]),
            f(m["vz_L"]),
            f(m["accumulation_ratio"]),
        )
    console.print(table)
    console.print(
        "CL and Vz are CL/F and Vz/F after SC dosing; Ctrough is read just before the last "
        "dose; per-interval Cmax, Ctrough and AUCtau are in --json (exposure.*.intervals)"
    )
    if out.get("at"):
        t3 = Table(title="drug concentration at the requested times")
        key = next(k for k in out["at"][0] if k.startswith("concentration_"))
        t3.add_column("time (h)")
        t3.add_column(f"concentration ({key.removeprefix('concentration_').replace('_per_', '/')})")
        for row in out["at"]:
            t3.add_row(f"{row['time_h']:g}", f(row[key]))
        console.print(t3)
    t2 = Table(title="receptor engagement per population")
    for col in (
        "population",
        "pSTAT5 max",
        "pSTAT5 mean",
        "IL-2Rbg occupancy max",
        "checkpoint/arm target occupancy (end)",
    ):
        t2.add_column(col)
    for pid, row in out["engagement"].items():
        targets = ", ".join(
            f"{k.split('_occupancy')[0]} {v:.2f}"
            for k, v in row.items()
            if k.endswith("_occupancy_end")
            and k.split("_occupancy")[0] in ("PD1", "PDL1", "CTLA4", "EDB_FN")
        )
        t2.add_row(
            pid,
            f(row.get("pstat5_max")),
            f(row.get("pstat5_mean")),
            f(row.get("IL2RBG_occupancy_max")),
            targets,
        )
    console.print(t2)


@app.command("export-sbml")
def export_sbml(
    scenario: Annotated[
        str, typer.Argument(help="built-in scenario, scenario YAML, or kirschner_panetta_1998")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="SBML file to write")],
    drug: Annotated[str | None, typer.Option(help="swap in this drug (same regimen)")] = None,
) -> None:
    """Write a scenario's whole-body model (with its dosing events) as SBML L3V2 with units."""
    from il2sim import model

    if scenario == "kirschner_panetta_1998":
        net = model.kirschner_panetta_1998()
    else:
        try:
            net = model.build_scenario_model(scenario, drug=drug).network
        except catalog.CatalogError as e:
            raise _fail(f"SCENARIO: {e}, or kirschner_panetta_1998") from None
    text = model.to_sbml(net)
    problems = model.check_sbml(text)
    try:
        out.write_text(text)
    except OSError as e:
        raise _fail(f"--out: cannot write {out}: {e.strerror}") from None
    console.print(
        f"wrote {out}: {net.summary()}; libSBML consistency and unit checks: "
        + ("passed" if not problems else f"{len(problems)} problems")
    )
    if problems:
        raise typer.Exit(code=1)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    table = Table(title="il2sim scenarios")
    for col in ("name", "body", "drug", "regimen", "antibodies", "days"):
        table.add_column(col)
    for name, s in catalog.scenarios().items():
        abs_ = "; ".join(f"{a.antibody}: {a.regimen}" for a in s.antibodies)
        table.add_row(
            name, s.body, s.drug or "-", s.regimen or "-", abs_ or "-", f"{s.duration_days:g}"
        )
    console.print(table)


def _default_out(stem: str, name: str) -> Path:
    """``stem/NAME``: each scenario or cohort has its own default folder, so runs of two
    scenarios never share one unless the user asks."""
    return Path(stem) / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "run")


@app.command()
def run(
    scenario: Annotated[
        str, typer.Argument(help="built-in therapy scenario or scenario YAML")
    ] = "default",
    out: Annotated[
        Path | None,
        typer.Option(
            help="folder for report.html, results.parquet, summary.json "
            "(default: il2sim_output/SCENARIO)"
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="processes (1 = in this process)")] = 2,
) -> None:
    """Simulate every arm of a therapy scenario and write the report. Finished arms are kept
    in OUT/arms/ so that an interrupted run resumes where it stopped."""
    from il2sim import report, simulate

    _check_workers(workers)
    try:
        sc = catalog.get_therapy_scenario(scenario)
    except catalog.CatalogError as e:
        raise _fail(f"SCENARIO: {e}") from None
    out = out if out is not None else _default_out("il2sim_output", sc.name)
    _check_out(out)
    n = sum(len(s.arms) for s in sc.settings)
    with _progress() as bar:
        task = bar.add_task(f"{sc.name}: {n} arms", total=n)

        def tick(arm: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"{sc.name}: {arm}")

        try:
            result = simulate.run_therapy(
                sc, workers=workers, cache_dir=out, progress=tick, notice=_say
            )
        except simulate.SimulationError as e:
            raise _fail(f"simulation failed (finished arms are kept in {out}/arms): {e}") from None
        except (catalog.CatalogError, catalog.RegimenError, ValueError) as e:
            raise _fail(str(e)) from None
        except OSError as e:
            raise _fail(f"--out: cannot write into {out}: {e.strerror or e}") from None
    for s in sc.settings:
        _print_frame(report.summary_table(result, s.name), s.name)
    try:
        files = report.write_report(result, out)
    except OSError as e:
        raise _fail(f"--out: cannot write the report into {out}: {e.strerror or e}") from None
    for path in files:
        console.print(f"wrote {path}")


@app.command()
def cohorts() -> None:
    """List the built-in virtual-patient cohorts and their arms."""
    t = Table(title="cohorts")
    for col in ("name", "arms", "varied parameters", "virtual population"):
        t.add_column(col)
    for c in catalog.cohorts().values():
        vpop, record = catalog.virtual_population(c.name)
        shipped = f"{len(vpop)} patients ({record['date']})" if vpop is not None else "none"
        t.add_row(c.name, ", ".join(a.name for a in c.arms), str(len(c.variability)), shipped)
    console.print(t)


def _run_cohort(
    cohort_name: str,
    arms: list[str],
    n: int | None,
    seed: int,
    workers: int,
    scheduler: str | None,
    population: str | None,
    out: Path,
    full_model: bool = False,
) -> None:
    from il2sim import cohort, report, simulate

    try:
        spec = catalog.get_cohort(cohort_name)
    except catalog.CatalogError as e:
        raise _fail(f"COHORT: {e}") from None
    if full_model:
        spec = spec.model_copy(update={"endogenous_il2_binding": "everywhere"})
    try:
        cohort.check_request(spec, arms, n=n, workers=workers, population=population)
    except ValueError as e:
        raise _fail(f"--{e}") from None
    _check_out(out)
    with _progress() as bar:
        task = bar.add_task(f"{spec.name}: {len(arms)} arm(s)", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = cohort.run_cohort(
                spec,
                arms,
                n=n,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                population=population,
                out_dir=out,
                progress=tick,
                notice=_say,
            )
        except cohort.SchedulerError as e:
            raise _fail(f"--{e}") from None
        except simulate.RunFolderError as e:
            raise _fail(str(e)) from None
        except (catalog.CatalogError, catalog.RegimenError, ValueError, KeyError) as e:
            raise _fail(f"{e} (finished chunks are kept in {out}/chunks)") from None
        except OSError as e:
            raise _fail(f"--out: cannot write into {out}: {e.strerror or e}") from None
    summary = result.summary()
    _print_frame(
        report.response_table(summary, spec),
        f"{spec.name}: {len(result.patients)} virtual patients (calibrated arms reproduce the "
        "training rows named; the others are predictions)",
    )
    if summary.get("comparison"):
        _print_frame(report.comparison_table(summary), "arms compared with the first")
    for path in report.write_cohort_report(result, out):
        console.print(f"wrote {path}")


_POPULATION_HELP = "vpop (shipped virtual population), distribution or plausible"
CohortArg = Annotated[str, typer.Argument(metavar="COHORT", help="built-in cohort or cohort YAML")]
PatientsOpt = Annotated[
    int | None,
    typer.Option(help="number of virtual patients (default: the whole virtual population)"),
]
SeedOpt = Annotated[int, typer.Option(help="seed of the draw")]
WorkersOpt = Annotated[int, typer.Option(help="Dask LocalCluster processes (1 = in this process)")]
SchedulerOpt = Annotated[str | None, typer.Option(help="address of an existing Dask scheduler")]
PopulationOpt = Annotated[str | None, typer.Option(help=_POPULATION_HELP)]
FullModelOpt = Annotated[
    bool,
    typer.Option(
        help="bind endogenous IL-2 in every compartment (the therapy model), not only in the "
        "tumour: 2-5x slower, to check the trial model"
    ),
]


@app.command()
def cohort(
    cohort_name: CohortArg = "melanoma",
    arm: Annotated[str, typer.Option(help="arm to simulate")] = "nivolumab",
    n: PatientsOpt = None,
    seed: SeedOpt = 1,
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
    population: PopulationOpt = None,
    full_model: FullModelOpt = False,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, patients.parquet, summary.json")
    ] = Path("il2sim_cohort"),
) -> None:
    """A virtual cohort on one arm: ORR/CR/DCR with 95% CIs, PFS, toxicity, waterfall and
    spider plots. Finished chunks are kept in OUT/chunks; a rerun resumes."""
    _run_cohort(cohort_name, [arm], n, seed, workers, scheduler, population, out, full_model)


@app.command()
def trial(
    cohort_name: CohortArg = "melanoma",
    arms: Annotated[
        str, typer.Option(help="comma-separated arms, given to the same patients")
    ] = "nivolumab,hd_aldesleukin",
    n: PatientsOpt = None,
    seed: SeedOpt = 1,
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
    population: PopulationOpt = None,
    full_model: FullModelOpt = False,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, patients.parquet, summary.json")
    ] = Path("il2sim_trial"),
) -> None:
    """A virtual trial: several arms on the same virtual patients, compared."""
    names = [a.strip() for a in arms.split(",") if a.strip()]
    _run_cohort(cohort_name, names, n, seed, workers, scheduler, population, out, full_model)


@app.command()
def validate(
    cohorts_: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[COHORT]...", help="built-in cohorts (default: every one with training rows)"
        ),
    ] = None,
    workers: WorkersOpt = 2,
    out: Annotated[
        Path, typer.Option(help="folder for validation.html, validation.parquet, .json")
    ] = Path("il2sim_validate"),
) -> None:
    """Re-simulate every training row (published trial outcome a cohort was calibrated on) on
    the shipped virtual population and print model beside published, with both intervals;
    then the cohort's held-out outcomes beside the model's predictions."""
    from il2sim import cohort, report, simulate

    names = cohorts_ or [c.name for c in catalog.cohorts().values() if c.targets]
    specs = []
    for name in names:
        try:
            specs.append(catalog.get_cohort(name))
        except catalog.CatalogError as e:
            raise _fail(f"COHORT: {e}") from None
    try:
        cohort.check_request(specs[0], [specs[0].arms[0].name], n=None, workers=workers)
    except ValueError as e:
        raise _fail(f"--{e}") from None
    _check_out(out)
    results = []
    with _progress() as bar:
        for spec in specs:
            task = bar.add_task(f"{spec.name}: training rows", total=None)

            def tick(done: int, total: int, task=task) -> None:
                bar.update(task, completed=done, total=total)

            try:
                results.append(
                    cohort.validate(
                        spec,
                        workers=workers,
                        out_dir=out / spec.name,
                        progress=tick,
                        notice=_say,
                    )
                )
            except simulate.RunFolderError as e:
                raise _fail(str(e)) from None
            except (catalog.CatalogError, ValueError, KeyError) as e:
                raise _fail(f"{spec.name}: {e}") from None
    for v in results:
        _print_frame(
            report.validation_table(v),
            f"{v.cohort}: {int(v.table.within.sum())}/{len(v.table)} training rows inside the "
            f"published interval ({v.n_patients} virtual patients)",
        )
        if not v.predictions.empty:
            _print_frame(
                report.validation_table(v, predictions=True),
                f"{v.cohort}: predictions (held out, never tuned to): "
                f"{int(v.predictions.within.sum())}/{len(v.predictions)} inside the published "
                "interval",
            )
    for path in report.write_validation_report(results, out):
        console.print(f"wrote {path}")


@app.command("sensitivity")
def sensitivity_cmd(
    cohort_name: CohortArg = "melanoma",
    arm: Annotated[str, typer.Option(help="arm to analyse")] = "nivolumab",
    method: Annotated[str, typer.Option(help="morris, sobol or prcc")] = "morris",
    n: Annotated[
        int, typer.Option(help="trajectories (morris), base samples (sobol) or points (prcc)")
    ] = 10,
    readout: Annotated[str, typer.Option(help="what to explain")] = "final_change_pct",
    seed: SeedOpt = 1,
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, sensitivity.csv, points.parquet")
    ] = Path("il2sim_sensitivity"),
) -> None:
    """Global sensitivity of a cohort readout to the cohort's varied parameters (SALib Morris
    or Sobol, or PRCC), with a tornado plot. Finished chunks are kept in OUT/chunks."""
    from il2sim import analysis, report

    if method not in analysis.METHODS:
        raise _fail(f"--method must be one of {', '.join(analysis.METHODS)}, got {method!r}")
    if readout not in analysis.READOUTS:
        raise _fail(f"--readout must be one of {', '.join(analysis.READOUTS)}, got {readout!r}")
    _check_workers(workers)
    _check_out(out)
    try:
        spec = catalog.get_cohort(cohort_name)
        spec.arm(arm)
    except catalog.CatalogError as e:
        raise _fail(f"COHORT: {e}") from None
    except KeyError as e:
        raise _fail(f"--arm: {e.args[0]}") from None
    try:
        res = analysis.sensitivity(
            spec,
            arm,
            method=method,
            n=n,
            readout=readout,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            out_dir=out,
        )
    except ValueError as e:
        raise _fail(str(e)) from None
    _print_frame(res.table, f"{spec.name} / {arm}: {readout} ({method})")
    for path in report.write_sensitivity_report(res, out):
        console.print(f"wrote {path}")


@app.command("design")
def design_cmd(
    cohort_name: CohortArg = "melanoma",
    n_candidates: Annotated[
        int, typer.Option(help="candidates per (valency, interval), first round")
    ] = 24,
    n_refine: Annotated[int, typer.Option(help="candidates around each of the two best")] = 12,
    n_patients: Annotated[int, typer.Option(help="virtual patients per candidate")] = 8,
    intervals: Annotated[str, typer.Option(help="comma-separated dosing intervals")] = "q1w,q3w",
    valencies: Annotated[
        str, typer.Option(help="comma-separated IL-2 units per molecule to search (1-4)")
    ] = "1",
    antibody: Annotated[
        str | None, typer.Option(help="give with a checkpoint antibody, e.g. nivolumab")
    ] = None,
    antibody_regimen: Annotated[str, typer.Option(help="its regimen")] = "3 mg/kg q2w over 60 min",
    toxicity_limit: Annotated[
        float | None, typer.Option(help="vascular-leak limit (default: the catalog threshold)")
    ] = None,
    seed: SeedOpt = 1,
    workers: WorkersOpt = 2,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, candidates.csv, best.json")
    ] = Path("il2sim_design"),
) -> None:
    """Inverse design: IL-2Ralpha, IL-2Rbeta/gamma-c and PD-1-arm affinities, valency,
    half-life, dose and interval that shrink tumours most under a toxicity limit; Pareto front
    and the best candidates with their courses."""
    from il2sim import analysis, report

    _check_workers(workers)
    _check_out(out)
    abs_ = []
    if antibody:
        try:
            catalog.get_antibody(antibody)
            abs_ = [catalog.AntibodyDosing(antibody=antibody, regimen=antibody_regimen)]
        except (catalog.CatalogError, ValueError) as e:
            raise _fail(f"--antibody/--antibody-regimen: {e}") from None
    try:
        vals = tuple(int(v) for v in valencies.split(",") if v.strip())
    except ValueError:
        raise _fail(f"--valencies must be whole numbers like 1,2; got {valencies!r}") from None
    space = analysis.DesignSpace(
        intervals=tuple(i.strip() for i in intervals.split(",") if i.strip()), valencies=vals
    )
    try:
        res = analysis.design(
            cohort_name,
            space=space,
            n_candidates=n_candidates,
            n_refine=n_refine,
            n_patients=n_patients,
            antibodies=abs_,
            toxicity_limit=toxicity_limit,
            seed=seed,
            workers=workers,
        )
    except catalog.CatalogError as e:
        raise _fail(f"COHORT: {e}") from None
    except ValueError as e:
        raise _fail(str(e)) from None
    t = Table(title="best feasible candidates")
    cols = [
        "candidate",
        "interval",
        "kd_il2ra_nM",
        "kd_il2rbg_nM",
        "kd_pd1_nM",
        "cl_fold",
        "dose_mg",
        "mean_final_change_pct",
        "response_share",
        "vascular_leak_max",
    ]
    for col in cols:
        t.add_column(col)
    for _, row in res.best[cols].iterrows():
        t.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row))
    console.print(t)
    for note in res.notes:
        console.print(note)
    for path in report.write_design_report(res, out):
        console.print(f"wrote {path}")


@app.command("petab-signaling")
def petab_signaling(
    out: Annotated[Path, typer.Option(help="folder for the PEtab problem")] = Path(
        "il2sim_petab_signaling"
    ),
    drugs: Annotated[str | None, typer.Option(help="comma-separated drugs (default: all)")] = None,
    cells: Annotated[str | None, typer.Option(help="comma-separated cells (default: all)")] = None,
    dates: Annotated[str | None, typer.Option(help="comma-separated dates (default: all)")] = None,
) -> None:
    """Write the signaling calibration (Meyer-lab pSTAT5 of PBMC to one- and two-unit IL-2
    ligands and IL-15) as a PEtab problem and check it as petablint does."""
    from il2sim import analysis

    def split(text: str | None) -> list[str] | None:
        return None if text is None else [t.strip() for t in text.split(",") if t.strip()]

    _check_out(out)
    try:
        path = analysis.signaling_petab(
            out, drugs=split(drugs), cells=split(cells), dates=split(dates)
        )
    except ValueError as e:
        raise _fail(f"--{e}") from None
    problems = analysis.lint(path)
    console.print(
        f"wrote {path}; petablint: " + ("passed" if not problems else "; ".join(problems))
    )
    if problems:
        raise typer.Exit(code=1)


@app.command("fit")
def fit_cmd(
    problem: Annotated[Path, typer.Argument(help="PEtab problem YAML (format version 1)")],
    starts: Annotated[int, typer.Option(help="optimiser starts (the nominal values first)")] = 3,
    seed: Annotated[int, typer.Option(help="seed of the Latin-hypercube starts")] = 1,
    profile: Annotated[
        str | None,
        typer.Option(help="comma-separated parameters to profile, or 'all' (default: none)"),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, parameters.csv, fit.parquet")
    ] = Path("il2sim_fit"),
) -> None:
    """Fit a PEtab problem (libRoadRunner + scipy L-BFGS-B, scaling parameters in closed form)
    and give profile-likelihood intervals."""
    from il2sim import analysis, report

    if starts < 1:
        raise _fail(f"--starts must be >= 1, got {starts}")
    _check_out(out)
    if not problem.exists():
        raise _fail(f"PROBLEM: no such file {problem}")
    try:
        objective = analysis.PetabObjective(problem)
    except analysis.PetabError as e:
        raise _fail(f"PROBLEM: {e}") from None
    names = objective.outer
    chosen = [] if profile is None else names if profile == "all" else profile.split(",")
    bad = [n for n in chosen if n not in names]
    if bad:
        raise _fail(f"--profile: {bad} are not estimated parameters; choose from {names}")
    try:
        with _progress(transient=True) as bar:
            task = bar.add_task("fitting", total=starts)
            result = analysis.fit(
                objective,
                n_starts=starts,
                seed=seed,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
            )
        profiles = intervals = None
        if chosen:
            with console.status(f"profiling {len(chosen)} parameter(s)"):
                profiles, intervals = analysis.profile(objective, result, chosen)
    except analysis.PetabError as e:
        raise _fail(f"PROBLEM: {e}") from None
    table = report.parameter_table(result, intervals, names)
    console.print(f"-log likelihood {result.nll:.6g} (best of {starts} start(s))")
    _print_frame(table, problem.name, digits=4)
    for note in result.notes:
        console.print(note)
    for path in report.write_fit_report(
        result, out, names=names, profiles=profiles, intervals=intervals, title=problem.name
    ):
        console.print(f"wrote {path}")


@app.command("web")
def web_cmd(
    host: Annotated[str, typer.Option(help="address to serve on (local only by default)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="port to serve on")] = 8501,
) -> None:
    """Serve the web app (drug designer, therapy runs, virtual trials) until Ctrl-C."""
    from il2sim import web

    try:
        web.streamlit_command(host, port)
    except ValueError as e:
        raise _fail(f"--{e}") from None
    console.print(f"il2sim web on http://{host}:{port} (Ctrl-C stops it)")
    raise typer.Exit(code=web.serve(host, port))


def main() -> None:  # pragma: no cover
    app()
