"""NONMEM-style datasets: one dosing history (and observation times) per subject.

Columns read (case-insensitive): ID, TIME (h), AMT, CMT (1 = SC depot, 2 = central), RATE
(amount/h) or DUR (h), II (h), ADDL, SS (1: the dose is at steady state under doses every II,
earlier doses reset), EVID (0 observation, 1 dose), MDV, DV (ignored: il2sim simulates it),
WT (kg) and BSA (m2) as baseline covariates. "." or an empty cell is missing. Rows of one ID
must be contiguous with non-decreasing TIME, as NONMEM reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from il2sim.catalog._regimen import (
    MAX_AMOUNT,
    MAX_DOSES,
    MIN_INTERVAL_H,
    Dose,
    Regimen,
    RegimenError,
    Route,
    _canonical_unit,
)

_CMT_ROUTE: dict[int, Route] = {1: "sc", 2: "iv"}
#: Largest event table read.
MAX_EVENT_TABLE_BYTES = 20_000_000
#: Columns il2sim reads, and those it accepts and ignores.
COLUMNS = (
    "ID",
    "TIME",
    "AMT",
    "CMT",
    "RATE",
    "DUR",
    "II",
    "ADDL",
    "SS",
    "EVID",
    "MDV",
    "WT",
    "BSA",
)
IGNORED_COLUMNS = ("DV", "C", "TAD", "NTIME", "DAY", "OCC", "PRED", "IPRED", "CWRES", "BLQ")
_NUMERIC = tuple(c for c in COLUMNS if c != "ID")


@dataclass(frozen=True)
class SteadyState:
    """An SS = 1 dose: before it the subject had received the same dose every ``interval_h``
    for long enough to reach steady state (the simulator adds those doses)."""

    dose: Dose
    interval_h: float


@dataclass(frozen=True)
class EventSubject:
    """One subject of a dataset: doses (earlier ones dropped by an SS reset), the steady state
    it starts from, baseline covariates and the times its concentrations are observed."""

    id: str
    regimen: Regimen
    steady_state: SteadyState | None = None
    weight_kg: float | None = None
    bsa_m2: float | None = None
    observation_times_h: tuple[float, ...] = ()


def _read(path: str | Path):
    """A NONMEM-style CSV; what cannot be read is a :class:`RegimenError` naming the file."""
    import pandas as pd

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_EVENT_TABLE_BYTES:
            raise RegimenError(
                f"event table {path}: {size:,} bytes; il2sim reads up to "
                f"{MAX_EVENT_TABLE_BYTES:,} bytes"
            )
        return pd.read_csv(path, na_values=["."], skipinitialspace=True, dtype={"ID": str})
    except pd.errors.EmptyDataError:
        raise RegimenError(
            f"event table {path}: the file is empty; it needs a header line with TIME and AMT "
            "and one line per dose"
        ) from None
    except UnicodeDecodeError as e:
        raise RegimenError(
            f"event table {path}: not UTF-8 text (position {e.start}); save it as UTF-8 CSV"
        ) from None
    except pd.errors.ParserError as e:
        raise RegimenError(
            f"event table {path}: not a CSV file ({' '.join(str(e).split())})"
        ) from None
    except OSError as e:
        raise RegimenError(f"event table {path}: cannot read it ({e.strerror or e})") from None


def _numeric(df) -> None:
    """Columns checked and made numeric in place; unknown columns refused by name."""
    import pandas as pd

    for col in ("TIME", "AMT"):
        if col not in df.columns:
            raise RegimenError(f"event table: missing column {col}; needs TIME and AMT")
    for col in df.columns:
        if col not in COLUMNS and col not in IGNORED_COLUMNS:
            raise RegimenError(
                f"event table: unknown column {col!r}; il2sim reads {', '.join(COLUMNS)} and "
                f"ignores {', '.join(IGNORED_COLUMNS)} (remove or rename the column)"
            )
    for col in _NUMERIC:
        if col not in df.columns:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        bad |= ~values.isna() & ~np.isfinite(values.astype(float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise RegimenError(
                f"event table row {i + 1}, column {col}: '{df[col].iloc[i]}' is not a finite "
                "number (write '.' or leave it empty for missing)"
            )
        df[col] = values


def _subject_blocks(df) -> list[tuple[str, list[int]]]:
    """Row numbers (0-based) of each subject in file order; an ID that comes back after other
    subjects, or TIME going backwards within one, is refused naming the row."""
    ids = df["ID"].astype(str).str.strip() if "ID" in df.columns else None
    if ids is None:
        blocks = [("1", list(range(len(df))))]
    else:
        if df["ID"].isna().any():
            i = int(np.flatnonzero(df["ID"].isna().to_numpy())[0])
            raise RegimenError(f"event table row {i + 1}, column ID: missing subject id")
        blocks = []
        for i, sid in enumerate(ids):
            if blocks and blocks[-1][0] == sid:
                blocks[-1][1].append(i)
            elif any(b[0] == sid for b in blocks):
                raise RegimenError(
                    f"event table row {i + 1}, column ID: subject {sid} appears again after "
                    "other subjects (NONMEM would read a new subject); sort the rows by ID"
                )
            else:
                blocks.append((sid, [i]))
    for _, rows in blocks:
        t = df["TIME"].to_numpy()[rows]
        back = np.flatnonzero(np.diff(t) < 0)
        if back.size:
            i = rows[int(back[0]) + 1]
            raise RegimenError(
                f"event table row {i + 1}, column TIME: {t[back[0] + 1]:g} h is before the "
                f"previous row's {t[back[0]]:g} h; within a subject TIME must not decrease"
            )
    return blocks


def _covariate(df, rows: list[int], col: str, sid: str) -> float | None:
    """A baseline covariate of one subject: its one value, > 0; a value that changes over the
    subject's rows is refused (time-varying covariates are not modelled)."""
    if col not in df.columns:
        return None
    v = df[col].to_numpy()[rows]
    ok = ~np.isnan(v)
    if not ok.any():
        return None
    vals = np.unique(v[ok])
    first = rows[int(np.flatnonzero(ok)[0])]
    if vals.size > 1:
        i = rows[int(np.flatnonzero(ok & (v != v[ok][0]))[0])]
        raise RegimenError(
            f"event table row {i + 1}, column {col}: subject {sid}'s {col} changes "
            f"({vals[0]:g} -> {vals[1]:g}); il2sim uses one baseline value per subject"
        )
    if not vals[0] > 0:
        raise RegimenError(
            f"event table row {first + 1}, column {col}: must be > 0, got {vals[0]:g}"
        )
    return float(vals[0])


