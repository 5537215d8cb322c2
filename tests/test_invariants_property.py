"""Property: the books hold at every step of any valid scenario (design 5.1).

Hypothesis draws scenarios across the valid range of the parameters that move money or
shares: regimes, rates, sentiment, investment forms, stakes, lab and giant finances, the
passive share (0 to 1), fund counts, savers' behaviour. `check_ledger=True` makes the model
verify, after every step, that each entry balanced, each owner's assets equal liabilities
plus equity, money is conserved, every claim is two-sided (loans, credits, fund units),
every share of every stock is held by someone, and the savers' arrays add up to their
control accounts, to one dollar per trillion; and no reported number is NaN or infinite.
"""

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from economy.errors import DomainError
from model import CircularFinance
from model.scenario import REGIMES

share = st.floats(0.0, 1.0)


@st.composite
def scenarios(draw):
    overrides = {
        "economy.regime": draw(st.sampled_from(REGIMES)),
        "economy.interest_rate": draw(st.floats(0.0, 0.2)),
        "economy.spend_back": draw(st.booleans()),
        "economy.sentiment": draw(st.floats(-0.8, 2.0)),
        "economy.capacity_headroom": draw(share),
        "economy.capacity_decay": draw(share),
        "economy.max_debt_to_ebitda": draw(st.floats(0.0, 10.0)),
        "rounds.contract_ratio": draw(st.floats(0.0, 5.0)),
        "rounds.outside_depth": draw(st.floats(0.0, 2.0)),
        "rounds.down_round_step": draw(st.floats(0.01, 0.9)),
        "rounds.outside_noise": draw(st.floats(0.0, 2.0)),
        "rounds.retry_weeks": draw(st.integers(1, 26)),
        "market.passive_share": draw(share),
        "market.other_holders_share": draw(st.floats(0.05, 0.9)),
        "market.active_funds": draw(st.integers(0, 25)),
        "market.index_funds": draw(st.integers(1, 4)),
        "market.risk_aversion": draw(st.floats(0.5, 20.0)),
        "market.noise_earnings": draw(st.floats(0.0, 1.5)),
        "market.noise_market": draw(st.floats(0.0, 0.5)),
        "market.trend_share": draw(st.floats(0.0, 0.5)),
        "market.switching_intensity": draw(st.floats(0.0, 20.0)),
        "market.rest_growth": draw(st.floats(-0.3, 0.3)),
        "market.rest_net_issuance": draw(st.floats(-0.05, 0.05)),
        "savers.accounts": draw(st.integers(1, 300)),
        "savers.extrapolation": draw(st.floats(0.0, 1.0)),
        "savers.allocation_sensitivity": draw(st.floats(0.0, 5.0)),
        "savers.rebalance_weeks": draw(st.floats(1.0, 104.0)),
        "savers.panic_probability": draw(share),
        "savers.contribution_rate": draw(share),
        "savers.withdrawal_rate": draw(share),
    }
    for lab in ("OpenAI", "Anthropic"):
        overrides[f"labs.{lab}.revenue"] = draw(st.floats(0.0, 200.0))
        overrides[f"labs.{lab}.revenue_growth"] = draw(st.floats(-0.5, 4.0))
        overrides[f"labs.{lab}.cash"] = draw(st.floats(0.0, 300.0))
        overrides[f"labs.{lab}.opex"] = draw(st.floats(0.0, 50.0))
        overrides[f"labs.{lab}.outside_appetite"] = draw(st.floats(0.0, 3.0))
        overrides[f"labs.{lab}.compute_share_of_revenue"] = draw(st.floats(0.0, 3.0))
    for giant in ("Microsoft", "Amazon", "Oracle"):
        overrides[f"giants.{giant}.cash"] = draw(st.floats(0.0, 300.0))
        overrides[f"giants.{giant}.core_margin"] = draw(share)
        overrides[f"giants.{giant}.capex_cost"] = draw(st.floats(0.1, 20.0))
        overrides[f"giants.{giant}.build_weeks"] = draw(st.integers(1, 200))
        overrides[f"giants.{giant}.payout_share"] = draw(share)
        overrides[f"giants.{giant}.tax_rate"] = draw(share)
    for pair in ("Amazon.Anthropic", "Microsoft.OpenAI"):
        credits = draw(share)
        overrides[f"partnerships.{pair}"] = {
            "round_share": draw(share),
            "credits_share": credits,
            "clause_share": draw(st.floats(0.0, 1.0 - credits)),
            "stake": draw(st.floats(0.0, 0.45)),
            "method": draw(st.sampled_from(["fair_value", "equity", "cost"])),
        }
    return overrides


