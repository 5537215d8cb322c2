"""Scenarios: TOML files in `scenarios/`, loaded and validated into a typed, frozen object.

A scenario is named (`baseline`, resolved to `scenarios/baseline.toml`) or given as a path.
A scenario file may start from another with `inherits = "baseline"` and change only some
values; tables of agents (`[[giants]]`, `[[labs]]`, ...) are matched by name. Validation
happens before anything runs: an unknown key, a wrong type, a number outside its declared
range (or nan, inf, or a boolean where a number is due), a missing, unreadable or non-UTF-8
file, an `inherits` chain over 32 files or an unknown scenario name raises `InputError` with
one line naming the field and the file, or the override (`--set KEY=VALUE`) that gave it.
The dataclasses below are the schema: each numeric field declares its range (`_f("[0, 1]",
default, description)`, brackets inclusive, parentheses exclusive), and `declared_fields()`
lists them all for docs/ranges.md (`python -m runs.scripts.ranges_table`) and the tests.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from economy.errors import InputError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

# ---------------------------------------------------------------------------- ranges
# Every number a scenario holds has a declared, finite range (design 11): a value inside the
# ranges is a promise that the model runs. Money is in billions of dollars, rates are yearly
# fractions (0.04 = 4%), durations in the unit the field's name gives.
_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])\s*$")
_MAX_TEXT = 2000  # characters in any text field (names, descriptions, file references)
_MAX_AGENTS = {"giants": 20, "labs": 50, "partnerships": 1000, "contracts": 5000, "other_backlog": 20}
_MAX_INHERITS = 32  # files in one `inherits` chain
EARLIEST, LATEST = dt.date(1990, 1, 1), dt.date(2100, 12, 31)


@dataclass(frozen=True)
class Range:
    """An interval of valid values (numbers or dates), each end inclusive or exclusive."""

    lo: typing.Any
    hi: typing.Any
    lo_open: bool = False
    hi_open: bool = False

    @classmethod
    def parse(cls, text: str) -> Range:
        """`[0, 1]`, `(0, 50]`, `[0, 9223372036854775808)`: brackets include, parentheses exclude."""
        match = _INTERVAL.match(text)
        if not match:  # pragma: no cover - a schema typo
            raise ValueError(f"not an interval: {text!r}")
        left, lo, hi, right = match.groups()
        return cls(_bound(lo), _bound(hi), left == "(", right == ")")

    def __contains__(self, value) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return bool(above and below)

    def __str__(self) -> str:
        return f"{'(' if self.lo_open else '['}{_show(self.lo)}, {_show(self.hi)}{')' if self.hi_open else ']'}"


def _bound(text: str):
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _show(value, limit: int = 40) -> str:
    """A value as the user wrote it, cut short if it is very long (a 400-digit number)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value) if isinstance(value, (int, float)) else repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}...({len(text)} chars)"


def _f(interval: str, default=MISSING, about: str = "", *, length: int | None = None):
    """A schema field whose numbers must lie in `interval`; `about` says what it is (and why the range)."""
    meta = {"range": Range.parse(interval), "about": about}
    if length is not None:
        meta["length"] = length  # most items in an array of numbers
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def _t(default=MISSING, about: str = ""):
    """A schema field that is not a number (text, a switch, a table): only its description."""
    if default is MISSING:
        return field(metadata={"about": about})
    return field(default=default, metadata={"about": about})


def _d(default, about: str):
    """A date field within the window the model's calendar covers."""
    return field(default=default, metadata={"range": Range(EARLIEST, LATEST), "about": about})


AMOUNT = "[0, 100000]"  # $bn: up to $100 trillion, above any company's or market's size
SHARE = "[0, 1]"
GROWTH = "[-0.9, 10]"  # a yearly growth rate: from losing 90% to growing elevenfold
HALFLIFE = "(0, 50]"  # years
WEEKS = "[1, 520]"  # a reaction time or memory: one week to ten years


# ---------------------------------------------------------------------------- schema
@dataclass(frozen=True, kw_only=True)
class Run:
    start: dt.date = _d(dt.date(2026, 1, 1), "first simulated week (calendar window 1990 to 2100)")
    years: float = _f("(0, 50]", 10.0, "horizon in years")
    boom_started: dt.date = _d(dt.date(2022, 11, 30), "date the AI boom began; not after run.start")


