"""Commands of virtual patients: `cohorts`, `cohort`, `trial`, `validate` and `sensitivity`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from il2sim import catalog
from il2sim.cli._app import (
    CohortArg,
    EngineOpt,
    FullModelOpt,
    PatientsOpt,
    PopulationOpt,
    SchedulerOpt,
    SeedOpt,
    WorkersOpt,
    _check_out,
    _check_workers,
    _fail,
    _print_frame,
    _progress,
    _say,
    app,
    console,
)

UncertaintyOpt = Annotated[
    int | None,
    typer.Option(
        help="also treat the same patients under N draws of the signaling posterior and report "
        "each endpoint's 95% interval (OUT/uncertainty.csv; N + 1 times the cohort's cost)"
    ),
]


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
    uncertainty: int | None = None,
    engine: str = "roadrunner",
) -> None:
    from il2sim import cohort, report, simulate

    try:
        spec = catalog.get_cohort(cohort_name)
    except catalog.CatalogError as e:
        raise _fail(f"COHORT: {e}") from None
    if full_model:
        spec = spec.model_copy(update={"endogenous_il2_binding": "everywhere"})
    try:
        cohort.check_request(spec, arms, n=n, workers=workers, population=population, engine=engine)
    except ValueError as e:
        raise _fail(f"--{e}") from None
    if uncertainty is not None and not 2 <= uncertainty <= 1000:
        raise _fail(f"--uncertainty must be between 2 and 1,000 draws, got {uncertainty}")
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
                engine=engine,
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
    if uncertainty is not None:
        _cohort_intervals(spec, arms, uncertainty, n, seed, workers, scheduler, population, out)


def _cohort_intervals(spec, arms, draws, n, seed, workers, scheduler, population, out) -> None:
    """The endpoints again under ``draws`` posterior draws, the same patients each time:
    OUT/uncertainty.csv and a table."""
    from il2sim import cohort

    with _progress() as bar:
        task = bar.add_task(f"{spec.name}: {draws} posterior draws", total=draws)
        table = cohort.cohort_intervals(
            spec,
            arms,
            draws,
            n=n,
            seed=seed,
            population=population,
            workers=workers,
            scheduler=scheduler,
            progress=lambda d, t: bar.update(task, completed=d),
        )
    path = out / "uncertainty.csv"
    try:
        table.to_csv(path, index=False)
    except OSError as e:
        raise _fail(f"--out: cannot write {path}: {e.strerror or e}") from None
    shown = table.assign(
        **{
            "catalog constants": table.nominal.map("{:.1f}".format),
            f"median (95% interval, {draws} draws)": [
                f"{m:.1f} ({lo:.1f}-{hi:.1f})"
                for m, lo, hi in zip(table["median"], table.low, table.high, strict=True)
            ],
        }
    )[["arm", "endpoint", "catalog constants", f"median (95% interval, {draws} draws)", "n_draws"]]
    _print_frame(
        shown,
        f"{spec.name}: endpoints over the receptor layer's posterior (%; PFS in months; the "
        "same patients under every draw)",
    )
    console.print(f"wrote {path}")


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
    uncertainty: UncertaintyOpt = None,
    engine: EngineOpt = "roadrunner",
) -> None:
    """A virtual cohort on one arm: ORR/CR/DCR with 95% CIs, PFS, toxicity, waterfall and
    spider plots. Finished chunks are kept in OUT/chunks; a rerun resumes."""
    _run_cohort(
        cohort_name,
        [arm],
        n,
        seed,
        workers,
        scheduler,
        population,
        out,
        full_model,
        uncertainty,
        engine,
    )


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
    uncertainty: UncertaintyOpt = None,
    engine: EngineOpt = "roadrunner",
) -> None:
    """A virtual trial: several arms on the same virtual patients, compared."""
    names = [a.strip() for a in arms.split(",") if a.strip()]
    _run_cohort(
        cohort_name,
        names,
        n,
        seed,
        workers,
        scheduler,
        population,
        out,
        full_model,
        uncertainty,
        engine,
    )


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
