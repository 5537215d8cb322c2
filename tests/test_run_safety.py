"""Resume verifies finished runs, runs have a time limit, workers die with the runner, the lock
covers the analysis, folders of other commands are refused, and run functions check the books."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from economy.errors import InputError
from runs import store
from runs.cli import main
from runs.executors import ExecutorOptions
from runs.experiment import load_experiment, run_experiment
from toy_runs import toy_run  # pytest puts tests/ on sys.path; worker processes inherit it

SERIAL = ExecutorOptions("serial")
SCENARIOS = {"calm": {"drift": 0.0}, "hot": {"drift": 0.5}}


@dataclass(frozen=True)
class SlowOne:
    """toy_run, but replicate `slow` sleeps `sleep` seconds first."""

    slow: int = 1
    sleep: float = 30.0

    def __call__(self, task):
        if task.replicate == self.slow:
            time.sleep(self.sleep)
        return toy_run(task)


@dataclass(frozen=True)
class PidRun:
    """Writes the worker's pid into `folder`, then sleeps: a run to kill the runner during."""

    folder: str
    sleep: float = 60.0

    def __call__(self, task):
        Path(self.folder, f"{task.scenario}-{task.replicate}.pid").write_text(str(os.getpid()))
        time.sleep(self.sleep)
        return toy_run(task)


def cli(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- checksums


def test_done_json_records_size_and_sha256_of_every_file(tmp_path):
    run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=1, options=SERIAL, progress="off")
    folder = store.run_dir(tmp_path, "calm", 0)
    files = json.loads((folder / "done.json").read_text())["files"]
    assert sorted(files) == ["episodes.parquet", "series.parquet"]
    for name, record in files.items():
        data = (folder / name).read_bytes()
        assert record == store.file_digest(data) and len(record["sha256"]) == 64
    assert store.verify_run(folder) is None


def test_the_real_baseline_redoes_damaged_runs_and_ends_as_an_undamaged_one(tmp_path, capsys):
    """The must-show: a deleted main table, a truncated table and an emptied done.json, in
    three runs; the same command again exits 0, names the three, and its tables equal those
    of a run that was never damaged."""
    argv = ["baseline", "--seeds", 3, "--years", 1, "--executor", "serial"]
    reference, damaged = tmp_path / "reference", tmp_path / "damaged"
    assert cli([*argv, "--out", reference], capsys)[0] == 0
    assert cli([*argv, "--out", damaged], capsys)[0] == 0

    runs = damaged / "runs" / "baseline"
    (runs / "00000" / "weekly.parquet").unlink()
    table = runs / "00001" / "giant_quarters.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    (runs / "00002" / "done.json").write_text("")
    with pytest.raises(InputError, match="damaged"):  # the loader never reads them silently
        load_experiment(damaged)

    code, stdout, stderr = cli([*argv, "--out", damaged], capsys)
    assert code == 0, stderr
    assert "redoing baseline/00000: weekly.parquet missing" in stderr
    assert "redoing baseline/00001: giant_quarters.parquet has" in stderr
    assert "redoing baseline/00002: done.json unreadable" in stderr
    assert stderr.count("redoing") == 3
    assert "3 ran, 0 skipped" in stdout

    mine, theirs = load_experiment(damaged), load_experiment(reference)
    assert mine.keys() == theirs.keys() and "weekly" in mine
    for name in mine:
        pdt.assert_frame_equal(mine[name], theirs[name])
    results = sorted(p.name for p in reference.glob("*.parquet"))
    assert results and results == sorted(p.name for p in damaged.glob("*.parquet"))
    for name in results:
        pdt.assert_frame_equal(pd.read_parquet(damaged / name), pd.read_parquet(reference / name))


def test_same_size_corruption_is_caught_by_the_hash(tmp_path, capsys):
    run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=2, options=SERIAL, progress="off")
    path = store.run_dir(tmp_path, "hot", 1) / "series.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    capsys.readouterr()
    summary = run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=2, options=SERIAL, progress="off")
    assert (summary.ran, summary.skipped) == (1, 3)
    assert "redoing hot/00001: series.parquet does not match its checksum" in capsys.readouterr().err
    assert store.verify_run(path.parent) is None


