"""Dosing regimens in the words clinicians write (NONMEM-style datasets: ``_event_table``).

``parse_regimen("600,000 IU/kg q8h x 14 doses over 15 min")`` gives a :class:`Regimen`; its
:meth:`Regimen.doses` lists every administration up to a horizon, and :func:`dose_events`
turns those into amounts (nmol) for one subject (body weight, surface area) and one drug
(molecular weight, IU per mg). Several parts join with ``;`` and may start later
(``from day 22``). A part reads

    AMOUNT UNIT[/day] [IV [bolus|push]|SC] [over N min|h | continuous]
    [qNh|qNd|qNw|every N hours|days|weeks|QD|BID|TID|QID|QOD|QW|daily|weekly|once]
    [x N doses | x N cycles | for N days] [dA-B qNd] [from day N]

Units: IU, kIU, MIU, ug, mg, nmol, each flat, per kg (``/kg``) or per square metre (``/m2``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import AfterValidator

Route = Literal["iv", "sc"]

#: Dose units and their (base quantity, factor to the base, scaling).
_AMOUNT_UNITS = {
    "iu": ("IU", 1.0),
    "kiu": ("IU", 1e3),
    "miu": ("IU", 1e6),
    "ug": ("mg", 1e-3),
    "mcg": ("mg", 1e-3),
    "µg": ("mg", 1e-3),
    "mg": ("mg", 1.0),
    "nmol": ("nmol", 1.0),
}
_SCALES = {"": "flat", "/kg": "per_kg", "/m2": "per_m2"}
ALLOWED_UNITS = tuple(
    f"{u}{s}" for u in ("IU", "kIU", "MIU", "ug", "mg", "nmol") for s in ("", "/kg", "/m2")
)


class RegimenError(ValueError):
    """A regimen that cannot be understood; the message says what to write instead."""


@dataclass(frozen=True)
class Dose:
    """One administration, amount still in the regimen's unit (e.g. 600000 IU/kg)."""

    time_h: float
    amount: float
    unit: str  # e.g. "IU/kg"
    route: Route = "iv"
    duration_h: float = 0.0  # 0 = bolus


@dataclass(frozen=True)
class DoseEvent:
    """One administration resolved for a subject and drug."""

    time_h: float
    amount_nmol: float
    route: Route
    duration_h: float


@dataclass(frozen=True)
class RegimenPart:
    amount: float
    unit: str
    route: Route = "iv"
    infusion_h: float = 0.0
    continuous: bool = False
    interval_h: float | None = None  # None = single dose
    n_doses: int | None = None  # None = until the horizon
    cycle_days: tuple[int, int] | None = None  # dosing days within a cycle (1-based, inclusive)
    cycle_length_h: float | None = None
    n_cycles: int | None = None
    start_h: float = 0.0


@dataclass(frozen=True)
class Regimen:
    """A sequence of regimen parts, or an explicit list of doses (event tables)."""

    text: str
    parts: tuple[RegimenPart, ...] = ()
    explicit: tuple[Dose, ...] = field(default_factory=tuple)

    def doses(self, horizon_h: float) -> list[Dose]:
        """Every administration starting before ``horizon_h``, in time order."""
        out = [d for d in self.explicit if d.time_h < horizon_h]
        for p in self.parts:
            out += _part_doses(p, horizon_h)
            if len(out) > MAX_DOSES:
                raise RegimenError(
                    f"regimen {self.text!r}: more than {MAX_DOSES:,} doses within "
                    f"{horizon_h / 24:g} days; dose less often or simulate a shorter time"
                )
        out.sort(key=lambda d: d.time_h)
        return _merge_continuous(out)


def _check_regimen_text(text: str) -> str:
    """A regimen field of a YAML record: must parse; the reason becomes the field's error."""
    try:
        parse_regimen(text)
    except RegimenError as e:
        raise ValueError(str(e)) from None
    return text


#: A regimen written as text in a scenario file, validated on load.
RegimenText = Annotated[str, AfterValidator(_check_regimen_text)]


#: A number as a regimen writes one: ASCII digits, thousands commas, a decimal point and an
#: exponent (not Python's '1_000' nor other scripts' digits, which float() also reads).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?", re.IGNORECASE)
#: Largest dose amount in its unit (HD IL-2 for 150 kg is ~1e8 IU), fewest hours between
#: doses, and most doses one regimen may give within the simulated time.
MAX_AMOUNT, MIN_INTERVAL_H, MAX_DOSES = 1e10, 0.25, 10_000


