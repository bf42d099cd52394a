"""PEtab: il2sim's fitter against a published benchmark problem, and the signaling calibration
exported as a PEtab problem."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim import analysis, binding
from il2sim.cli import app
from il2sim.simulate import Simulator

DATA = Path(__file__).parent / "data" / "petab"
BOEHM = DATA / "Boehm_JProteomeRes2014"
BOEHM_YAML = BOEHM / "Boehm_JProteomeRes2014.yaml"


@pytest.fixture(scope="module")
def boehm():
    return analysis.PetabObjective(BOEHM_YAML)


@pytest.mark.slow
def test_boehm_simulation_matches_the_benchmark_collection(boehm):
    """Our libRoadRunner simulation at the collection's nominal (best-fit) parameters equals
    the collection's own simulation (simulatedData) to solver precision, and the objective
    equals the Gaussian negative log-likelihood of their simulation."""
    ref = pd.read_csv(BOEHM / "simulatedData_Boehm_JProteomeRes2014.tsv", sep="\t")
    x = boehm.scaled(boehm.nominal)
    mine = boehm.simulate(boehm.full(x))
    assert np.max(np.abs(mine - ref.simulation.to_numpy())) < 1e-4 * np.abs(ref.simulation).max()
    sd = {o: boehm.nominal[f"sd_{o}"] for o in ("pSTAT5A_rel", "pSTAT5B_rel", "rSTAT5A_rel")}
    sigma = boehm.data.observableId.map(sd).to_numpy()
    y = boehm.data.measurement.to_numpy()
    nll_ref = np.sum(
        0.5 * np.log(2 * np.pi * sigma**2) + 0.5 * ((y - ref.simulation.to_numpy()) / sigma) ** 2
    )
    assert boehm.nll(x) == pytest.approx(nll_ref, abs=1e-3)
    assert boehm.nll(x) == pytest.approx(138.222, abs=1e-3)  # measured: 138.2220
    assert analysis.lint(BOEHM_YAML) == []


@pytest.mark.slow
def test_fit_stays_at_the_optimum_and_profiles_bound_an_identifiable_parameter(boehm):
    result = analysis.fit(boehm, n_starts=1)
    assert result.nll <= boehm.nll(boehm.scaled(boehm.nominal)) + 1e-6
    profiles, ci = analysis.profile(boehm, result, ["k_phos"], max_steps=6)
    row = ci.iloc[0]
    assert row.lower_95 < result.parameters["k_phos"] < row.upper_95
    # ~ +-20% (measured 12,953-19,500 around 15,767)
    assert 0.6 < row.lower_95 / row.estimate < 0.95 and 1.05 < row.upper_95 / row.estimate < 1.6
    assert (profiles.delta >= -1e-3).all()  # the optimum is the profile's lowest point


def test_unsupported_problems_are_refused_by_name(tmp_path):
    obs = pd.read_csv(BOEHM / "observables_Boehm_JProteomeRes2014.tsv", sep="\t")
    obs["noiseDistribution"] = "cauchy"
    for f in BOEHM.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    obs.to_csv(tmp_path / "observables_Boehm_JProteomeRes2014.tsv", sep="\t", index=False)
    with pytest.raises(analysis.PetabError, match=r"noiseDistribution \['cauchy'\] is not"):
        analysis.PetabObjective(tmp_path / BOEHM_YAML.name)


@pytest.fixture(scope="module")
def signaling(tmp_path_factory):
    out = tmp_path_factory.mktemp("petab")
    return analysis.signaling_petab(out, cells=["treg", "nk"], dates=["3/15/2019"])


def test_signaling_problem_passes_petablint_and_keeps_the_data(signaling):
    assert analysis.lint(signaling) == []
    m = pd.read_csv(signaling.parent / "measurements.tsv", sep="\t")
    data = binding.load_pstat5_data()
    sub = data[data.cell.isin(["treg", "nk"]) & (data.date == "3/15/2019")]
    assert set(sub.drug) == {"aldesleukin", "il15"}  # IL-2 and IL-15 on that date
    assert len(m) == len(sub) and m.measurement.sum() == pytest.approx(sub.signal.sum())
    pars = pd.read_csv(signaling.parent / "parameters.tsv", sep="\t").set_index("parameterId")
    assert pars.loc["kx", "estimate"] == 0  # only a two-unit ligand makes kx identifiable


def test_two_unit_ligands_export_with_kx_estimated(tmp_path):
    path = analysis.signaling_petab(tmp_path, cells=["nk"], dates=["4/19/2019"])
    assert analysis.lint(path) == []
    cond = pd.read_csv(tmp_path / "conditions.tsv", sep="\t")
    assert (cond.L_biv_nM > 0).sum() > 0 and ((cond.L_biv_nM > 0) & (cond.L_mono_nM > 0)).sum() == 0
    pars = pd.read_csv(tmp_path / "parameters.tsv", sep="\t").set_index("parameterId")
    assert pars.loc["kx", "estimate"] == 1
    with pytest.raises(ValueError, match=r"drugs: \['nivolumab'\] not in the data"):
        analysis.signaling_petab(tmp_path, drugs=["nivolumab"])


def test_signaling_model_relaxes_to_the_equilibrium_solver():
    """The exported SBML model and the receptor layer's equilibrium solver are one model:
    after long binding they give the same signaling complexes per cell."""
    sim = Simulator(analysis.signaling_model())
    for drug, cell, dose in (
        ("aldesleukin", "treg", 0.01),
        ("fc_h16n_nterm_mono", "nk", 5.0),
        ("fc_wt_nterm_biv", "treg", 0.1),
        ("il15", "nk", 1.0),
    ):
        pars = analysis.condition_values(drug, cell, dose)
        active = sim.run([0.0, 500.0], ["active"], pars)["active"][-1]
        eq = binding.dose_response([drug], [cell], [dose]).active_complexes_per_cell.iloc[0]
        assert active == pytest.approx(eq, rel=1e-3), drug


@pytest.mark.slow
def test_signaling_fit_improves_on_the_catalog_and_solves_scales(signaling):
    obj = analysis.PetabObjective(signaling)
    assert obj.outer == ["cooperativity", "k_half", "sigma_rel"]
    assert len(obj.hierarchical) == 8  # 2 cells x 4 time points on one date
    start = obj.nll(obj.scaled(obj.nominal))
    result = analysis.fit(obj, n_starts=1)
    assert result.nll <= start
    y, s = result.fit.measurement.to_numpy(), result.fit.simulation.to_numpy()
    r2 = 1 - np.sum((y - s) ** 2) / np.sum((y - y.mean()) ** 2)
    assert r2 > 0.85


def test_cli_fit_and_export_errors(tmp_path):
    r = CliRunner().invoke(app, ["fit", str(tmp_path / "none.yaml")])
    assert r.exit_code == 2 and "PROBLEM: no such file" in r.output
    r = CliRunner().invoke(app, ["fit", str(BOEHM_YAML), "--profile", "bogus"])
    assert r.exit_code == 2 and "--profile: ['bogus'] are not estimated parameters" in r.output
    r = CliRunner().invoke(app, ["petab-signaling", "--cells", "bogus", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--cells: ['bogus'] not in the data" in r.output


@pytest.mark.slow
def test_cli_fit_writes_the_report(tmp_path):
    r = CliRunner().invoke(app, ["fit", str(BOEHM_YAML), "--starts", "1", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "-log likelihood 138.222 (best of 1 start(s))" in r.output
    params = pd.read_csv(tmp_path / "parameters.csv")
    assert set(params.parameter) >= {"k_phos", "sd_pSTAT5A_rel"}
    assert (tmp_path / "report.html").read_text().count("<img") == 1


PERELSON = DATA / "Perelson_Science1996"
PERELSON_YAML = PERELSON / "Perelson_Science1996.yaml"


@pytest.mark.slow
def test_log10_normal_problem_matches_petab_and_the_analytic_solution():
    """Perelson 1996 (HIV-1 decay under a protease inhibitor; log10-normal noise): the viral
    load equals the paper's closed-form solution at the nominal c and delta, the objective
    equals the petab library's log-likelihood of the same simulation, and a fit lands near the
    published clearance rates."""
    from petab.v1.calculate import calculate_llh

    o = analysis.PetabObjective(PERELSON_YAML)
    assert analysis.lint(PERELSON_YAML) == []
    x = o.scaled(o.nominal)
    mine = o.simulate(o.full(x))
    t = o.data.time.to_numpy(dtype=float)
    c, d, v0 = o.nominal["c"], o.nominal["delta"], 1.86e6
    exact = v0 * np.exp(-c * t) + c * v0 / (c - d) * (
        c / (c - d) * (np.exp(-d * t) - np.exp(-c * t)) - d * t * np.exp(-c * t)
    )
    np.testing.assert_allclose(mine, exact, rtol=2e-3)  # T*(0) is rounded in the file
    p = o.problem
    sim = o.data.rename(columns={"measurement": "simulation"}).assign(simulation=mine)
    llh = calculate_llh(p.measurement_df, sim, p.observable_df, p.parameter_df)
    assert o.nll(x) == pytest.approx(-llh, rel=1e-12)
    result = analysis.fit(o, n_starts=3, seed=1)
    assert result.nll < o.nll(x) - 100  # the file's nominal noise sd (1e5) is far off
    assert result.parameters["c"] == pytest.approx(2.06, rel=0.2)
    assert result.parameters["delta"] == pytest.approx(0.53, rel=0.1)


def test_fit_steps_back_from_parameters_that_cannot_be_simulated():
    """Where the model cannot be simulated the objective is infinite; L-BFGS-B's first step
    lands there and, fed inf, would stop at the start claiming convergence."""

    class Bowl:  # the objective's interface as fit() uses it; no simulation beyond x < 0.5
        def __init__(self):
            self.outer = ["a", "b", "c"]
            self.hierarchical: list[str] = []
            self.nominal = dict.fromkeys(self.outer, -0.99)
            self.data = pd.DataFrame({"measurement": [0.0]})

        def bounds(self):
            return [(-1.0, 1.0)] * 3

        def scaled(self, values):
            return np.array([values[k] for k in self.outer])

        def full(self, x):
            return dict(zip(self.outer, x, strict=True))

        def simulate(self, values):
            return np.zeros(1)

        def nll(self, x):
            return float(np.sum(50 * (x - 0.45) ** 2)) if np.all(x < 0.5) else np.inf

    result = analysis.fit(Bowl(), n_starts=1)
    assert result.parameters["a"] == pytest.approx(0.45, abs=1e-3)
    assert result.nll < 1e-5


def test_preequilibration_and_steady_state_rows_follow_the_closed_form():
    """PEtab preequilibration (the steady state under one condition starts the simulation of
    another) and time-inf rows (the steady state of the simulation condition), on a turnover
    model whose solution is known: X(t) = s/k + (X0 - s/k) exp(-k t)."""
    yaml = DATA / "Turnover_preequilibration" / "problem.yaml"
    assert analysis.lint(yaml) == []
    o = analysis.PetabObjective(yaml)
    k = o.nominal["k_deg"]
    d = o.data
    t = d.time.to_numpy(dtype=float)
    syn = np.where(d.simulationConditionId == "stim", 3.0, 1.0)
    x0 = np.where(d.preequilibrationConditionId == "pre", 1.0 / k, 0.2)
    exact = np.where(np.isinf(t), syn / k, syn / k + (x0 - syn / k) * np.exp(-k * t))
    np.testing.assert_allclose(o.simulate(o.full(o.scaled(o.nominal))), exact, rtol=1e-6)
    result = analysis.fit(o, n_starts=2, seed=1)  # the data are the solution at k = 0.7
    assert result.parameters["k_deg"] == pytest.approx(0.7, rel=1e-4)
    # a sharp likelihood: the profile's first step overshoots, shorter steps find the edges
    _, ci = analysis.profile(o, result)
    for edge in ("lower_95", "upper_95"):
        rise = o.nll(o.scaled({"k_deg": float(ci[edge].iloc[0])})) - result.nll
        assert rise == pytest.approx(analysis.PROFILE_THRESHOLD, abs=0.15)


class Gaussian:
    """The objective's interface as fit() and sample_posterior() use it: a normal negative
    log-likelihood in two parameters with known means and standard deviations."""

    mean = np.array([0.3, -0.2])
    sd = np.array([0.1, 0.05])

    def __init__(self):
        self.outer = ["a", "b"]
        self.hierarchical: list[str] = []
        self.nominal = {"a": -0.5, "b": 0.5}
        self.data = pd.DataFrame({"measurement": [0.0]})

    def bounds(self):
        return [(-1.0, 1.0)] * 2

    def scaled(self, values):
        return np.array([values[k] for k in self.outer])

    def natural(self, x, names=None):
        return dict(zip(self.outer, np.asarray(x, dtype=float), strict=True))

    def full(self, x):
        return self.natural(x)

    def simulate(self, values):
        return np.zeros(1)

    def nll(self, x):
        return float(0.5 * np.sum(((np.asarray(x) - self.mean) / self.sd) ** 2))


def test_fides_and_lbfgsb_find_a_known_optimum_and_unknown_optimisers_are_refused():
    for name in analysis.OPTIMIZERS:
        result = analysis.fit(Gaussian(), n_starts=2, optimizer=name)
        assert [result.parameters["a"], result.parameters["b"]] == pytest.approx(
            Gaussian.mean, abs=1e-3
        ), name
        assert (result.starts.evaluations > 0).all()
    with pytest.raises(
        ValueError, match=r"optimizer must be one of \['L-BFGS-B', 'fides'\], got 'bfgs'"
    ):
        analysis.fit(Gaussian(), optimizer="bfgs")


def test_posterior_sampling_recovers_a_known_normal_posterior():
    """pyPESTO's parallel tempering on a normal likelihood (flat prior, bounds far away): the
    posterior medians and 95% intervals are the normal's within sampling error."""
    g = Gaussian()
    post = analysis.sample_posterior(g, g.mean, 4000, seed=2)
    s = post.summary.set_index("parameter")
    for i, k in enumerate(g.outer):
        assert s.loc[k, "median"] == pytest.approx(g.mean[i], abs=0.3 * g.sd[i])
        width = s.loc[k, "upper_95"] - s.loc[k, "lower_95"]
        assert width == pytest.approx(2 * 1.96 * g.sd[i], rel=0.3)
    assert len(post.draws) == 4001 - post.burn_in and post.effective_size > 50
    with pytest.raises(ValueError, match="n_samples must be at least 100"):
        analysis.sample_posterior(g, g.mean, 50)


