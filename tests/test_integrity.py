"""Nothing lost, nothing mixed: resumable runs killed at any write and resumed (also with
another run into the same folder in between) give the uninterrupted results; damaged, partial
or copied pieces on disk are recomputed, never reused; a folder is used by one run at a time;
workers and the web server die with their parent."""

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from conftest import tiny_scenario
from il2sim import catalog, cohort
from il2sim.cli import app
from il2sim.cohort import _run as cohort_run
from il2sim.simulate import RunFolderError, RunStore, _store, _therapy, run_therapy

SPEC = catalog.get_cohort("melanoma")
IL2SIM = str(Path(sys.executable).with_name("il2sim"))


class Killed(BaseException):
    """A process killed at this point (not an Exception: nothing may catch it)."""


def kill_at_write(monkeypatch, k: int) -> None:
    """Let the run's first ``k`` file writes land, then kill it at write ``k``."""
    real = _store.atomic_write_bytes
    count = {"n": 0}

    def write(path, data):
        if count["n"] == k:
            raise Killed(f"killed before writing {path.name}")
        count["n"] += 1
        real(path, data)

    monkeypatch.setattr(_store, "atomic_write_bytes", write)


def unkill(monkeypatch) -> None:
    monkeypatch.setattr(_store, "atomic_write_bytes", _ATOMIC)


_ATOMIC = _store.atomic_write_bytes


# ---- therapy runs -----------------------------------------------------------------------


def _scenario(tmp_path: Path, name: str, amount: str) -> Path:
    """Two scenarios that differ only in the ld arm's dose share every setting and arm name."""
    sc = tiny_scenario(name, f"{amount} IU/m2/day SC")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sc))
    return path


def _fake_arm(scenario, setting, arm):
    """A cheap, deterministic stand-in for one arm's simulation (the store is under test)."""
    seed = sum(map(ord, json.dumps(arm.model_dump(), sort_keys=True)))
    t = np.linspace(0, scenario.duration_days, 5)
    frame = pd.DataFrame(
        {
            "setting": setting.name,
            "arm": arm.name,
            "time_d": t,
            "variable": "x",
            "value": np.random.default_rng(seed).random(t.size),
            "unit": "u",
        }
    )
    return frame, {"setting": setting.name, "arm": arm.name, "seed": seed, "v": [1.5, 2]}