@dataclass(frozen=True, kw_only=True)
class Economy:
    regime: str = _t("gaap_2026", "accounting regime")
    interest_rate: float = _f(
        "[-0.05, 0.25]", 0.04, "risk-free yearly rate: negative policy rates to above the 1981 peak"
    )
    rate_reference: float = _f("[-0.05, 0.25]", 0.04, "rate at which rounds and multiples are at their reference")
    spend_back: bool = _t(True, "investment paid as credits spent back with the investor")
    partner_money: bool = _t(True, "partners put money into new rounds")
    sentiment_source: str = _t("fixed", "sentiment from the market's returns or fixed")
    sentiment: float = _f("[-0.9, 3]", 0.25, "fixed sentiment: a yearly basket return, -90% to +300%")
    sentiment_reference: float = _f("[-0.9, 3]", 0.25, "sentiment at which rounds are at their reference")
    max_debt_to_ebitda: float = _f("[0, 20]", 3.0, "most debt a giant takes on, in years of EBITDA")
    cloud_growth_long_run: float = _f(GROWTH, 0.08, "long-run yearly growth of cloud demand")
    cloud_growth_halflife_years: float = _f(HALFLIFE, 3.0, "years for cloud growth to close half its gap")
    capacity_headroom: float = _f(SHARE, 0.1, "spare capacity built above demand")
    capacity_decay: float = _f(SHARE, 0.1, "share of idle capacity retired per year")


@dataclass(frozen=True, kw_only=True)
class Rounds:
    multiple: float = _f("(0, 1000)", 25.0, "reference post-money valuation, times revenue")
    growth_elasticity: float = _f("[0, 10]", 0.5, "response of the multiple to revenue growth")
    growth_reference: float = _f(GROWTH, 1.0, "revenue growth at which the multiple is its reference")
    sentiment_elasticity: float = _f("[0, 20]", 1.5, "response of the multiple to sentiment")
    rate_elasticity: float = _f("[0, 100]", 8.0, "response of the multiple to the interest rate")
    floor_multiple: float = _f("(0, 1000)", 4.0, "lowest multiple of revenue a round prices at; below rounds.multiple")
    ceiling_multiple: float = _f("(0, 1000]", 80.0, "highest multiple of revenue; above rounds.multiple")
    sentiment_scale: float = _f("(0, 10]", 0.5, "sentiment at which its effect saturates")
    down_round_step: float = _f(
        "(0, 1)", 0.15, "cut in the asking price per failed round; 0 never cuts, 1 asks nothing"
    )
    outside_depth: float = _f("[0, 10]", 0.15, "outside investors' money, as a share of the round")
    outside_sentiment_elasticity: float = _f("[0, 100]", 2.0, "response of outside money to sentiment")
    outside_rate_elasticity: float = _f("[0, 100]", 10.0, "response of outside money to the interest rate")
    outside_price_elasticity: float = _f("[0, 100]", 2.0, "response of outside money to the asked price")
    outside_noise: float = _f("[0, 5]", 0.2, "log-normal noise on outside money")
    partner_sentiment_elasticity: float = _f("[0, 20]", 1.0, "response of partners' money to sentiment")
    retry_weeks: int = _f(WEEKS, 4, "weeks between attempts at a round")
    contract_ratio: float = _f("[0, 20]", 1.5, "compute contract signed per dollar raised")
    contract_years: float = _f("(0, 30]", 5.0, "length of a new compute contract")
    contract_start_weeks: int = _f("[0, 2600]", 26, "weeks before a new contract starts (up to the 50-year horizon)")