def _number(text: str, where: str) -> float:
    plain = text.replace(",", "")
    if not _NUMBER.fullmatch(plain):
        raise RegimenError(
            f"{where}: {text!r} is not a number; write digits 0-9 with an optional decimal "
            "point, thousands commas or exponent (e.g. 600,000 or 6e5)"
        )
    return float(plain)


#: Longest regimen text read (the longest written in the catalog is under 100 characters).
MAX_REGIMEN_CHARS = 1000

# possessive quantifiers: a long run of digits is read once, never backtracked into
_PART = re.compile(
    r"^\s*+(?P<amount>[-+]?[0-9][0-9,_]*+(?:\.[0-9]*+)?+(?:e[-+]?[0-9]++)?+)\s*+"
    r"(?P<unit>[a-zµ]+(?:/(?!day\b|d\b)[a-z0-9^]+)?)(?P<perday>/(?:day|d))?\b(?P<rest>.*)$",
    re.IGNORECASE,
)


#: Dosing intervals (h) in the words and abbreviations clinicians write, tried in this order.
_INTERVAL_WORDS = (
    (r"\b(?:bid|b\.i\.d\.|twice (?:daily|a day))(?![a-z])", 12.0),
    (r"\b(?:tid|t\.i\.d\.|three times (?:daily|a day))(?![a-z])", 8.0),
    (r"\b(?:qid|q\.i\.d\.|four times (?:daily|a day))(?![a-z])", 6.0),
    (r"\b(?:qod|every other day)\b", 48.0),
    (r"\b(?:qw|qwk|once weekly|weekly|every week)\b", 168.0),
    (r"\b(?:qd|q\.d\.|once daily|once a day|daily|every day)(?![a-z])", 24.0),
)


def parse_regimen(text: str) -> Regimen:
    """Parse a regimen such as ``"6 ug/kg/day IV d1-5 q21d"``; raise :class:`RegimenError`."""
    if not isinstance(text, str) or not text.strip():
        raise RegimenError("regimen is empty: write e.g. '600,000 IU/kg q8h x 14 doses'")
    if len(text) > MAX_REGIMEN_CHARS:
        raise RegimenError(
            f"regimen is {len(text):,} characters long; write at most {MAX_REGIMEN_CHARS:,}, "
            "e.g. '600,000 IU/kg q8h x 14 doses'"
        )
    parts = tuple(_parse_part(p.strip(), text) for p in text.split(";") if p.strip())
    return Regimen(text=text, parts=parts)


