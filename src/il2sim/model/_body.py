"""The whole body as a reaction network: PK compartments, dosing, every cell population's
receptors binding the drug (target-mediated disposition), checkpoint antibodies.

Each molecular *form* of the drug (the drug itself; for a PEG prodrug each conjugation state
and the released IL-2; for an IL-2/antibody complex the complex, the released IL-2 and the free
antibody) has its own two-compartment disposition (central and peripheral volumes) and
exchanges with each tissue's interstitium. Cells sit in ``central`` (blood: they see the
form's central concentration), ``peripheral`` (lymphoid organs and tissues: the form's
peripheral concentration) or a tissue. On every population the binding scheme of the receptor
layer runs with the fitted signaling constants: bonds from solution and on the surface
(cross-linking ``Kx``, cooperativity), internalisation of complexes (the drug is consumed:
target-mediated clearance that scales with cell numbers) and receptor turnover. Cell-bound
molecules are amounts (nmol); free drug is a concentration (nM) in its compartment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from il2sim.binding import (
    KINDS,
    SIGNALING_KIND,
    BindingDesign,
    BindingScheme,
    binding_scheme,
    cell_receptor_vector,
)
from il2sim.catalog import (
    Antibody,
    Body,
    CatalogError,
    Cell,
    Disposition,
    DoseEvent,
    Drug,
    Regimen,
    SignalingParams,
    TwoCompartment,
    disposition_for,
    dispositions,
    dose_events,
    get_antibody,
    get_body,
    get_cell,
    get_drug,
    parse_regimen,
    signaling_params,
)
from il2sim.model._network import Network, Species

AVOGADRO_PER_NMOL = 6.02214076e14
#: Form id of the body's own IL-2.
ENDOGENOUS_IL2 = "il2_endogenous"
#: Receptor kinds that present IL-2 to IL-2Rbeta/gamma-c in cis on the same cell.
CIS_KINDS = ("IL2RA", "PD1", "PDL1", "FAP")
#: Receptor trafficking in the body (Fallon & Lauffenburger 2000, BIOMD0000000665).
KINT_FREE_PER_H = 0.007 * 60
KINT_ACTIVE_PER_H = 0.04 * 60
#: Association rate of antibodies to their cell-surface target.
KON_ANTIBODY_PER_nM_H = 3.6
_FALLON = "Fallon EM, Lauffenburger DA 2000 Biotechnol Prog 16:905 (BIOMD0000000665)"


def sid(text: str) -> str:
    """An SBML-safe identifier."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return out if re.match(r"[A-Za-z_]", out) else f"_{out}"


@dataclass(frozen=True)
class Form:
    """One molecular form of a drug or antibody in the body."""

    id: str
    label: str
    design: BindingDesign | None
    disposition_name: str
    mw_kDa: float
    dose_fraction: float = 0.0
    counts_as_drug: bool = True


@dataclass(frozen=True)
class Release:
    """``source`` turns into ``product`` (plus ``carrier``) with first-order ``half_life_h``;
    with ``kd_nM`` the reverse association happens too."""

    source: str
    product: str
    half_life_h: float
    why: str
    carrier: str | None = None
    kd_nM: float | None = None


@dataclass(frozen=True)
class PopulationSite:
    """A cell population at one location with its count."""

    id: str
    cell: Cell
    location: str
    count: float
    source: str


@dataclass
class BodyModel:
    """A built whole-body network and the map from science names to its ids."""

    network: Network
    drug: Drug | None
    body: Body
    weight_kg: float
    bsa_m2: float
    forms: tuple[Form, ...]
    populations: tuple[PopulationSite, ...]
    doses: dict[str, list[DoseEvent]]
    plasma_ng_per_mL: dict[str, str] = field(default_factory=dict)  # drug/antibody -> rule id
    pstat5: dict[str, str] = field(default_factory=dict)  # population id -> rule id
    occupancy: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, pop) -> rule
    cis_pstat5: dict[str, str] = field(default_factory=dict)  # pop -> CD25/arm-assisted pSTAT5
    accumulators: dict[str, list[str]] = field(default_factory=dict)
    dose_counters: dict[str, str] = field(default_factory=dict)  # IL-2 drug -> doses given
    #: population id -> its free receptor species (kind -> id) and its complexes
    bound_states: dict[str, tuple[dict[str, str], list[str]]] = field(default_factory=dict)
    ng_per_nmol: dict[str, float] = field(default_factory=dict)  # drug/antibody -> ng per nmol
    #: covariate rules recorded as the model is built: parameter or compartment id -> its
    #: exponent on body weight (clearances: the molecule's own; volumes: 1)
    weight_exponents: dict[str, float] = field(default_factory=dict)


def dosed_ng(model: BodyModel, name: str, start_h: float, end_h: float) -> float:
    """Mass (ng) of ``name`` in the doses that start in [start_h, end_h): what NCA divides by
    AUC for a clearance (0 for a molecule that is not dosed)."""
    nmol = sum(e.amount_nmol for e in model.doses.get(name, []) if start_h <= e.time_h < end_h)
    return nmol * model.ng_per_nmol.get(name, 0.0)


def form_amounts(model: BodyModel, form_id: str) -> dict[str, str]:
    """The species holding a form's molecules that are still present (free in each location,
    bound to cells, in an SC depot; not internalised or eliminated), each with its amount in
    nmol as an expression."""
    own = (f"L_{form_id}_", f"C_{form_id}_")
    longer = tuple(  # forms whose id extends this one's ("x" and "x_y") hold their own species
        f"{k}_{g.id}_" for g in model.forms if g.id.startswith(f"{form_id}_") for k in "LC"
    )
    return {
        s.id: s.id if s.amount_only else f"{s.id} * {s.compartment}"
        for s in model.network.species.values()
        if s.id == f"depot_{form_id}"
        or (s.id.startswith(own) and not (longer and s.id.startswith(longer)))
    }


def _locations(body: Body) -> list[str]:
    return ["central", "peripheral", *[t.name for t in body.tissues]]