def _row_dose(row, where: str, unit: str) -> tuple[list[Dose], float, bool]:
    """The doses of one dosing record (ADDL expanded), its II and whether it is SS = 1."""
    import pandas as pd

    def get(col: str, default: float = 0.0) -> float:
        v = row.get(col, default)
        return default if pd.isna(v) else float(v)

    t, amt = get("TIME"), get("AMT")
    if not amt > 0 or not t >= 0:
        raise RegimenError(f"{where}: TIME must be >= 0 and AMT > 0 (got {t:g}, {amt:g})")
    cmt = int(get("CMT", 2.0))
    if cmt not in _CMT_ROUTE:
        raise RegimenError(f"{where}, column CMT: 1 (SC depot) or 2 (central), got {cmt}")
    rate, dur = get("RATE"), get("DUR")
    if rate < 0:
        raise RegimenError(
            f"{where}, column RATE: {rate:g} (a modelled rate or duration) is not supported; "
            "give RATE in amount/h or DUR in h"
        )
    dur = dur if dur > 0 else (amt / rate if rate > 0 else 0.0)
    ii, addl, ss = get("II"), int(get("ADDL")), int(get("SS"))
    if ss not in (0, 1):
        raise RegimenError(
            f"{where}, column SS: {ss} is not supported; 1 (steady state, reset) or 0"
        )
    if (addl > 0 or ss) and not ii > 0:
        need = f"ADDL = {addl}" if addl > 0 else "SS = 1"
        raise RegimenError(f"{where}: {need} needs II > 0 (the dosing interval, h)")
    if (addl > 0 or ss) and dur > ii:
        raise RegimenError(f"{where}: an infusion of {dur:g} h is longer than its II of {ii:g} h")
    if (addl > 0 or ss) and ii < MIN_INTERVAL_H:
        raise RegimenError(f"{where}: II must be at least {MIN_INTERVAL_H:g} h, got {ii:g}")
    if addl + 1 > MAX_DOSES or amt > MAX_AMOUNT:
        raise RegimenError(
            f"{where}: at most {MAX_DOSES:,} doses in all (ADDL = {addl}) and AMT at most "
            f"{MAX_AMOUNT:g}"
        )
    route = _CMT_ROUTE[cmt]
    return [Dose(t + k * ii, amt, unit, route, dur) for k in range(addl + 1)], ii, bool(ss)