def _parse_part(part: str, whole: str) -> RegimenPart:
    m = _PART.match(part)
    if not m:
        raise RegimenError(
            f"regimen {part!r}: start with an amount and a unit, e.g. '600,000 IU/kg q8h x 14 "
            f"doses' or '0.006 mg/kg q3w'"
        )
    amount = _number(m["amount"], f"regimen {part!r}")
    if not amount > 0 or not math.isfinite(amount):
        raise RegimenError(
            f"regimen {part!r}: the dose must be a positive number (got {m['amount']}); "
            "write e.g. '600,000 IU/kg'"
        )
    if amount > MAX_AMOUNT:
        raise RegimenError(
            f"regimen {part!r}: a dose of {amount:g} is beyond any regimen (at most "
            f"{MAX_AMOUNT:g} in its unit); write e.g. '600,000 IU/kg'"
        )
    unit = _canonical_unit(m["unit"], part)
    rest = m["rest"].lower()
    consumed: list[tuple[int, int]] = []

    def take(pattern: str) -> re.Match | None:
        mm = re.search(pattern, rest)
        if mm:
            consumed.append(mm.span())
        return mm

    route: Route = "iv"
    if take(r"\b(sc|s\.c\.|subcutaneous(?:ly)?)\b"):
        route = "sc"
    take(r"\b(?:iv|i\.v\.|intravenous(?:ly)?)(?:\s+(?:bolus|push))?\b|\b(?:bolus|push)\b")
    start_h = 0.0
    if mm := take(r"\bfrom\s+day\s+([0-9.]+)"):
        start_h = (_number(mm[1], f"regimen {part!r}") - 1.0) * 24.0
        if start_h < 0:
            raise RegimenError(f"regimen {part!r}: 'from day N' needs N >= 1 (day 1 is t = 0)")
    infusion_h = 0.0
    continuous = False
    if mm := take(r"\bover\s+([0-9.]+)\s*(min|minutes?|h|hours?)\b"):
        infusion_h = _number(mm[1], f"regimen {part!r}") / (60.0 if mm[2].startswith("m") else 1)
        if not infusion_h > 0:
            raise RegimenError(f"regimen {part!r}: an infusion must last > 0, e.g. 'over 15 min'")
    if mm := take(r"\b([0-9.]+)[- ]?(min|h)\s+(?:iv\s+)?infusion\b"):
        infusion_h = _number(mm[1], f"regimen {part!r}") / (60.0 if mm[2] == "min" else 1)
    if take(r"\bcontinuous(?:\s+infusion)?\b"):
        continuous = True
    interval_h: float | None = 24.0 if m["perday"] else None
    cycle_days = None
    cycle_length_h = None
    if mm := take(r"\bd(?:ays?\s*)?([0-9]+)\s*-\s*([0-9]+)\s+q([0-9.]+)\s*(d|w)\b"):
        a, b = int(mm[1]), int(mm[2])
        cyc = _number(mm[3], f"regimen {part!r}") * (24.0 if mm[4] == "d" else 168.0)
        if not 1 <= a <= b or b * 24.0 > cyc:
            raise RegimenError(
                f"regimen {part!r}: dosing days d{a}-{b} must fit in the {cyc / 24:g}-day "
                "cycle, e.g. 'd1-5 q21d'"
            )
        cycle_days, cycle_length_h = (a, b), cyc
        interval_h = 24.0
    interval_h = _dosing_interval(take, part, interval_h)
    n_doses = n_cycles = None
    if mm := take(r"\bx\s*([0-9]+)\s*(doses?|cycles?|days?)?\b"):
        n = int(mm[1])
        if not 1 <= n <= MAX_DOSES:
            raise RegimenError(f"regimen {part!r}: 'x N' needs N from 1 to {MAX_DOSES:,}")
        kind = mm[2] or "doses"
        if kind.startswith("cycle"):
            if cycle_days is None:
                raise RegimenError(
                    f"regimen {part!r}: 'x {n} cycles' needs a cycle such as 'd1-5 q21d'"
                )
            n_cycles = n
        elif kind.startswith("day"):
            n_doses = max(1, round(n * 24.0 / (interval_h or 24.0)))
            interval_h = interval_h or 24.0
        else:
            n_doses = n
    if mm := take(r"\bfor\s+([0-9]+)\s*(days?|weeks?|d|w)\b"):
        span = int(mm[1]) * (24.0 if mm[2][0] == "d" else 168.0)
        interval_h = interval_h or 24.0
        n_doses = max(1, math.ceil(span / interval_h - 1e-9))
    leftover = _leftover(rest, consumed)
    if leftover:
        raise RegimenError(
            f"regimen {part!r}: cannot read {leftover!r}; write e.g. '600,000 IU/kg q8h x 14 "
            "doses over 15 min', '6 ug/kg/day IV d1-5 q21d', '0.006 mg/kg q3w' or "
            "'1e6 IU/m2/day SC'"
        )
    if continuous:
        if interval_h is None:
            raise RegimenError(
                f"regimen {part!r}: a continuous infusion needs a rate, e.g. "
                "'18e6 IU/m2/day continuous for 5 days'"
            )
        infusion_h = interval_h
    if interval_h is not None and infusion_h > interval_h + 1e-9:
        raise RegimenError(
            f"regimen {part!r}: an infusion of {infusion_h:g} h is longer than its "
            f"{interval_h:g} h dosing interval; shorten it (e.g. 'over 15 min'), lengthen the "
            "interval, or write 'continuous'"
        )
    if interval_h is None and n_doses not in (None, 1):
        raise RegimenError(
            f"regimen {part!r}: {n_doses} doses need an interval, e.g. 'q8h x {n_doses} doses'"
        )
    return RegimenPart(
        amount=amount,
        unit=unit,
        route=route,
        infusion_h=infusion_h,
        continuous=continuous,
        interval_h=interval_h,
        n_doses=n_doses,
        cycle_days=cycle_days,
        cycle_length_h=cycle_length_h,
        n_cycles=n_cycles,
        start_h=start_h,
    )


_EVERY = r"\s*([0-9]+(?:\.[0-9]+)?)\s*(h|hrs?|hours?|d|days?|w|wks?|weeks?)\b"


def _dosing_interval(take, part: str, default_h: float | None) -> float | None:
    """The dosing interval (h) a part states ('q8h', 'every 3 weeks', QD/BID/..., 'once':
    None), else ``default_h``; ``take`` finds a pattern in the part and marks it read."""
    if mm := take(r"\bq" + _EVERY) or take(r"\bevery\s" + _EVERY):
        value = _number(mm[1], f"regimen {part!r}")
        hours = value * {"h": 1.0, "d": 24.0, "w": 168.0}[mm[2][0]]
        if not hours >= MIN_INTERVAL_H:
            raise RegimenError(
                f"regimen {part!r}: the dosing interval must be at least {MIN_INTERVAL_H * 60:g} "
                "min; write e.g. 'q8h', 'q1d' or 'q3w', or 'continuous' for an infusion"
            )
        return hours
    if word := next((h for pattern, h in _INTERVAL_WORDS if take(pattern)), None):
        return word
    if take(r"\b(once|single dose)\b"):
        return None
    return default_h


