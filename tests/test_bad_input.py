"""Bad input to any command stops it with one line on stderr and exit status 2, writing nothing.

A battery of bad inputs, run in-process through `runs.cli.main` (and a few through the real
`python -m runs` entry point): unknown commands and options; numeric options out of range,
non-numeric, infinite, NaN, negative or huge; `--set` with unknown keys, bad types and
non-finite or out-of-range values; bad scenario files; output folders that cannot be written;
bad CSV files for `psy`. Every case must fail before anything runs: the run functions are
replaced by ones that fail the test, the working directory and the PSY cache are in the test's
temporary folder, and that folder must be unchanged afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runs import cli

ROOT = Path(__file__).resolve().parents[1]
OUT = "{out}"  # placeholders, replaced by paths in the test's temporary folder
CSV = "{csv}"
INPUTS = "{inputs}"


class RanSomething(AssertionError):
    """A bad input got as far as running a simulation or a Monte Carlo."""


# --------------------------------------------------------------------------- the cases

PREFIX = {
    "single": ["single", "--out", OUT],
    "calibration": ["calibration"],
    "baseline": ["baseline", "--executor", "serial", "--out", OUT],
    "compare": ["compare", "baseline", "strict", "--executor", "serial", "--out", OUT],
    "sweep": ["sweep", "interest_rate=0.02,0.04", "--executor", "serial", "--out", OUT],
    "decompose": ["decompose", "--executor", "serial", "--out", OUT],
    "properties": ["properties", "--executor", "serial", "--out", OUT],
    "psy": ["psy", CSV, "--column", "price"],
    "sensitivity": ["sensitivity", "--executor", "serial", "--out", OUT],
    "discover": ["discover", INPUTS],
}
EXPERIMENTS = ["baseline", "compare", "sweep", "decompose", "sensitivity"]

CASES: list = []


def case(argv, named=None, marks=(), id=None):
    CASES.append(pytest.param(argv, named, marks=marks, id=id or " ".join(argv).replace(OUT, "OUT")))


# Unknown commands and options, missing or malformed arguments.
for argv in (
    [],
    ["nosuch"],
    ["--bogus"],
    ["baseline", "--nosuch"],
    ["baseline", "--seeds"],
    ["single"],
    ["single", "--out"],
    ["psy"],
    ["psy", CSV],
    ["sweep"],
    ["compare"],
    ["baseline", "--executor", "cloud"],
    ["baseline", "--measure", "forever"],
    ["baseline", "--episodes", "some"],
    ["calibration", "--json", "--nosuch"],
    ["properties", "extra"],
):
    case(argv)
case(["baseline", "--dask-local", "2"], "--executor dask")
case(["baseline", "--scheduler", "tcp://x:1"], "--executor dask")
case(["baseline", "--executor", "dask", "--scheduler", "tcp://x:1", "--dask-local", "2"], "not both")
case(["compare", "baseline", "baseline", "--out", OUT], "twice")

# Numeric options: (option, commands, bad values). Every value on the first command, the
# first three on the others.
BIG = str(10**30)
NUMERIC = [
    ("--seeds", EXPERIMENTS, ["0", "-1", "100001", "1000000000", BIG, "abc", "1.5", "inf", "nan", "1e3", ""]),
    ("--root-seed", [*EXPERIMENTS, "properties"], ["-1", str(2**63), BIG, "abc", "inf", "nan", "2.5"]),
    ("--seed", ["single", "calibration"], ["-1", str(2**63), BIG, "abc", "inf", "nan", "0.5", ""]),
    ("--years", ["single", *EXPERIMENTS], ["0", "-1", "1e9", "inf", "-inf", "nan", "50.5", "1e308", "abc", "0x10"]),
    ("--workers", [*EXPERIMENTS, "properties"], ["0", "-1", "1025", str(10**12), "abc", "nan", "inf"]),
    ("--psy-reps", ["compare"], ["5", "100001", "-3", "abc", "inf"]),
    ("--bootstrap", ["decompose"], ["0", "5", str(10**7), "abc", "nan"]),
    ("--reps", ["psy"], ["5", "1000000", "-1", "abc", "inf"]),
    ("--lag", ["psy"], ["-1", "101", "abc", "1.5", "nan"]),
    ("--min-window", ["psy"], ["0", "-5", "3", str(10**8), "abc"]),
    ("--run-timeout", EXPERIMENTS, ["0", "-1", "1e308", "inf", "nan", "abc"]),
    ("--trajectories", ["sensitivity"], ["0", "1", "10001", BIG, "abc", "nan", "1.5"]),
    ("--samples", ["sensitivity"], ["0", "1", "65537", "abc", "inf"]),
    ("--short", ["discover"], ["0", "-1", "51", "nan", "inf", "abc"]),
    ("--long", ["discover"], ["0", "-2", "1e308", "nan"]),
    ("--min-coverage", ["discover"], ["0", "1.5", "-0.1", "nan", "abc"]),
    ("--mass-min", ["discover"], ["0", "0.6", "nan"]),
    ("--boxes", ["discover"], ["0", "11", "1.5", "abc", "-1"]),
]
for option, commands, values in NUMERIC:
    for i, command in enumerate(commands):
        for value in values if i == 0 else values[:3]:
            named = option if value not in ("", "abc") else None
            if option == "--min-window" and value == "3":
                named = "needs at least 4"  # below the smallest window a regression can use
            case([*PREFIX[command], f"{option}={value}"], named)
for command in ("baseline", "properties"):
    for value in ("0", "1025", "-2", "abc"):
        case([*PREFIX[command], "--executor", "dask", f"--dask-local={value}"])

# --set: malformed, unknown keys, bad types, non-finite and out-of-range values.
SET_BAD = [
    ("interest_rate", "KEY=VALUE", ()),
    ("=0.05", "KEY=VALUE", ()),
    ("interest_rate=", "empty value", ()),
    ("economy.nosuch=1", "nosuch", ()),
    ("nosuch=1", "nosuch", ()),
    ("labs.NoLab.revenue_growth=1", "NoLab", ()),
    ("economy..interest_rate=1", None, ()),
    ("1abc=2", None, ()),
    ("interest_rate=lots", "interest_rate", ()),
    ("interest_rate=true", "interest_rate", ()),
    ("interest_rate=[1,2]", "interest_rate", ()),
    ('interest_rate="0.05"', "interest_rate", ()),
    ("interest_rate=nan", "interest_rate", ()),
    ("interest_rate=inf", "interest_rate", ()),
    ("interest_rate=-inf", "interest_rate", ()),
    ("economy.regime=nosuch", "regime", ()),
    ("economy.regime=1", "regime", ()),
    ("run.start=notadate", "start", ()),
    ("run.start=12", "start", ()),
    ("economy.interest_rate=1e308", "interest_rate", ()),
    ("economy.interest_rate=-5", "interest_rate", ()),
    ("market.passive_share=2", "passive_share", ()),
    ("market.passive_share=-0.5", "passive_share", ()),
    ("market.passive_share=1e308", "passive_share", ()),
    ("run.years=0", "years", ()),
    ("run.years=1e9", "years", ()),
    ("run.years=inf", "years", ()),
    ("interest_rate=" + "1" * 5000, "too long", ()),
    ("seed=" + "9" * 4301, "too long", ()),
    ("interest_rate=0.1\n[economy]\ninterest_rate=9", "more than one line", ()),
]
for value, named, marks in SET_BAD:
    case([*PREFIX["baseline"], "--set", value], named, marks)
for command in ("compare", "sweep", "decompose", "sensitivity"):
    for value, named, marks in (SET_BAD[3], SET_BAD[8], SET_BAD[12], SET_BAD[19]):
        case([*PREFIX[command], "--set", value], named, marks)
case([*PREFIX["baseline"], "--set", "interest_rate=0.02", "--set", "interest_rate=0.03"], "twice")
case([*PREFIX["baseline"], "--years", "1", "--set", "run.years=50.00000000000001"], "given twice")
case([*PREFIX["sensitivity"], "--years", "1", "--set", "run.years=2"], "given twice")
for grid in ("interest_rate=0.02,inf", "interest_rate=0.02,nan", "interest_rate", "nosuch=1,2", "interest_rate=1,1"):
    case(["sweep", grid, "--executor", "serial", "--out", OUT], None)

# Bad scenario files (made by the `inputs` fixture) and names.
SCENARIOS = [
    "nosuch",
    f"{INPUTS}/missing.toml",
    f"{INPUTS}/folder.toml",
    f"{INPUTS}/unknown_key.toml",
    f"{INPUTS}/wrong_type.toml",
    f"{INPUTS}/binary.toml",
    f"{INPUTS}/latin1.toml",
    f"{INPUTS}/not_toml.toml",
    f"{INPUTS}/cycle_a.toml",
    f"{INPUTS}/deep_0.toml",
    f"{INPUTS}/fifo.toml",
    f"{INPUTS}/long_int.toml",
    f"{INPUTS}/newline_key.toml",
    "no\nsuch",
]
for scenario in SCENARIOS:
    case([*PREFIX["single"], "--scenario", scenario], "not a regular file" if "fifo" in scenario else None)
for command in ("calibration", "baseline", "decompose", "sensitivity"):
    for scenario in (SCENARIOS[2], SCENARIOS[4], SCENARIOS[5]):
        case([*PREFIX[command], "--scenario", scenario])
case(["compare", "baseline", f"{INPUTS}/wrong_type.toml", "--executor", "serial", "--out", OUT])
# Sensitivity: a parameters file that is not one, a parameter the --set also gives, a Sobol
# sample that is not a power of two. Discover: no experiment where one is due.
for parameters, named in (
    (f"{INPUTS}/missing.toml", "not found"),
    (f"{INPUTS}/folder.toml", "not a regular file"),
    (f"{INPUTS}/fifo.toml", "not a regular file"),
    (f"{INPUTS}/binary.toml", "not valid TOML"),
    (f"{INPUTS}/latin1.toml", "not UTF-8"),
    (f"{INPUTS}/not_toml.toml", "not valid TOML"),
    (f"{INPUTS}/unknown_key.toml", "unknown key"),
):
    case([*PREFIX["sensitivity"], "--parameters", parameters], named)
case([*PREFIX["sensitivity"], "--set", "market.passive_share=0.3"], "also given with --set")
case([*PREFIX["sensitivity"], "--method", "sobol", "--samples", "100"], "power of two")
case([*PREFIX["sensitivity"], "--measure", "lifetime"])
for argv, named in (
    (["discover", f"{INPUTS}/missing"], "not found"),
    (["discover", f"{INPUTS}/a_file"], "not a folder"),
    (["discover", INPUTS], "holds no experiment"),
    (["discover", INPUTS, "--short", "6", "--long", "5"], "--short"),
    (["discover"], None),
    (["discover", INPUTS, "--out", f"{INPUTS}/a_file"], "--out"),
    (["discover", INPUTS, "--out", "/proc/x"], "--out"),
):
    case(argv, named)
# The dashboard: a port out of range, a host that does not resolve.
for argv in (["--port", "0"], ["--port", "70000"], ["--port", "x"], ["--host", "no such host!"]):
    case(["dashboard", *argv], argv[0])
# A relation that fails because of an override names the option as well as the file.
case([*PREFIX["baseline"], "--set", "run.boom_started=2030-01-01"], "with --set run.boom_started=2030-01-01")
case(["sweep", "interest_rate=0.02", "--scenario", f"{INPUTS}/unknown_key.toml", "--out", OUT])

# Output folders that cannot be made or written.
OUTS = [
    f"{INPUTS}/a_file",
    f"{INPUTS}/a_file/below",
    f"{INPUTS}/a_file/below/deeper",
    "/proc/x",
    "/proc",
    "/sys/x",
    "/dev/null",
    "/dev/shm/x",
    f"{INPUTS}/to_proc/x",
    f"{INPUTS}/" + "n" * 300,
    "",
    f"{INPUTS}/a_file/../x",
    f"{INPUTS}/dangling",
    f"{INPUTS}/new\nline/../a_file/x",
]
for command in ("single", "baseline", "compare", "sweep", "decompose", "properties"):
    for out in OUTS if command in ("single", "baseline") else OUTS[:2] + OUTS[3:4] + OUTS[8:9]:
        argv = [*PREFIX[command]]
        argv[argv.index(OUT)] = out
        case(argv, "--out")

# psy inputs (files made by the `inputs` fixture).
PSY = [
    (["--column", "nope"], "good.csv", "nope"),
    (["--column", "price", "--date-column", "nope"], "good.csv", "nope"),
    (["--column", "price", "--date-column", "date"], "duplicate_dates.csv", "repeats date"),
    (["--column", "price", "--date-column", "date"], "bad_date.csv", "not a date"),
    (["--column", "price", "--date-column", "date"], "missing_date.csv", "missing date"),
    (["--column", "price"], "inf.csv", "line 12"),
    (["--column", "price"], "minus_inf.csv", "line 12"),
    (["--column", "price"], "nan.csv", "line 12"),
    (["--column", "price"], "huge.csv", "line 12"),
    (["--column", "price"], "overflow.csv", "line 12"),
    (["--column", "price"], "text_value.csv", "line 12"),
    (["--column", "price"], "empty_value.csv", "line 12"),
    (["--column", "price", "--log"], "zero.csv", "non-positive"),
    (["--column", "price"], "short.csv", "needs at least"),
    (["--column", "price", "--lag", "3"], "good_short.csv", "needs at least"),
    (["--column", "price", "--min-window", "500"], "good.csv", "--min-window"),
    (["--column", "price"], "constant.csv", "constant"),
    (["--column", "price"], "fifo.csv", "not a regular file"),
    (["--column", "price"], "folder.csv", "directory"),
    (["--column", "price"], "binary.csv", "binary"),
    (["--column", "price"], "latin1.csv", "UTF-8"),
    (["--column", "price"], "empty.csv", "empty"),
    (["--column", "price"], "header_only.csv", "needs at least"),
    (["--column", "price"], "missing.csv", "no such file"),
    (["--column", "price"], "ragged.csv", "CSV"),
    (["--column", "price"], "duplicate_column.csv", "2 times"),
    (["--column", "price"], "no\nsuch.csv", "no such file"),
]
for options, name, named in PSY:
    case(["psy", f"{INPUTS}/{name}", *options], named, id=f"psy {name} {' '.join(options)}")


# --------------------------------------------------------------------------- fixtures


def _csv(path: Path, values, dates=None) -> None:
    dates = dates or [f"20{i // 12:02d}-{i % 12 + 1:02d}" for i in range(len(values))]
    path.write_text("date,price\n" + "".join(f"{d},{v}\n" for d, v in zip(dates, values, strict=True)))


def _with(bad: str, n: int = 60) -> list:
    values = [100 + i for i in range(n)]
    values[10] = bad
    return values


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Bad scenario files, bad CSV files, a file, a FIFO, a folder and a link into /proc (made once;
    every test checks they are unchanged)."""
    where = tmp_path_factory.mktemp("inputs")
    (where / "folder.toml").mkdir()
    (where / "folder.csv").mkdir()
    (where / "unknown_key.toml").write_text('inherits = "baseline"\n[economy]\nnosuch = 1\n')
    (where / "wrong_type.toml").write_text('inherits = "baseline"\n[economy]\ninterest_rate = "high"\n')
    (where / "binary.toml").write_bytes(b"\x00\x01\x02\xff" * 64)
    (where / "latin1.toml").write_bytes('inherits = "baseline"\nname = "caf\xe9"\n'.encode("latin-1"))
    (where / "not_toml.toml").write_text("this is = = not toml\n")
    (where / "cycle_a.toml").write_text('inherits = "cycle_b.toml"\n')
    (where / "cycle_b.toml").write_text('inherits = "cycle_a.toml"\n')
    depth = 100  # beyond the scenario loader's limit on inheritance chains
    for i in range(depth):
        parent = f"deep_{i + 1}.toml" if i + 1 < depth else "baseline"
        (where / f"deep_{i}.toml").write_text(f'inherits = "{parent}"\n')
    os.mkfifo(where / "fifo.toml")
    os.mkfifo(where / "fifo.csv")
    (where / "a_file").write_text("not a folder\n")
    (where / "to_proc").symlink_to("/proc")
    (where / "dangling").symlink_to(where / "nowhere" / "sub")
    (where / "new\nline").mkdir()
    (where / "long_int.toml").write_text('inherits = "baseline"\n[economy]\ninterest_rate = ' + "1" * 5000 + "\n")
    (where / "newline_key.toml").write_text('inherits = "baseline"\n[economy]\n"rate\\nsecond line" = 1\n')
    (where / "duplicate_column.csv").write_text(
        "date,price,price\n" + "".join(f"2020-{m:02d},1,2\n" for m in range(1, 13))
    )

    _csv(where / "good.csv", [100 + i for i in range(60)])
    _csv(where / "good_short.csv", [100 + i for i in range(9)])
    dates = [f"20{i // 12:02d}-{i % 12 + 1:02d}" for i in range(60)]
    _csv(where / "duplicate_dates.csv", [100 + i for i in range(60)], dates[:30] + dates[:30])
    _csv(where / "bad_date.csv", [100 + i for i in range(60)], dates[:10] + ["someday"] + dates[11:])
    _csv(where / "missing_date.csv", [100 + i for i in range(60)], dates[:10] + [""] + dates[11:])
    for name, bad in (
        ("inf", "inf"),
        ("minus_inf", "-inf"),
        ("nan", "nan"),
        ("huge", "1e308"),
        ("overflow", "1e309"),
        ("text_value", "lots"),
        ("empty_value", ""),
    ):
        _csv(where / f"{name}.csv", _with(bad))
    _csv(where / "zero.csv", _with("0"))
    _csv(where / "short.csv", [1, 2, 3])
    _csv(where / "constant.csv", [5] * 60)
    (where / "binary.csv").write_bytes(b"date,price\n2020-01,1\n\x00\x00\x00")
    (where / "latin1.csv").write_bytes("date,price\n2020-01,caf\xe9\n".encode("latin-1"))
    (where / "empty.csv").write_text("")
    (where / "header_only.csv").write_text("date,price\n")
    (where / "ragged.csv").write_text('date,price\n2020-01,1\n"2020-02,2\n')
    return where


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch, tmp_path):
    """Fail the test if a bad input gets as far as a simulation or a Monte Carlo."""
    import model.calibration
    import runs.experiment
    import runs.properties
    import runs.psy_critical
    import runs.single

    def ran(*args, **kwargs):
        raise RanSomething("a bad input got as far as a run")

    monkeypatch.setattr(runs.experiment, "run_experiment", ran)
    monkeypatch.setattr(runs.single, "run_single", ran)
    monkeypatch.setattr(model.calibration, "run_first_year", ran)
    monkeypatch.setattr(runs.properties, "run_all", ran)
    monkeypatch.setattr(runs.psy_critical, "critical_values", ran)
    monkeypatch.setenv("CIRCULAR_AI_CACHE", str(tmp_path / "cache"))


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: folders by name, files by size and modification time."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            kind = "dir" if path.is_dir() and not path.is_symlink() else "other"
            seen[str(path.relative_to(root))] = (kind,) if kind == "dir" else (kind, info.st_size, info.st_mtime_ns)
    return seen


