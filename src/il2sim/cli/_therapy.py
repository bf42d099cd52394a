"""Commands of the therapy layer: `scenarios` and `run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from il2sim import catalog
from il2sim.cli._app import (
    _check_out,
    _check_workers,
    _default_out,
    _fail,
    _print_frame,
    _progress,
    _say,
    app,
    console,
)


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
    uncertainty: Annotated[
        int | None,
        typer.Option(
            help="also re-solve every arm under N draws of the signaling posterior and report "
            "95% intervals (OUT/uncertainty.csv; N x the run's cost, in this process)"
        ),
    ] = None,
) -> None:
    """Simulate every arm of a therapy scenario and write the report. Finished arms are kept
    in OUT/arms/ so that an interrupted run resumes where it stopped."""
    from il2sim import report, simulate

    _check_workers(workers)
    if uncertainty is not None and not 2 <= uncertainty <= 10_000:
        raise _fail(f"--uncertainty must be between 2 and 10,000 draws, got {uncertainty}")
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
    if uncertainty is not None:
        _run_intervals(sc, uncertainty, out)


def _run_intervals(sc: catalog.TherapyScenario, n: int, out: Path) -> None:
    """The headline numbers of every arm with their 95% intervals over ``n`` posterior draws:
    effector-like CD8 and Treg fold expansion at the disease site, the disease burden, and the
    vascular-leak peak (every number of the summary in OUT/uncertainty.csv)."""
    from il2sim import simulate

    with _progress() as bar:
        task = bar.add_task(f"{sc.name}: {n} posterior draws per arm", total=None)
        table = simulate.therapy_intervals(
            sc, n, progress=lambda arm, d, t: bar.update(task, completed=d, total=t)
        )
    path = out / "uncertainty.csv"
    try:
        table.to_csv(path, index=False)
    except OSError as e:
        raise _fail(f"--out: cannot write {path}: {e.strerror or e}") from None
    last = f"day_{max(sc.readout_days):g}"
    site = ~table.metric.str.contains("_central|_peripheral")
    headline = table[
        table.metric.str.fullmatch(rf"fold_expansion\..*(effector_like|treg).*\.{last}") & site
        | table.metric.str.fullmatch(rf"(tumour_cells|viral_load)_change\.{last}")
        | (table.metric == "toxicity.vascular_leak_index.max_daily_mean")
    ]
    shown = headline.assign(
        **{
            "median (95% interval)": [
                f"{m:.3g} ({lo:.3g}-{hi:.3g})"
                for m, lo, hi in zip(headline["median"], headline.low, headline.high, strict=True)
            ]
        }
    )[["setting", "arm", "metric", "median (95% interval)", "n_draws"]]
    _print_frame(shown, f"{sc.name}: {n} draws of the signaling posterior")
    console.print(f"wrote {path}")