def _mw_kDa(drug: Drug) -> float:
    """Molecular weight (kDa): the drug record's own, else its disposition's."""
    return drug.mw_kDa.value if drug.mw_kDa is not None else disposition_for(drug).mw_kDa.value


def _drug_forms(drug: Drug) -> tuple[list[Form], list[Release]]:
    disp = disposition_for(drug)
    mw = _mw_kDa(drug)
    base = BindingDesign.from_drug(drug)
    if drug.prodrug_states:
        released = get_drug(disp.releases) if disp.releases else None
        if released is None:
            raise ValueError(f"drug {drug.name!r}: prodrug states need a released cytokine")
        rel_design = BindingDesign.from_drug(released)
        total = sum(s.fraction_of_dose.value for s in drug.prodrug_states)
        forms, releases = [], []
        ids = [sid(f"{drug.name}_{s.name}") for s in drug.prodrug_states]
        for st, fid in zip(drug.prodrug_states, ids, strict=True):
            design = BindingDesign(
                name=fid,
                valency=rel_design.valency,
                kd_il2ra_nM=None
                if rel_design.kd_il2ra_nM is None
                else rel_design.kd_il2ra_nM * st.kd_il2ra_fold_weaker.value,
                kd_il2rbg_nM=None
                if rel_design.kd_il2rbg_nM is None
                else rel_design.kd_il2rbg_nM * st.kd_il2rbg_fold_weaker.value,
            )
            forms.append(
                Form(
                    fid,
                    f"{drug.label} ({st.name})",
                    design,
                    disp.name,
                    mw,
                    st.fraction_of_dose.value / total,
                )
            )
        rid = sid(f"{drug.name}_released_{released.name}")
        rdisp = disposition_for(released)
        forms.append(
            Form(
                rid,
                f"{released.label} released from {drug.label}",
                rel_design,
                rdisp.name,
                _mw_kDa(released),
            )
        )
        chain = [*ids, rid]
        for st, a, b in zip(drug.prodrug_states, chain[:-1], chain[1:], strict=True):
            if st.release_half_life_h is None:
                raise ValueError(f"drug {drug.name!r}: state {st.name} needs release_half_life_h")
            releases.append(
                Release(a, b, st.release_half_life_h.value, st.release_half_life_h.source)
            )
        return forms, releases
    if disp.releases:
        released = get_drug(disp.releases)
        rdisp = disposition_for(released)
        main = Form(sid(drug.name), drug.label, base, disp.name, mw, 1.0)
        rel = Form(
            sid(f"{drug.name}_released_{released.name}"),
            f"{released.label} released from {drug.label}",
            BindingDesign.from_drug(released),
            rdisp.name,
            _mw_kDa(released),
        )
        forms = [main, rel]
        carrier = None
        if disp.carrier:
            cdisp = dispositions()[disp.carrier]
            carrier = Form(
                sid(f"{drug.name}_free_antibody"),
                f"free antibody of {drug.label}",
                None,
                cdisp.name,
                cdisp.mw_kDa.value,
                0.0,
                counts_as_drug=False,
            )
            forms.append(carrier)
        half_life = disp.release_half_life_h
        if half_life is None:
            raise CatalogError(f"disposition {disp.name!r}: a prodrug needs release_half_life_h")
        release = Release(
            main.id,
            rel.id,
            half_life.value,
            half_life.source,
            carrier.id if carrier else None,
            disp.release_kd_nM.value if disp.release_kd_nM else None,
        )
        return forms, [release]
    return [Form(sid(drug.name), drug.label, base, disp.name, mw, 1.0)], []


def _populations(body: Body, weight_kg: float) -> list[PopulationSite]:
    vol = {t.name: t.volume_L.value for t in body.tissues}
    out = []
    for p in body.populations:
        cell = get_cell(p.cell, body.species)
        if p.cells_per_kg is not None:
            n, src = p.cells_per_kg.value * weight_kg, p.cells_per_kg.source
        elif p.cells_per_L_tissue is not None:
            n, src = p.cells_per_L_tissue.value * vol[p.compartment], p.cells_per_L_tissue.source
        else:
            raise CatalogError(
                f"body {body.name!r}: {p.cell} needs cells_per_kg or cells_per_L_tissue"
            )
        out.append(PopulationSite(sid(f"{p.cell}_{p.compartment}"), cell, p.compartment, n, src))
    return out


def _receptors(cell: Cell) -> dict[str, float]:
    counts = dict(zip(KINDS, cell_receptor_vector(cell, KINDS), strict=True))
    counts["CTLA4"] = cell.receptor_counts().get("CTLA4", 0.0)
    return counts


def _mult(n: int) -> str:
    return "" if n == 1 else f"{n} dimensionless * "