def fill(argv, tmp_path: Path, inputs: Path) -> list[str]:
    replace = {OUT: str(tmp_path / "out"), CSV: str(inputs / "good.csv"), INPUTS: str(inputs)}
    filled = []
    for arg in argv:
        for key, value in replace.items():
            arg = arg.replace(key, value)
        filled.append(arg)
    return filled


# --------------------------------------------------------------------------- the battery


@pytest.mark.parametrize("argv,named", CASES)
def test_bad_input_is_one_line_exit_2_and_nothing_written(argv, named, tmp_path, inputs, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default output folders (out/...) would land here
    before = snapshot(tmp_path), snapshot(inputs)
    code = cli.main(fill(argv, tmp_path, inputs))
    stdout, stderr = capsys.readouterr()
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "Traceback" not in stderr
    if named:
        assert named in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
    assert (snapshot(tmp_path), snapshot(inputs)) == before


def test_the_battery_is_large():
    assert len(CASES) >= 150


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write in any folder")
def test_a_folder_that_cannot_be_written_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for argv in (["single", "--out", str(locked / "x")], ["baseline", "--out", str(locked)]):
            assert cli.main(argv) == 2
            err = capsys.readouterr().err
            assert err.startswith("error: --out") and err.count("\n") == 1
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_the_write_probe_is_removed(tmp_path):
    from runs.commands import check_out_dir

    assert check_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


def test_unsorted_dates_are_sorted_with_a_note(tmp_path, capsys, monkeypatch):
    from runs import psy_command

    path = tmp_path / "unsorted.csv"
    dates = [f"20{i // 12:02d}-{i % 12 + 1:02d}" for i in range(60)]
    _csv(path, list(range(100, 160))[::-1], dates[::-1])
    args = type("Args", (), {"file": str(path), "column": "price", "date_column": "date", "log": False})()
    values, labels = psy_command._read_series(args)
    assert list(labels) == dates and list(values) == list(range(100, 160))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("note:") and "sorted" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["single", "--seed", "-1", "--out", "{out}"],
        ["baseline", "--years", "1e9", "--out", "{out}"],
        ["baseline", "--seeds", "1000000000", "--out", "{out}"],
        ["properties", "--workers", "0", "--out", "{out}"],
        ["single", "--out", "/proc/x"],
        ["psy", "{inputs}/fifo.csv", "--column", "price"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_the_real_entry_point_prints_one_line_and_exits_2(argv, tmp_path, inputs):
    argv = fill(argv, tmp_path, inputs)
    before = snapshot(tmp_path), snapshot(inputs)
    done = subprocess.run(
        [sys.executable, "-m", "runs", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "CIRCULAR_AI_CACHE": str(tmp_path / "cache")},
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert (snapshot(tmp_path), snapshot(inputs)) == before
