"""Commands of the body model: exposure (`pk`, with NCA and NONMEM datasets), `export-sbml`
and the `demo`."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from il2sim import catalog
from il2sim.cli._app import (
    _antibody_pairs,
    _check_out,
    _check_output_file,
    _check_plot,
    _fail,
    app,
    console,
    plain_float,
)


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
        float | None,
        typer.Option(
            help="body weight (default: the table's WT, else the body's)", parser=plain_float
        ),
    ] = None,
    bsa_m2: Annotated[
        float | None,
        typer.Option(
            help="body surface area (default: the table's BSA, else the body's)",
            parser=plain_float,
        ),
    ] = None,
    antibody: Annotated[
        list[str] | None, typer.Option(help="checkpoint antibody (repeatable)")
    ] = None,
    antibody_regimen: Annotated[
        list[str] | None, typer.Option(help="regimen of each --antibody, e.g. '240 mg q2w'")
    ] = None,
    duration_days: Annotated[
        float | None, typer.Option(help="simulated time (days)", parser=plain_float)
    ] = None,
    uncertainty: Annotated[
        int,
        typer.Option(
            help="95% intervals of pSTAT5 over N draws of the signaling posterior (0: none)"
        ),
    ] = 0,
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
    from il2sim import simulate

    _check_pk_flags(species, weight_kg, bsa_m2, duration_days, plot, dataset_out, event_table)
    d, reg, subjects = _pk_drug_and_regimen(drug, regimen, event_table, amount_unit)
    abs_ = _antibody_pairs(antibody or [], antibody_regimen or [])
    if d is None and not abs_:
        raise _fail(
            "nothing to dose: give --drug with --regimen, or --antibody with --antibody-regimen"
        )
    at_h = _parse_times(at, "--at")
    _check_combinations(d, subjects, abs_, plot, at_h, uncertainty)
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
        intervals = simulate.engagement_intervals(res, uncertainty) if uncertainty else None
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
        own = results[0] if subjects is not None else None
        _report_one(res, d, own, at_h, units, factor, plot, as_json, intervals)
    if dataset_out is not None and not as_json:
        console.print(f"wrote {dataset_out} (DV = PRED: simulated plasma concentration, ng/mL)")


def _check_pk_flags(species, weight_kg, bsa_m2, duration_days, plot, dataset_out, table) -> None:
    """`il2sim pk`'s flags each within what is allowed, outputs writable, before anything runs."""
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
        if table is None:
            raise _fail("--dataset-out writes an --event-table back; give --event-table")
        _check_output_file(dataset_out, ".csv", "--dataset-out")


def _check_combinations(d, subjects, abs_, plot, at_h: list[float], uncertainty: int) -> None:
    """Refuse the flag combinations `il2sim pk` cannot honour, before anything runs."""
    several = subjects is not None and len(subjects) > 1
    if subjects is not None and abs_:
        raise _fail("--antibody goes with --regimen; an --event-table doses the drug only")
    if several and plot is not None:
        raise _fail(f"--plot draws one subject; the event table has {len(subjects)}")
    if at_h and (d is None or several):
        raise _fail(
            "--at reads the drug's concentration in one subject: give --drug with --regimen "
            "(several subjects: observation rows of the event table and --dataset-out)"
        )
    if uncertainty and not 2 <= uncertainty <= 1000:
        raise _fail(f"--uncertainty must be 0 or between 2 and 1000 draws, got {uncertainty}")
    if uncertainty and several:
        raise _fail("--uncertainty reports one subject's engagement; the event table has several")


def _report_one(
    res, d, own, at_h: list[float], units: str, factor: float, plot, as_json: bool, intervals
):
    """`il2sim pk`'s report of one subject: exposure (the drug's in ``units``; an event-table
    subject's on its own clock, after any steady-state history), concentrations at ``at_h``,
    engagement; as tables or JSON, and the plot."""
    from il2sim import report

    out = _pk_summary(res, d)
    for pid, bounds in (intervals or {}).items():  # 95% over the signaling posterior
        out["engagement"][pid] |= {f"{k}_95": list(v) for k, v in bounds.items()}
    if own is not None:
        out["exposure"][d.name] = _exposure_dict(own.exposure, len(own.subject.regimen.explicit))
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
        return
    _print_pk_tables(out, f"il2sim pk ({res.model.body.name}, {res.model.weight_kg:g} kg)")
    if plot is not None:
        console.print(f"wrote {plot}")


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
    cols: tuple[str, ...] = ("molecule", "doses", "unit", "Cmax", "Tmax", "Ctrough")
    cols += ("AUC0-last (x h)", "AUC0-inf (extrap. %)", "t1/2 alpha", "t1/2 beta", "t1/2 z")
    cols += ("CL (L/h)", "Vz (L)")
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
            f(row.get("pstat5_max")) + _interval(row.get("pstat5_max_95")),
            f(row.get("pstat5_mean")) + _interval(row.get("pstat5_mean_95")),
            f(row.get("IL2RBG_occupancy_max")),
            targets,
        )
    console.print(t2)
    if any("pstat5_max_95" in row for row in out["engagement"].values()):
        console.print("(in brackets: 95% interval over the signaling posterior's draws)")


def _interval(bounds: list[float] | None) -> str:
    return "" if bounds is None else f" ({bounds[0]:.3g}-{bounds[1]:.3g})"