def _apply_partnerships(overrides):
    """Partnerships are keyed by giant and lab: partnerships.GIANT.LAB.field."""
    flat = {}
    for key, value in overrides.items():
        if key.startswith("partnerships."):
            _, giant, lab = key.split(".")
            flat.update({f"partnerships.{giant}.{lab}.{field}": v for field, v in value.items()})
        else:
            flat[key] = value
    return flat


# Fixed examples in CI (derandomized from the test's name); set PROPERTY_EXAMPLES=1000 to explore.
EXPLORE = int(os.environ.get("PROPERTY_EXAMPLES", "0"))


@settings(
    max_examples=EXPLORE or 50,
    derandomize=not EXPLORE,
    database=None if not EXPLORE else settings().database,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios(), st.integers(0, 2**32 - 1))
def test_books_hold_at_every_step_of_random_valid_scenarios(overrides, seed):
    model = CircularFinance(years=2, rng=seed, check_ledger=True, overrides=_apply_partnerships(overrides))
    try:
        model.run()
    except DomainError as stop:
        # Runaway prices end a run with a clear message; the books held at every step till then.
        assert "times its opening price" in str(stop) or "cannot clear" in str(stop)
        return
    weekly = model.tables()["weekly"]
    numeric = weekly.select_dtypes("number").to_numpy(dtype=float)
    assert all(math.isfinite(v) for v in numeric.ravel())


# ------------------------------------------------------------------ the declared ranges, uniformly
# Design 11: a value inside the declared ranges is a promise that the model runs. This draws every
# numeric field of the scenario (agent tables included) uniformly from exactly the range declared
# in model/scenario.py (`declared_fields`, the same declaration docs/ranges.md is generated from),
# repairs the relations between fields the loader also checks (a floor below its ceiling, shares
# adding up to at most 1, ...), and runs two years with the ledger checked. Exploratory, not in CI:
# RANGES_EXAMPLES=200 pytest tests/test_invariants_property.py -k declared; or, to tally every
# failure instead of stopping at the first, `python tests/test_invariants_property.py 200`.
RANGES = int(os.environ.get("RANGES_EXAMPLES", "0"))
SKIP_RANGES = "exploratory: set RANGES_EXAMPLES=N (failures are the work list of issue 9)"


def uniform_raw(uniform, integer, choice) -> dict:
    """Raw scenario data (the baseline's agents) with every field drawn from its declared range.

    `uniform(lo, hi)` a float in [lo, hi], `integer(lo, hi)` an int in [lo, hi], `choice(seq)` one
    item: Hypothesis draws or a random generator's.
    """
    import copy
    import datetime as dt

    from model import scenario as schema

    raw = copy.deepcopy(schema.load_raw("baseline")[0])

    def value(info):
        r = info.valid
        lo, hi = r.lo, r.hi
        if info.kind == "date":
            return lo + dt.timedelta(days=integer(0, (hi - lo).days))
        if info.kind == "int":
            return integer(lo + r.lo_open, hi - r.hi_open)
        x = uniform(float(lo), float(hi))
        if (r.lo_open and x <= r.lo) or (r.hi_open and x >= r.hi):
            x = (float(lo) + float(hi)) / 2.0  # an open end drawn: the middle instead
        return x

    for info in schema.declared_fields():
        head, _, rest = info.dotted.partition(".")
        rows = raw[head[:-2]] if head.endswith("[]") else [raw.setdefault(head, {}) if rest else raw]
        key = rest.partition(".")[0] if head.endswith("[]") else (rest or head)
        if key == "seed" or info.kind in ("text", "tables"):
            continue
        for row in rows:
            if info.kind == "bool":
                row[key] = choice([True, False])
            elif info.kind == "choice":
                row[key] = choice(info.choices)
            elif info.kind == "array":
                row[key] = [value(info) for _ in range(info.length)]
            elif info.kind == "shares":
                weights = {g: uniform(0.0, 1.0) + 1e-9 for g in row.get(key, {})}
                row[key] = {g: w / sum(weights.values()) for g, w in weights.items()}
            else:
                row[key] = value(info)
    _repair_relations(raw, uniform)
    raw["run"]["years"] = 2.0
    return raw


