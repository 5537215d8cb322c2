"""Scenarios: TOML files in `scenarios/`, loaded and validated into a typed, frozen object.

A scenario is named (`baseline`, resolved to `scenarios/baseline.toml`) or given as a path.
A scenario file may start from another with `inherits = "baseline"` and change only some
values; tables of agents (`[[giants]]`, `[[labs]]`, ...) are matched by name. Validation
happens before anything runs: an unknown key, a wrong type, a share outside [0, 1], a
negative amount, a missing file or an unknown scenario name raises `InputError` with one
line naming the field and the file. The dataclasses below are the schema; each field's
`check` says what values it accepts.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from economy.errors import InputError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

# Checks a field may carry: name -> (test, what the user is told).
_CHECKS = {
    "share": (lambda v: 0.0 <= v <= 1.0, "a share between 0 and 1"),
    "amount": (lambda v: v >= 0.0, "a non-negative amount"),
    "positive": (lambda v: v > 0.0, "a positive number"),
    "rate": (lambda v: -1.0 < v < 10.0, "a yearly rate above -100%"),
    "signed": (lambda v: True, "a number"),
    # Someone outside the funds must hold a real slice of every stock, or a market where all
    # fund money is passive has nobody to sell to and prices run off to infinity.
    "market_floor": (lambda v: 0.05 <= v <= 1.0, "a share between 0.05 and 1"),
}


def _f(check: str = "signed", default=None, **kwargs):
    """A schema field with a value check (see _CHECKS)."""
    if default is None:
        return field(metadata={"check": check}, **kwargs)
    return field(default=default, metadata={"check": check}, **kwargs)


# ---------------------------------------------------------------------------- schema
@dataclass(frozen=True, kw_only=True)
class Run:
    start: dt.date = dt.date(2026, 1, 1)
    years: float = _f("positive", 10.0)
    boom_started: dt.date = dt.date(2022, 11, 30)


@dataclass(frozen=True, kw_only=True)
class Economy:
    regime: str = "gaap_2026"
    interest_rate: float = _f("rate", 0.04)
    rate_reference: float = _f("rate", 0.04)
    spend_back: bool = True
    partner_money: bool = True
    sentiment_source: str = "fixed"
    sentiment: float = _f("rate", 0.25)
    sentiment_reference: float = _f("rate", 0.25)
    max_debt_to_ebitda: float = _f("amount", 3.0)
    cloud_growth_long_run: float = _f("rate", 0.08)
    cloud_growth_halflife_years: float = _f("positive", 3.0)
    capacity_headroom: float = _f("share", 0.1)
    capacity_decay: float = _f("share", 0.1)


@dataclass(frozen=True, kw_only=True)
class Rounds:
    multiple: float = _f("positive", 25.0)
    growth_elasticity: float = _f("amount", 0.5)
    growth_reference: float = _f("rate", 1.0)
    sentiment_elasticity: float = _f("amount", 1.5)
    rate_elasticity: float = _f("amount", 8.0)
    floor_multiple: float = _f("positive", 4.0)
    ceiling_multiple: float = _f("positive", 80.0)
    sentiment_scale: float = _f("positive", 0.5)
    down_round_step: float = _f("share", 0.15)
    outside_depth: float = _f("amount", 0.15)
    outside_sentiment_elasticity: float = _f("amount", 2.0)
    outside_rate_elasticity: float = _f("amount", 10.0)
    outside_price_elasticity: float = _f("amount", 2.0)
    outside_noise: float = _f("amount", 0.2)
    partner_sentiment_elasticity: float = _f("amount", 1.0)
    retry_weeks: int = _f("positive", 4)
    contract_ratio: float = _f("amount", 1.5)
    contract_years: float = _f("positive", 5.0)
    contract_start_weeks: int = _f("amount", 26)


@dataclass(frozen=True, kw_only=True)
class Market:
    passive_share: float = _f("share", 0.5)
    other_holders_share: float = _f("market_floor", 0.15)
    other_holders_elasticity: float = _f("positive", 1.0)
    index_funds: int = _f("positive", 3)
    active_funds: int = _f("amount", 20)
    rest_market_cap: float = _f("positive", 31000.0)
    rest_earnings: float = _f("positive", 1400.0)
    rest_growth: float = _f("rate", 0.05)
    rest_volatility: float = _f("amount", 0.05)
    rest_dividend_payout: float = _f("share", 0.35)
    rest_net_issuance: float = _f("rate", -0.01)
    long_run_growth: float = _f("rate", 0.03)
    growth_halflife_years: float = _f("positive", 3.0)
    lab_mature_margin: float = _f("share", 0.2)
    earnings_growth_min: float = _f("rate", -0.2)
    earnings_growth_max: float = _f("rate", 0.4)
    earnings_growth_revision: float = _f("share", 0.5)
    volatility_halflife_weeks: float = _f("positive", 13.0)
    normal_volatility: float = _f("positive", 0.16)
    risk_appetite_range: float = _f("positive", 4.0)
    tilt_bound: float = _f("positive", 1.1)
    equity_share: float = _f("share", 0.95)
    risk_aversion: float = _f("positive", 5.0)
    residual_volatility: float = _f("positive", 0.25)
    gap_closing_years: float = _f("positive", 3.0)
    switching_intensity: float = _f("amount", 3.0)
    fitness_memory_weeks: float = _f("positive", 13.0)
    review_weeks: float = _f("positive", 13.0)
    earnings_share: float = _f("share", 0.5)
    trend_share: float = _f("share", 0.2)
    trend_weeks: int = _f("positive", 13)
    trend_horizon: float = _f("amount", 0.5)
    noise_market: float = _f("amount", 0.16)
    noise_stock: float = _f("amount", 0.15)
    noise_earnings: float = _f("amount", 0.6)
    noise_halflife_weeks: float = _f("positive", 26.0)
    sentiment_weeks: int = _f("positive", 26)
    market_return_last_year: float = _f("rate", 0.18)
    latent_reference: str = ""


@dataclass(frozen=True, kw_only=True)
class Savers:
    accounts: int = _f("positive", 1000)
    equity_share_young: float = _f("share", 0.9)
    equity_share_retired: float = _f("share", 0.5)
    equity_share_late: float = _f("share", 0.3)
    glide_start_age: float = _f("positive", 40.0)
    glide_late_years: float = _f("positive", 7.0)
    allocation_sensitivity: float = _f("amount", 0.7)
    extrapolation: float = _f("amount", 0.1)
    return_reference: float = _f("rate", 0.07)
    max_deviation: float = _f("share", 0.2)
    wages: float = _f("amount", 10000.0)
    wage_growth: float = _f("rate", 0.03)
    contribution_rate: float = _f("share", 0.1)
    withdrawal_rate: float = _f("share", 0.04)
    retirement_age: float = _f("positive", 65.0)
    oldest_age: float = _f("positive", 105.0)
    mortality_at_65: float = _f("share", 0.014)
    mortality_growth: float = _f("positive", 0.09)
    generation_years: float = _f("positive", 30.0)
    retiree_share: float = _f("share", 0.2)
    boomer_share: float = _f("share", 0.25)
    rebalance_weeks: float = _f("positive", 13.0)
    panic_drawdown: float = _f("share", 0.2)
    panic_probability: float = _f("share", 0.01)
    panic_weeks_min: int = _f("positive", 26)
    panic_weeks_max: int = _f("positive", 104)


@dataclass(frozen=True, kw_only=True)
class Bubble:
    theta: float = _f("amount", 0.5)
    confirm_weeks: int = _f("positive", 4)
    drawdown: float = _f("share", 0.4)


@dataclass(frozen=True, kw_only=True)
class Giant:
    name: str
    shares_outstanding: float = _f("positive")
    price: float = _f("positive")
    eps_ttm: float = _f("signed")
    cash: float = _f("amount")
    debt: float = _f("amount")
    core_revenue: float = _f("amount")
    core_growth: float = _f("rate")
    core_margin: float = _f("share")
    core_volatility: float = _f("amount")
    cloud_other_revenue: float = _f("amount")
    cloud_other_growth: float = _f("rate")
    cloud_cash_cost: float = _f("share")
    capacity: float = _f("amount")
    capacity_under_construction: float = _f("amount")
    ppe: float = _f("amount")
    depreciation_years: float = _f("positive")
    capex_cost: float = _f("positive")
    build_weeks: int = _f("positive")
    capacity_adjust_weeks: float = _f("positive")
    tax_rate: float = _f("share")
    borrowing_spread: float = _f("amount")
    min_cash: float = _f("amount")
    payout_share: float = _f("share")
    dividend_share: float = _f("share", 1.0)
    eps_growth_last_year: float = _f("rate", 0.0)
    fcf_ttm_year_ago: float = _f("signed")
    fcf_prior_quarters: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Lab:
    name: str
    revenue: float = _f("amount")
    revenue_growth: float = _f("rate")
    revenue_growth_long_run: float = _f("rate")
    growth_halflife_years: float = _f("positive")
    revenue_volatility: float = _f("amount")
    opex: float = _f("amount")
    opex_share: float = _f("share")
    cash: float = _f("amount")
    shares: float = _f("positive")
    last_post_money: float = _f("positive")
    runway_trigger_weeks: float = _f("positive")
    runway_target_weeks: float = _f("positive")
    outside_appetite: float = _f("amount", 1.0)
    compute_share_of_revenue: float = _f("amount", 0.5)
    compute_split: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Partnership:
    giant: str
    lab: str
    stake: float = _f("share")
    cost_basis: float = _f("amount")
    method: str = "fair_value"
    round_share: float = _f("share")
    credits_share: float = _f("share")
    clause_share: float = _f("share")
    credits_issued_to_date: float = _f("amount", 0.0)
    credits_unspent: float = _f("amount", 0.0)


@dataclass(frozen=True, kw_only=True)
class Contract:
    giant: str
    lab: str
    value: float = _f("amount")
    start_week: int = _f("amount")
    years: float = _f("positive")


@dataclass(frozen=True, kw_only=True)
class Other:
    """Cloud backlog of customers other than the labs, per giant."""

    giant: str
    backlog: float = _f("amount")


@dataclass(frozen=True, kw_only=True)
class ScenarioConfig:
    name: str
    description: str = ""
    source: str = ""
    seed: int = 0
    run: Run = field(default_factory=Run)
    economy: Economy = field(default_factory=Economy)
    rounds: Rounds = field(default_factory=Rounds)
    market: Market = field(default_factory=Market)
    savers: Savers = field(default_factory=Savers)
    bubble: Bubble = field(default_factory=Bubble)
    giants: tuple[Giant, ...] = ()
    labs: tuple[Lab, ...] = ()
    partnerships: tuple[Partnership, ...] = ()
    contracts: tuple[Contract, ...] = ()
    other_backlog: tuple[Other, ...] = ()

    @property
    def steps(self) -> int:
        return int(round(self.run.years * 52))

    def giant(self, name: str) -> Giant:
        return next(g for g in self.giants if g.name == name)

    def lab(self, name: str) -> Lab:
        return next(lab for lab in self.labs if lab.name == name)

    def to_dict(self) -> dict:
        """Plain, JSON-friendly contents (dates as ISO strings)."""
        return _plain(self)


REGIMES = ("gaap_2026", "net_roundtrip", "no_marks", "strict")
METHODS = ("fair_value", "equity", "cost")
SENTIMENT_SOURCES = ("market", "fixed")
_CHOICES = {"regime": REGIMES, "method": METHODS, "sentiment_source": SENTIMENT_SOURCES}
_TABLES = {"run": Run, "economy": Economy, "rounds": Rounds, "market": Market, "savers": Savers, "bubble": Bubble}
_ARRAYS = {"giants": Giant, "labs": Lab, "partnerships": Partnership, "contracts": Contract, "other_backlog": Other}
_ARRAY_KEYS = {
    "giants": ("name",),
    "labs": ("name",),
    "partnerships": ("giant", "lab"),
    "contracts": None,
    "other_backlog": ("giant",),
}


def _plain(value):
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------- loading
def resolve_path(name_or_path: str | Path) -> Path:
    """A scenario name (file in scenarios/) or a path to a TOML file."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise InputError(f"scenario file not found: {path}")
        return path
    path = SCENARIO_DIR / f"{text}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise InputError(f"unknown scenario {text!r} (no file {path.name} in scenarios/; known: {known})")
    return path


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def _merge(base: dict, top: dict, where: str) -> dict:
    """Overlay `top` on `base`; arrays of agents merge by their key fields."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if key in _ARRAYS and _ARRAY_KEYS[key] and isinstance(value, list) and key in merged:
            keys = _ARRAY_KEYS[key]
            rows = list(merged[key])
            for item in value:
                ident = tuple(item.get(k) for k in keys) if isinstance(item, dict) else None
                match = [i for i, row in enumerate(rows) if tuple(row.get(k) for k in keys) == ident]
                if match:
                    rows[match[0]] = {**rows[match[0]], **item}
                else:
                    rows.append(item)
            merged[key] = rows
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "compute_split":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_raw(name_or_path: str | Path, _seen: tuple = ()) -> tuple[dict, Path]:
    path = resolve_path(name_or_path)
    raw = _read_toml(path)
    parent = raw.pop("inherits", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(f"{path}: field 'inherits' must be a scenario name or path")
        if path.resolve() in _seen:
            raise InputError(f"{path}: 'inherits' forms a cycle")
        # A relative path is read from the inheriting file's folder; a bare word is a name.
        if parent.endswith(".toml") and not Path(parent).is_absolute():
            parent = str(path.parent / parent)
        base, _ = load_raw(parent, _seen + (path.resolve(),))
        base.pop("name", None)
        base.pop("description", None)
        raw = _merge(base, raw, str(path))
    raw.setdefault("name", path.stem)
    return raw, path


def load(name_or_path: str | Path = "baseline", overrides: dict | None = None) -> ScenarioConfig:
    """Load, merge, override and validate a scenario; raise InputError on bad input."""
    raw, path = load_raw(name_or_path)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value, path)
    return build(raw, path)


def set_dotted(raw: dict, dotted: str, value, path: Path | str) -> None:
    """Set `economy.interest_rate` or `labs.OpenAI.revenue_growth` style keys in raw data."""
    parts = dotted.split(".")
    if parts[0] in _ARRAYS:
        ident = _ARRAY_KEYS[parts[0]] or ()
        if not ident or len(parts) != len(ident) + 2:
            form = ".".join([parts[0], *(k.upper() for k in ident or ("?",)), "field"])
            raise InputError(f"{path}: override {dotted!r} must look like {form}")
        who, key = tuple(parts[1:-1]), parts[-1]
        matches = [r for r in raw.get(parts[0], []) if tuple(r.get(k) for k in ident) == who]
        if not matches:
            raise InputError(f"{path}: override {dotted!r}: no {parts[0]} entry {'.'.join(who)!r}")
        for row in matches:
            row[key] = value
        return
    if len(parts) == 1:
        raw[parts[0]] = value
    elif len(parts) == 2 and parts[0] in _TABLES:
        raw.setdefault(parts[0], {})[parts[1]] = value
    else:
        raise InputError(f"{path}: unknown parameter {dotted!r}")


def _convert(cls, data, where: str, path: Path):
    if not isinstance(data, dict):
        raise InputError(f"{path}: field '{where}' must be a table")
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            raise InputError(f"{path}: unknown field '{where}.{key}'")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec in known.items():
        label = f"{where}.{name}" if where else name
        if name not in data:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise InputError(f"{path}: missing field '{label}'")
            continue
        values[name] = _value(hints[name], data[name], label, path, spec)
    return cls(**values)


def _value(hint, value, label: str, path: Path, spec):
    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{path}: field '{label}' must be true or false, not {value!r}")
        return value
    if hint in (int, float):
        return _number(hint, value, label, path, spec)
    if hint is str:
        return _text(value, label, path, spec)
    if hint is dt.date:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise InputError(f"{path}: field '{label}' must be a date like 2026-01-01, not {value!r}")
        return value
    if hint is dict or origin is dict:
        return _shares(value, label, path)
    if origin is tuple:
        return _array(hint, value, label, path)
    if hasattr(hint, "__dataclass_fields__"):
        return _convert(hint, value, label, path)
    if isinstance(hint, types.UnionType):  # pragma: no cover - schema has none yet
        return value
    raise TypeError(f"schema type {hint!r} not handled")  # pragma: no cover


def _number(hint, value, label: str, path: Path, spec):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: field '{label}' must be a number, not {value!r}")
    if hint is int and not float(value).is_integer():
        raise InputError(f"{path}: field '{label}' must be a whole number, not {value!r}")
    value = hint(value)
    test, what = _CHECKS[spec.metadata.get("check", "signed")]
    if value != value or not test(value):
        raise InputError(f"{path}: field '{label}' must be {what}, not {value!r}")
    return value


def _text(value, label: str, path: Path, spec) -> str:
    if not isinstance(value, str):
        raise InputError(f"{path}: field '{label}' must be text, not {value!r}")
    choices = _CHOICES.get(spec.name)
    if choices and value not in choices:
        raise InputError(f"{path}: field '{label}' must be one of {', '.join(choices)}, not {value!r}")
    return value


def _shares(value, label: str, path: Path) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{path}: field '{label}' must be a table")
    out = {}
    for key, share in value.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
            raise InputError(f"{path}: field '{label}.{key}' must be a share between 0 and 1, not {share!r}")
        out[key] = float(share)
    return out


def _array(hint, value, label: str, path: Path) -> tuple:
    """A tuple field: an array of numbers (tuple[float, ...]) or an array of tables."""
    item_cls = typing.get_args(hint)[0]
    if item_cls is float:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
            raise InputError(f"{path}: field '{label}' must be an array of numbers")
        return tuple(float(v) for v in value)
    if not isinstance(value, list):
        raise InputError(f"{path}: field '{label}' must be an array of tables ([[{label}]])")
    return tuple(_convert(item_cls, item, f"{label}[{i}]", path) for i, item in enumerate(value))


def build(raw: dict, path: Path) -> ScenarioConfig:
    config = _convert(ScenarioConfig, raw, "", path)
    _cross_check(config, path)
    return config


def _cross_check(config: ScenarioConfig, path: Path) -> None:
    """Relations between tables: names exist, splits and forms add up."""
    _check_references(config, path)
    _check_orders(config, path)


def _check_references(config: ScenarioConfig, path: Path) -> None:
    """Names are unique and exist; compute splits and stakes add up."""
    giants = {g.name for g in config.giants}
    labs = {lab.name for lab in config.labs}
    if not giants:
        raise InputError(f"{path}: field 'giants' needs at least one giant")
    if len(giants) != len(config.giants) or len(labs) != len(config.labs):
        raise InputError(f"{path}: field 'giants'/'labs': names must be unique")
    _check_labs(config, path, giants)
    for table in ("partnerships", "contracts", "other_backlog"):
        for i, row in enumerate(getattr(config, table)):
            if row.giant not in giants:
                raise InputError(f"{path}: field '{table}[{i}].giant' names no giant: {row.giant!r}")
            if hasattr(row, "lab") and row.lab not in labs:
                raise InputError(f"{path}: field '{table}[{i}].lab' names no lab: {row.lab!r}")
    for i, p in enumerate(config.partnerships):
        if p.credits_share + p.clause_share > 1.0 + 1e-9:
            raise InputError(f"{path}: field 'partnerships[{i}]': credits_share + clause_share must not exceed 1")
    for lab in labs:
        total = sum(p.stake for p in config.partnerships if p.lab == lab)
        if total > 1.0:
            raise InputError(f"{path}: field 'partnerships': stakes in {lab} add up to more than 1")


def _check_labs(config: ScenarioConfig, path: Path, giants: set[str]) -> None:
    """Each lab's compute split names giants and adds up to 1; its runway target exceeds its trigger."""
    for i, lab in enumerate(config.labs):
        for giant in lab.compute_split:
            if giant not in giants:
                raise InputError(f"{path}: field 'labs[{i}].compute_split.{giant}' names no giant")
        total = sum(lab.compute_split.values())
        if lab.compute_split and abs(total - 1.0) > 1e-6:
            raise InputError(f"{path}: field 'labs[{i}].compute_split' must add up to 1, not {total:g}")
        if lab.runway_target_weeks <= lab.runway_trigger_weeks:
            raise InputError(f"{path}: field 'labs[{i}].runway_target_weeks' must exceed runway_trigger_weeks")


