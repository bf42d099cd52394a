"""Cell states and their dynamics, disease (tumour or virus) and toxicity indices, added to a
body network so that one SBML model carries drug, receptors, cells and disease together.

Every cell count becomes a state. IL-2 signal (each population's pSTAT5, normalised to its own
maximum) drives proliferation, capped and returning to baseline; Tregs suppress effector
proliferation; antigen drives stem-like -> effector-like -> terminally exhausted CD8 T cells;
PD-1 engagement lowers antigen-driven proliferation and killing, blockade (antibody or arm
occupancy of PD-1 or PD-L1) lifts it; IL-2 signals delivered with CD25 or in cis through a
targeting arm push progeny toward effector-like rather than terminal cells; antigen-stimulated
T cells secrete endogenous IL-2. Tumours grow logistically and are killed by CD8 T cells with
the ratio-dependent law of de Pillis et al. 2005 and by NK cells; a persistent virus replicates
and is cleared by CD8 T cells. Parameters: ``catalog/data/immunity/parameters.yaml``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from il2sim.catalog import immune_parameters
from il2sim.model._body import ENDOGENOUS_IL2, BodyModel, form_amounts, sid
from il2sim.model._network import Species

ONE = "1 dimensionless"
DISEASES = ("tumour", "chronic_infection", "acute_infection", "none")
_ROLES = {
    "treg": "treg",
    "nk": "nk",
    "cd8_memory": "cd8_memory",
    "cd8_naive": "cd8_naive",
    "cd4_helper": "cd4_helper",
    "cd8_stem_like": "stem",
    "cd8_effector_like": "effector",
    "cd8_terminal_exhausted": "terminal",
    "tumour_cell": "tumour",
}


@dataclass
class ImmuneModel:
    """Ids of the states and readouts the immunity layer added."""

    disease: str
    cells: dict[str, str] = field(default_factory=dict)  # population id -> count species
    fold: dict[str, str] = field(default_factory=dict)  # population id -> fold-expansion rule
    roles: dict[str, str] = field(default_factory=dict)  # population id -> role
    burden: str | None = None  # tumour cells or viral load species
    treg_cd8_ratio: dict[str, str] = field(default_factory=dict)  # location -> rule
    toxicity: dict[str, str] = field(default_factory=dict)  # index name -> rule
    exhaustion: str | None = None  # exhaustion-programme state of the disease site


def _role(cell_name: str) -> str | None:
    return _ROLES.get(cell_name.removeprefix("mouse_"))


def add_immunity(
    model: BodyModel,
    disease: str,
    *,
    disease_site: str | None = None,
    vaccine_times_h: tuple[float, ...] = (),
    infection_time_h: float = 0.0,
) -> ImmuneModel:
    """Make cell numbers dynamic and add ``disease`` in the body's tissue (tumour or infected
    organ; the first tissue unless ``disease_site``). A tumour or chronic infection is
    established at time 0; an acute infection starts at ``infection_time_h`` in a host whose
    antigen-specific cells are resting."""
    if disease not in DISEASES:
        raise ValueError(f"disease must be one of {', '.join(DISEASES)}, got {disease!r}")
    net = model.network
    P = immune_parameters()

    def par(name: str, per_day: bool = True, units: str | None = None) -> str:
        num = P[name]
        pid = f"im_{name}"
        if pid not in net.parameters:
            value = num.value / 24.0 if per_day else num.value
            src = num.source + (" (per day / 24)" if per_day else "")
            net.parameter(pid, value, units or ("per_h" if per_day else "dimensionless"), name, src)
        return pid

    im = ImmuneModel(disease)
    sites = list(model.populations)
    site_loc = disease_site or (model.body.tissues[0].name if model.body.tissues else None)
    # 1. counts become states; normalised signal per population
    for p in sites:
        role = _role(p.cell.name)
        if role is None:
            continue
        comp = p.location if p.location in ("central", "peripheral") else sid(p.location)
        n = net.promote_to_species(f"N_{p.id}", comp, f"{p.cell.label} ({p.location})")
        net.parameter(
            f"N0_{p.id}", p.count, "item", f"{p.cell.name} cells at start ({p.location})", p.source
        )
        net.species[n].initial_assignment = f"N0_{p.id}"  # so a patient's N0 sets the start
        im.cells[p.id] = n
        im.roles[p.id] = role
        im.fold[p.id] = net.rule(
            f"fold_{p.id}",
            f"{n} / N0_{p.id}",
            "dimensionless",
            f"fold change of {p.cell.name} ({p.location})",
        )
        if p.id in model.pstat5:
            r0 = f"R0_IL2RBG_{p.id}"
            net.rule(
                f"s_{p.id}",
                f"pSTAT5_{p.id} * ({r0} + k_half) / {r0}",
                "dimensionless",
                f"pSTAT5 of {p.cell.name} as a fraction of its own maximum",
            )
            ks = par("signal_half_saturation", per_day=False)
            net.rule(
                f"g_{p.id}",
                f"s_{p.id} * (1 dimensionless + {ks}) / (s_{p.id} + {ks})",
                "dimensionless",
                f"IL-2 proliferation signal of {p.cell.name} (1 at maximal pSTAT5)",
            )
    # 2. per-location regulation: Treg suppression and PD-1 axis blockade
    by_loc: dict[str, list] = {}
    for p in sites:
        if p.id in im.cells:
            by_loc.setdefault(p.location, []).append(p)
    supp: dict[str, str] = {}
    k_supp = par("treg_suppression", per_day=False)
    for loc, pops in by_loc.items():
        tregs = [p for p in pops if im.roles[p.id] == "treg"]
        if tregs:
            t = tregs[0].id
            supp[loc] = net.rule(
                f"suppression_{sid(loc)}",
                f"(1 dimensionless + {k_supp}) / (1 dimensionless + {k_supp} * N_{t} / N0_{t})",
                "dimensionless",
                f"Treg suppression of effector proliferation in {loc}",
            )
        cd8 = [
            p
            for p in pops
            if im.roles[p.id] in ("stem", "effector", "terminal", "cd8_memory", "cd8_naive")
        ]
        if tregs and cd8:
            im.treg_cd8_ratio[loc] = net.rule(
                f"treg_cd8_ratio_{sid(loc)}",
                f"N_{tregs[0].id} / ({' + '.join(f'N_{p.id}' for p in cd8)})",
                "dimensionless",
                f"Treg:CD8 ratio in {loc}",
            )
    pdl1_ref = {
        loc: [
            r
            for (k, pid), r in model.occupancy.items()
            if k == "PDL1" and pid in {p.id for p in pops}
        ]
        for loc, pops in by_loc.items()
    }
    eps = par("pd1_inhibition", per_day=False)
    exhaustion = "1 dimensionless"  # replaced by the site's exhaustion programme with antigen

    def f_pd1(p) -> str:
        terms = []
        if ("PD1", p.id) in model.occupancy:
            terms.append(model.occupancy[("PD1", p.id)])
        terms += pdl1_ref.get(p.location, [])
        if not terms:
            return net.rule(
                f"pd1_signal_{p.id}",
                f"1 dimensionless - {eps} * {exhaustion}",
                "dimensionless",
                f"PD-1 brake factor on {p.cell.name}",
            )
        b = terms[0] if len(terms) == 1 else f"max({', '.join(terms)})"
        fold = p.cell.pd1_blockade_fold.get("IL2RA")
        syn = net.reactions.get(f"synthesis_IL2RA_{p.id}")
        if fold is not None and fold.value != 1 and syn is not None:
            k = net.parameter(
                f"cd25_blockade_fold_{p.id}",
                fold.value,
                "dimensionless",
                f"CD25 up-regulation on {p.cell.name} under PD-1 blockade",
                fold.source,
            )
            syn.rate = f"({syn.rate}) * ({ONE} + ({k} - {ONE}) * {b})"
        return net.rule(
            f"pd1_signal_{p.id}",
            f"1 dimensionless - {eps} * {exhaustion} * (1 dimensionless - {b})",
            "dimensionless",
            f"PD-1 brake factor on {p.cell.name} (1 = no brake)",
        )

    # 3. disease and antigen
    ag = None
    if disease != "none" and site_loc is not None:
        loc_id = sid(site_loc)
        if disease == "tumour":
            tum = next(
                (p for p in sites if im.roles.get(p.id) == "tumour" and p.location == site_loc),
                None,
            )
            if tum is None:
                raise ValueError(
                    f"a tumour scenario needs tumour cells in {site_loc!r} (body {model.body.name})"
                )
            im.burden = f"N_{tum.id}"
            kt = par("tumour_antigen_half_saturation_cells", per_day=False, units="item")
            ag = net.rule(
                f"antigen_{loc_id}",
                f"N_{tum.id} / (N_{tum.id} + {kt})",
                "dimensionless",
                "tumour antigen drive",
            )
        else:
            acute = disease == "acute_infection"
            v0 = P["virus_initial_acute" if acute else "virus_initial_chronic"]
            comp = net.species[
                im.cells[next(iter(p.id for p in by_loc.get(site_loc, [])))]
            ].compartment
            im.burden = net.add_species(
                Species(
                    f"virus_{loc_id}",
                    comp,
                    0.0 if acute else v0.value,
                    "dimensionless",
                    "viral load (fraction of tissue maximum)",
                    amount_only=True,
                )
            )
            if acute:  # a new infection at the start of treatment, in a resting host
                t_inf = net.parameter(
                    "t_infection", infection_time_h, "hour", "time of infection", "scenario"
                )
                v_inf = par("virus_initial_acute", per_day=False)
                net.event("infection", f"time >= {t_inf}", {im.burden: v_inf}, "infection")
            thr = par("virus_extinction_threshold", per_day=False)
            net.event(
                f"virus_extinct_{loc_id}",
                f"{im.burden} < {thr}",
                {im.burden: "0 dimensionless"},
                "virus eradicated (below one infectious unit)",
            )
            kv = par("virus_antigen_half_saturation", per_day=False)
            ag = net.rule(
                f"antigen_{loc_id}",
                f"{im.burden} / ({im.burden} + {kv})",
                "dimensionless",
                "viral antigen drive",
            )
    if ag is not None:
        # PD-1-high exhaustion programme of the site's antigen-specific CD8 T cells: builds
        # under antigen within about a week, reverses slowly once antigen is gone
        site_comp = net.species[im.cells[by_loc[site_loc][0].id]].compartment
        established = 0.0 if disease == "acute_infection" else 1.0

        def site_state(name: str, description: str) -> str:
            """A dimensionless state of the site's antigen-specific CD8 T cells, 1 in an
            established disease and 0 in a resting host."""
            return net.add_species(
                Species(
                    f"{name}_{sid(site_loc)}",
                    site_comp,
                    established,
                    "dimensionless",
                    description,
                    amount_only=True,
                )
            )

        exhaustion = site_state(
            "exhaustion", "exhaustion programme (1 = established chronic exhaustion)"
        )
        net.rate_rule(
            exhaustion,
            f"{par('exhaustion_onset_per_day')} * {ag} * ({ONE} - {exhaustion})"
            f" - {par('exhaustion_reversal_per_day')} * ({ONE} - {ag}) * {exhaustion}",
        )
        im.exhaustion = exhaustion
        # programmed expansion: once primed, CD8 T cells keep dividing for about a week
        # without needing antigen at every division
        programme = site_state(
            "expansion_programme", "share of antigen-specific CD8 T cells in programmed expansion"
        )
        net.rate_rule(
            programme,
            f"{par('priming_per_day')} * {ag} * ({ONE} - {programme})"
            f" - {par('expansion_programme_end_per_day')} * {programme}",
        )
    # 4. dynamics of each population
    fmax = par("max_fold_expansion", per_day=False)
    contraction = par("contraction_per_day")
    ctl_terms: list[str] = []
    for p in sites:
        role = im.roles.get(p.id)
        if role is None or role == "tumour":
            continue
        n, n0 = f"N_{p.id}", f"N0_{p.id}"
        g = f"g_{p.id}" if p.id in model.pstat5 else "0 dimensionless"
        sup = f" * {supp[p.location]}" if p.location in supp and role != "treg" else ""
        if role in ("treg", "nk", "cd8_memory", "cd8_naive", "cd4_helper"):
            pm = par(f"prolif_max_per_day_{role}")
            deplete = ""
            if role == "treg" and ("CTLA4", p.id) in model.occupancy and p.location == site_loc:
                k_dep = par("ctla4_treg_depletion_per_day")
                deplete = f" - {k_dep} * {model.occupancy[('CTLA4', p.id)]} * {n}"
            net.rate_rule(
                n,
                f"{pm} * {g}{sup} * {n} * ({ONE} - {n} / ({fmax} * {n0}))"
                f" - {contraction} * ({n} - {n0}){deplete}",
            )
            continue
        if ag is None or p.location != site_loc:
            net.rate_rule(n, f"-{contraction} * ({n} - {n0})")
            continue
        f_pd1(p)
        cis = (
            f"pSTAT5cis_{p.id} * ({f'R0_IL2RBG_{p.id}'} + k_half) / R0_IL2RBG_{p.id}"
            if p.id in model.cis_pstat5
            else "0 dimensionless"
        )
        net.rule(
            f"cis_{p.id}",
            cis,
            "dimensionless",
            f"normalised CD25/arm-assisted pSTAT5 of {p.cell.name}",
        )
    # antigen-specific chain needs all three states in the disease site
    chain = {
        im.roles[p.id]: p
        for p in sites
        if p.location == site_loc and im.roles.get(p.id) in ("stem", "effector", "terminal")
    }
    if ag is not None and len(chain) == 3:
        S, E, X = (chain[r] for r in ("stem", "effector", "terminal"))
        nS, nE, nX = f"N_{S.id}", f"N_{E.id}", f"N_{X.id}"
        fS, fE = f"pd1_signal_{S.id}", f"pd1_signal_{E.id}"
        gain, prot = par("cis_il2_gain", per_day=False), par("cis_il2_protection", per_day=False)
        flux_se = net.rule(
            f"flux_stem_to_effector_{sid(site_loc)}",
            f"{par('stem_to_effector_per_day')} * {ag} * {fS} * {nS}",
            "item_per_h",
            "stem-like to effector-like differentiation",
        )
        flux_et = net.rule(
            f"flux_effector_to_terminal_{sid(site_loc)}",
            f"{par('effector_to_terminal_per_day')} * {ag} * {exhaustion}"
            f" * ({ONE} - {prot} * min(cis_{E.id}, {ONE})) * {nE}",
            "item_per_h",
            "effector-like to terminal differentiation",
        )
        cap = par("stem_capacity_fold", per_day=False)
        gS = f"g_{S.id}" if S.id in model.pstat5 else "0 dimensionless"
        vaccine = ""
        if vaccine_times_h:
            net.parameter(
                "vaccine_drive",
                0.0,
                "dimensionless",
                "therapeutic vaccine priming on (1) or off (0)",
                "set by vaccination events (1 day per vaccination)",
                constant=False,
            )
            for k, tv in enumerate(vaccine_times_h):
                t_on = net.parameter(
                    f"t_vaccine{k}", tv, "hour", f"vaccination {k + 1}", "scenario"
                )
                t_off = net.parameter(
                    f"t_vaccine{k}_end", tv + 24.0, "hour", f"end of priming {k + 1}", "scenario"
                )
                net.event(
                    f"vaccine_{k}",
                    f"time >= {t_on}",
                    {"vaccine_drive": ONE},
                    f"vaccination {k + 1}",
                )
                net.event(
                    f"vaccine_{k}_end", f"time >= {t_off}", {"vaccine_drive": "0 dimensionless"}
                )
            vaccine = f" + {par('vaccine_priming_per_day')} * vaccine_drive * N0_{S.id}"
        ctla4 = [
            r
            for (k, pid), r in model.occupancy.items()
            if k == "CTLA4" and not pid.endswith(sid(site_loc))
        ]
        if ctla4:
            occ = ctla4[0] if len(ctla4) == 1 else f"max({', '.join(ctla4)})"
            vaccine += f" + {par('ctla4_priming_per_day')} * {ag} * {occ} * N0_{S.id}"
        net.rate_rule(
            nS,
            f"({par('stem_self_renewal_per_day')} * {ag} * {fS}"
            f" + {par('stem_il2_prolif_max_per_day')} * {gS} * {fS})"
            f" * {nS} * ({ONE} - {nS} / ({cap} * N0_{S.id})) - {flux_se}{vaccine}",
        )
        gE = f"g_{E.id}" if E.id in model.pstat5 else "0 dimensionless"
        supE = f" * {supp[site_loc]}" if site_loc in supp else ""
        net.rate_rule(
            nE,
            f"{flux_se} + {par('effector_prolif_max_per_day')} * {gE} * {fE}{supE} * {nE}"
            f" * ({ONE} + {gain} * min(cis_{E.id}, {ONE})) / ({ONE} + {gain})"
            f" * ({ONE} - {nE} / ({fmax} * N0_{E.id}))"
            f" + {par('effector_antigen_prolif_per_day')} * expansion_programme_{sid(site_loc)}"
            f" * ({ONE} - {exhaustion})"
            f" * {nE} * ({ONE} - {nE} / ({fmax} * N0_{E.id}))"
            f" - {flux_et} - {par('effector_death_per_day')} * {nE}",
        )
        net.rate_rule(nX, f"{flux_et} - {par('terminal_death_per_day')} * {nX}")
        share = par("terminal_killing_share", per_day=False)
        ctl = net.rule(
            f"ctl_{sid(site_loc)}",
            f"{fE} * ({ONE} + {par('il2_cytotoxicity_gain', per_day=False)} * {gE})"
            f" * ({nE} + {share} * {nX})",
            "item",
            "functional cytotoxic CD8 T cells (IL-2 raises per-cell killing)",
        )
        ctl_terms.append(ctl)
        # endogenous IL-2 from antigen-stimulated CD8 T cells
        lig = f"L_{ENDOGENOUS_IL2}_{sid(site_loc)}"
        if lig in net.species:
            sec = par("il2_secretion_per_cell_per_h", per_day=False, units="per_h")
            net.reaction(
                f"il2_secretion_{sid(site_loc)}",
                {},
                {lig: 1},
                f"{sec} * {ag} * ({nS} + {nE}) / items_per_nmol",
                "endogenous IL-2 secretion",
                "SBO:0000393",
            )
    # endogenous IL-2 from antigen-specific CD4 helpers in lymphoid organs (where antigen is
    # presented); exhaustion of the response takes most of it away
    lig = f"L_{ENDOGENOUS_IL2}_peripheral"
    helpers = [
        p for p in sites if im.roles.get(p.id) == "cd4_helper" and p.location == "peripheral"
    ]
    if ag is not None and helpers and lig in net.species:
        sec = par("il2_secretion_cd4_per_cell_per_h", per_day=False, units="per_h")
        frac = par("cd4_antigen_specific_fraction", per_day=False)
        loss = par("cd4_il2_loss_when_exhausted", per_day=False)
        for h in helpers:
            net.reaction(
                f"il2_secretion_{h.id}",
                {},
                {lig: 1},
                f"{sec} * {frac} * {ag} * ({ONE} - {loss} * {exhaustion})"
                f" * N_{h.id} / items_per_nmol",
                "endogenous IL-2 secretion by antigen-specific CD4 helpers",
                "SBO:0000393",
            )
    if any(r.startswith("il2_secretion_") for r in net.reactions):
        # Once antigen is cleared, endogenous IL-2 below one molecule in the whole body is
        # gone: a continuous amount means nothing there. Its washout would otherwise be
        # followed across tens of decades, which after a cleared tumour cost the solver ~7x
        # the steps of the rest of the treatment (README, Benchmarks).
        present = form_amounts(model, ENDOGENOUS_IL2)
        net.event(
            f"{ENDOGENOUS_IL2}_gone",
            f"{ag} <= 0 dimensionless && "
            f"({' + '.join(present.values())}) * items_per_nmol < 1 item",
            {s: f"0 {net.species[s].units}" for s in present},
            "endogenous IL-2 below one molecule in the body (antigen cleared)",
        )
    # 5. disease dynamics
    if im.burden is not None:
        ctl = ctl_terms[0] if ctl_terms else "0 item"
        if disease == "tumour":
            T = im.burden
            tp = next(p for p in sites if f"N_{p.id}" == T)
            ratio = f"({ctl} / max({T}, 1 item))"  # finite as the tumour goes
            lam = par("depillis_lambda", per_day=False)
            s_ = par("depillis_s", per_day=False)
            kill = f"{par('depillis_d_per_day')} * {ratio}^{lam} / ({s_} + {ratio}^{lam})"
            nk = next(
                (p for p in sites if im.roles.get(p.id) == "nk" and p.location == site_loc), None
            )
            nk_term = (
                f" - {par('nk_kill_per_cell_per_day', units='per_item_per_h')} * N_{nk.id}"
                f" * ({ONE} + {par('il2_cytotoxicity_gain', per_day=False)}"
                f" * {f'g_{nk.id}' if nk.id in model.pstat5 else '0 dimensionless'}) * {T}"
                if nk
                else ""
            )
            cap = par("tumour_capacity_fold", per_day=False)
            net.event(
                f"tumour_eradicated_{sid(site_loc)}",
                f"{T} < 1 item",
                {T: "0 item"},
                "tumour eradicated (fewer than one cell)",
            )
            net.rate_rule(
                T,
                f"{par('tumour_growth_per_day')} * {T} * ({ONE} - {T} / ({cap} * N0_{tp.id}))"
                f" - {kill} * {T}{nk_term}",
            )
        else:
            V = im.burden
            net.rate_rule(
                V,
                f"{par('virus_replication_per_day')} * {V} * ({ONE} - {V})"
                f" - {par('virus_killing_per_ctl_per_day', units='per_item_per_h')} * {ctl} * {V}",
            )
    # 6. toxicity indices
    endothelium = [p for p in model.populations if "endothelium" in p.cell.name]
    endo = next((p for p in endothelium if p.id in model.pstat5), None)
    nk_p = next(
        (p for p in sites if im.roles.get(p.id) == "nk" and p.location == "peripheral"), None
    )
    parts = []
    if endo is not None:
        r0 = f"R0_IL2RBG_{endo.id}"
        parts.append(f"pSTAT5_{endo.id} * ({r0} + k_half) / {r0}")
    if nk_p is not None and nk_p.id in model.pstat5:
        parts.append(
            f"{par('vascular_leak_nk_weight', per_day=False)} * fold_{nk_p.id} * s_{nk_p.id}"
        )
    if endothelium or nk_p is not None:
        # zero where no IL-2 form binds these cells (a trial model's endogenous IL-2)
        im.toxicity["vascular_leak_index"] = net.rule(
            "vascular_leak_index",
            " + ".join(parts) or "0 dimensionless",
            "dimensionless",
            "CD25+ endothelium signaling plus NK activation",
        )
    act = [
        f"fold_{p.id} * s_{p.id}"
        for p in sites
        if im.roles.get(p.id) in ("nk", "cd8_memory", "effector") and p.id in model.pstat5
    ]
    if act:
        im.toxicity["cytokine_release_index"] = net.rule(
            "cytokine_release_index",
            " + ".join(act),
            "dimensionless",
            "activated NK and CD8 T cells (fold x normalised pSTAT5), summed",
        )
    return im


def build_arm_model(
    setting,
    arm,
    *,
    duration_days: float,
    run_in_days: float,
    endogenous_il2_sites: Collection[str] | None = None,
) -> tuple[BodyModel, ImmuneModel]:
    """The full network of one arm of a therapy setting: body, drug, antibodies, endogenous
    IL-2, cells and disease. Treatment starts after ``run_in_days`` (time 0 of the model is the
    start of the run-in). ``endogenous_il2_sites``: the locations where endogenous IL-2 binds
    cells (None: everywhere)."""
    from il2sim.model._body import build_body_model

    model = build_body_model(
        arm.drug,
        arm.regimen,
        body=setting.body,
        weight_kg=setting.weight_kg,
        antibodies=[(a.antibody, a.regimen) for a in arm.antibodies],
        horizon_h=duration_days * 24.0,
        endogenous_il2=True,
        endogenous_il2_sites=endogenous_il2_sites,
        dose_offset_h=run_in_days * 24.0,
    )
    model.network.id = sid(f"il2sim_{setting.name}_{arm.name}")
    vaccine = tuple((run_in_days + d) * 24.0 for d in getattr(arm, "vaccine_days", ()))
    return model, add_immunity(
        model, setting.disease, vaccine_times_h=vaccine, infection_time_h=run_in_days * 24.0
    )
