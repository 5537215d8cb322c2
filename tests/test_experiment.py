"""The experiment runner: paired seeds, identical results on every executor, safe resume."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas.testing as pdt
import pytest

from economy.errors import InputError
from runs.executors import ExecutorOptions
from runs.experiment import RunTask, load_experiment, replicate_seeds, run_experiment
from toy_runs import ToyRun, toy_run  # pytest puts tests/ on sys.path; worker processes inherit it

SERIAL = ExecutorOptions("serial")
SCENARIOS = {
    "calm": {"drift": 0.0, "mean_weeks": 60.0},
    "hot": {"drift": 0.5, "mean_weeks": 150.0, "steps": 5},
}


def run_folders(out_dir: Path) -> set[tuple[str, str]]:
    """Finished runs: (scenario, replicate folder); temporary folders are not runs."""
    return {
        (p.parent.name, p.name)
        for p in (out_dir / "runs").glob("*/*")
        if p.name.isdigit() and (p / "done.json").is_file()
    }


def leftovers(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.rglob("*") if p.name.startswith(".tmp-")]


def assert_same_experiment(a: Path, b: Path) -> None:
    assert run_folders(a) == run_folders(b)
    tables_a, tables_b = load_experiment(a), load_experiment(b)
    assert tables_a.keys() == tables_b.keys() == {"episodes", "series"}
    for name in tables_a:
        pdt.assert_frame_equal(tables_a[name], tables_b[name])


def test_replicate_seeds_are_reproducible_prefix_stable_and_distinct():
    seeds = replicate_seeds(7, 50)
    assert seeds == replicate_seeds(7, 50)
    assert seeds[:5] == replicate_seeds(7, 5)  # growing n_seeds keeps the old seeds
    assert seeds != replicate_seeds(8, 50)
    assert len(set(seeds)) == 50
    assert all(type(s) is int and 0 <= s < 2**63 for s in seeds)


def test_replicates_are_paired_across_scenarios(tmp_path):
    summary = run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=4, root_seed=3, options=SERIAL, progress="off")
    assert (summary.total, summary.ran, summary.skipped, summary.failed) == (8, 8, 0, 0)
    series = load_experiment(tmp_path)["series"]
    seeds = series.groupby(["replicate", "scenario"])["seed"].first().unstack()
    assert list(seeds["calm"]) == list(seeds["hot"]) == replicate_seeds(3, 4)
    # Deterministic order: scenario, then replicate, then the run's own row order.
    keys = list(zip(series["scenario"], series["replicate"], strict=True))
    assert keys == sorted(keys)
    assert list(series.columns[:3]) == ["scenario", "replicate", "seed"]
    assert series.groupby(["scenario", "replicate"])["step"].apply(lambda s: s.is_monotonic_increasing).all()
    done = json.loads((tmp_path / "runs" / "hot" / "00002" / "done.json").read_text())
    assert done["seed"] == replicate_seeds(3, 4)[2] and done["rows"]["series"] == 5


def test_serial_process_and_dask_give_identical_results(tmp_path):
    common = dict(scenarios=SCENARIOS, run_fn=toy_run, n_seeds=6, root_seed=11, years=4, progress="off")
    serial = run_experiment(tmp_path / "serial", options=SERIAL, **common)
    pool = run_experiment(tmp_path / "process", options=ExecutorOptions("process", workers=2), **common)
    dask = run_experiment(tmp_path / "dask", options=ExecutorOptions("dask", dask_local=2), **common)
    for summary in (serial, pool, dask):
        assert (summary.total, summary.ran, summary.failed) == (12, 12, 0)
    assert_same_experiment(tmp_path / "serial", tmp_path / "process")
    assert_same_experiment(tmp_path / "serial", tmp_path / "dask")
    # Different worker processes really ran them.
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "process").glob("runs/*/*/done.json")}
    assert os.getpid() not in pids and len(pids) >= 1


def test_the_real_model_gives_identical_results_serially_in_processes_on_dask_and_after_a_resume(tmp_path):
    """The same guarantee as above on the model itself (one year of the baseline and of strict
    accounting, two seeds): every table byte for byte the same wherever the runs execute, and a
    run that was lost (its folder deleted, a half-written leftover beside it) redone identically."""
    import shutil

    from runs.simulate import run_task, scenario_config

    scenarios = {name: scenario_config(name, {}, 1) for name in ("baseline", "strict")}
    common = dict(scenarios=scenarios, run_fn=run_task, n_seeds=2, root_seed=4, years=1, progress="off")
    run_experiment(tmp_path / "serial", options=SERIAL, **common)
    run_experiment(tmp_path / "process", options=ExecutorOptions("process", workers=2), **common)
    run_experiment(tmp_path / "dask", options=ExecutorOptions("dask", dask_local=2), **common)
    reference = load_experiment(tmp_path / "serial")
    assert {"weekly", "episodes", "giant_quarters", "lab_quarters"} <= set(reference)
    for where in ("process", "dask"):
        other = load_experiment(tmp_path / where)
        assert other.keys() == reference.keys()
        for name in reference:
            pdt.assert_frame_equal(other[name], reference[name])

    lost = tmp_path / "process" / "runs" / "strict" / "00001"
    shutil.rmtree(lost)
    (lost.parent / ".tmp-killed").mkdir()  # what a kill during a write leaves behind
    resumed = run_experiment(tmp_path / "process", options=ExecutorOptions("process", workers=2), **common)
    assert (resumed.ran, resumed.skipped, resumed.failed) == (1, 3, 0)
    again = load_experiment(tmp_path / "process")
    for name in reference:
        pdt.assert_frame_equal(again[name], reference[name])


KILLED_SCRIPT = """
import json, sys
from runs.executors import ExecutorOptions
from runs.experiment import run_experiment
from toy_runs import ToyRun