def test_runs_without_checksums_are_trusted_and_counted(tmp_path, capsys):
    run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=2, options=SERIAL, progress="off")
    for done in tmp_path.glob("runs/*/*/done.json"):
        record = json.loads(done.read_text())
        del record["files"]
        done.write_text(json.dumps(record))
    assert store.verify_run(store.run_dir(tmp_path, "calm", 0)) == store.UNVERIFIABLE
    capsys.readouterr()
    summary = run_experiment(tmp_path, SCENARIOS, toy_run, n_seeds=2, options=SERIAL, progress="off")
    assert (summary.ran, summary.skipped) == (0, 4)
    assert "4 finished run(s) predate checksums" in capsys.readouterr().err
    assert len(load_experiment(tmp_path)["series"]) > 0


# --------------------------------------------------------------------------- time limit


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_a_run_over_its_time_limit_is_a_failure_and_the_rest_finish(tmp_path, executor):
    options = ExecutorOptions(executor, workers=2 if executor == "process" else None)
    started = time.monotonic()
    summary = run_experiment(
        tmp_path, SCENARIOS, SlowOne(slow=1), n_seeds=3, options=options, progress="off", run_timeout=1
    )
    assert time.monotonic() - started < 20
    assert (summary.ran, summary.failed) == (4, 2)
    assert sorted(summary.failures) == [("calm", 1), ("hot", 1)]
    record = json.loads(store.failure_path(tmp_path, "calm", 1).read_text())
    assert record["error"] == "timed out after 1 s" and record["error_type"].endswith("RunTimeout")
    # The limit comes from the options too, and the next call retries the failures.
    again = run_experiment(tmp_path, SCENARIOS, SlowOne(slow=1, sleep=0.0), n_seeds=3, options=options, progress="off")
    assert (again.ran, again.skipped, again.failed) == (2, 4, 0)


def test_run_timeout_option_reaches_the_executor_options(capsys):
    from runs.cli import build_parser

    args = build_parser().parse_args(["baseline", "--run-timeout", "90"])
    assert ExecutorOptions.from_args(args).run_timeout == 90
    args = build_parser().parse_args(["baseline"])
    assert ExecutorOptions.from_args(args).run_timeout == 3600
    code, _, stderr = cli(["baseline", "--run-timeout", "0", "--executor", "serial"], capsys)
    assert code == 2 and "--run-timeout" in stderr


# --------------------------------------------------------------------------- workers and the runner