def test_therapy_run_killed_at_every_write_and_interleaved_resumes_identically(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(_therapy, "run_arm", _fake_arm)
    a, b = _scenario(tmp_path, "a", "1e6"), _scenario(tmp_path, "b", "3e6")
    ref = run_therapy(str(a))
    other = run_therapy(str(b))
    assert not ref.frame.equals(other.frame)  # the two runs differ in the ld arm
    writes = 4  # two arms, each a table and its manifest
    for k in range(writes):
        out = tmp_path / f"out{k}"
        kill_at_write(monkeypatch, k)
        with pytest.raises(Killed):
            run_therapy(str(a), cache_dir=out)
        unkill(monkeypatch)
        run_therapy(str(b), cache_dir=out)  # another scenario into the same folder
        notes = []
        again = run_therapy(str(a), cache_dir=out, notice=notes.append)
        pd.testing.assert_frame_equal(again.frame, ref.frame)
        assert again.summary == ref.summary
        # and once more: everything now comes from disk, still identical
        seen: list[tuple] = []
        cached = run_therapy(str(a), cache_dir=out, progress=lambda *x, s=seen: s.append(x))
        assert seen == [("cached", 2, 2)]
        pd.testing.assert_frame_equal(cached.frame, ref.frame)


@pytest.mark.slow
def test_arm_table_of_another_scenario_is_never_read_as_this_ones(tmp_path):
    """The defect found: killed between an arm's two files, then another scenario into the same
    folder, the first scenario's rerun took the other's arm (il2v peak 333 vs 4,333 ng/mL)."""
    a, b = _scenario(tmp_path, "a", "1e6"), _scenario(tmp_path, "b", "1e7")
    ref = run_therapy(str(a), cache_dir=tmp_path / "ref")
    out = tmp_path / "out"
    run_therapy(str(b), cache_dir=out)
    run_therapy(str(a), cache_dir=out)
    # each scenario's arm under its own fingerprint; the other's table copied over this one's
    units = []
    for path in (a, b):
        sc = catalog.get_therapy_scenario(str(path))
        units.append(_therapy._unit(sc, sc.settings[0], sc.settings[0].arms[1])[0])
    mine, theirs = (out / f"{u}.frame.parquet" for u in units)
    assert mine != theirs and mine.exists() and theirs.exists()
    mine.write_bytes(theirs.read_bytes())
    notes = []
    again = run_therapy(str(a), cache_dir=out, notice=notes.append)
    assert any("ld_" in n and "does not match the manifest" in n for n in notes), notes
    ld = again.frame[(again.frame.arm == "ld") & (again.frame.variable == "plasma:aldesleukin")]
    want = ref.frame[(ref.frame.arm == "ld") & (ref.frame.variable == "plasma:aldesleukin")]
    np.testing.assert_array_equal(ld.value.to_numpy(), want.value.to_numpy())


def test_run_default_folder_is_keyed_by_scenario(tmp_path, monkeypatch):
    from il2sim import report

    monkeypatch.setattr(_therapy, "run_arm", _fake_arm)
    monkeypatch.setattr(report, "summary_table", lambda *a: pd.DataFrame())
    monkeypatch.setattr(report, "write_report", lambda *a: [])
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        path = _scenario(tmp_path, name, "1e6")
        r = CliRunner().invoke(app, ["run", str(path), "--workers", "1"])
        assert r.exit_code == 0, r.output
        assert len(list((tmp_path / "il2sim_output" / name / "arms").glob("*.manifest.json"))) == 2


# ---- cohort chunks ----------------------------------------------------------------------


@pytest.fixture()
def cached_arms(monkeypatch):
    """Build each arm's model once for the whole test (the store, not the build, is tested)."""
    monkeypatch.setattr(cohort_run, "build_arm", _build_once)


@functools.cache
def _built(arm: str):
    return _BUILD(SPEC, arm)


_BUILD = cohort_run.build_arm


def _build_once(spec, arm):
    assert spec is SPEC or spec == SPEC
    return _built(arm)


KW = dict(n=6, seed=3, population="distribution", chunk_size=2, workers=1)


def _outcomes(res) -> pd.DataFrame:
    return res.outcomes.sort_values(["arm", "patient"]).reset_index(drop=True)


@pytest.mark.slow
def test_cohort_killed_at_every_write_and_interleaved_resumes_identically(
    tmp_path, monkeypatch, cached_arms
):
    arms = ["untreated", "nivolumab"]
    ref = cohort.run_cohort(SPEC, arms, **KW)
    writes = 2 * 3 * 3  # arms x chunks x (outcomes, traces, manifest)
    for k in range(writes):
        out = tmp_path / f"out{k}"
        kill_at_write(monkeypatch, k)
        with pytest.raises(Killed):
            cohort.run_cohort(SPEC, arms, out_dir=out, **KW)
        unkill(monkeypatch)
        if k % 3 == 1:  # another cohort (other patients) into the same folder in between
            cohort.run_cohort(SPEC, ["nivolumab"], out_dir=out, **{**KW, "seed": 4})
        again = cohort.run_cohort(SPEC, arms, out_dir=out, **KW)
        pd.testing.assert_frame_equal(_outcomes(again), _outcomes(ref))
        pd.testing.assert_frame_equal(again.traces, ref.traces)


def _chunk_files(out: Path, arm: str = "nivolumab") -> list[Path]:
    return sorted((out / "chunks" / arm).glob("*.manifest.json"))


@pytest.mark.slow
def test_damaged_missing_or_copied_chunks_are_recomputed_and_said(tmp_path, cached_arms):
    out = tmp_path / "c"
    ref = cohort.run_cohort(SPEC, ["nivolumab"], out_dir=out, **KW)
    first, second, third = (m.name.removesuffix(".manifest.json") for m in _chunk_files(out))
    d = out / "chunks" / "nivolumab"
    for part in ("outcomes.parquet", "traces.parquet", "manifest.json"):  # a chunk copied
        (d / f"{third}.{part}").write_bytes((d / f"{first}.{part}").read_bytes())
    (d / f"{first}.traces.parquet").unlink()  # killed between the two tables
    data = (d / f"{second}.outcomes.parquet").read_bytes()
    (d / f"{second}.outcomes.parquet").write_bytes(data[: len(data) // 2])  # truncated
    notes = []
    again = cohort.run_cohort(SPEC, ["nivolumab"], out_dir=out, notice=notes.append, **KW)
    pd.testing.assert_frame_equal(_outcomes(again), _outcomes(ref))
    assert not again.outcomes.patient.duplicated().any()
    said = " | ".join(notes)
    assert f"{first}: its traces table is missing; recomputing it" in said
    assert f"{second}: its outcomes table does not match the manifest (damaged" in said
    assert f"{third}: its manifest belongs to another run; recomputing it" in said
    # the copied tables alone (under the right manifest) are caught by their digests too
    for part in ("outcomes.parquet", "traces.parquet"):
        (d / f"{third}.{part}").write_bytes((d / f"{first}.{part}").read_bytes())
    notes.clear()
    again = cohort.run_cohort(SPEC, ["nivolumab"], out_dir=out, notice=notes.append, **KW)
    assert len(again.outcomes) == 6 and not again.outcomes.patient.duplicated().any()
    assert any(third in n and "does not match the manifest" in n for n in notes), notes


def test_store_checks_patient_ids_against_the_manifest(tmp_path):
    store = RunStore(tmp_path, notice=(notes := []).append)
    frame = pd.DataFrame({"patient": [0, 1], "x": [1.0, 2.0]})
    store.save("u", "fp", {"t": frame}, keys=[0, 1])
    assert store.load("u", "fp", keys=[0, 1])[0]["t"].equals(frame)
    assert store.load("u", "fp", keys=[2, 3]) is None
    assert notes == ["u: its manifest lists other patients; recomputing it"]


@pytest.mark.slow
def test_one_run_per_folder(tmp_path):
    with RunStore(tmp_path).locked():
        r = CliRunner().invoke(
            app, ["cohort", "--n", "2", "--workers", "1", "--out", str(tmp_path)]
        )
        assert r.exit_code == 2
        assert "--out: another il2sim run (pid" in r.output and "is writing to" in r.output
        with pytest.raises(RunFolderError), RunStore(tmp_path).locked():
            pass
    with RunStore(tmp_path).locked():  # released when the run ends
        pass


# ---- output folders and other inputs, refused before any work -----------------------------


def test_output_folder_that_cannot_be_written_is_refused_before_simulating(tmp_path):
    scenario = _scenario(tmp_path, "a", "1e6")
    afile = tmp_path / "afile"
    afile.write_text("x")
    for cmd in (["run", str(scenario)], ["cohort", "--n", "2"], ["trial", "--n", "2"]):
        r = CliRunner().invoke(app, [*cmd, "--out", str(afile)])
        assert r.exit_code == 2 and f"--out: {afile} is a file; give a folder" in r.output
    if sys.platform.startswith("linux"):  # a place nobody, root included, can write
        r = CliRunner().invoke(app, ["run", str(scenario), "--out", "/proc/il2sim/out"])
        assert r.exit_code == 2 and "--out: cannot write into /proc/il2sim/out" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trial", "--arms", "nivolumab,nivolumab"], "--arms: nivolumab given more than once"),
        (["cohort", "--n", str(10**12)], "--n must be between 1 and 1,000,000, got"),
        (["cohort", "--workers", "100000"], "--workers must be between 1 and"),
        (["run", "--workers", "100000"], "--workers must be between 1 and"),
        (["sensitivity", "--workers", "0"], "--workers must be between 1 and"),
    ],
)
def test_request_limits_are_named(args, message):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output


@pytest.mark.slow
def test_unreachable_scheduler_is_a_named_error(monkeypatch, tmp_path):
    monkeypatch.setattr(cohort_run, "SCHEDULER_TIMEOUT_S", 1)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = CliRunner().invoke(
        app,
        ["cohort", "--n", "2", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(tmp_path)],
    )
    assert r.exit_code == 2, r.output
    assert f"--scheduler: no Dask scheduler answered at 'tcp://127.0.0.1:{port}'" in r.output


def test_empty_readout_days_are_refused_by_name(tmp_path):
    path = _scenario(tmp_path, "a", "1e6")
    sc = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**sc, "readout_days": []}))
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "field 'readout_days': List should have at least 1 item" in (
        " ".join(r.output.split())
    )
    assert not (tmp_path / "o" / "arms").exists()