def build_body_model(
    drug: Drug | str | None = None,
    regimen: Regimen | str | None = None,
    *,
    body: Body | str = "human_adult",
    weight_kg: float | None = None,
    bsa_m2: float | None = None,
    antibodies: Sequence[tuple[Antibody | str, Regimen | str]] = (),
    horizon_h: float = 24.0 * 90,
    params: SignalingParams | None = None,
    endogenous_il2: bool = False,
    endogenous_il2_sites: Collection[str] | None = None,
    dose_offset_h: float = 0.0,
    short_infusions_as_bolus: bool = False,
) -> BodyModel:
    """Build the body network for ``drug`` given by ``regimen`` (and checkpoint antibodies,
    each with its regimen) in ``body`` over ``horizon_h`` hours of dosing. With
    ``endogenous_il2`` the body's own IL-2 is a further form (wild-type binding, renal
    clearance) whose production the immunity model adds; ``endogenous_il2_sites`` limits the
    locations where it binds cells (None: everywhere; a trial model binds it only at the
    disease site, where it acts: see :func:`il2sim.cohort.build_arm`). ``dose_offset_h`` delays
    every dose (a run-in before treatment). With ``short_infusions_as_bolus`` an antibody
    infusion no longer than :data:`SHORT_INFUSION_FRACTION` of the antibody's distribution
    half-life is given as an IV bolus at its midpoint (trial models: see
    :func:`antibody_boluses`)."""
    body_obj = get_body(body)
    w = float(weight_kg if weight_kg is not None else body_obj.weight_kg.value)
    bsa = float(bsa_m2 if bsa_m2 is not None else body_obj.bsa_m2.value)
    if not w > 0:
        raise ValueError(f"weight_kg must be > 0 (got {weight_kg})")
    drug_obj = get_drug(drug) if drug is not None else None
    net = Network(
        id=sid(f"il2sim_{drug_obj.name if drug_obj else 'no_drug'}_{body_obj.name}"),
        name=f"il2sim body model: {drug_obj.label if drug_obj else 'no drug'} in {body_obj.name}",
        notes=(
            "Generated by il2sim. Time in hours, amounts in nmol, volumes in litres. Free drug "
            "forms are concentrations (nM) in their own central/peripheral volumes and in tissue "
            "interstitium; cell-bound molecules are amounts. Each parameter's note gives its "
            "source."
        ),
    )
    _add_constants(net, params or signaling_params())
    tissue_vol = _add_compartments(net, body_obj, w)
    ab_objs = [
        (get_antibody(a), parse_regimen(rg) if isinstance(rg, str) else rg) for a, rg in antibodies
    ]
    forms, releases = _forms(drug_obj, endogenous_il2, ab_objs)
    doses: dict[str, list[DoseEvent]] = {}
    model = BodyModel(net, drug_obj, body_obj, w, bsa, tuple(forms), (), doses)
    for form in forms:
        _add_form_pk(net, model, form, body_obj, w, tissue_vol, ab_objs)
    for rel in releases:
        _add_release(net, rel, _locations(body_obj))

    pops = _populations(body_obj, w)
    kept = []
    for site in pops:
        binds = [
            f
            for f in forms
            if f.id != ENDOGENOUS_IL2
            or endogenous_il2_sites is None
            or site.location in endogenous_il2_sites
        ]
        if _add_population(endogenous_il2, net, model, site, binds, ab_objs):
            kept.append(site)
    model.populations = tuple(kept)

    _add_dosing(model, regimen, ab_objs, horizon_h, dose_offset_h, short_infusions_as_bolus)
    return model


def _add_constants(net: Network, p: SignalingParams) -> None:
    """Binding, signalling and internalisation constants every network shares."""
    net.parameter(
        "items_per_nmol",
        AVOGADRO_PER_NMOL,
        "item_per_nmol",
        "Avogadro constant per nmol",
        "CODATA 2018: 6.02214076e23 /mol",
    )
    net.parameter(
        "kon_il2",
        p.kon_per_nM_min.value * 60,
        "per_nM_per_h",
        "cytokine association rate",
        p.kon_per_nM_min.source,
        sbo="SBO:0000153",
    )
    net.parameter(
        "kx",
        p.kx_nM_per_receptor.value,
        "nM",
        "surface cross-linking constant Kx per receptor per cell",
        p.kx_nM_per_receptor.source,
    )
    net.parameter(
        "coop",
        p.cooperativity.value,
        "dimensionless",
        "cooperativity of a second site of one unit",
        p.cooperativity.source,
    )
    net.parameter(
        "k_half",
        p.k_half_complexes.value,
        "dimensionless",
        "signaling complexes per cell for half-maximal pSTAT5",
        p.k_half_complexes.source,
    )
    net.parameter(
        "kint_free",
        KINT_FREE_PER_H,
        "per_h",
        "endocytosis of free receptors and non-signaling complexes",
        f"{_FALLON}: kt 0.007 /min",
    )
    net.parameter(
        "kint_active",
        KINT_ACTIVE_PER_H,
        "per_h",
        "endocytosis of signaling complexes",
        f"{_FALLON}: ke 0.04 /min",
    )


def _add_compartments(net: Network, body: Body, w: float) -> dict[str, float]:
    """Plasma, lymphoid/tissue interstitium and each tissue's interstitium; returns the
    tissues' interstitial volumes (L)."""
    tissue_vol = {t.name: t.volume_L.value * t.interstitial_fraction.value for t in body.tissues}
    net.compartment(
        "central",
        0.043 * w,
        "blood plasma (cells in blood)",
        "assumption: plasma volume 43 mL/kg; holds blood cells' bound molecules (amounts)",
    )
    net.compartment(
        "peripheral",
        0.2 * w,
        "interstitium of lymphoid organs and tissues",
        "assumption: extracellular fluid ~0.2 L/kg; holds tissue cells' bound molecules",
    )
    for t in body.tissues:
        net.compartment(
            sid(t.name),
            tissue_vol[t.name],
            f"{t.name} interstitium",
            f"volume {t.volume_L.value} L ({t.volume_L.source}) x interstitial fraction "
            f"{t.interstitial_fraction.value} ({t.interstitial_fraction.source})",
        )
    return tissue_vol


def _forms(drug: Drug | None, endogenous_il2: bool, ab_objs) -> tuple[list[Form], list[Release]]:
    """The molecular forms a network carries (the drug's, endogenous IL-2, each antibody) and
    the releases between the drug's forms."""
    forms: list[Form] = []
    releases: list[Release] = []
    if drug is not None:
        f, r = _drug_forms(drug)
        forms += f
        releases += r
    if endogenous_il2:
        wt = get_drug("aldesleukin")
        forms.append(
            Form(
                ENDOGENOUS_IL2,
                "endogenous IL-2",
                BindingDesign.from_drug(wt),
                disposition_for(wt).name,
                _mw_kDa(wt),
                0.0,
                counts_as_drug=False,
            )
        )
    for ab, _ in ab_objs:
        forms.append(
            Form(sid(ab.name), ab.label, None, f"antibody:{ab.name}", ab.mw_kDa.value, 1.0, False)
        )
    return forms, releases


