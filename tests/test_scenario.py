"""Scenario files: the baseline names a source for every value, and bad input stops early
with one line naming the field and the file (exit status 2, no traceback)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from economy.errors import InputError
from model import scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
SOURCE_TAGS = ("seed", "source:", "implied", "assumption")


def test_baseline_loads_into_a_typed_frozen_object():
    config = scenario.load("baseline")
    assert config.name == "baseline"
    assert str(config.run.start) == "2026-01-01"
    assert [g.name for g in config.giants] == ["Microsoft", "Alphabet", "Amazon", "Oracle"]
    assert {lab.name for lab in config.labs} == {"OpenAI", "Anthropic"}
    assert config.steps == 520
    with pytest.raises(AttributeError):
        config.name = "changed"


def test_every_baseline_value_names_its_source_beside_it():
    missing = []
    for number, line in enumerate(BASELINE.read_text().splitlines(), 1):
        code = line.split("#", 1)[0].strip()
        if not code or code.startswith("[") or "=" not in code:
            continue
        key = code.split("=", 1)[0].strip()
        if key in ("name", "giant", "lab", "description", "source"):
            continue  # identifiers and free text, not inputs
        comment = line.split("#", 1)[1] if "#" in line else ""
        if not any(tag in comment for tag in SOURCE_TAGS):
            missing.append(f"line {number}: {line.strip()}")
    assert not missing, "values without a source:\n" + "\n".join(missing)


def test_a_scenario_can_inherit_and_change_one_value(tmp_path):
    path = tmp_path / "higher_rates.toml"
    path.write_text(
        'inherits = "baseline"\nname = "higher_rates"\n[economy]\ninterest_rate = 0.07\n'
        '[[labs]]\nname = "OpenAI"\nrevenue_growth = 0.5\n'
    )
    config = scenario.load(path)
    base = scenario.load("baseline")
    assert config.economy.interest_rate == 0.07
    assert config.economy.regime == base.economy.regime
    assert config.lab("OpenAI").revenue_growth == 0.5
    assert config.lab("OpenAI").cash == base.lab("OpenAI").cash
    assert len(config.labs) == len(base.labs)


def test_overrides_use_dotted_names():
    config = scenario.load("baseline", {"economy.interest_rate": 0.05, "labs.Anthropic.outside_appetite": 0.0})
    assert config.economy.interest_rate == 0.05
    assert config.lab("Anthropic").outside_appetite == 0.0
    with pytest.raises(InputError, match="unknown parameter"):
        scenario.load("baseline", {"economy.nope.deeper": 1})
    with pytest.raises(InputError, match="no labs entry 'Nobody'"):
        scenario.load("baseline", {"labs.Nobody.cash": 1.0})


def _broken(tmp_path, old, new, name="broken.toml"):
    text = BASELINE.read_text()
    assert re.search(old, text, flags=re.M), old
    path = tmp_path / name
    path.write_text(re.sub(old, new, text, count=1, flags=re.M))
    return path


def _run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "runs", "calibration", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    "old, new, field",
    [
        (r"^capacity_headroom = ", "capacity_headrom = ", "economy.capacity_headrom"),  # unknown key
        (r"^interest_rate = 0.04", 'interest_rate = "four percent"', "economy.interest_rate"),  # wrong type
        (r"^core_margin = 0.46", "core_margin = 1.46", "giants[0].core_margin"),  # share above 1
        (r"^cash = 100.0", "cash = -100.0", "giants[0].cash"),  # negative amount
        (r"^spend_back = true", "spend_back = 1", "economy.spend_back"),  # wrong type
        (r'^regime = "gaap_2026"', 'regime = "ifrs"', "economy.regime"),  # unknown choice
    ],
)
def test_bad_scenario_file_stops_with_one_line_naming_field_and_file(tmp_path, old, new, field):
    path = _broken(tmp_path, old, new)
    result = _run_cli("--scenario", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert field in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_file_and_unknown_name_stop_with_exit_2(tmp_path):
    missing = tmp_path / "nowhere.toml"
    result = _run_cli("--scenario", str(missing))
    assert result.returncode == 2 and str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = _run_cli("--scenario", "no_such_scenario")
    assert result.returncode == 2 and "no_such_scenario" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_toml_syntax_is_reported_with_the_file(tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text("[economy\ninterest_rate = 0.04\n")
    with pytest.raises(InputError, match=str(path)):
        scenario.load(path)


def test_cross_references_are_checked(tmp_path):
    path = _broken(tmp_path, r'^lab = "OpenAI"', 'lab = "OpenAl"')
    with pytest.raises(InputError, match=r"partnerships\[0\]\.lab.*OpenAl"):
        scenario.load(path)


def test_an_opening_price_earnings_no_discount_rate_can_give_is_refused_before_the_run():
    # Earnings as large as the market: even a 100% discount rate values 50% growth at about 3 times earnings.
    overrides = {
        "market.rest_growth": 0.5,
        "market.growth_halflife_years": 20.0,
        "market.rest_earnings": scenario.load("baseline").market.rest_market_cap / 1.0,
    }
    with pytest.raises(InputError, match="price/earnings .* is the present value of no discount rate"):
        scenario.load("baseline", overrides)
