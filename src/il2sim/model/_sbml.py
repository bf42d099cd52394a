"""Write a :class:`Network` as SBML Level 3 Version 2 with units, names, notes (each
parameter's source) and SBO terms, and check a document with libSBML."""

from __future__ import annotations

import re
from html import escape

import libsbml

from il2sim.model._network import Network
from il2sim.model._units import add_unit_definitions


class SBMLError(ValueError):
    """libSBML could not read or refused a document; the message lists its errors."""


def _notes(obj: libsbml.SBase, text: str) -> None:
    if text:
        obj.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>')


def _math(formula: str, where: str) -> libsbml.ASTNode:
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise SBMLError(
            f"{where}: cannot parse formula {formula!r}: {libsbml.getLastParseL3Error()}"
        )
    return ast


def _ok(code: int, where: str) -> None:
    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SBMLError(f"{where}: libSBML refused ({libsbml.OperationReturnValue_toString(code)})")


def _names_in(formula: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula))


def to_sbml(net: Network) -> str:
    """The network as an SBML L3V2 string."""
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId(net.id)
    model.setName(net.name or net.id)
    _notes(model, net.notes)
    used = {net.time_units, net.substance_units, "litre", "dimensionless"}
    used |= {p.units for p in net.parameters.values()}
    used |= {s.units for s in net.species.values() if s.amount_only}
    add_unit_definitions(model, used)
    model.setTimeUnits(net.time_units)
    model.setSubstanceUnits(net.substance_units)
    model.setExtentUnits(net.substance_units)
    model.setVolumeUnits("litre")

    for c in net.compartments.values():
        comp = model.createCompartment()
        comp.setId(c.id)
        comp.setName(c.name)
        comp.setSpatialDimensions(3)
        comp.setSize(c.size_L)
        comp.setUnits("litre")
        comp.setConstant(True)
        comp.setSBOTerm("SBO:0000290")
        _notes(comp, c.source)
    for p in net.parameters.values():
        par = model.createParameter()
        par.setId(p.id)
        par.setName(p.name)
        par.setValue(p.value)
        par.setUnits(p.units)
        par.setConstant(p.constant)
        if p.sbo:
            par.setSBOTerm(p.sbo)
        _notes(par, p.source)
    for s in net.species.values():
        sp = model.createSpecies()
        sp.setId(s.id)
        sp.setName(s.name or s.id)
        sp.setCompartment(s.compartment)
        sp.setHasOnlySubstanceUnits(s.amount_only)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        sp.setSubstanceUnits(s.units if s.amount_only else net.substance_units)
        if s.amount_only:
            sp.setInitialAmount(s.initial)
        else:
            sp.setInitialConcentration(s.initial)
        if s.sbo:
            sp.setSBOTerm(s.sbo)
        if s.initial_assignment:
            ia = model.createInitialAssignment()
            ia.setSymbol(s.id)
            _ok(ia.setMath(_math(s.initial_assignment, f"initial assignment of {s.id}")), s.id)
    for ar in net.rules.values():
        rule = model.createAssignmentRule()
        rule.setVariable(ar.variable)
        _ok(rule.setMath(_math(ar.formula, f"rule {ar.variable}")), ar.variable)
    for var, formula in net.rate_rules.items():
        rule = model.createRateRule()
        rule.setVariable(var)
        _ok(rule.setMath(_math(formula, f"rate rule {var}")), var)
    for r in net.reactions.values():
        rx = model.createReaction()
        rx.setId(r.id)
        rx.setName(r.name)
        rx.setReversible(False)
        if r.sbo:
            rx.setSBOTerm(r.sbo)
        for sid, n in r.reactants.items():
            ref = rx.createReactant()
            ref.setSpecies(sid)
            ref.setStoichiometry(n)
            ref.setConstant(True)
        for sid, n in r.products.items():
            ref = rx.createProduct()
            ref.setSpecies(sid)
            ref.setStoichiometry(n)
            ref.setConstant(True)
        for sid in sorted(
            _names_in(r.rate) & net.species.keys() - r.reactants.keys() - r.products.keys()
        ):
            mod = rx.createModifier()
            mod.setSpecies(sid)
        kl = rx.createKineticLaw()
        _ok(kl.setMath(_math(r.rate, f"rate of reaction {r.id}")), r.id)
    for e in net.events.values():
        _add_event(model, e.id, e.trigger, e.assignments, e.name, e.values_at_trigger)
    return libsbml.writeSBMLToString(doc)