def _add_dosing(
    model: BodyModel,
    regimen,
    ab_objs,
    horizon_h: float,
    offset_h: float,
    short_infusions_as_bolus: bool = False,
) -> None:
    """Dose events of the drug (withholdable) and of each antibody, and plasma readouts."""
    drug = model.drug
    if drug is not None:
        reg = parse_regimen(regimen) if isinstance(regimen, str) else regimen
        if reg is not None:
            mw = _mw_kDa(drug)
            ev = dose_events(
                reg.doses(horizon_h),
                weight_kg=model.weight_kg,
                bsa_m2=model.bsa_m2,
                mw_kDa=mw,
                iu_per_mg=drug.iu_per_mg.value if drug.iu_per_mg else None,
                drug_name=drug.name,
            )
            ev = _shift(ev, offset_h)
            dosed = [f for f in model.forms if f.dose_fraction > 0 and f.counts_as_drug]
            _add_doses(model.network, sid(drug.name), ev, dosed, withholdable=True)
            model.dose_counters[drug.name] = f"doses_given_{sid(drug.name)}"
            model.doses[drug.name] = ev
            model.ng_per_nmol[drug.name] = mw * 1e3  # 1 nmol x mw kDa = mw x 1e3 ng
        drug_forms = [f for f in model.forms if f.counts_as_drug]
        expr = " + ".join(f"L_{f.id}_central * mw_{f.id}" for f in drug_forms)
        model.plasma_ng_per_mL[drug.name] = model.network.rule(
            sid(f"Cp_{drug.name}_ng_per_mL"),
            expr,
            "ng_per_mL",
            f"plasma concentration of {drug.label} (all active forms)",
        )
    for ab, reg in ab_objs:
        ev = dose_events(
            reg.doses(horizon_h),
            weight_kg=model.weight_kg,
            bsa_m2=model.bsa_m2,
            mw_kDa=ab.mw_kDa.value,
            iu_per_mg=None,
            drug_name=ab.name,
        )
        ev = _shift(ev, offset_h)
        given = ev
        if short_infusions_as_bolus:
            given = antibody_boluses(ev, ab.two_compartment(model.weight_kg).half_lives_h()[0])
        form = next(f for f in model.forms if f.id == sid(ab.name))
        _add_doses(model.network, sid(ab.name), given, [form])
        model.doses[ab.name] = ev  # the regimen as written (dose days, reports)
        model.ng_per_nmol[ab.name] = ab.mw_kDa.value * 1e3
        model.plasma_ng_per_mL[ab.name] = model.network.rule(
            sid(f"Cp_{ab.name}_ng_per_mL"),
            f"L_{form.id}_central * mw_{form.id}",
            "ng_per_mL",
            f"plasma concentration of {ab.label}",
        )


def _pk_params(form: Form, w: float, ab_objs) -> tuple[TwoCompartment, Disposition | Antibody]:
    if form.disposition_name.startswith("antibody:"):
        ab = next(a for a, _ in ab_objs if a.name == form.disposition_name.split(":", 1)[1])
        return ab.two_compartment(w), ab
    disp = dispositions()[form.disposition_name]
    return disp.two_compartment(w), disp


def _add_form_pk(
    net: Network,
    model: BodyModel,
    form: Form,
    body: Body,
    w: float,
    tissue_vol: dict[str, float],
    ab_objs,
) -> None:
    pk, src = _pk_params(form, w, ab_objs)
    f = form.id
    c1 = net.compartment(
        f"central_{f}",
        pk.v1_L,
        f"central volume of {form.label}",
        f"V1 of {src.name}: {src.v1_L.source}",
    )
    c2 = net.compartment(
        f"peripheral_{f}",
        pk.v2_L,
        f"peripheral volume of {form.label}",
        f"V2 of {src.name}",
    )
    net.parameter(
        f"CL_{f}",
        pk.cl_L_per_h,
        "L_per_h",
        f"linear clearance of {form.label}",
        f"{src.cl_L_per_h.source}; scaled to {w:g} kg with exponent {src.cl_weight_exponent.value}",
    )
    net.parameter(
        f"Q_{f}",
        pk.q_L_per_h,
        "L_per_h",
        f"distribution clearance of {form.label}",
        f"derived for {src.name}",
    )
    cl_exponent = src.cl_weight_exponent.value
    model.weight_exponents |= {f"CL_{f}": cl_exponent, f"Q_{f}": cl_exponent}
    model.weight_exponents |= {c1: 1.0, c2: 1.0}
    net.parameter(
        f"kex_{f}",
        src.tissue_exchange_per_h.value,
        "per_h",
        f"plasma-tissue exchange rate of {form.label}",
        src.tissue_exchange_per_h.source,
    )
    net.parameter(
        f"mw_{f}",
        form.mw_kDa,
        "ug_per_nmol",
        f"molecular weight of {form.label} (kDa)",
        "catalog mw_kDa",
    )
    lc1 = net.add_species(
        Species(f"L_{f}_central", c1, name=f"{form.label} (central)", sbo="SBO:0000252")
    )
    lc2 = net.add_species(
        Species(f"L_{f}_peripheral", c2, name=f"{form.label} (peripheral)", sbo="SBO:0000252")
    )
    elim = net.add_species(
        Species(
            f"eliminated_{f}",
            "central",
            units="nmol",
            amount_only=True,
            name=f"{form.label} eliminated (linear clearance)",
        )
    )
    net.reaction(
        f"clearance_{f}",
        {lc1: 1},
        {elim: 1},
        f"CL_{f} * {lc1}",
        f"clearance of {form.label}",
        "SBO:0000179",
    )
    net.reaction(f"distribution_{f}", {lc1: 1}, {lc2: 1}, f"Q_{f} * {lc1}", sbo="SBO:0000185")
    net.reaction(f"redistribution_{f}", {lc2: 1}, {lc1: 1}, f"Q_{f} * {lc2}", sbo="SBO:0000185")
    for t in body.tissues:
        tid = sid(t.name)
        lt = net.add_species(
            Species(f"L_{f}_{tid}", tid, name=f"{form.label} ({t.name})", sbo="SBO:0000252")
        )
        net.reaction(
            f"to_{tid}_{f}", {lc1: 1}, {lt: 1}, f"kex_{f} * {tid} * {lc1}", sbo="SBO:0000185"
        )
        net.reaction(
            f"from_{tid}_{f}", {lt: 1}, {lc1: 1}, f"kex_{f} * {tid} * {lt}", sbo="SBO:0000185"
        )
    model.accumulators.setdefault(f, []).append(elim)
    _add_dose_routes(net, form, src, lc1)