@dataclass(frozen=True, kw_only=True)
class Market:
    passive_share: float = _f(SHARE, 0.5, "share of fund money in index funds")
    other_holders_share: float = _f(
        "[0.05, 1]",
        0.15,
        "share held outside the funds; someone must hold a real slice, or an all-passive market has no seller",
    )
    other_holders_elasticity: float = _f("(0, 20]", 1.0, "price elasticity of the other holders' demand")
    index_funds: int = _f("[1, 100]", 3, "number of index funds")
    active_funds: int = _f("[0, 1000]", 20, "number of active funds")
    rest_market_cap: float = _f("(0, 1000000]", 31000.0, "value of the rest of the market, $bn")
    rest_earnings: float = _f(
        "(0, 100000]", 1400.0, "yearly earnings of the rest of the market, $bn; valued on them, so positive"
    )
    rest_growth: float = _f(
        "[-0.5, 0.5]", 0.05, "yearly earnings growth of the whole rest of the market (2009: -40%, 2021: +50%)"
    )
    rest_volatility: float = _f("[0, 2]", 0.05, "yearly volatility of the rest's earnings")
    rest_dividend_payout: float = _f(SHARE, 0.35, "share of the rest's earnings paid out")
    rest_net_issuance: float = _f("[-0.2, 0.2]", -0.01, "yearly net share issuance of the rest (buybacks negative)")
    long_run_growth: float = _f(
        "[-0.05, 0.1]", 0.03, "long-run yearly earnings growth investors expect, forever: about nominal GDP growth"
    )
    growth_halflife_years: float = _f(HALFLIFE, 3.0, "years for expected growth to close half its gap")
    lab_mature_margin: float = _f(SHARE, 0.2, "a lab's profit margin once mature")
    earnings_growth_min: float = _f(GROWTH, -0.2, "lowest earnings growth investors extrapolate")
    earnings_growth_max: float = _f(GROWTH, 0.4, "highest earnings growth investors extrapolate")
    earnings_growth_revision: float = _f(SHARE, 0.5, "share of a growth surprise taken into the estimate")
    volatility_halflife_weeks: float = _f("(0, 520]", 13.0, "half-life of the volatility estimate, weeks")
    normal_volatility: float = _f("(0, 2]", 0.16, "yearly market volatility counted as normal")
    risk_appetite_range: float = _f("(0, 100]", 4.0, "factor by which risk appetite can move either way")
    tilt_bound: float = _f("(0, 10]", 1.1, "largest tilt of an active fund from the index")
    equity_share: float = _f(
        "[0.05, 1]",
        0.95,
        "share of active funds' money in stocks: equity funds, which open holding their part of the market "
        "with 1/equity_share times it in all",
    )
    # The tilt elasticity is 1 / (risk aversion x residual variance x gap-closing years): the
    # lower ends keep it finite (below about 5e9; the baseline's is about 1).
    risk_aversion: float = _f("[0.01, 100]", 5.0, "active funds' relative risk aversion")
    residual_volatility: float = _f("[0.001, 2]", 0.25, "yearly stock-specific volatility")
    gap_closing_years: float = _f(
        "[0.019, 50]", 3.0, "years for prices to close a gap to value; at least a week (the step)"
    )
    switching_intensity: float = _f("[0, 100]", 3.0, "how fast funds switch to the rule that did best")
    fitness_memory_weeks: float = _f(WEEKS, 13.0, "memory of rule performance; at least a week (the step)")
    review_weeks: float = _f(WEEKS, 13.0, "weeks between reviews of the rule a fund follows")
    earnings_share: float = _f(SHARE, 0.5, "share of funds valuing on earnings; with trend_share at most 1")
    trend_share: float = _f(SHARE, 0.2, "share of funds following the trend")
    trend_weeks: int = _f("[1, 52]", 13, "trend look-back; within the 52 weeks of price history kept")
    trend_horizon: float = _f("[0, 10]", 0.5, "years a trend is extrapolated")
    noise_market: float = _f("[0, 2]", 0.16, "yearly volatility of market-wide noise in beliefs")
    noise_stock: float = _f("[0, 2]", 0.15, "yearly volatility of stock-specific noise in beliefs")
    noise_earnings: float = _f("[0, 5]", 0.6, "noise in earnings surprises")
    noise_halflife_weeks: float = _f("(0, 520]", 26.0, "half-life of belief noise, weeks")
    sentiment_weeks: int = _f("[1, 52]", 26, "sentiment look-back; within the 52 weeks of history kept")
    market_return_last_year: float = _f("[-0.9, 3]", 0.18, "market return of the year before the start")
    latent_reference: str = _t("", "scenario whose latent demand a counterfactual keeps")


