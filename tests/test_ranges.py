"""Declared ranges (design 11): every numeric scenario field has a finite range in the schema;
a value just outside it, nan or inf is refused with one line naming the field, a value at an
inclusive bound is accepted; the reference table in docs/ranges.md is generated from the same
declaration."""

import copy
import datetime as dt
import math
import subprocess
import sys
from dataclasses import MISSING
from pathlib import Path

import pytest

from economy.errors import InputError
from model import scenario
from runs.scripts import ranges_table

ROOT = Path(__file__).resolve().parent.parent
FIELDS = scenario.declared_fields()
NUMERIC = [f for f in FIELDS if f.kind in ("float", "int", "date", "array", "shares")]
BASE_RAW, BASE_PATH = scenario.load_raw("baseline")


def _set(raw: dict, dotted: str, value) -> str:
    """Put `value` at `dotted` (the first agent of a table, the first item of an array) in raw
    scenario data; return the label an error message uses for it."""
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        table = head[:-2]
        name, _, key = rest.partition(".")
        raw[table][0][name] = value
        return f"{table}[0].{name}"
    if rest:
        raw.setdefault(head, {})[rest] = value
        return dotted
    raw[head] = value
    return dotted


def _build_with(info, value):
    raw = copy.deepcopy(BASE_RAW)
    if info.kind == "array":
        label = _set(raw, info.dotted, [value]) + "[0]"
    elif info.kind == "shares":
        label = _set(raw, info.dotted, {"Microsoft": value}) + ".Microsoft"
    else:
        label = _set(raw, info.dotted, value)
    return label, lambda: scenario.build(raw, BASE_PATH)


def _outside(info, bound, side):
    """The nearest value beyond `bound` on `side` (-1 below the low end, +1 above the high end)."""
    is_open = info.valid.lo_open if side < 0 else info.valid.hi_open
    if isinstance(bound, dt.date):
        return bound if is_open else bound + dt.timedelta(days=side)
    if info.kind == "int":
        return bound if is_open else bound + side
    return float(bound) if is_open else math.nextafter(float(bound), side * math.inf)


def _ids(cases):
    return [f"{c[0].dotted}-{c[1]}" for c in cases]


OUTSIDE = [(f, end) for f in NUMERIC for end in ("low", "high")]


def test_every_number_has_a_finite_declared_range():
    assert len(NUMERIC) >= 150
    for info in NUMERIC:
        lo, hi = info.valid.lo, info.valid.hi
        assert lo < hi, info.dotted
        if not isinstance(lo, dt.date):
            assert math.isfinite(lo) and math.isfinite(hi), info.dotted
        assert info.about, f"{info.dotted} has no description"


def test_defaults_and_shipped_scenarios_lie_within_the_ranges():
    for info in NUMERIC:
        if info.default is not MISSING and info.kind in ("float", "int", "date"):
            assert info.default in info.valid, info.dotted
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario.load(path)  # raises InputError naming any value outside its range


@pytest.mark.parametrize("info, end", OUTSIDE, ids=_ids(OUTSIDE))
def test_a_value_just_outside_a_range_is_refused_naming_the_field(info, end):
    bound = info.valid.lo if end == "low" else info.valid.hi
    label, build = _build_with(info, _outside(info, bound, -1 if end == "low" else 1))
    with pytest.raises(InputError) as caught:
        build()
    message = str(caught.value)
    assert f"'{label}'" in message and str(BASE_PATH) in message and len(message.splitlines()) == 1


FLOATS = [(f, bad) for f in NUMERIC if f.kind in ("float", "array", "shares") for bad in ("nan", "inf", "-inf")]


@pytest.mark.parametrize("info, bad", FLOATS, ids=_ids(FLOATS))
def test_non_finite_values_are_refused_naming_the_field(info, bad):
    label, build = _build_with(info, float(bad))
    with pytest.raises(InputError, match="finite") as caught:
        build()
    assert f"'{label}'" in str(caught.value)


INSIDE = [(f, end) for f in NUMERIC for end in ("low", "high")
          if not (f.valid.lo_open if end == "low" else f.valid.hi_open)]  # fmt: skip


@pytest.mark.parametrize("info, end", INSIDE, ids=_ids(INSIDE))
def test_a_value_at_an_inclusive_bound_is_accepted(info, end):
    """The field's own range accepts it; a relation with another field (a floor below its
    ceiling, shares adding up to 1, a date order) may still refuse the whole scenario."""
    bound = info.valid.lo if end == "low" else info.valid.hi
    label, build = _build_with(info, bound)
    try:
        build()
    except InputError as error:
        assert f"'{label}' must be in" not in str(error) and "finite" not in str(error), error