def _add_dose_routes(net: Network, form: Form, src, lc1: str) -> None:
    """The SC depot (absorption rate and bioavailability) and IV infusion into the central
    volume, which dosing events fill."""
    f = form.id
    if isinstance(src, Disposition):
        net.parameter(
            f"ka_{f}",
            src.ka_sc_per_h.value,
            "per_h",
            f"SC absorption rate of {form.label}",
            src.ka_sc_per_h.source,
        )
        net.parameter(
            f"F_{f}",
            src.bioavailability_sc.value,
            "dimensionless",
            f"SC bioavailability of {form.label}",
            src.bioavailability_sc.source,
        )
    else:
        net.parameter(
            f"ka_{f}", 0.0125, "per_h", "SC absorption rate", "atezolizumab SC ka 0.3 /day"
        )
        net.parameter(f"F_{f}", 0.72, "dimensionless", "SC bioavailability", "atezolizumab SC 72%")
    depot = net.add_species(
        Species(
            f"depot_{f}",
            "peripheral",
            units="nmol",
            amount_only=True,
            name=f"{form.label} in the SC depot",
        )
    )
    net.reaction(f"absorption_{f}", {depot: 1}, {lc1: 1}, f"ka_{f} * {depot}", sbo="SBO:0000185")
    net.parameter(
        f"infusion_{f}",
        0.0,
        "nmol_per_h",
        f"IV infusion rate of {form.label}",
        "set by dosing events",
        constant=False,
    )
    net.reaction(f"infusion_into_{f}", {}, {lc1: 1}, f"infusion_{f}", sbo="SBO:0000185")


def _add_release(net: Network, rel: Release, locs: list[str]) -> None:
    k = f"krel_{rel.source}"
    net.parameter(
        k,
        math.log(2) / rel.half_life_h,
        "per_h",
        f"release of {rel.product} from {rel.source}",
        f"ln 2 / {rel.half_life_h:g} h ({rel.why})",
    )
    if rel.kd_nM is not None and rel.carrier:
        net.parameter(
            f"kd_release_{rel.source}",
            rel.kd_nM,
            "nM",
            "Kd of the cytokine-antibody bond",
            "catalog disposition release_kd_nM",
        )
    for loc in locs:
        lid = sid(loc)
        a, b = f"L_{rel.source}_{lid}", f"L_{rel.product}_{lid}"
        vol = (
            f"{'central' if loc == 'central' else 'peripheral'}_{rel.source}"
            if loc in ("central", "peripheral")
            else lid
        )
        products = {b: 1}
        if rel.carrier:
            products[f"L_{rel.carrier}_{lid}"] = 1
        net.reaction(
            f"release_{rel.source}_{lid}", {a: 1}, products, f"{k} * {a} * {vol}", sbo="SBO:0000180"
        )
        if rel.kd_nM is not None and rel.carrier:
            c = f"L_{rel.carrier}_{lid}"
            net.reaction(
                f"rebind_{rel.source}_{lid}",
                {b: 1, c: 1},
                {a: 1},
                f"{k} / kd_release_{rel.source} * {b} * {c} * {vol}",
                sbo="SBO:0000177",
            )


@dataclass
class _Binding:
    """What one population's binding motifs share: where its molecules live, its receptor
    species, and the complexes that signal, signal in cis, or occupy each receptor kind."""

    net: Network
    model: BodyModel
    site: PopulationSite
    comp: str  # compartment holding the population's bound molecules
    loc: str  # its location's id (ligand species L_<form>_<loc>)
    rec: dict[str, str] = field(default_factory=dict)  # receptor kind -> free species
    signaling: list[str] = field(default_factory=list)
    cis: list[str] = field(default_factory=list)
    bound: dict[str, list[str]] = field(default_factory=dict)
    complexes: list[str] = field(default_factory=list)

    @property
    def pid(self) -> str:
        return self.site.id

    def where(self) -> str:
        return f"{self.site.cell.name} ({self.site.location})"

    def accumulator(self, f: str, name: str = "") -> str:
        """The species collecting what ``f``'s complexes on this population internalise."""
        acc = self.net.add_species(
            Species(
                f"internalised_{f}_{self.pid}", self.comp, units="nmol", amount_only=True, name=name
            )
        )
        self.model.accumulators.setdefault(f, []).append(acc)
        return acc


def _add_population(
    keep: bool,
    net: Network,
    model: BodyModel,
    site: PopulationSite,
    forms: list[Form],
    ab_objs,
) -> bool:
    """A population's receptors, its binding of every form and antibody that finds one, and
    its signalling readouts; False (nothing added) when nothing binds it and not ``keep``."""
    counts = _receptors(site.cell)
    schemes: list[tuple[Form, BindingScheme]] = []
    needed: set[str] = set()
    for form in forms:
        if form.design is None:
            continue
        sch = binding_scheme(form.design)
        usable = {k for k in sch.kinds if counts.get(k, 0) > 0}
        if usable:
            schemes.append((form, sch))
            needed |= usable
    needed |= {ab.target for ab, _ in ab_objs if counts.get(ab.target, 0) > 0}
    if not needed and not keep:
        return False
    loc = sid(site.location)
    comp = site.location if site.location in ("central", "peripheral") else loc
    b = _Binding(net, model, site, comp, loc)
    net.parameter(
        f"N_{site.id}",
        site.count,
        "item",
        f"{site.cell.label} cells in {site.location}",
        site.source,
    )
    for kind in sorted(needed):
        _add_receptor(b, kind, counts[kind])
    b.bound = {k: [] for k in b.rec}
    for form, sch in schemes:
        _add_form_binding(b, form, sch)
    for ab, _ in ab_objs:
        if ab.target in b.rec:
            _add_antibody_binding(b, ab)
    _add_signal_readouts(b)
    model.bound_states[site.id] = (dict(b.rec), list(b.complexes))
    return True