def _canonical_unit(unit: str, part: str) -> str:
    u = unit.lower().replace("m^2", "m2")
    base, _, scale = u.partition("/")
    scale = f"/{scale}" if scale else ""
    if base not in _AMOUNT_UNITS or scale not in _SCALES:
        raise RegimenError(
            f"regimen {part!r}: unknown dose unit {unit!r}; allowed: {', '.join(ALLOWED_UNITS)} "
            "(add '/day' for daily dosing)"
        )
    pretty = {"iu": "IU", "kiu": "kIU", "miu": "MIU", "mcg": "ug", "µg": "ug"}.get(base, base)
    return pretty + scale


def _leftover(rest: str, spans: Sequence[tuple[int, int]]) -> str:
    chars = list(rest)
    for a, b in spans:
        for i in range(a, b):
            chars[i] = " "
    left = re.sub(r"[\s,]+", " ", "".join(chars)).strip()
    return re.sub(r"\b(and|then|as|an?|each|every)\b", "", left).strip()


def _part_doses(p: RegimenPart, horizon_h: float) -> list[Dose]:
    def dose(t: float) -> Dose:
        return Dose(t, p.amount, p.unit, p.route, p.infusion_h)

    out: list[Dose] = []
    if p.interval_h is None:
        return [dose(p.start_h)] if p.start_h < horizon_h else []
    if p.cycle_days is not None and p.cycle_length_h is not None:
        a, b = p.cycle_days
        cycle = 0
        while p.n_cycles is None or cycle < p.n_cycles:
            base = p.start_h + cycle * p.cycle_length_h
            if base >= horizon_h:
                break
            for day in range(a, b + 1):
                t = base + (day - 1) * 24.0
                if t < horizon_h:
                    out.append(dose(t))
            cycle += 1
        return out
    k = 0
    while p.n_doses is None or k < p.n_doses:
        t = p.start_h + k * p.interval_h
        if t >= horizon_h:
            break
        out.append(dose(t))
        k += 1
    return out


def _merge_continuous(doses: list[Dose]) -> list[Dose]:
    """Join back-to-back infusions of one rate into one (a continuous infusion over days)."""
    out: list[Dose] = []
    for d in doses:
        if out and d.duration_h > 0:
            prev = out[-1]
            if (
                prev.duration_h > 0
                and prev.unit == d.unit
                and prev.route == d.route
                and abs(prev.time_h + prev.duration_h - d.time_h) < 1e-9
                and abs(prev.amount / prev.duration_h - d.amount / d.duration_h)
                <= 1e-12 * abs(d.amount / d.duration_h)
            ):
                out[-1] = Dose(
                    prev.time_h,
                    prev.amount + d.amount,
                    d.unit,
                    d.route,
                    prev.duration_h + d.duration_h,
                )
                continue
        out.append(d)
    return out


def dose_events(
    doses: Sequence[Dose],
    *,
    weight_kg: float,
    bsa_m2: float,
    mw_kDa: float,
    iu_per_mg: float | None,
    drug_name: str = "drug",
) -> list[DoseEvent]:
    """Amounts in nmol for one subject: IU -> mg by ``iu_per_mg``, mg -> nmol by ``mw_kDa``."""
    if not weight_kg > 0:
        raise RegimenError(f"weight_kg must be > 0 (got {weight_kg})")
    if not bsa_m2 > 0:
        raise RegimenError(f"bsa_m2 must be > 0 (got {bsa_m2})")
    out = []
    for d in doses:
        base, _, scale = d.unit.partition("/")
        qty, factor = _AMOUNT_UNITS[base.lower()]
        amount = d.amount * factor * {"": 1.0, "kg": weight_kg, "m2": bsa_m2}[scale]
        if qty == "IU":
            if iu_per_mg is None:
                raise RegimenError(
                    f"a dose in {d.unit} needs the drug's IU per mg, which {drug_name!r} does not "
                    "have; give the dose in mg or ug (e.g. '0.037 mg/kg')"
                )
            amount /= iu_per_mg
            qty = "mg"
        if qty == "mg":
            amount = amount * 1e3 / mw_kDa  # mg -> nmol: 1 mg / (kDa * 1e3 g/mol) * 1e9
        out.append(DoseEvent(d.time_h, amount, d.route, d.duration_h))
    return out