def test_booleans_are_not_numbers():
    with pytest.raises(InputError, match="economy.interest_rate' must be a number, not true"):
        scenario.load("baseline", {"economy.interest_rate": True})
    with pytest.raises(InputError, match="savers.accounts' must be a number"):
        scenario.load("baseline", {"savers.accounts": False})


# ---------------------------------------------------------------- the cases of issue 9
def _one_line(call, *needles):
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.mark.parametrize(
    "key, value, shown",
    [
        ("economy.interest_rate", math.inf, "inf"),
        ("economy.interest_rate", 1e308, "1e+308"),
        ("savers.accounts", 10**400, "(401 chars)"),
        ("market.rest_earnings", 10**400, "(401 chars)"),
        ("seed", -1, "-1"),
        ("seed", 2**63, "9223372036854775808"),
        ("run.years", 1e300, "1e+300"),
        ("run.start", dt.date(1, 1, 1), "0001-01-01"),
        ("run.start", dt.date(9999, 1, 1), "9999-01-01"),
        ("rounds.down_round_step", 0.0, "(0, 1)"),
        ("savers.retirement_age", 30.0, "[40, 80]"),
        ("market.sentiment_weeks", 53, "[1, 52]"),
        ("economy.interest_rate", 9.99, "9.99"),
        ("market.rest_earnings", 0.0, "(0, 100000]"),
    ],
)
def test_an_override_names_the_option_not_the_file(key, value, shown):
    message = _one_line(lambda: scenario.load("baseline", {key: value}, source="--set"), f"'{key}'", shown)
    assert message.startswith(f"--set {key}=") and "baseline.toml" not in message


def test_an_override_without_a_source_names_the_file_and_the_override():
    _one_line(
        lambda: scenario.load("baseline", {"economy.interest_rate": math.nan}),
        "baseline.toml: override economy.interest_rate=nan",
        "'economy.interest_rate'",
    )
    _one_line(lambda: scenario.load("baseline", {"economy.nope": 1}, source="--set"), "--set economy.nope=1")


def test_boom_started_after_start_is_refused():
    _one_line(lambda: scenario.load("baseline", {"run.boom_started": dt.date(2027, 1, 1)}), "'run.boom_started'")


def test_bad_files_each_give_one_line(tmp_path):
    cases = {
        "binary.toml": bytes(range(256)),
        "latin1.toml": 'description = "caf\xe9"\n'.encode("latin-1"),
        "nul.toml": b"seed = 1\x00\n",
        "labs.toml": b'inherits = "baseline"\nlabs = [1, 2]\n',
        "big.toml": b'inherits = "baseline"\nseed = ' + b"9" * 400 + b"\n",
        "huge_float.toml": b'inherits = "baseline"\n[market]\nrest_cap = 1e308\nrest_market_cap = 1e308\n',
        "agents.toml": b'inherits = "baseline"\n' + b'[[contracts]]\ngiant = "Oracle"\nlab = "OpenAI"\n' * 5001,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        _one_line(lambda path=path: scenario.load(path), str(path))


def test_a_deep_inheritance_chain_gives_one_line(tmp_path):
    for i in range(1500):
        parent = f"c{i + 1}.toml" if i < 1499 else "baseline"
        (tmp_path / f"c{i}.toml").write_text(f'inherits = "{parent}"\n')
    _one_line(lambda: scenario.load(tmp_path / "c0.toml"), "'inherits'", "32")
    (tmp_path / "c20.toml").write_text('inherits = "baseline"\n')  # 21 files: within the limit
    assert scenario.load(tmp_path / "c0.toml").name == "c0"


def test_the_command_line_names_the_set_option():
    result = subprocess.run(
        [sys.executable, "-m", "runs", "calibration", "--set", "economy.interest_rate=inf"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--set economy.interest_rate=inf" in lines[0], result.stderr
    assert "baseline.toml" not in lines[0] and "Traceback" not in result.stderr


# ---------------------------------------------------------------- the reference table
def test_docs_ranges_md_is_generated_from_the_schema():
    committed = (ROOT / "docs" / "ranges.md").read_text()
    assert committed == ranges_table.table(), "regenerate: python -m runs.scripts.ranges_table --out docs/ranges.md"
    for info in FIELDS:
        assert f"| `{info.dotted}` |" in committed