def _add_receptor(b: _Binding, kind: str, per_cell: float) -> None:
    """Free ``kind`` on the population: made in proportion to its cells, turned over."""
    net, pid, n = b.net, b.pid, f"N_{b.pid}"
    r0 = net.parameter(
        f"R0_{kind}_{pid}",
        per_cell,
        "dimensionless",
        f"{kind} per {b.site.cell.name} cell",
        _count_source(b.site.cell, kind),
    )
    rid = net.add_species(
        Species(
            f"R_{kind}_{pid}",
            b.comp,
            units="nmol",
            amount_only=True,
            name=f"free {kind} on {b.where()}",
            initial=per_cell * b.site.count / AVOGADRO_PER_NMOL,
            initial_assignment=f"{r0} * {n} / items_per_nmol",
            sbo="SBO:0000252",
        )
    )
    b.rec[kind] = rid
    kint = _kint(net, kind)
    net.reaction(
        f"synthesis_{kind}_{pid}",
        {},
        {rid: 1},
        f"{kint} * {r0} * {n} / items_per_nmol",
        sbo="SBO:0000393",
    )
    net.reaction(f"turnover_{kind}_{pid}", {rid: 1}, {}, f"{kint} * {rid}", sbo="SBO:0000179")


def _add_form_binding(b: _Binding, form: Form, sch: BindingScheme) -> None:
    """The complexes ``form`` makes with the receptors the population has, their
    internalisation, and the binding steps between them."""
    net, f, pid = b.net, form.id, b.pid
    ok = [c for c in sch.complexes if all(k in b.rec for k in sch.receptor_bonds[c])]
    cid = {c: f"C_{f}_{pid}_{i}" for i, c in enumerate(ok)}
    acc = b.accumulator(f, f"{form.label} internalised by {b.where()}")
    for c in ok:
        net.add_species(
            Species(
                cid[c],
                b.comp,
                units="nmol",
                amount_only=True,
                name=f"{form.label}:{c} on {b.where()}",
                sbo="SBO:0000253",
            )
        )
        b.complexes.append(cid[c])
        sig = sch.signaling_bonds[c]
        kint = (
            "kint_active"
            if sig > 0
            else max(
                (_kint(net, k) for k in sch.receptor_bonds[c]),
                key=lambda pid_: net.parameters[pid_].value,
            )
        )
        net.reaction(
            f"internalise_{cid[c]}", {cid[c]: 1}, {acc: 1}, f"{kint} * {cid[c]}", sbo="SBO:0000185"
        )
        if sig:
            b.signaling.append(f"{_mult(sig)}{cid[c]}")
            if any(k in CIS_KINDS for k in sch.receptor_bonds[c]):
                b.cis.append(f"{_mult(sig)}{cid[c]}")
        for kind, nb in sch.receptor_bonds[c].items():
            b.bound[kind].append(f"{_mult(nb)}{cid[c]}")
    _add_binding_steps(b, form, sch, cid)


def _add_binding_steps(b: _Binding, form: Form, sch: BindingScheme, cid: dict) -> None:
    """Each step of the scheme between complexes the population has: capture of free ligand
    (per volume), or a further receptor joining on the cell surface (per cell)."""
    net, f, pid, lig = b.net, form.id, b.pid, f"L_{form.id}_{b.loc}"
    kds: dict[str, str] = {}
    for j, st in enumerate(sch.steps):
        if st.product not in cid or (st.source is not None and st.source not in cid):
            continue
        kd_id = f"kd_{f}_{st.receptor}"
        if st.receptor not in kds:
            kds[st.receptor] = net.ensure_parameter(
                kd_id, st.kd_nM, "nM", f"Kd of {form.label} for {st.receptor}", "catalog drug Kd"
            )
        r, prod = b.rec[st.receptor], cid[st.product]
        rev = f"{_mult(st.reverse_multiplicity)}kon_il2 * {kd_id} * {prod}"
        # free receptor enters as max(R, 0): on a population dying out its amount sinks to the
        # solver's noise, and a slightly negative receptor times a slightly negative ligand
        # would form complexes that feed themselves until CVODE fails
        free = f"max({r}, 0 nmol)"
        if st.source is None:
            reactant, rate = lig, f"{_mult(st.forward_multiplicity)}kon_il2 * {lig} * {free}"
        else:
            reactant = cid[st.source]
            coop = " * coop" if st.cooperative else ""
            rate = (
                f"{_mult(st.forward_multiplicity)}kon_il2 * kx{coop} * {reactant} * {free}"
                f" * items_per_nmol / max(N_{pid}, 1 item)"
            )
        net.reaction(f"bind_{f}_{pid}_{j}", {reactant: 1, r: 1}, {prod: 1}, rate, sbo="SBO:0000177")
        net.reaction(
            f"unbind_{f}_{pid}_{j}", {prod: 1}, {reactant: 1, r: 1}, rev, sbo="SBO:0000180"
        )


def _add_antibody_binding(b: _Binding, ab: Antibody) -> None:
    """An antibody binding its target on the population (one site), internalised with it."""
    net, f, pid = b.net, sid(ab.name), b.pid
    lig = f"L_{f}_{b.loc}"
    cx = net.add_species(
        Species(
            f"C_{f}_{pid}",
            b.comp,
            units="nmol",
            amount_only=True,
            name=f"{ab.label} bound to {ab.target} on {b.where()}",
            sbo="SBO:0000253",
        )
    )
    b.complexes.append(cx)
    acc = b.accumulator(f)
    net.ensure_parameter(
        f"kon_{f}",
        KON_ANTIBODY_PER_nM_H,
        "per_nM_per_h",
        f"association rate of {ab.label}",
        "assumption: typical antibody association rate 1e6 /M/s (range 1e5-1e7)",
    )
    net.ensure_parameter(f"kd_{f}", ab.kd_nM.value, "nM", f"Kd of {ab.label}", ab.kd_nM.source)
    r = b.rec[ab.target]
    net.reaction(
        f"bind_{f}_{pid}", {lig: 1, r: 1}, {cx: 1}, f"kon_{f} * {lig} * {r}", sbo="SBO:0000177"
    )
    net.reaction(
        f"unbind_{f}_{pid}",
        {cx: 1},
        {lig: 1, r: 1},
        f"kon_{f} * kd_{f} * {cx}",
        sbo="SBO:0000180",
    )
    net.reaction(
        f"internalise_{cx}",
        {cx: 1},
        {acc: 1},
        f"{_kint(net, ab.target)} * {cx}",
        sbo="SBO:0000185",
    )
    b.bound[ab.target].append(cx)