def test_petab_problem_as_pypesto_problem_has_the_same_objective(boehm):
    problem = analysis.to_pypesto(boehm)
    x = boehm.scaled(boehm.nominal)
    assert problem.x_names == boehm.outer
    np.testing.assert_array_equal(np.c_[problem.lb, problem.ub], np.array(boehm.bounds()))
    assert problem.objective(x) == pytest.approx(boehm.nll(x), rel=1e-12)


@pytest.mark.slow
def test_cli_fit_with_fides_samples_a_posterior(tmp_path):
    args = ["fit", str(BOEHM_YAML), "--starts", "1", "--optimizer", "fides", "--sample", "300"]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "-log likelihood 138.222 (best of 1 start(s))" in r.output
    draws = pd.read_csv(tmp_path / "posterior.csv")
    assert list(draws.columns) == list(analysis.PetabObjective(BOEHM_YAML).outer)
    assert len(draws) > 0 and (draws.k_phos > 0).all()


def test_cli_fit_refuses_unknown_optimisers_and_too_few_draws():
    r = CliRunner().invoke(app, ["fit", str(BOEHM_YAML), "--optimizer", "bfgs"])
    assert (
        r.exit_code == 2
        and "--optimizer must be one of ['L-BFGS-B', 'fides'], got 'bfgs'" in r.output
    )
    r = CliRunner().invoke(app, ["fit", str(BOEHM_YAML), "--sample", "50"])
    assert (
        r.exit_code == 2 and "--sample must be between 100 and 1,000,000 draws, got 50" in r.output
    )
