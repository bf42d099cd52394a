"""An SBML model as CasADi expressions: the right-hand side, initial values, readouts and
events of the models il2sim exports, for the sparse engine (:mod:`il2sim.simulate._sparse`).

What is translated: reactions (amount per time; a species that is a concentration changes by
the amount over its constant compartment), rate and assignment rules, initial assignments,
events without delays. Symbols follow SBML: a species id means its concentration unless it has
only substance units. Anything else (delays, algebraic rules, function definitions, variable
compartments) is refused with the construct named, so a model is never solved half-read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libsbml


class UnsupportedSBMLError(ValueError):
    """The model uses an SBML construct the sparse engine does not translate."""


def casadi() -> Any:
    """The casadi module (imported on first use: it takes ~0.3 s)."""
    import casadi as ca

    return ca


@dataclass
class Event:
    """One SBML event: fires when ``trigger`` (an expression of t, x, p: 0 or 1) goes from
    false to true; ``assign`` (t, x, p -> values) gives its assignments. ``time_of`` (p -> t)
    is set for a trigger of the form time >= expression of parameters (a dose), None for a
    trigger on the state."""

    id: str
    trigger: Any
    assign: Any
    targets: list[tuple[int, int]]  # (position among the assignments, state index)
    switches: list[tuple[int, int]]  # (position, parameter index) of switched parameters
    time_of: Any = None


_COMPARE = {"lt", "gt", "leq", "geq", "eq", "neq"}


class Translation:
    """The CasADi graph of one SBML text: states ``x`` (species, then parameters changed by
    rate rules or events), parameters ``p`` (every other global parameter and compartment)."""

    def __init__(self, text: str) -> None:
        ca = casadi()
        doc = libsbml.readSBMLFromString(text)
        model = doc.getModel()
        if model is None or doc.getNumErrors(libsbml.LIBSBML_SEV_FATAL):
            raise UnsupportedSBMLError("the text is not a readable SBML model")
        self._refuse(model)
        # the document owns the math trees of rules, translated later when a readout asks
        # (without this reference they are freed with it, and reading one crashes)
        self._document = doc
        self.sizes = {c.getId(): c.getSize() for c in model.getListOfCompartments()}
        species = [s.getId() for s in model.getListOfSpecies()]
        rules = list(model.getListOfRules())
        rated = [r.getVariable() for r in rules if r.isRate()]
        assigned = {
            a.getVariable() for e in model.getListOfEvents() for a in e.getListOfEventAssignments()
        }
        params = [q.getId() for q in model.getListOfParameters()]
        self.state_ids = species + [k for k in params if k in rated and k not in species]
        self.index = {k: i for i, k in enumerate(self.state_ids)}
        self.ruled = {r.getVariable(): r.getMath() for r in rules if r.isAssignment()}
        starts = {a.getSymbol(): a.getMath() for a in model.getListOfInitialAssignments()}
        # a parameter only events change (a dose counter, an infusion rate, a flag) is constant
        # between events: a parameter of the solve, never integrated (a state whose rate is 0
        # would still move by rounding in the linear solves)
        self.switched_ids = [k for k in params if k in assigned and k not in self.index]
        self.parameter_ids = [
            k
            for k in params
            if k not in self.index and k not in self.ruled and k not in starts
            and k not in assigned
        ] + list(self.sizes) + self.switched_ids  # fmt: skip
        self.parameter_index = {k: i for i, k in enumerate(self.parameter_ids)}
        self.defaults = [
            model.getParameter(k).getValue() if k not in self.sizes else self.sizes[k]
            for k in self.parameter_ids
        ]
        self.t = ca.SX.sym("t")
        self.x = ca.SX.sym("x", len(self.state_ids))
        self.p = ca.SX.sym("p", len(self.parameter_ids))
        self._done: dict[str, Any] = {}
        self._derived = {
            k: m for k, m in starts.items() if k not in self.index and k not in self.switched_ids
        }
        self.hosu = {s.getId(): s.getHasOnlySubstanceUnits() for s in model.getListOfSpecies()}
        self.compartment = {s.getId(): s.getCompartment() for s in model.getListOfSpecies()}
        self.rhs = self._rhs(model)
        self.initial = self._initial(model, starts)
        self.events = [self._event(e) for e in model.getListOfEvents()]

    @staticmethod
    def _refuse(model: libsbml.Model) -> None:
        problems = []
        if model.getNumFunctionDefinitions():
            problems.append("function definitions")
        if any(r.isAlgebraic() for r in model.getListOfRules()):
            problems.append("algebraic rules")
        if any(e.isSetDelay() for e in model.getListOfEvents()):
            problems.append("event delays")
        if any(not c.getConstant() for c in model.getListOfCompartments()):
            problems.append("compartments that change size")
        if problems:
            raise UnsupportedSBMLError(
                f"model {model.getId()!r} uses {', '.join(problems)}: the sparse engine does "
                "not translate these; use engine 'roadrunner'"
            )

    def size(self, species: str) -> Any:
        """The (symbolic) size of a species' compartment."""
        return self.p[self.parameter_index[self.compartment[species]]]

    def expr(self, node: libsbml.ASTNode) -> Any:
        """The CasADi expression of an SBML math tree. (Nodes are told apart by name,
        character and definition URL, not by ``getType``: once libsedml or libcombine is
        imported, that returns a SWIG pointer instead of the enum.)"""
        ca = casadi()
        if node.isNumber():
            return ca.SX(node.getValue())
        if _is_time(node):
            return self.t
        name = node.getName()
        if node.isConstant() and name in ("pi", "true", "false"):
            return ca.SX({"pi": ca.pi, "true": 1.0, "false": 0.0}[name])
        if node.isName():
            return self._symbol(name)
        kids = [self.expr(node.getChild(i)) for i in range(node.getNumChildren())]
        op = node.getCharacter() if node.isOperator() else ""
        if op == "+":
            return sum(kids[1:], kids[0]) if kids else ca.SX(0)
        if op == "-":
            return -kids[0] if len(kids) == 1 else kids[0] - kids[1]
        if op == "*":
            out = kids[0] if kids else ca.SX(1)
            for k in kids[1:]:
                out = out * k
            return out
        if op == "/":
            return kids[0] / kids[1]
        if op == "^" or name in ("power", "pow"):
            return kids[0] ** kids[1]
        if node.isPiecewise():
            out = kids[-1] if len(kids) % 2 else ca.SX(float("nan"))
            for value, cond in reversed(list(zip(kids[0::2], kids[1::2], strict=False))):
                out = ca.if_else(cond, value, out)
            return out
        unary = {
            "exp": ca.exp, "ln": ca.log, "sqrt": ca.sqrt, "abs": ca.fabs, "floor": ca.floor,
            "ceiling": ca.ceil, "not": ca.logic_not, "sin": ca.sin, "cos": ca.cos,
        }  # fmt: skip
        if name in unary and len(kids) == 1:
            return unary[name](kids[0])
        if name == "log" and len(kids) == 2:
            return ca.log(kids[1]) / ca.log(kids[0])
        if name == "log" and len(kids) == 1:
            return ca.log10(kids[0])
        if name in ("max", "min"):
            out = kids[0]
            for k in kids[1:]:
                out = ca.fmax(out, k) if name == "max" else ca.fmin(out, k)
            return out
        if name in ("and", "or") and kids:
            out = kids[0]
            for k in kids[1:]:
                out = ca.logic_and(out, k) if name == "and" else ca.logic_or(out, k)
            return out
        if name in _COMPARE and len(kids) == 2:
            a, b = kids
            return {
                "lt": a < b, "gt": a > b, "leq": a <= b, "geq": a >= b, "eq": a == b,
                "neq": a != b,
            }[name]  # fmt: skip
        raise UnsupportedSBMLError(
            f"SBML math {name or libsbml.formulaToL3String(node)!r} is not translated by the "
            "sparse engine"
        )

    def _symbol(self, name: str) -> Any:
        if name in self.index:
            return self.x[self.index[name]]
        if name in self.parameter_index:
            return self.p[self.parameter_index[name]]
        if name in self._done:
            return self._done[name]
        math = self.ruled.get(name) or self._derived.get(name)
        if math is None:
            raise UnsupportedSBMLError(f"symbol {name!r} has no value in the model")
        self._done[name] = self.expr(math)
        return self._done[name]

    def _rhs(self, model: libsbml.Model) -> Any:
        ca = casadi()
        rate = [ca.SX(0)] * len(self.state_ids)
        fixed = {s.getId() for s in model.getListOfSpecies() if s.getBoundaryCondition()}
        for r in model.getListOfReactions():
            v = self.expr(r.getKineticLaw().getMath())
            for refs, sign in ((r.getListOfReactants(), -1.0), (r.getListOfProducts(), 1.0)):
                for ref in refs:
                    if ref.getSpecies() not in fixed:
                        rate[self.index[ref.getSpecies()]] += sign * ref.getStoichiometry() * v
        for s in self.hosu:
            if not self.hosu[s]:  # a concentration changes by the amount / volume
                rate[self.index[s]] /= self.size(s)
        for r in model.getListOfRules():
            if r.isRate():
                rate[self.index[r.getVariable()]] = self.expr(r.getMath())
        return ca.vertcat(*rate)

    def _initial(self, model: libsbml.Model, starts: dict) -> Any:
        """Initial states, then the switched parameters' initial values, as a function of p and
        of the states themselves (an initial assignment may read another species' initial
        value: evaluate to a fixed point)."""
        ca = casadi()
        out = []
        for k in self.state_ids:
            if k in starts:
                out.append(self.expr(starts[k]))
            elif k in self.hosu:
                s = model.getSpecies(k)
                if s.isSetInitialConcentration():
                    c = s.getInitialConcentration()
                    out.append(ca.SX(c) * self.size(k) if self.hosu[k] else ca.SX(c))
                else:
                    a = s.getInitialAmount()
                    out.append(ca.SX(a) if self.hosu[k] else ca.SX(a) / self.size(k))
            else:
                out.append(ca.SX(model.getParameter(k).getValue()))
        for k in self.switched_ids:
            out.append(self.expr(starts[k]) if k in starts else self._symbol(k))
        return ca.vertcat(*out)

    def _event(self, e: libsbml.Event) -> Event:
        ca = casadi()
        math = e.getTrigger().getMath()
        trigger = self.expr(math)
        assigns = list(e.getListOfEventAssignments())
        names = [a.getVariable() for a in assigns]
        targets = [(j, self.index[k]) for j, k in enumerate(names) if k in self.index]
        switches = [
            (j, self.parameter_index[k]) for j, k in enumerate(names) if k not in self.index
        ]
        values = ca.vertcat(*[self.expr(a.getMath()) for a in assigns])
        args = [self.t, self.x, self.p]
        ev = Event(
            e.getId(),
            trigger,
            ca.Function(f"assign_{e.getId()}", args, [values]),
            targets,
            switches,
        )
        if (
            math.getName() in ("geq", "gt")
            and math.getNumChildren() == 2
            and _is_time(math.getChild(0))
        ):
            rhs = self.expr(math.getChild(1))
            if not ca.depends_on(rhs, ca.vertcat(self.t, self.x)):
                ev.time_of = ca.Function(f"time_{e.getId()}", [self.p], [rhs])
        return ev

    def readout(self, name: str) -> Any:
        """libRoadRunner's selection convention: a species id is its amount, ``[id]`` its
        concentration; rules, parameters and states by id; ``time``."""
        if name == "time":
            return self.t
        if name.startswith("[") and name.endswith("]") and name[1:-1] in self.hosu:
            s = name[1:-1]
            return self.x[self.index[s]] / (self.size(s) if self.hosu[s] else 1.0)
        if name in self.hosu:
            return self.x[self.index[name]] * (1.0 if self.hosu[name] else self.size(name))
        try:
            return self._symbol(name)
        except UnsupportedSBMLError:
            raise KeyError(f"{name!r} is not a species, rule, parameter or compartment") from None


def _is_time(node: libsbml.ASTNode) -> bool:
    return node.isName() and node.getDefinitionURLString().endswith("/symbols/time")