if __name__ == "__main__":
    run_experiment(sys.argv[1], json.loads(sys.argv[2]), ToyRun(sleep=0.15), n_seeds=int(sys.argv[3]),
                   root_seed=5, options=ExecutorOptions("process", workers=2), progress="log")
"""


def test_resume_after_sigkill_finishes_exactly_the_uninterrupted_experiment(tmp_path):
    n_seeds, total = 12, 24
    reference = tmp_path / "reference"
    run_experiment(reference, SCENARIOS, toy_run, n_seeds=n_seeds, root_seed=5, options=SERIAL, progress="off")

    out = tmp_path / "killed"
    script = tmp_path / "run_killed.py"
    script.write_text(KILLED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(out), json.dumps(SCENARIOS), str(n_seeds)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(run_folders(out)) < 8:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the experiment never got going"
            time.sleep(0.01)
    finally:
        # The whole session: the runner, its forkserver and its pool workers.
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()
    finished_before = run_folders(out)
    print(f"killed after {len(finished_before)} of {total} runs, leaving {len(leftovers(out))} temporary")
    assert 8 <= len(finished_before) < total, "the kill must land part-way"
    # A half-written run, as a kill during a write would leave it.
    stale = out / "runs" / "calm" / ".tmp-00011-deadbeef"
    stale.mkdir(parents=True, exist_ok=True)
    (stale / "series.parquet").write_bytes(b"PAR1 truncated")

    summary = run_experiment(out, SCENARIOS, toy_run, n_seeds=n_seeds, root_seed=5, options=SERIAL, progress="off")
    assert summary.skipped == len(finished_before)
    assert summary.ran == total - len(finished_before)
    assert summary.failed == 0
    assert not leftovers(out)
    assert_same_experiment(out, reference)
    for table in load_experiment(out).values():
        assert not table.duplicated().any()
        assert table[["scenario", "replicate"]].drop_duplicates().shape[0] == total


def test_failed_run_is_recorded_others_finish_and_resume_retries_it(tmp_path):
    out = tmp_path / "exp"
    broken = ToyRun(fail_replicate=1, fail_scenario="hot")
    summary = run_experiment(
        out, SCENARIOS, broken, n_seeds=3, options=ExecutorOptions("process", workers=2), progress="off"
    )
    assert (summary.total, summary.ran, summary.skipped, summary.failed) == (6, 5, 0, 1)
    assert summary.failures == (("hot", 1),)
    record_path = out / "failures" / "hot" / "00001.json"
    record = json.loads(record_path.read_text())
    assert record["error_type"] == "builtins.RuntimeError"
    assert "toy failure in hot replicate 1" in record["error"]
    assert "Traceback" in record["traceback"] and "toy_runs.py" in record["traceback"]
    assert record["seed"] == replicate_seeds(0, 3)[1]
    assert not (out / "runs" / "hot" / "00001").exists()
    assert len(run_folders(out)) == 5

    # Rerunning with the bug still there retries the failure only.
    again = run_experiment(out, SCENARIOS, broken, n_seeds=3, options=SERIAL, progress="off")
    assert (again.ran, again.skipped, again.failed) == (0, 5, 1)

    fixed = run_experiment(out, SCENARIOS, toy_run, n_seeds=3, options=SERIAL, progress="off")
    assert (fixed.ran, fixed.skipped, fixed.failed) == (1, 5, 0)
    assert not record_path.exists()
    reference = tmp_path / "reference"
    run_experiment(reference, SCENARIOS, toy_run, n_seeds=3, options=SERIAL, progress="off")
    assert_same_experiment(out, reference)


def test_manifest_records_scenarios_parameters_seeds_and_versions(tmp_path):
    run_experiment(
        tmp_path,
        SCENARIOS,
        toy_run,
        n_seeds=3,
        root_seed=9,
        years=2.5,
        options=SERIAL,
        progress="off",
        manifest_extra={"purpose": "test"},
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenarios"] == SCENARIOS
    assert manifest["parameters"] == {"n_seeds": 3, "root_seed": 9, "years": 2.5}
    assert manifest["seeds"] == replicate_seeds(9, 3)
    assert manifest["versions"]["mesa"] == importlib.metadata.version("mesa")
    try:
        project = importlib.metadata.version("circular-ai-bubble")
    except importlib.metadata.PackageNotFoundError:
        project = "unknown"
    assert manifest["versions"]["circular-ai-bubble"] == project
    assert manifest["extra"] == {"purpose": "test"}
    assert datetime.fromisoformat(manifest["created"]).tzinfo is not None
    assert len(manifest["sessions"]) == 1


def test_resume_refuses_a_different_experiment_but_lets_n_seeds_grow(tmp_path):
    base = dict(run_fn=toy_run, root_seed=1, years=3, options=SERIAL, progress="off")
    run_experiment(tmp_path, SCENARIOS, n_seeds=2, **base)
    before = (tmp_path / "manifest.json").read_text()

    changed = {**SCENARIOS, "hot": {**SCENARIOS["hot"], "drift": 0.6}}
    with pytest.raises(InputError, match=f"{tmp_path}.*scenarios differ.*hot"):
        run_experiment(tmp_path, changed, n_seeds=2, **base)
    with pytest.raises(InputError, match=r"holds scenario\(s\) calm, hot, not calm, extra, hot; use another --out"):
        run_experiment(tmp_path, {**SCENARIOS, "extra": {}}, n_seeds=2, **base)
    with pytest.raises(InputError, match="root_seed"):
        run_experiment(tmp_path, SCENARIOS, n_seeds=2, **{**base, "root_seed": 2})
    with pytest.raises(InputError, match="years"):
        run_experiment(tmp_path, SCENARIOS, n_seeds=2, **{**base, "years": 4})
    with pytest.raises(InputError, match="only grow"):
        run_experiment(tmp_path, SCENARIOS, n_seeds=1, **base)
    assert (tmp_path / "manifest.json").read_text() == before  # refused calls write nothing

    grown = run_experiment(tmp_path, SCENARIOS, n_seeds=4, **base)
    assert (grown.ran, grown.skipped) == (4, 4)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seeds"] == replicate_seeds(1, 4) and manifest["parameters"]["n_seeds"] == 4
    assert len(manifest["sessions"]) == 2


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="scenario name"):
        run_experiment(tmp_path, {"a/b": {}}, toy_run, n_seeds=1, options=SERIAL)
    with pytest.raises(InputError, match="JSON"):
        run_experiment(tmp_path, {"a": {"x": object()}}, toy_run, n_seeds=1, options=SERIAL)
    with pytest.raises(InputError, match="module level"):
        run_experiment(tmp_path, {"a": {}}, lambda task: {}, n_seeds=1, options=ExecutorOptions("process"))
    with pytest.raises(InputError, match="executor"):
        run_experiment(tmp_path, {"a": {}}, toy_run, n_seeds=1, options=ExecutorOptions("threads"))
    with pytest.raises(InputError, match="manifest.json is missing"):
        load_experiment(tmp_path / "nothing")
    assert not (tmp_path / "manifest.json").exists()


def test_run_task_pickles_and_carries_the_resolved_config(tmp_path):
    seen = []

    def spy(task: RunTask):
        seen.append(task)
        return toy_run(task)

    run_experiment(tmp_path, {"t": {"pair": (1, 2)}}, spy, n_seeds=2, years=7, options=SERIAL, progress="off")
    assert [t.replicate for t in seen] == [0, 1]
    # The config the run sees is what the manifest stores (tuples read back as lists).
    assert all(t.config == {"pair": [1, 2]} and t.years == 7 and t.scenario == "t" for t in seen)
    assert pickle.loads(pickle.dumps(seen[0])) == seen[0]


def test_progress_without_a_terminal_is_log_lines_with_a_heartbeat(tmp_path, capsys, monkeypatch):
    run_experiment(tmp_path / "a", SCENARIOS, toy_run, n_seeds=10, options=SERIAL)  # progress auto
    lines = capsys.readouterr().err.splitlines()
    assert "[experiment] 20 runs, 0 already done; running on serial" in lines
    tenths = [line for line in lines if "runs (" in line]
    assert [line.split()[1] for line in tenths] == [f"{2 * i}/20" for i in range(1, 11)]
    assert "20 runs: 20 ran, 0 skipped (already done), 0 failed" in lines[-1]

    monkeypatch.setattr("runs.experiment.HEARTBEAT_SECONDS", 0.1)
    run_experiment(
        tmp_path / "b",
        {"slow": {}},
        ToyRun(sleep=0.6),
        n_seeds=1,
        options=ExecutorOptions("process", workers=1),
        progress="log",
    )
    assert "still running" in capsys.readouterr().err