@dataclass(frozen=True, kw_only=True)
class Savers:
    accounts: int = _f("[1, 10000000]", 1000, "saver accounts simulated")
    equity_share_young: float = _f(SHARE, 0.9, "stock share of young savers")
    equity_share_retired: float = _f(SHARE, 0.5, "stock share at retirement")
    equity_share_late: float = _f(SHARE, 0.3, "stock share late in retirement")
    glide_start_age: float = _f("[20, 80)", 40.0, "age the glide path starts; below retirement_age")
    glide_late_years: float = _f("(0, 40]", 7.0, "years after retirement to the late share")
    allocation_sensitivity: float = _f("[0, 20]", 0.7, "response of the stock share to expected returns")
    extrapolation: float = _f("[0, 5]", 0.1, "weight on last year's return in expectations")
    return_reference: float = _f("[-0.5, 1]", 0.07, "yearly return savers take as normal")
    max_deviation: float = _f(SHARE, 0.2, "largest deviation of the stock share from the glide path")
    wages: float = _f("[0, 1000000]", 10000.0, "yearly wages of all savers, $bn")
    wage_growth: float = _f("[-0.5, 1]", 0.03, "yearly wage growth")
    contribution_rate: float = _f(SHARE, 0.1, "share of wages saved")
    withdrawal_rate: float = _f(SHARE, 0.04, "share of savings retirees withdraw per year")
    retirement_age: float = _f(
        "[40, 80]",
        65.0,
        "age savers retire; workers start at 25 and the last ten years before retirement are the bulge about to retire",
    )
    oldest_age: float = _f("[85, 120]", 105.0, "end of the life table")
    mortality_at_65: float = _f(SHARE, 0.014, "yearly death rate at 65")
    mortality_growth: float = _f(
        "[0.01, 1]", 0.09, "yearly growth of the death rate with age (Gompertz); from a nearly flat life table"
    )
    generation_years: float = _f("[10, 60]", 30.0, "years between generations")
    retiree_share: float = _f(SHARE, 0.2, "share of accounts already retired")
    boomer_share: float = _f(SHARE, 0.25, "share of accounts about to retire; with retiree_share at most 1")
    rebalance_weeks: float = _f(WEEKS, 13.0, "weeks between rebalancing")
    panic_drawdown: float = _f(SHARE, 0.2, "fall from the peak that may set off a panic")
    panic_probability: float = _f(SHARE, 0.01, "weekly chance a saver panics in a drawdown")
    panic_weeks_min: int = _f(WEEKS, 26, "shortest panic")
    panic_weeks_max: int = _f(WEEKS, 104, "longest panic; not below panic_weeks_min")


@dataclass(frozen=True, kw_only=True)
class Bubble:
    theta: float = _f("[0, 10]", 0.5, "price above 1 + theta times fundamental counts as a bubble")
    confirm_weeks: int = _f(WEEKS, 4, "weeks above the threshold that confirm an episode")
    drawdown: float = _f("(0, 1)", 0.4, "fall from the peak that ends an episode")