def read_event_table(table, *, amount_unit: str = "mg") -> list[EventSubject]:
    """Every subject of a NONMEM-style dataset (a pandas DataFrame or a CSV path), in file
    order; AMT is in ``amount_unit`` (e.g. mg, ug/kg, IU). Observation records (EVID 0, or AMT
    0 with MDV 0) give the times the simulated DV is reported at."""
    df = _read(table) if isinstance(table, str | Path) else table.copy()
    df.columns = [str(c).strip().upper() for c in df.columns]
    twice = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if twice:
        raise RegimenError(
            f"event table: column {twice[0]} appears more than once (column names are "
            "case-insensitive); keep one"
        )
    _numeric(df)
    unit = _canonical_unit(amount_unit, f"amount_unit {amount_unit!r}")
    if "EVID" in df.columns:
        bad = ~df["EVID"].fillna(1).isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise RegimenError(
                f"event table row {i + 1}, column EVID: {df['EVID'].iloc[i]:g} is not "
                "supported; use 1 (dose) or 0 (observation)"
            )
    subjects = []
    for sid, rows in _subject_blocks(df):
        doses: list[Dose] = []
        steady: SteadyState | None = None
        obs: list[float] = []
        for i in rows:
            row = df.iloc[i]
            evid = row.get("EVID", np.nan)
            amt = row["AMT"]
            is_obs = evid == 0 or ((np.isnan(evid)) and (np.isnan(amt) or amt == 0))
            if is_obs:
                if not row["TIME"] >= 0:
                    raise RegimenError(f"event table row {i + 1}, column TIME: must be >= 0")
                if row.get("MDV", 0) != 1:
                    obs.append(float(row["TIME"]))
                continue
            new, ii, ss = _row_dose(row, f"event table row {i + 1}", unit)
            if ss:  # steady state: what came before is reset
                doses = []
                steady = SteadyState(new[0], ii)
            doses += new
            if len(doses) > MAX_DOSES:
                raise RegimenError(f"event table: subject {sid} has over {MAX_DOSES:,} doses")
        if not doses:
            raise RegimenError(f"event table: subject {sid} has no dosing records (AMT > 0)")
        subjects.append(
            EventSubject(
                id=sid,
                regimen=Regimen(text=f"event table ({len(doses)} doses)", explicit=tuple(doses)),
                steady_state=steady,
                weight_kg=_covariate(df, rows, "WT", sid),
                bsa_m2=_covariate(df, rows, "BSA", sid),
                observation_times_h=tuple(sorted(set(obs))),
            )
        )
    return subjects


def regimen_from_event_table(table, *, amount_unit: str = "mg") -> Regimen:
    """The doses of a one-subject NONMEM-style dataset (see :func:`read_event_table`); several
    subjects or a steady-state dose are refused here (``il2sim pk --event-table`` simulates
    those, one subject at a time)."""
    subjects = read_event_table(table, amount_unit=amount_unit)
    if len(subjects) > 1:
        ids = [s.id for s in subjects]
        raise RegimenError(
            f"event table: {len(ids)} subjects (ID {', '.join(ids[:5])}"
            f"{', ...' if len(ids) > 5 else ''}); a regimen is one subject's doses: use "
            "read_event_table (or il2sim pk --event-table) for several"
        )
    if subjects[0].steady_state is not None:
        raise RegimenError(
            "event table: an SS = 1 dose needs the steady state simulated before it; use "
            "read_event_table (or il2sim pk --event-table)"
        )
    return subjects[0].regimen