def _repair_relations(raw: dict, uniform) -> None:
    """Make the drawn values keep the orders and sums the loader checks (scenario._cross_check)."""
    run, rounds, market, savers = raw["run"], raw["rounds"], raw["market"], raw["savers"]
    run["start"], run["boom_started"] = max(run["start"], run["boom_started"]), min(run["start"], run["boom_started"])
    rounds["floor_multiple"], rounds["multiple"], rounds["ceiling_multiple"] = sorted(
        (rounds["floor_multiple"], rounds["multiple"], rounds["ceiling_multiple"])
    )
    for low, high in (("earnings_growth_min", "earnings_growth_max"),):
        market[low], market[high] = sorted((market[low], market[high]))
    savers["panic_weeks_min"], savers["panic_weeks_max"] = sorted(
        (savers["panic_weeks_min"], savers["panic_weeks_max"])
    )
    savers["glide_start_age"] = 20.0 + (savers["glide_start_age"] - 20.0) * (savers["retirement_age"] - 20.0) / 60.0
    market["trend_share"] *= 1.0 - market["earnings_share"]
    savers["boomer_share"] *= 1.0 - savers["retiree_share"]
    for lab in raw["labs"]:
        trigger = lab["runway_trigger_weeks"]
        lab["runway_target_weeks"] = trigger + max(lab["runway_target_weeks"] / 1040.0, 1e-6) * (1040.0 - trigger)
    for p in raw["partnerships"]:
        p["clause_share"] *= 1.0 - p["credits_share"]
    for lab in {p["lab"] for p in raw["partnerships"]}:
        rows = [p for p in raw["partnerships"] if p["lab"] == lab]
        total = sum(p["stake"] for p in rows)
        for p in rows:
            p["stake"] *= (1.0 - 1e-9) / max(total, 1.0)  # the loader allows no rounding above 1


def _run_declared(raw: dict, seed: int):
    """Build and run two years; return None, or the DomainError that stopped the run in one line."""
    from model import scenario as schema

    config = schema.build(raw, "<uniform draw>")
    try:
        model = CircularFinance(config, rng=seed, check_ledger=True)
        model.run()
    except DomainError as stop:
        return stop
    weekly = model.tables()["weekly"]
    numeric = weekly.select_dtypes("number").to_numpy(dtype=float)
    assert all(math.isfinite(v) for v in numeric.ravel()), "a reported number is NaN or infinite"
    return None


@st.composite
def declared_scenarios(draw):
    return uniform_raw(
        lambda lo, hi: lo + draw(st.floats(0.0, 1.0)) * (hi - lo),
        lambda lo, hi: draw(st.integers(lo, hi)),
        lambda seq: draw(st.sampled_from(list(seq))),
    )


@pytest.mark.skipif(not RANGES, reason=SKIP_RANGES)
@settings(max_examples=RANGES or 1, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(declared_scenarios(), st.integers(0, 2**32 - 1))
def test_every_scenario_within_the_declared_ranges_runs(raw, seed):
    from hypothesis import reject

    from economy.errors import InputError
    from model import scenario as schema

    try:
        schema.build(raw, "<uniform draw>")
    except InputError as error:
        assert "must be in" not in str(error), error  # a drawn value outside its own range: a bug
        reject()  # a tie the shrinker made (floor == multiple): outside the relations, not a failure
    _run_declared(raw, seed)


def explore(examples: int, seed: int = 0, pinned: tuple[str, ...] = ()) -> None:
    """Draw `examples` scenarios uniformly from the declared ranges and tally how runs end;
    `pinned` fields (economy.interest_rate) keep the baseline's value, to look past a failure class."""
    import collections
    import random
    import signal
    import traceback

    rng = random.Random(seed)
    tally, shown = collections.Counter(), {}

    def timeout(*_):
        raise TimeoutError("run took more than 300 s")

    signal.signal(signal.SIGALRM, timeout)
    for i in range(examples):
        raw = uniform_raw(rng.uniform, rng.randint, rng.choice)
        for dotted in pinned:
            table, key = dotted.split(".")
            raw[table][key] = BASELINE_RAW[table][key]
        signal.alarm(300)
        try:
            stop = _run_declared(raw, rng.randrange(2**32))
            outcome = "ok" if stop is None else f"DomainError: {_shape(str(stop))}"
        except Exception as exc:  # noqa: BLE001 - exploration: every failure class is the result
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            outcome = f"{type(exc).__name__} at {where}: {_shape(str(exc))}"
        finally:
            signal.alarm(0)
        tally[outcome] += 1
        shown.setdefault(outcome, (i, {k: raw[k] for k in ("economy", "rounds", "market", "savers", "bubble")}))
        print(f"{i}: {outcome}", flush=True)
    print("\n== outcomes")
    for outcome, count in tally.most_common():
        print(f"{count:4d}  {outcome}   (first: example {shown[outcome][0]})")


def _shape(message: str) -> str:
    """A message with its numbers blanked, so that failures of one kind count together."""
    import re

    return re.sub(r"-?\d[\d.e+-]*", "#", message.splitlines()[0] if message else "")[:160]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from model.scenario import load_raw

    BASELINE_RAW = load_raw("baseline")[0]
    args = sys.argv[1:] + ["20", "0", ""][len(sys.argv) - 1 :]
    explore(int(args[0]), int(args[1]), tuple(k for k in args[2].split(",") if k))