def _add_signal_readouts(b: _Binding) -> None:
    """Complexes per cell and pSTAT5 (all signalling complexes, and the share held in cis by
    CD25 or a targeting arm), and the bound fraction of each receptor kind."""
    net, model, pid, cell = b.net, b.model, b.pid, b.site.cell.name
    # Per-cell counts are bounded: a population dying out (after its antigen is gone) has
    # complexes of the order of the solver's absolute tolerance, whose ratio to a vanishing
    # cell count would be noise of any size or sign (A near -k_half made pSTAT5 singular).
    per_cell = f"items_per_nmol / max(N_{pid}, 1 item)"
    if b.signaling and SIGNALING_KIND in b.rec:
        a = net.rule(
            f"A_{pid}",
            f"max({' + '.join(b.signaling)}, 0 nmol) * {per_cell}",
            "dimensionless",
            f"engaged IL-2Rbeta/gamma-c complexes per {cell} cell ({b.site.location})",
        )
        model.pstat5[pid] = net.rule(
            f"pSTAT5_{pid}",
            f"{a} / ({a} + k_half)",
            "dimensionless",
            f"pSTAT5 (fraction of maximum) of {b.where()}",
        )
    if b.cis and SIGNALING_KIND in b.rec:
        a = net.rule(
            f"Acis_{pid}",
            f"max({' + '.join(b.cis)}, 0 nmol) * {per_cell}",
            "dimensionless",
            f"engaged IL-2Rbeta/gamma-c complexes also held by CD25 or a targeting arm, per "
            f"{cell} cell ({b.site.location})",
        )
        model.cis_pstat5[pid] = net.rule(
            f"pSTAT5cis_{pid}",
            f"{a} / (A_{pid} + k_half)",
            "dimensionless",
            f"share of pSTAT5 from CD25- or arm-assisted (cis) complexes, {cell}",
        )
    for kind, terms in b.bound.items():
        if terms:
            tot = " + ".join(terms)
            # 0, not 0/0, on a population that died out and holds no receptors at all
            model.occupancy[(kind, pid)] = net.rule(
                f"occupancy_{kind}_{pid}",
                f"({tot}) / max({tot} + {b.rec[kind]}, 1e-30 nmol)",
                "dimensionless",
                f"fraction of {kind} bound on {b.where()}",
            )


def receptors_vanish_with_cells(model: BodyModel, pid: str, count: str) -> None:
    """Let population ``pid``'s receptors vanish with its cells (``count``: its cell-count
    state, for a population that can die out): below one cell its free receptors and
    complexes are set to zero and no longer made; above two cells again (not one: a pool
    hovering near one cell would switch at every step) it starts over with its resting free
    receptors; while it is gone its receptor occupancies read 0. Amounts on a population of
    ~1e-6 cells (~1e-18 nmol) lie far below the solver's absolute tolerance: there they are
    noise that changes sign from step to step, and on a pool that a complete response left
    behind (terminally exhausted cells under PD1-IL2v) that noise made CVODE fail after months
    of follow-up."""
    net = model.network
    receptors, complexes = model.bound_states.get(pid, ({}, []))
    if not receptors:
        return
    flag = net.parameter(
        f"present_{pid}",
        1.0,
        "dimensionless",
        f"population {pid} present (1: at least one cell) or died out (0)",
        "set by events",
        constant=False,
    )
    for kind in receptors:
        syn = net.reactions[f"synthesis_{kind}_{pid}"]
        syn.rate = f"{syn.rate} * {flag}"
    # its occupancies read 0 once it is gone: what the solver leaves in its zeroed states is
    # noise of either sign, whose ratio (bound / (bound + free)) could be anything
    for (_, p), rule in model.occupancy.items():
        if p == pid:
            net.rules[rule].formula = f"{flag} * {net.rules[rule].formula}"
    net.event(
        f"died_out_{pid}",
        f"{count} < 1 item",
        {flag: "0 dimensionless", **{s: "0 nmol" for s in (*receptors.values(), *complexes)}},
        f"population {pid} below one cell: its receptors and complexes are gone",
    )
    net.event(
        f"returned_{pid}",
        f"{count} > 2 item",
        {
            flag: "1 dimensionless",
            **{r: f"R0_{kind}_{pid} * {count} / items_per_nmol" for kind, r in receptors.items()},
        },
        f"population {pid} back above two cells, with its resting free receptors",
    )


#: Turnover of target kinds that are not recycled like cytokine receptors (per hour).
_SLOW_TURNOVER = {
    "EDB_FN": (
        0.005,
        "assumption: EDB-fibronectin is extracellular matrix, turned over in days rather than "
        "internalised like receptors (L19 immunocytokines are retained in tumours for days)",
    ),
}


def _kint(net: Network, kind: str) -> str:
    """The parameter id for the turnover (free) and internalisation (bound, non-signaling) rate
    of ``kind``: receptors use the Fallon 2000 constitutive rate, matrix targets their own."""
    if kind not in _SLOW_TURNOVER:
        return "kint_free"
    value, why = _SLOW_TURNOVER[kind]
    return net.ensure_parameter(f"kint_{kind}", value, "per_h", f"turnover of {kind}", why)


def _count_source(cell: Cell, kind: str) -> str:
    if kind == "IL2RBG":
        parts = [cell.receptors_per_cell.get(k) for k in ("IL2RB", "IL2RG")]
        return "min(IL2RB, IL2RG): " + "; ".join(p.source for p in parts if p is not None)
    num = cell.receptors_per_cell.get(kind)
    return num.source if num is not None else "catalog"