def _add_event(
    model: libsbml.Model,
    eid: str,
    trigger: str,
    assignments: dict[str, str],
    name: str = "",
    values_at_trigger: bool = True,
) -> None:
    """An event that fires once its trigger turns true (also at t = 0), assigning values
    computed at trigger time (or, without ``values_at_trigger``, when it executes)."""
    ev = model.createEvent()
    ev.setId(eid)
    if name:
        ev.setName(name)
    ev.setUseValuesFromTriggerTime(values_at_trigger)
    trig = ev.createTrigger()
    trig.setInitialValue(False)
    trig.setPersistent(True)
    _ok(trig.setMath(_math(trigger, f"trigger of event {eid}")), eid)
    for var, formula in assignments.items():
        ea = ev.createEventAssignment()
        ea.setVariable(var)
        _ok(ea.setMath(_math(formula, f"event {eid} assignment to {var}")), eid)


def check_sbml(text: str, *, units: bool = True) -> list[str]:
    """libSBML's consistency checks (with unit checks); returns errors and warnings as text.

    An empty list means the document passed. Unit warnings count: il2sim's own documents must
    have none.
    """
    doc = libsbml.readSBMLFromString(text)
    problems = [
        doc.getError(i).getMessage().strip()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    if problems:
        return problems
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_MODELING_PRACTICE, False)
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_WARNING:
            out.append(
                f"line {err.getLine()}: [{err.getCategoryAsString()}] {err.getMessage().strip()}"
            )
    return out


def add_dosing(
    text: str,
    species_id: str,
    doses: list[tuple[float, float, float]],
    *,
    prefix: str = "il2sim_dose",
) -> str:
    """Add dosing to any SBML model: ``doses`` are ``(time, amount, duration)`` in the model's
    own time and substance units; duration 0 is a bolus (an event adding the amount), otherwise
    a zero-order infusion (a rate parameter switched by events driving a new reaction)."""
    doc = libsbml.readSBMLFromString(text)
    if doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) or doc.getModel() is None:
        raise SBMLError("not a readable SBML model: " + doc.getErrorLog().toString()[:500])
    if doc.getLevel() < 3:
        doc.setLevelAndVersion(3, 2, False)
    model = doc.getModel()
    sp = model.getSpecies(species_id)
    if sp is None:
        ids = [s.getId() for s in model.getListOfSpecies()]
        raise SBMLError(f"unknown species {species_id!r} to dose; the model has: {', '.join(ids)}")
    comp = sp.getCompartment()
    as_conc = not sp.getHasOnlySubstanceUnits()
    rate_id = f"{prefix}_rate_{species_id}"
    if any(d[2] > 0 for d in doses):
        par = model.createParameter()
        par.setId(rate_id)
        par.setValue(0.0)
        par.setConstant(False)
        rx = model.createReaction()
        rx.setId(f"{prefix}_infusion_{species_id}")
        rx.setReversible(False)
        ref = rx.createProduct()
        ref.setSpecies(species_id)
        ref.setStoichiometry(1.0)
        ref.setConstant(True)
        rx.createKineticLaw().setMath(_math(rate_id, "infusion rate"))
    for k, (t, amount, dur) in enumerate(doses):
        eid = f"{prefix}_{species_id}_{k}"
        if dur <= 0:
            add = f"{amount!r} / {comp}" if as_conc else f"{amount!r}"
            _add_event(model, eid, f"time >= {t!r}", {species_id: f"{species_id} + {add}"})
        else:
            _add_event(model, eid, f"time >= {t!r}", {rate_id: f"{amount / dur!r}"})
            _add_event(model, f"{eid}_end", f"time >= {t + dur!r}", {rate_id: "0"})
    return libsbml.writeSBMLToString(doc)