@dataclass(frozen=True, kw_only=True)
class Giant:
    name: str = _t(about="company name")
    shares_outstanding: float = _f("(0, 1000]", about="billions of shares")
    price: float = _f("(0, 1000000]", about="share price, $")
    eps_ttm: float = _f("[-10000, 10000]", about="earnings per share, last twelve months, $")
    cash: float = _f(AMOUNT, about="cash, $bn")
    debt: float = _f(AMOUNT, about="debt, $bn")
    core_revenue: float = _f(AMOUNT, about="yearly revenue outside the cloud, $bn")
    core_growth: float = _f(GROWTH, about="yearly growth of core revenue")
    core_margin: float = _f(SHARE, about="operating margin of the core business")
    core_volatility: float = _f("[0, 2]", about="yearly volatility of core revenue")
    cloud_other_revenue: float = _f(AMOUNT, about="yearly cloud revenue from customers other than the labs, $bn")
    cloud_other_growth: float = _f(GROWTH, about="its yearly growth")
    cloud_cash_cost: float = _f(SHARE, about="cash cost per dollar of cloud revenue")
    capacity: float = _f(AMOUNT, about="cloud capacity, $bn of yearly revenue")
    capacity_under_construction: float = _f(AMOUNT, about="capacity being built, $bn of yearly revenue")
    ppe: float = _f(AMOUNT, about="property, plant and equipment, $bn")
    depreciation_years: float = _f("[1, 50]", about="straight-line life of the equipment")
    capex_cost: float = _f("(0, 1000]", about="capex per dollar of yearly capacity")
    build_weeks: int = _f(WEEKS, about="weeks to build capacity")
    capacity_adjust_weeks: float = _f(WEEKS, about="weeks to adjust capacity plans")
    tax_rate: float = _f(SHARE, about="tax rate on profit")
    borrowing_spread: float = _f("[0, 0.5]", about="yearly spread over the risk-free rate")
    min_cash: float = _f(AMOUNT, about="cash kept at least, $bn")
    payout_share: float = _f(SHARE, about="share of free cash flow paid out")
    dividend_share: float = _f(SHARE, 1.0, about="share of the payout as dividends (the rest buybacks)")
    eps_growth_last_year: float = _f(GROWTH, 0.0, about="growth of earnings per share last year")
    fcf_ttm_year_ago: float = _f("[-100000, 100000]", about="free cash flow of the year before, $bn")
    fcf_prior_quarters: tuple[float, ...] = _f(
        "[-100000, 100000]", (), "free cash flow of the last three quarters, $bn (at most 3)", length=3
    )


@dataclass(frozen=True, kw_only=True)
class Lab:
    name: str = _t(about="lab name")
    revenue: float = _f(AMOUNT, about="yearly revenue, $bn")
    revenue_growth: float = _f(GROWTH, about="yearly revenue growth now")
    revenue_growth_long_run: float = _f(GROWTH, about="long-run yearly revenue growth")
    growth_halflife_years: float = _f(HALFLIFE, about="years for growth to close half its gap")
    revenue_volatility: float = _f("[0, 2]", about="yearly volatility of revenue")
    opex: float = _f(AMOUNT, about="yearly operating cost other than compute, $bn")
    opex_share: float = _f(SHARE, about="operating cost growing with revenue, per dollar")
    cash: float = _f(AMOUNT, about="cash, $bn")
    shares: float = _f("(0, 1000000]", about="shares (units of ownership)")
    last_post_money: float = _f("(0, 1000000]", about="post-money valuation of the last round, $bn")
    runway_trigger_weeks: float = _f("(0, 520]", about="runway at which the lab raises")
    runway_target_weeks: float = _f("(0, 1040]", about="runway a round aims for; above runway_trigger_weeks")
    outside_appetite: float = _f("[0, 100]", 1.0, about="scale of outside investors' appetite")
    compute_share_of_revenue: float = _f("[0, 10]", 0.5, about="compute spending per dollar of revenue")
    compute_split: dict = field(default_factory=dict, metadata={"about": "share of compute bought from each giant"})


@dataclass(frozen=True, kw_only=True)
class Partnership:
    giant: str = _t(about="investing giant")
    lab: str = _t(about="lab invested in")
    stake: float = _f(SHARE, about="share of the lab owned; stakes in one lab add up to at most 1")
    cost_basis: float = _f(AMOUNT, about="amount invested, $bn")
    method: str = _t("fair_value", "accounting method for the stake")
    round_share: float = _f(SHARE, about="share of each new round the giant takes")
    credits_share: float = _f(SHARE, about="share of an investment paid as cloud credits")
    clause_share: float = _f(SHARE, about="share under a spend-back clause; with credits_share at most 1")
    credits_issued_to_date: float = _f(AMOUNT, 0.0, "credits issued so far, $bn")
    credits_unspent: float = _f(AMOUNT, 0.0, "credits not yet spent, $bn")


@dataclass(frozen=True, kw_only=True)
class Contract:
    giant: str = _t(about="seller of compute")
    lab: str = _t(about="buyer")
    value: float = _f(AMOUNT, about="total value, $bn")
    start_week: int = _f("[0, 2600]", about="week the contract starts (up to the 50-year horizon)")
    years: float = _f("(0, 30]", about="length in years")


