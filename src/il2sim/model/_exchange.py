"""The model in the formats other tools read: Antimony text (readable, Tellurium's language)
and a COMBINE archive (the SBML with a SED-ML description of its simulation, which Tellurium,
COPASI and other SED-ML tools replay). Both are made with the standard libraries (antimony,
libSEDML, libCOMBINE), not written by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: COMBINE format identifiers of what an archive holds.
SBML_FORMAT = "http://identifiers.org/combine.specifications/sbml.level-3.version-2"
SEDML_FORMAT = "http://identifiers.org/combine.specifications/sed-ml.level-1.version-3"
#: KiSAO term of the integrator (CVODE, as libRoadRunner uses).
CVODE_KISAO = "KISAO:0000019"


class ExchangeError(RuntimeError):
    """A model could not be converted; the message says which step failed."""


def to_antimony(sbml_text: str) -> str:
    """The SBML model as Antimony text."""
    import antimony

    antimony.clearPreviousLoads()
    if antimony.loadSBMLString(sbml_text) < 0:
        raise ExchangeError(f"antimony could not read the SBML: {antimony.getLastError()}")
    text = antimony.getAntimonyString(None)
    if not text:
        raise ExchangeError(f"antimony gave no text: {antimony.getLastError()}")
    return text


def simulation_sedml(
    end_h: float, points: int, outputs: Sequence[str], model_file: str = "model.xml"
) -> str:
    """SED-ML (L1V3) of one uniform time course of the model in ``model_file`` from 0 to
    ``end_h`` (the model's time unit, hours) at ``points`` intervals with CVODE, reporting time
    and each id in ``outputs`` (species, parameters or assignment rules of the model)."""
    import libsedml

    doc = libsedml.SedDocument(1, 3)
    model = doc.createModel()
    model.setId("model")
    model.setSource(model_file)
    model.setLanguage("urn:sedml:language:sbml.level-3.version-2")
    sim = doc.createUniformTimeCourse()
    sim.setId("time_course")
    sim.setInitialTime(0.0)
    sim.setOutputStartTime(0.0)
    sim.setOutputEndTime(float(end_h))
    sim.setNumberOfPoints(int(points))
    sim.createAlgorithm().setKisaoID(CVODE_KISAO)
    task = doc.createTask()
    task.setId("task")
    task.setModelReference("model")
    task.setSimulationReference("time_course")
    report = doc.createReport()
    report.setId("report")
    for name in ("time", *outputs):
        dg = doc.createDataGenerator()
        dg.setId(f"dg_{name}")
        var = dg.createVariable()
        var.setId(f"v_{name}")
        var.setTaskReference("task")
        if name == "time":
            var.setSymbol("urn:sedml:symbol:time")
        else:
            var.setTarget(f"/sbml:sbml/sbml:model/descendant::*[@id='{name}']")
        dg.setMath(libsedml.parseFormula(f"v_{name}"))
        ds = report.createDataSet()
        ds.setId(f"ds_{name}")
        ds.setLabel(name)
        ds.setDataReference(f"dg_{name}")
    text = libsedml.writeSedMLToString(doc)
    if doc.getNumErrors(libsedml.LIBSEDML_SEV_ERROR):
        raise ExchangeError(f"SED-ML not valid: {doc.getErrorLog().toString()}")
    return text


def write_combine_archive(
    sbml_text: str, path: Path, *, end_h: float, points: int, outputs: Sequence[str]
) -> None:
    """A COMBINE archive (.omex) with the SBML model (master file) and its SED-ML time course."""
    import libcombine

    archive = libcombine.CombineArchive()
    ok = archive.addFileFromString(sbml_text, "model.xml", SBML_FORMAT, True)
    sedml = simulation_sedml(end_h, points, outputs)
    ok = ok and archive.addFileFromString(sedml, "simulation.sedml", SEDML_FORMAT, False)
    if not ok or not archive.writeToFile(str(path)):
        raise ExchangeError(f"could not write the COMBINE archive {path}")
