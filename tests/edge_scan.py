"""Every scenario field at the edges of its declared range, one at a time, run with the books checked.

Design 10.10 and 11: a value inside the declared ranges is a promise that the model runs to its
horizon or stops with one line (DomainError) when the economy leaves what it can represent. This
module owns the one-at-a-time test of that promise: starting from the baseline, each numeric
field (every row of an agent table at once) is set to its lowest and highest valid value (a hair
inside an open end), each choice and flag to each of its values, and the scenario runs five years
with the ledger checked after every week (`check_ledger=True`). The outcome of each case is "ok",
"DomainError: ..." (allowed: the model says in one line why it stops), "refused: ..." (an
InputError from a relation between fields, such as a floor above its ceiling: the loader's job,
not a failure) or the exception class and where it was raised (a failure). `tests/test_edges.py`
runs the cases the issue names in CI; `python tests/edge_scan.py [YEARS] [WORKERS]` runs them all
and prints the tally (slow: about 350 runs).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import sys
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from economy.errors import DomainError, InputError  # noqa: E402
from model import CircularFinance  # noqa: E402
from model import scenario as schema  # noqa: E402

OPEN_STEP = 1e-6  # an open end is approached to this share of the range


def edge_values(info) -> list:
    """The lowest and highest valid values of a field (each choice and flag for the others)."""
    if info.kind == "bool":
        return [False, True]
    if info.kind == "choice":
        return list(info.choices)
    r = info.valid
    if info.kind == "date":
        return [r.lo, r.hi]
    if info.kind == "int":
        return [r.lo + r.lo_open, r.hi - r.hi_open]
    lo, hi = float(r.lo), float(r.hi)
    step = OPEN_STEP * (hi - lo)
    return [lo + step if r.lo_open else lo, hi - step if r.hi_open else hi]


def cases() -> list[tuple[str, object]]:
    """(dotted field, value) for every edge of every field a scenario can set."""
    out = []
    for info in schema.declared_fields():
        if info.kind in ("text", "tables", "shares") or info.dotted in ("seed",):
            continue
        values = edge_values(info) if info.kind != "array" else [[v] * info.length for v in edge_values(_item(info))]
        out += [(info.dotted, v) for v in values if v != info.default]
    return out


def _item(info):
    """An array field's items have the array's range."""
    return schema.FieldInfo(info.dotted, "float", None, info.valid, info.about)


def scenario_with(dotted: str, value, base: str = "baseline") -> dict:
    """The baseline's raw data with one field (every row of a table's field) set to `value`."""
    raw = copy.deepcopy(schema.load_raw(base)[0])
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        for row in raw[head[:-2]]:
            row[rest] = value
    elif rest:
        raw.setdefault(head, {})[rest] = value
    else:
        raw[head] = value
    keep_relations(raw, dotted)
    return raw


# Relations between fields the loader checks (scenario._cross_check): when a case moves one side to
# an edge, the other side moves just enough to keep the relation, as a user would.
ORDERED = [  # (lower, upper, strict)
    ("run.boom_started", "run.start", False),
    ("rounds.floor_multiple", "rounds.multiple", True),
    ("rounds.multiple", "rounds.ceiling_multiple", True),
    ("market.earnings_growth_min", "market.earnings_growth_max", False),
    ("savers.panic_weeks_min", "savers.panic_weeks_max", False),
    ("savers.glide_start_age", "savers.retirement_age", True),
    ("labs[].runway_trigger_weeks", "labs[].runway_target_weeks", True),
]
SUMMED = [  # two shares adding up to at most 1
    ("market.earnings_share", "market.trend_share"),
    ("savers.retiree_share", "savers.boomer_share"),
    ("partnerships[].credits_share", "partnerships[].clause_share"),
]
SCALED = [("market.rest_market_cap", "market.rest_earnings")]  # moved together: the opening P/E stays


def _rows(raw: dict, dotted: str) -> list[tuple[dict, str]]:
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        return [(row, rest) for row in raw[head[:-2]]]
    return [(raw.setdefault(head, {}), rest)] if rest else [(raw, head)]


def _range(dotted: str):
    return next(f.valid for f in schema.declared_fields() if f.dotted == dotted)


def _nudge(value, up: bool, strict: bool):
    if isinstance(value, dt.date) or not strict:
        return value
    if isinstance(value, int):
        return value + (1 if up else -1)
    return value * (1.0 + 1e-3) + 1e-9 if up else value * (1.0 - 1e-3) - 1e-9


def _inside(value, dotted: str):
    """`value` moved inside the declared range of `dotted` (a hair inside an open end)."""
    if isinstance(value, dt.date):
        return value
    r = _range(dotted)
    step = 0.5 * OPEN_STEP * (float(r.hi) - float(r.lo)) if isinstance(value, float) else 1
    low = r.lo + step if r.lo_open else r.lo
    high = r.hi - step if r.hi_open else r.hi
    return min(max(value, low), high)


def keep_relations(raw: dict, dotted: str) -> None:
    """Move the partners of `dotted` so that the relations the loader checks still hold (a
    partner moved may move its own partner: floor, multiple and ceiling are a chain)."""
    moved = []
    for low, high, strict in ORDERED:
        for (row_lo, key_lo), (row_hi, key_hi) in zip(_rows(raw, low), _rows(raw, high), strict=True):
            a, b = row_lo[key_lo], row_hi[key_hi]
            if (a >= b) if strict else (a > b):
                if dotted == low:
                    row_hi[key_hi] = _inside(_nudge(a, True, strict), high)
                    moved.append(high)
                elif dotted == high:
                    row_lo[key_lo] = _inside(_nudge(b, False, strict), low)
                    moved.append(low)
    for partner in dict.fromkeys(moved):
        keep_relations(raw, partner)
    for first, second in SUMMED:
        for (row_a, key_a), (row_b, key_b) in zip(_rows(raw, first), _rows(raw, second), strict=True):
            if row_a[key_a] + row_b[key_b] > 1.0:
                if dotted == first:
                    row_b[key_b] = 1.0 - row_a[key_a]
                elif dotted == second:
                    row_a[key_a] = 1.0 - row_b[key_b]
    base = schema.load_raw("baseline")[0]
    for cap, earnings in SCALED:
        (row_c, key_c), (row_e, key_e) = _rows(raw, cap)[0], _rows(raw, earnings)[0]
        ratio = _rows(base, cap)[0][0][key_c] / _rows(base, earnings)[0][0][key_e]
        if dotted == cap:
            row_e[key_e] = _inside(row_c[key_c] / ratio, earnings)
        elif dotted == earnings:
            row_c[key_c] = _inside(row_e[key_e] * ratio, cap)


def run_case(dotted: str, value, years: float = 5.0, seed: int = 1, base: str = "baseline") -> str:
    """Run one edge case; its outcome as one line ("ok ...", "DomainError: ...", "refused: ...", or a failure)."""
    raw = scenario_with(dotted, value, base)
    if dotted != "run.years":
        raw.setdefault("run", {})["years"] = years
    return run_raw(raw, years, seed, f"<{dotted}={value}>")


def run_raw(raw: dict, years: float = 5.0, seed: int = 1, name: str = "<edge case>") -> str:
    """Run raw scenario data for `years` (at most its horizon) with the ledger checked every week."""
    steps = round(years * 52)
    try:
        config = schema.build(raw, Path(name))
    except InputError as refused:
        return f"refused: {refused}"
    model = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow or a 0/0 is a failure too
            model = CircularFinance(config, rng=seed, check_ledger=True)
            model.run(min(steps, config.steps))
            weekly = model.tables()["weekly"].select_dtypes("number").to_numpy(dtype=float)
        if not all(math.isfinite(v) for v in weekly.ravel()):
            return "failure: a reported number is NaN or infinite"
        return f"ok ({model.week} weeks)"
    except DomainError as stop:
        week = model.week if model is not None else 0
        return f"DomainError at week {week}: {str(stop).splitlines()[0]}"
    except Exception as exc:  # noqa: BLE001 - the scan reports every failure class
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return f"failure: {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}: {exc}"


def _one(args):
    dotted, value, years = args
    return dotted, value, run_case(dotted, value, years)


def main(years: float = 5.0, workers: int = 1) -> int:
    import collections
    import multiprocessing

    todo = [(d, v, years) for d, v in cases()]
    tally = collections.Counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for dotted, value, outcome in pool.imap(_one, todo):
            shown = value.isoformat() if isinstance(value, dt.date) else value
            print(f"{dotted} = {shown}: {outcome}", flush=True)
            tally[outcome.split(":")[0].split(" (")[0]] += 1
    print("\n== outcomes of", len(todo), "cases:", dict(tally))
    return 1 if any(k.startswith("failure") for k in tally) else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(float(args[0]) if args else 5.0, int(args[1]) if len(args) > 1 else 1))