@dataclass(frozen=True, kw_only=True)
class Other:
    """Cloud backlog of customers other than the labs, per giant."""

    giant: str = _t(about="giant")
    backlog: float = _f(AMOUNT, about="contracted backlog, $bn")


@dataclass(frozen=True, kw_only=True)
class ScenarioConfig:
    name: str = _t(about="scenario name")
    description: str = _t("", "one line on what it is")
    source: str = _t("", "where its values come from")
    seed: int = _f("[0, 9223372036854775808)", 0, "random seed (non-negative, below 2**63)")
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


@dataclass(frozen=True)
class FieldInfo:
    """One scenario field as declared: what the reference table and the range tests read."""

    dotted: str  # economy.interest_rate; giants[].cash for a field of every giant
    kind: str  # float, int, date, bool, text, choice, shares, array, tables
    default: typing.Any  # MISSING when the field must be given
    valid: Range | None  # numbers and dates only
    about: str
    choices: tuple[str, ...] = ()
    length: int | None = None  # most items of an array


def declared_fields(cls=None, prefix: str = "") -> list[FieldInfo]:
    """Every field of the schema, in order, with its declared range (tables and agents flattened)."""
    cls = cls or ScenarioConfig
    hints = typing.get_type_hints(cls)
    out = []
    for spec in fields(cls):
        hint, dotted = hints[spec.name], f"{prefix}{spec.name}"
        default = spec.default if spec.default_factory is MISSING else spec.default_factory()
        about, valid = spec.metadata.get("about", ""), spec.metadata.get("range")
        args = typing.get_args(hint)
        if hasattr(hint, "__dataclass_fields__"):
            out.extend(declared_fields(hint, f"{dotted}."))
        elif typing.get_origin(hint) is tuple and hasattr(args[0], "__dataclass_fields__"):
            what = (args[0].__doc__ or "").strip() if args[0] is Other else f"{args[0].__name__.lower()} entries"
            out.append(FieldInfo(dotted, "tables", MISSING, None, what, length=_MAX_AGENTS[spec.name]))
            out.extend(declared_fields(args[0], f"{dotted}[]."))
        elif typing.get_origin(hint) is tuple:
            out.append(FieldInfo(dotted, "array", default, valid, about, length=spec.metadata["length"]))
        elif hint is dict:
            out.append(FieldInfo(dotted, "shares", MISSING, SHARE_RANGE, about, length=_MAX_AGENTS["giants"]))
        elif hint is str:
            choices = _CHOICES.get(spec.name, ())
            out.append(FieldInfo(dotted, "choice" if choices else "text", default, None, about, choices))
        else:
            kind = {int: "int", float: "float", bool: "bool", dt.date: "date"}[hint]
            out.append(FieldInfo(dotted, kind, default, valid, about))
    return out


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
        if path.exists() and not path.is_file():  # a folder, a FIFO, a device: never opened
            raise InputError(f"scenario {path}: not a regular file")
        if not path.is_file():
            raise InputError(f"scenario file not found: {path}")
        return path
    path = SCENARIO_DIR / f"{text}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise InputError(f"unknown scenario {text!r} (no file {path.name} in scenarios/; known: {known})")
    return path


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; InputError naming the file if it cannot be read or is not TOML."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({str(exc).splitlines()[0][:200]})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError:  # tomllib refuses integers over 4300 digits with a plain ValueError
        raise InputError(f"{path}: not valid TOML (an integer too long to read)") from None