def _check_orders(config: ScenarioConfig, path: Path) -> None:
    """Pairs of fields that must keep an order (a ceiling above a floor, shares within 1)."""
    if config.rounds.ceiling_multiple <= config.rounds.multiple:
        raise InputError(f"{path}: field 'rounds.ceiling_multiple' must exceed rounds.multiple")
    if config.market.earnings_share + config.market.trend_share > 1.0:
        raise InputError(f"{path}: field 'market.trend_share': with earnings_share it must not exceed 1")
    if config.market.latent_reference:
        resolve_path(config.market.latent_reference)  # InputError naming it if it does not exist
    if config.market.earnings_growth_min > config.market.earnings_growth_max:
        raise InputError(f"{path}: field 'market.earnings_growth_min' must not exceed market.earnings_growth_max")
    if config.market.trend_weeks > 52:
        raise InputError(f"{path}: field 'market.trend_weeks' must be at most 52 (the price history kept)")
    if config.savers.glide_start_age >= config.savers.retirement_age:
        raise InputError(f"{path}: field 'savers.glide_start_age' must be below savers.retirement_age")
    if config.savers.panic_weeks_min > config.savers.panic_weeks_max:
        raise InputError(f"{path}: field 'savers.panic_weeks_min' must not exceed savers.panic_weeks_max")
    if config.savers.retiree_share + config.savers.boomer_share > 1.0:
        raise InputError(f"{path}: field 'savers.boomer_share': with retiree_share it must not exceed 1")
    if config.savers.retirement_age >= config.savers.oldest_age or config.savers.oldest_age <= 25.0:
        raise InputError(f"{path}: field 'savers.retirement_age' must be below savers.oldest_age (and that above 25)")
    if config.rounds.floor_multiple >= config.rounds.multiple:
        raise InputError(f"{path}: field 'rounds.floor_multiple' must be below rounds.multiple")


def from_dict(plain: dict, where: str = "<dict>") -> ScenarioConfig:
    """Rebuild a scenario from `ScenarioConfig.to_dict()` output (dates as ISO strings)."""
    raw = copy.deepcopy(plain)
    run = raw.get("run", {})
    for key in ("start", "boom_started"):
        if isinstance(run.get(key), str):
            try:
                run[key] = dt.date.fromisoformat(run[key])
            except ValueError:
                raise InputError(f"{where}: field 'run.{key}' must be a date like 2026-01-01") from None
    return build(raw, Path(where))
