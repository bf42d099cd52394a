"""Commands of analysis and serving: `design`, `petab-signaling`, `fit` and `web`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from il2sim import catalog
from il2sim.cli._app import (
    CohortArg,
    SeedOpt,
    WorkersOpt,
    _check_out,
    _check_workers,
    _fail,
    _print_frame,
    _progress,
    app,
    console,
    plain_float,
)


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
        float | None,
        typer.Option(
            help="vascular-leak limit (default: the catalog threshold)", parser=plain_float
        ),
    ] = None,
    seed: SeedOpt = 1,
    workers: WorkersOpt = 2,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, candidates.csv, best.json")
    ] = Path("il2sim_design"),
) -> None:
    """Inverse design: IL-2Ralpha, IL-2Rbeta/gamma-c and PD-1-arm affinities, valency,
    half-life, dose and interval that shrink tumours most under a toxicity limit; Pareto front
    and the best candidates with their courses. Finished simulations are kept in OUT/runs; a
    rerun with the same options resumes."""
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
        with _progress(transient=True) as bar:
            task = bar.add_task("simulating candidates x patients", total=None)
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
                out_dir=out / "runs",
                notice=console.print,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
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
    optimizer: Annotated[
        str, typer.Option(help="pyPESTO optimiser: L-BFGS-B (scipy) or fides (trust region)")
    ] = "L-BFGS-B",
    profile: Annotated[
        str | None,
        typer.Option(help="comma-separated parameters to profile, or 'all' (default: none)"),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            help="MCMC draws from the optimum (pyPESTO adaptive parallel tempering): posterior "
            "medians and 95% intervals, OUT/posterior.csv"
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="folder for report.html, parameters.csv, fit.parquet")
    ] = Path("il2sim_fit"),
) -> None:
    """Fit a PEtab problem (libRoadRunner + pyPESTO, scaling parameters in closed form) and give
    profile-likelihood intervals or posterior intervals."""
    from il2sim import analysis, report

    if starts < 1:
        raise _fail(f"--starts must be >= 1, got {starts}")
    if optimizer not in analysis.OPTIMIZERS:
        raise _fail(f"--optimizer must be one of {list(analysis.OPTIMIZERS)}, got {optimizer!r}")
    if sample is not None and not 100 <= sample <= 1_000_000:
        raise _fail(f"--sample must be between 100 and 1,000,000 draws, got {sample}")
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
                optimizer=optimizer,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
            )
        profiles = intervals = posterior = None
        if chosen:
            with console.status(f"profiling {len(chosen)} parameter(s)"):
                profiles, intervals = analysis.profile(objective, result, chosen)
        if sample is not None:
            with console.status(f"sampling {sample} draws"):
                x_best = objective.scaled(result.parameters)
                posterior = analysis.sample_posterior(objective, x_best, sample, seed=seed)
    except analysis.PetabError as e:
        raise _fail(f"PROBLEM: {e}") from None
    table = report.parameter_table(result, intervals, names)
    console.print(f"-log likelihood {result.nll:.6g} (best of {starts} start(s))")
    _print_frame(table, problem.name, digits=4)
    for note in result.notes:
        console.print(note)
    written = report.write_fit_report(
        result, out, names=names, profiles=profiles, intervals=intervals, title=problem.name
    )
    if posterior is not None:
        console.print(
            f"posterior: {len(posterior.draws)} draws after a burn-in of {posterior.burn_in} "
            f"(effective sample size {posterior.effective_size:.0f})"
        )
        _print_frame(posterior.summary, "posterior (natural scale)", digits=4)
        posterior.draws.to_csv(out / "posterior.csv", index=False)
        written.append(out / "posterior.csv")
    for path in written:
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