def _merge(base: dict, top: dict, where: str) -> dict:
    """Overlay `top` on `base`; arrays of agents merge by their key fields."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        tables = (isinstance(value, list) and isinstance(merged.get(key), list)) and all(
            isinstance(row, dict) for row in [*value, *merged[key]]
        )
        if key in _ARRAYS and _ARRAY_KEYS[key] and tables:  # else replaced whole, and checked as given
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
    raw = read_toml(path)
    parent = raw.pop("inherits", None)
    if parent is not None:
        if not isinstance(parent, str) or not parent or len(parent) > _MAX_TEXT:
            raise InputError(f"{path}: field 'inherits' must be a scenario name or path")
        if path.resolve() in _seen:
            raise InputError(f"{path}: 'inherits' forms a cycle")
        if len(_seen) + 1 >= _MAX_INHERITS:
            raise InputError(f"{path}: field 'inherits': a chain of more than {_MAX_INHERITS} files")
        # A relative path is read from the inheriting file's folder; a bare word is a name.
        if parent.endswith(".toml") and not Path(parent).is_absolute():
            parent = str(path.parent / parent)
        base, _ = load_raw(parent, _seen + (path.resolve(),))
        base.pop("name", None)
        base.pop("description", None)
        raw = _merge(base, raw, str(path))
    raw.setdefault("name", path.stem)
    return raw, path


def load(
    name_or_path: str | Path = "baseline", overrides: dict | None = None, source: str | None = None
) -> ScenarioConfig:
    """Load, merge, override and validate a scenario; raise InputError on bad input.

    An error in an override names the override, prefixed by `source` (the option that gave it,
    e.g. "--set"), or by the scenario file when `source` is None.
    """
    raw, path = load_raw(name_or_path)
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value, path, source)
    given = ", ".join(f"{source or 'override'} {k}={_show(v)}" for k, v in (overrides or {}).items())
    return build(raw, path, given)


@dataclass(frozen=True)
class _Given:
    """A value that came from an override, with where it came from (for error messages)."""

    value: typing.Any
    origin: str


def set_dotted(raw: dict, dotted: str, value, path: Path | str, source: str | None = None) -> None:
    """Set `economy.interest_rate` or `labs.OpenAI.revenue_growth` style keys in raw data."""
    origin = f"{source} {dotted}={_show(value)}" if source else f"{path}: override {dotted}={_show(value)}"
    if source:
        path = f"{source} {dotted}"
    value = _Given(value, origin)
    parts = str(dotted).split(".")
    if parts[0] in _ARRAYS:
        ident = _ARRAY_KEYS[parts[0]] or ()
        if not ident or len(parts) != len(ident) + 2:
            form = ".".join([parts[0], *(k.upper() for k in ident or ("?",)), "field"])
            raise InputError(f"{path}: override {dotted!r} must look like {form}")
        who, key = tuple(parts[1:-1]), parts[-1]
        rows = raw.get(parts[0], [])
        rows = rows if isinstance(rows, list) else []
        matches = [r for r in rows if isinstance(r, dict) and tuple(r.get(k) for k in ident) == who]
        if not matches:
            raise InputError(f"{path}: override {dotted!r}: no {parts[0]} entry {'.'.join(who)!r}")
        for row in matches:
            row[key] = value
        return
    if len(parts) == 1:
        raw[parts[0]] = value
    elif len(parts) == 2 and parts[0] in _TABLES and isinstance(raw.get(parts[0], {}), dict):
        raw.setdefault(parts[0], {})[parts[1]] = value
    else:
        raise InputError(f"{path}: unknown parameter {dotted!r}")


def _convert(cls, data, where: str, path: Path):
    if not isinstance(data, dict):
        raise InputError(f"{path}: field '{where}' must be a table")
    known = {f.name: f for f in fields(cls)}
    for key, value in data.items():
        if key not in known:
            origin = value.origin if isinstance(value, _Given) else path
            raise InputError(f"{origin}: unknown field '{where + '.' if where else ''}{str(key)[:80]}'")
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
    if isinstance(value, _Given):
        value, path = value.value, value.origin
    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{path}: field '{label}' must be true or false, not {_show(value)}")
        return value
    if hint in (int, float):
        return _number(hint, value, label, path, spec.metadata["range"])
    if hint is str:
        return _text(value, label, path, spec)
    if hint is dt.date:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise InputError(f"{path}: field '{label}' must be a date like 2026-01-01, not {_show(value)}")
        if value not in spec.metadata["range"]:
            raise InputError(f"{path}: field '{label}' must be a date in {spec.metadata['range']}, not {value}")
        return value
    if hint is dict or origin is dict:
        return _shares(value, label, path)
    if origin is tuple:
        return _array(hint, value, label, path, spec)
    if hasattr(hint, "__dataclass_fields__"):
        return _convert(hint, value, label, path)
    if isinstance(hint, types.UnionType):  # pragma: no cover - schema has none yet
        return value
    raise TypeError(f"schema type {hint!r} not handled")  # pragma: no cover


def _number(hint, value, label: str, path: Path, valid: Range):
    """A finite number of the field's type inside its declared range (ints compared exactly)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: field '{label}' must be a number, not {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{path}: field '{label}' must be a finite number in {valid}, not {_show(value)}")
    if hint is int and isinstance(value, float) and not value.is_integer():
        raise InputError(f"{path}: field '{label}' must be a whole number, not {_show(value)}")
    if value not in valid:
        raise InputError(f"{path}: field '{label}' must be in {valid}, not {_show(value)}")
    return hint(value)