def _add_doses(
    net: Network,
    key: str,
    events: Sequence[DoseEvent],
    forms: Sequence[Form],
    *,
    withholdable: bool = False,
) -> None:
    """One event per dose (SC depot, IV bolus, or the start and end of an infusion). A
    ``withholdable`` drug's doses are given only while ``dose_withheld_<key>`` is 0 (a layer
    above may replace it in the events by a condition: toxicity at the time of the dose) and
    counted in ``doses_given_<key>``."""
    scale = net.parameter(
        f"dose_scale_{key}",
        1.0,
        "dimensionless",
        f"multiplier on every dose of {key}",
        "1 = the regimen as written",
    )
    given = ""
    counter: dict[str, str] = {}
    if withholdable:
        held = net.parameter(
            f"dose_withheld_{key}",
            0.0,
            "dimensionless",
            f"1 while doses of {key} are withheld",
            "0 = every dose given; the immunity layer puts its toxicity condition in its place",
        )
        n = net.parameter(
            f"doses_given_{key}",
            0.0,
            "dimensionless",
            f"doses of {key} given",
            "counted",
            constant=False,
        )
        given = f" * (1 dimensionless - {held})"
        counter = {n: f"{n} + 1 dimensionless - {held}"}
    for k, ev in enumerate(events):
        t = net.parameter(
            f"t_{key}_dose{k}", ev.time_h, "hour", f"time of dose {k + 1} of {key}", "regimen"
        )
        amt = net.parameter(
            f"amount_{key}_dose{k}",
            ev.amount_nmol,
            "nmol",
            f"amount of dose {k + 1} of {key}",
            "regimen",
        )
        if ev.route == "sc":
            assign = {
                f"depot_{f.id}": f"depot_{f.id} + {scale} * F_{f.id} * {_frac(f)}{amt}{given}"
                for f in forms
            }
            net.event(
                f"dose_{key}_{k}",
                f"time >= {t}",
                assign | counter,
                f"SC dose {k + 1} of {key}",
                values_at_trigger=False,
            )
        elif ev.duration_h <= 0:
            assign = {
                f"L_{f.id}_central": (
                    f"L_{f.id}_central + {scale} * {_frac(f)}{amt}{given} / central_{f.id}"
                )
                for f in forms
            }
            net.event(
                f"dose_{key}_{k}",
                f"time >= {t}",
                assign | counter,
                f"IV bolus {k + 1} of {key}",
                values_at_trigger=False,
            )
        else:
            dur = net.parameter(
                f"duration_{key}_dose{k}",
                ev.duration_h,
                "hour",
                f"infusion duration of dose {k + 1} of {key}",
                "regimen",
            )
            end = net.parameter(
                f"t_{key}_dose{k}_end",
                ev.time_h + ev.duration_h,
                "hour",
                f"end of infusion {k + 1} of {key}",
                "regimen",
            )
            # infusions add up while they overlap: each start adds its rate, and its end takes
            # off what that start added (kept per dose: a hold may change in between)
            start, stop = dict(counter), {}
            for f in forms:
                rate = f"{scale} * {_frac(f)}{amt}{given} / {dur}"
                kept = net.parameter(
                    f"infusion_rate_{key}_dose{k}_{f.id}",
                    0.0,
                    "nmol_per_h",
                    f"rate infusion {k + 1} of {key} adds to {f.id}",
                    "set at its start",
                    constant=False,
                )
                start |= {f"infusion_{f.id}": f"infusion_{f.id} + {rate}", kept: rate}
                stop[f"infusion_{f.id}"] = f"infusion_{f.id} - {kept}"
            net.event(
                f"dose_{key}_{k}",
                f"time >= {t}",
                start,
                f"start of infusion {k + 1} of {key}",
                values_at_trigger=False,
            )
            net.event(
                f"dose_{key}_{k}_end",
                f"time >= {end}",
                stop,
                f"end of infusion {k + 1} of {key}",
                values_at_trigger=False,
            )


def _frac(form: Form) -> str:
    return "" if form.dose_fraction == 1.0 else f"{form.dose_fraction!r} dimensionless * "


def build_scenario_model(scenario, *, drug: Drug | str | None = None) -> BodyModel:
    """The body network of a scenario (built-in name, YAML path or
    :class:`~il2sim.catalog.Scenario`); ``drug`` swaps in another drug with the same regimen."""
    from il2sim.catalog import get_scenario

    sc = get_scenario(scenario)
    return build_body_model(
        drug if drug is not None else sc.drug,
        sc.regimen,
        body=sc.body,
        weight_kg=sc.weight_kg,
        bsa_m2=sc.bsa_m2,
        antibodies=[(a.antibody, a.regimen) for a in sc.antibodies],
        horizon_h=sc.duration_days * 24.0,
    )


#: An antibody infusion this short against the antibody's distribution half-life (30-38 h for
#: the catalog's antibodies; their 30-90 min infusions are 1-4% of it) may be given as a bolus.
SHORT_INFUSION_FRACTION = 0.05


def antibody_boluses(events: list[DoseEvent], alpha_half_life_h: float) -> list[DoseEvent]:
    """Each IV infusion no longer than ``SHORT_INFUSION_FRACTION`` x ``alpha_half_life_h`` as
    an IV bolus of the same amount at the infusion's midpoint.

    Why: each infusion start and end restarts the ODE solver; a bolus restarts it once
    (melanoma nivolumab trial model, 300 treated days: 32.6 -> 25.9 ms a patient). What it
    costs: a concentration error of order (duration / half-life)^2 after the infusion, and the
    hour of the infusion itself, which a months-long tumour response does not resolve: over 60
    patients x 300 days the tumour differs by at most 1.7e-3 (median 4e-6), and lies closer to
    a tight-tolerance solve of the infusions (max 1.4e-3) than the infusions solved at the
    trial tolerance do (2.1e-3)."""
    limit = SHORT_INFUSION_FRACTION * alpha_half_life_h
    return [
        DoseEvent(e.time_h + e.duration_h / 2.0, e.amount_nmol, "iv", 0.0)
        if e.route == "iv" and 0.0 < e.duration_h <= limit
        else e
        for e in events
    ]


def _shift(events: list[DoseEvent], offset_h: float) -> list[DoseEvent]:
    if not offset_h:
        return events
    return [DoseEvent(e.time_h + offset_h, e.amount_nmol, e.route, e.duration_h) for e in events]
