"""Motif: toxicity indices read off the cells IL-2 reaches: vascular leak (CD25+ endothelium
signaling plus peripheral NK activation) and cytokine release (activated NK and CD8 T
cells), and the dose holds they set."""

from __future__ import annotations

from il2sim.model._immunity._context import Context

ACTIVATED = ("nk", "cd8_memory", "effector")


def toxicity_indices(cx: Context) -> None:
    """``vascular_leak_index`` (0 where no IL-2 form binds these cells) and
    ``cytokine_release_index`` (fold x normalised pSTAT5, summed), recorded in
    ``ImmuneModel.toxicity``; each IL-2 drug's doses are withheld while the vascular leak
    index is severe in a patient (catalog ``dose_withhold_at_severe_leak``)."""
    net, model, im = cx.net, cx.model, cx.im
    endothelium = [p for p in model.populations if "endothelium" in p.cell.name]
    endo = next((p for p in endothelium if p.id in model.pstat5), None)
    nk_p = next((p for p in cx.sites if cx.role(p) == "nk" and p.location == "peripheral"), None)
    parts = []
    if endo is not None:
        r0 = f"R0_IL2RBG_{endo.id}"
        parts.append(f"pSTAT5_{endo.id} * ({r0} + k_half) / {r0}")
    if nk_p is not None and nk_p.id in model.pstat5:
        weight = cx.par("vascular_leak_nk_weight", per_day=False)
        parts.append(f"{weight} * fold_{nk_p.id} * s_{nk_p.id}")
    if endothelium or nk_p is not None:
        im.toxicity["vascular_leak_index"] = net.rule(
            "vascular_leak_index",
            " + ".join(parts) or "0 dimensionless",
            "dimensionless",
            "CD25+ endothelium signaling plus NK activation",
        )
        _withhold_at_severe_leak(cx, im.toxicity["vascular_leak_index"])
    act = [
        f"fold_{p.id} * s_{p.id}"
        for p in cx.sites
        if cx.role(p) in ACTIVATED and p.id in model.pstat5
    ]
    if act:
        im.toxicity["cytokine_release_index"] = net.rule(
            "cytokine_release_index",
            " + ".join(act),
            "dimensionless",
            "activated NK and CD8 T cells (fold x normalised pSTAT5), summed",
        )


def _withhold_at_severe_leak(cx: Context, leak: str) -> None:
    """In a human body, ``leak_severe``: 1 while ``leak`` is at or above its severe threshold
    (set by two events at the crossings, which the solver locates); each IL-2 drug's dose
    events give the dose only while it is 0 (or withholding is off): ``dose_withheld_<drug>``
    in their assignments becomes that flag."""
    net = cx.net
    if not cx.model.dose_counters or cx.model.body.species != "human":
        return  # a clinical rule: animal experiments give every dose of their protocol
    on = cx.par("dose_withhold_at_severe_leak", per_day=False)
    thr = cx.par("vascular_leak_threshold", per_day=False)
    flag = net.parameter(
        "leak_severe",
        0.0,
        "dimensionless",
        "1 while the vascular leak index is at or above its severe threshold",
        "set by events",
        constant=False,
    )
    net.event("leak_severe_on", f"{leak} >= {thr}", {flag: "1 dimensionless"}, "leak severe")
    net.event("leak_severe_off", f"{leak} < {thr}", {flag: "0 dimensionless"}, "leak not severe")
    for counter in cx.model.dose_counters.values():
        held = counter.replace("doses_given_", "dose_withheld_", 1)
        net.parameters.pop(held)
        for ev in net.events.values():
            if any(held in f for f in ev.assignments.values()):
                ev.assignments = {
                    k: f.replace(held, f"{on} * {flag}") for k, f in ev.assignments.items()
                }