def _text(value, label: str, path: Path, spec) -> str:
    if not isinstance(value, str):
        raise InputError(f"{path}: field '{label}' must be text, not {_show(value)}")
    if len(value) > _MAX_TEXT:
        raise InputError(f"{path}: field '{label}' must be at most {_MAX_TEXT} characters, not {len(value)}")
    choices = _CHOICES.get(spec.name)
    if choices and value not in choices:
        raise InputError(f"{path}: field '{label}' must be one of {', '.join(choices)}, not {_show(value)}")
    return value


def _shares(value, label: str, path: Path) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{path}: field '{label}' must be a table")
    if len(value) > _MAX_AGENTS["giants"]:
        raise InputError(f"{path}: field '{label}' must name at most {_MAX_AGENTS['giants']} giants")
    return {key: _number(float, share, f"{label}.{key}", path, SHARE_RANGE) for key, share in value.items()}


SHARE_RANGE = Range(0.0, 1.0)


def _array(hint, value, label: str, path: Path, spec) -> tuple:
    """A tuple field: an array of numbers (tuple[float, ...]) or an array of tables."""
    item_cls = typing.get_args(hint)[0]
    if item_cls is float:
        if not isinstance(value, list):
            raise InputError(f"{path}: field '{label}' must be an array of numbers")
        if len(value) > spec.metadata["length"]:
            raise InputError(f"{path}: field '{label}' must have at most {spec.metadata['length']} numbers")
        valid = spec.metadata["range"]
        return tuple(_number(float, v, f"{label}[{i}]", path, valid) for i, v in enumerate(value))
    if not isinstance(value, list):
        raise InputError(f"{path}: field '{label}' must be an array of tables ([[{label}]])")
    most = _MAX_AGENTS[label]
    if len(value) > most:
        raise InputError(f"{path}: field '{label}' must have at most {most} entries, not {len(value)}")
    return tuple(_convert(item_cls, item, f"{label}[{i}]", path) for i, item in enumerate(value))


def build(raw: dict, path: Path, given: str = "") -> ScenarioConfig:
    """Convert and check raw data; `given` names the overrides in it, so that a relation that
    fails between fields (a start before the boom) names both the file and the option."""
    config = _convert(ScenarioConfig, raw, "", path)
    _cross_check(config, f"{path} with {given}" if given else path)
    return config


def _cross_check(config: ScenarioConfig, path: Path) -> None:
    """Relations between tables: names exist, splits and forms add up."""
    _check_references(config, path)
    _check_orders(config, path)
    _check_valuation(config, path)


def _check_valuation(config: ScenarioConfig, path: Path) -> None:
    """The rest of the market opens fairly priced (design 7): some discount rate must turn its
    growth path into its opening price/earnings, or no equity premium can be implied."""
    from economy.valuation import implied_discount_rate

    spec = config.market
    pe = spec.rest_market_cap / spec.rest_earnings
    try:
        implied_discount_rate(pe, spec.rest_growth, spec.long_run_growth, spec.growth_halflife_years)
    except ValueError:
        raise InputError(
            f"{path}: the rest of the market's opening price/earnings {pe:.4g} (market.rest_market_cap / "
            f"market.rest_earnings) is the present value of no discount rate under 100% with market.rest_growth "
            f"{spec.rest_growth:g}, market.long_run_growth {spec.long_run_growth:g} and "
            f"market.growth_halflife_years {spec.growth_halflife_years:g}; lower the price/earnings or the growth"
        ) from None


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
    if config.run.boom_started > config.run.start:
        raise InputError(f"{path}: field 'run.boom_started' must not be after run.start ({config.run.start})")
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