RUNNER_SCRIPT = """
import json, sys
from runs.executors import ExecutorOptions
from runs.experiment import run_experiment
from test_run_safety import PidRun

if __name__ == "__main__":
    run_experiment(sys.argv[1], {"calm": {}}, PidRun(sys.argv[2]), n_seeds=4,
                   options=ExecutorOptions("process", workers=2), progress="off")
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_end_soon_after_the_runner_is_killed(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    script = tmp_path / "runner.py"
    script.write_text(RUNNER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "out"), str(pids)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.glob("*.pid"))) < 2:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        workers = [int(p.read_text()) for p in pids.glob("*.pid")]
        assert all(_alive(pid) for pid in workers)
        os.kill(child.pid, signal.SIGKILL)  # the runner only, not its process group
        child.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "workers outlived their runner"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever is left, so nothing leaks
        child.stderr.close()


# --------------------------------------------------------------------------- the lock and the folder


def test_the_lock_is_held_through_the_analysis(tmp_path, monkeypatch):
    from runs import baseline

    out = tmp_path / "base"
    refused = []

    def analyse_while_another_runner_tries(outcome, *args, **kwargs):
        for attempt in (
            lambda: baseline.run_baseline(n_seeds=2, out_dir=out, years=1, run_fn=toy_run, options=SERIAL),
            lambda: run_experiment(out, {"x": {}}, toy_run, n_seeds=1, options=SERIAL, progress="off"),
        ):
            with pytest.raises(InputError, match="in use by another runner") as exc:
                attempt()
            refused.append(str(exc.value))
        return []

    monkeypatch.setattr(baseline, "analyse", analyse_while_another_runner_tries)
    baseline.run_baseline(n_seeds=2, out_dir=out, years=1, run_fn=toy_run, options=SERIAL, progress="off")
    assert len(refused) == 2 and all("\n" not in line for line in refused)
    # Released once the command returned.
    monkeypatch.undo()
    outcome, _ = baseline.run_baseline(n_seeds=2, out_dir=out, years=1, run_fn=toy_run, options=SERIAL, progress="off")
    assert outcome.summary.skipped == 2


def test_a_script_holds_the_lock_through_its_analysis(tmp_path, monkeypatch):
    from runs import commands, scripts
    from runs.scripts import interest_rates

    out = tmp_path / "rates"
    refused = []

    def report_while_another_runner_tries(args, *rest, **kwargs):
        with pytest.raises(InputError, match="in use by another runner") as exc:
            run_experiment(out, {"x": {}}, toy_run, n_seeds=1, options=SERIAL, progress="off")
        refused.append(str(exc.value))
        return 0

    monkeypatch.setattr(commands, "run_function", lambda spec=None: toy_run)
    monkeypatch.setattr(scripts, "report_sweep", report_while_another_runner_tries)
    argv = ["--seeds", "1", "--years", "1", "--executor", "serial", "--rates", "0.03", "--out", str(out)]
    assert interest_rates.main(argv) == 0
    assert len(refused) == 1
    with store.exclusive(out):  # released once the script returned
        pass


def test_the_lock_refuses_a_second_process_during_analysis(tmp_path, capsys):
    out = tmp_path / "base"
    with store.exclusive(out):  # as a runner in its analysis holds it
        code, _, stderr = cli(["baseline", "--seeds", 1, "--years", 1, "--executor", "serial", "--out", out], capsys)
    assert code == 2 and stderr.count("\n") == 1 and "in use by another runner" in stderr


def test_a_folder_made_by_another_command_is_refused(tmp_path, capsys):
    from runs.baseline import run_baseline

    out = tmp_path / "x"
    run_baseline(n_seeds=2, out_dir=out, years=1, run_fn=toy_run, options=SERIAL, progress="off")
    summary_before = (out / "manifest.json").read_text()
    code, _, stderr = cli(
        ["compare", "baseline", "--seeds", 2, "--years", 1, "--executor", "serial", "--out", out], capsys
    )
    assert code == 2 and stderr.count("\n") == 1
    assert f"{out} was made by `baseline`, not `compare`; use another --out" in stderr
    assert (out / "manifest.json").read_text() == summary_before
    with pytest.raises(InputError, match=r"holds scenario\(s\) baseline, not other"):
        run_experiment(out, {"other": {}}, toy_run, n_seeds=2, years=1, options=SERIAL, progress="off")


def test_run_fn_is_not_a_command_line_option(capsys):
    for argv in (["baseline", "--run-fn", "toy_runs:toy_run"], ["decompose", "--run-fn", "x:y"]):
        code, _, stderr = cli(argv, capsys)
        assert code == 2 and "--run-fn" in stderr
    from runs.scripts import passive_share

    with pytest.raises(SystemExit) as exc:
        passive_share.main(["--run-fn", "toy_runs:toy_run"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------- the books


def test_quarterly_book_checks_leave_the_results_unchanged():
    from model.model import CircularFinance
    from runs.simulate import run_checked

    plain = CircularFinance("baseline", years=1, rng=7).run().tables()
    checked = run_checked(CircularFinance("baseline", years=1, rng=7)).tables()
    for name, table in plain.items():
        if isinstance(table, pd.DataFrame):
            pdt.assert_frame_equal(table, checked[name])


def test_a_run_whose_books_break_is_stopped_at_the_quarter_end(tmp_path):
    from economy.ledger import LedgerError
    from model.model import CircularFinance
    from runs.simulate import run_checked

    model = CircularFinance("baseline", years=1, rng=7)
    model.run(20)
    model.ledger.balances[model.ledger.cash_accounts[0]] += 1e9  # money out of nowhere
    with pytest.raises(LedgerError, match="books do not balance at week 26: "):
        run_checked(model)
    assert model.week == 26