# ---- processes ----------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with open(task / "children") as fh:
            out |= {int(c) for c in fh.read().split()}
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_run(tmp_path):
    scenario = _scenario(tmp_path, "a", "1e6")
    proc = subprocess.Popen(
        [IL2SIM, "run", str(scenario), "--workers", "2", "--out", str(tmp_path / "o")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 2 and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the run never started its two workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_web_server_stops_with_the_command(sig):
    port = _free_port()
    proc = subprocess.Popen(
        [IL2SIM, "web", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not _listening(port):
            time.sleep(0.2)
        assert _listening(port), "the server never started"
        server = _children(proc.pid)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.time() + 15
        while time.time() < deadline and (_listening(port) or any(_alive(p) for p in server)):
            time.sleep(0.2)
        assert not _listening(port) and not any(_alive(p) for p in server)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_web_session_folders_are_removed_with_the_session(tmp_path):
    import gc

    from il2sim.web import _widgets

    folder = _widgets.SessionFolder(root=tmp_path)
    path = folder.path
    (path / "arms").mkdir()
    assert path.is_dir()
    del folder
    gc.collect()
    assert not path.exists()
    stale = tmp_path / "session_old"
    stale.mkdir()
    os.utime(stale, (time.time() - 2 * _widgets.STALE_AFTER_S,) * 2)
    fresh = _widgets.SessionFolder(root=tmp_path)  # a new session sweeps what crashed servers left
    assert not stale.exists() and fresh.path.is_dir()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_cohort_killed_at_random_times_resumes_identically(tmp_path):
    """Real SIGKILLs (not only between writes): wherever the process dies, the resumed run
    writes the uninterrupted run's patients."""
    args = ["cohort", "melanoma", "--arm", "nivolumab", "--n", "8", "--seed", "2"]
    args += ["--population", "distribution", "--workers", "1"]
    ref = tmp_path / "ref"
    subprocess.run([IL2SIM, *args, "--out", str(ref)], check=True, capture_output=True)
    rng = np.random.default_rng(7)
    out = tmp_path / "killed"
    for _ in range(3):
        proc = subprocess.Popen(
            [IL2SIM, *args, "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(3.0, 9.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run([IL2SIM, *args, "--out", str(out)], check=True, capture_output=True)
    want = pd.read_parquet(ref / "patients.parquet")
    got = pd.read_parquet(out / "patients.parquet")
    pd.testing.assert_frame_equal(got, want)