#: A COMBINE archive's SED-ML reports hourly, at most this many points (a 2-year arm: ~8 h).
SEDML_STEP_H, SEDML_MAX_POINTS = 1.0, 5000


@app.command("export-sbml")
def export_sbml(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="PK scenario, therapy scenario (with --arm) or cohort (with --arm), built-in or "
            "YAML, or kirschner_panetta_1998",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "-o",
            "--out",
            help="file to write: .xml/.sbml (SBML L3V2), .ant/.txt (Antimony) or .omex (COMBINE "
            "archive: SBML + SED-ML time course)",
        ),
    ],
    arm: Annotated[str | None, typer.Option(help="arm of a therapy scenario or cohort")] = None,
    setting: Annotated[
        str | None, typer.Option(help="setting of a therapy scenario with several")
    ] = None,
    drug: Annotated[str | None, typer.Option(help="swap in this drug (same regimen)")] = None,
) -> None:
    """Write a model (with its dosing events) as SBML L3V2 with units, as Antimony text, or as
    a COMBINE archive whose SED-ML replays its time course in Tellurium or COPASI."""
    from il2sim import model

    fmt = {".xml": "sbml", ".sbml": "sbml", ".ant": "antimony", ".txt": "antimony"}
    fmt[".omex"] = "omex"
    kind = fmt.get(out.suffix.lower())
    if kind is None:
        raise _fail(f"--out: give a file ending in {', '.join(fmt)}, got {out}")
    _check_output_file(out, out.suffix.lower(), "--out")
    net, end_h, outputs = _export_target(name, arm, setting, drug)
    text = model.to_sbml(net) if not isinstance(net, str) else net
    problems = model.check_sbml(text)
    try:
        if kind == "sbml":
            out.write_text(text)
        elif kind == "antimony":
            out.write_text(model.to_antimony(text))
        else:
            points = int(min(max(end_h / SEDML_STEP_H, 1.0), SEDML_MAX_POINTS))
            model.write_combine_archive(text, out, end_h=end_h, points=points, outputs=outputs)
    except OSError as e:
        raise _fail(f"--out: cannot write {out}: {e.strerror}") from None
    except model.ExchangeError as e:
        raise _fail(f"--out: {e}") from None
    console.print(f"wrote {out} ({kind}; {len(outputs)} reported outputs over {end_h:g} h)")
    console.print(
        "libSBML consistency and unit checks: "
        + ("passed" if not problems else f"{len(problems)} problems")
    )
    if problems:
        raise typer.Exit(code=1)


def _export_target(name: str, arm: str | None, setting: str | None, drug: str | None):
    """The network (or SBML text) NAME and --arm/--setting name, its simulated time (h) and
    the ids a SED-ML report should show; each kind of NAME is tried in turn."""
    from il2sim import model

    if name == "kirschner_panetta_1998":
        net = model.kirschner_panetta_1998()
        return net, 24.0 * 200, list(net.species)[:3]
    if arm is None:
        try:
            m = model.build_scenario_model(name, drug=drug)
        except catalog.CatalogError as e:
            raise _fail(
                f"NAME: {e}; a therapy scenario or cohort needs --arm; or kirschner_panetta_1998"
            ) from None
        pk_sc = catalog.get_scenario(name)
        return m.network, pk_sc.duration_days * 24.0, list(m.plasma_ng_per_mL.values())
    if drug is not None:
        raise _fail("--drug swaps a PK scenario's drug; an arm names its own")
    with contextlib.suppress(catalog.CatalogError):
        return _therapy_arm(catalog.get_therapy_scenario(name), arm, setting)
    try:
        spec = catalog.get_cohort(name)
    except catalog.CatalogError:
        raise _fail(f"NAME: {name!r} is neither a therapy scenario nor a cohort") from None
    if arm not in [a.name for a in spec.arms]:
        raise _fail(f"--arm: {arm!r} is not an arm of {name}: {[a.name for a in spec.arms]}")
    # the arm's full network with the cohort's body and the population's typical values
    # (a trial simulates a pruned copy of it, one parameter set per patient)
    one = catalog.Setting(name=spec.name, body=spec.body, disease=spec.disease, arms=spec.arms)
    sc = catalog.TherapyScenario(
        name=spec.name,
        settings=[one],
        duration_days=spec.duration_days,
        run_in_days=spec.run_in_days,
    )
    return _therapy_arm(sc, arm, None)


def _therapy_arm(sc, arm: str, setting: str | None):
    """A therapy scenario's arm: its full network, run-in + treatment time, and readouts."""
    from il2sim import model

    settings = [s for s in sc.settings if setting in (None, s.name)]
    found = [(s, a) for s in settings for a in s.arms if a.name == arm]
    if not found:
        names = sorted({f"{s.name}/{a.name}" for s in sc.settings for a in s.arms})
        raise _fail(f"--arm/--setting: no arm {arm!r} in {sc.name}; arms: {', '.join(names)}")
    if len(found) > 1:
        raise _fail(f"--setting: {arm!r} is in {[s.name for s, _ in found]}; name one")
    s, a = found[0]
    m, im = model.build_arm_model(s, a, duration_days=sc.duration_days, run_in_days=sc.run_in_days)
    outputs = [x for x in (im.burden, *m.plasma_ng_per_mL.values(), *im.toxicity.values()) if x]
    return m.network, (sc.run_in_days + sc.duration_days) * 24.0, outputs
