"""The dashboard's Solara page: Mesa's SolaraViz around the model, with the levers and the views.

This module owns what `python -m runs dashboard` shows (the command itself, `runs.dashboard`,
only starts a Solara server on this module). `DashboardModel` is a thin subclass of
`CircularFinance` whose keywords are the dashboard's levers (accounting regime, spend-back,
passive share, interest rate, each lab's revenue growth, seed) turned into scenario overrides,
because SolaraViz rebuilds the model from plain keywords on Reset; it also steps an optional
twin with another regime on the same seed (the side-by-side page) and turns a `DomainError`
into a stopped run instead of a traceback. The views are pure functions from the model's own
tables (the weekly datacollector table and the quarterly statements) to matplotlib Figures, each
wrapped in a small Solara component that redraws when SolaraViz steps the model. Importing this
module loads solara, mesa and the model: only the Solara server does that.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from economy.errors import DomainError
from model import scenario as scenarios
from model.model import CircularFinance

BASE = scenarios.load("baseline")
LAB_GROWTH = {lab.name: lab.revenue_growth for lab in BASE.labs}
GIANTS = [g.name for g in BASE.giants]
LABS = [lab.name for lab in BASE.labs]
GIANT_COLOURS = {"Microsoft": "C0", "Alphabet": "C2", "Amazon": "C1", "Oracle": "C3"}
LAB_COLOURS = {"OpenAI": "C4", "Anthropic": "C5"}
COMPARE_OFF = "off"
FIG_SIZE = (6.4, 4.2)  # inches; at DPI this fits one SolaraViz grid cell (half the width)
DPI = 80
RENDER_WEEKS = 13  # weeks per Step and per frame of Play (must be odd: the slider runs 1, 3, 5, ...)


class DashboardModel(CircularFinance):
    """`CircularFinance` with the dashboard's levers as keywords, and an optional twin.

    SolaraViz re-creates the model on Reset from the keywords its controls hold, so every lever
    is a keyword here (the model's own constructor takes the regime, spend-back and rate, but
    passive share and revenue growth only as scenario overrides). With `compare` set to a regime,
    a plain `CircularFinance` with the same levers and seed but that regime steps alongside.
    """

    def __init__(
        self,
        *,
        regime: str = BASE.economy.regime,
        spend_back: bool = BASE.economy.spend_back,
        passive_share: float = BASE.market.passive_share,
        interest_rate: float = BASE.economy.interest_rate,
        openai_growth: float = LAB_GROWTH.get("OpenAI", 1.0),
        anthropic_growth: float = LAB_GROWTH.get("Anthropic", 1.0),
        compare: str = COMPARE_OFF,
        seed: int | str = BASE.seed,
        years: float = BASE.run.years,
    ):
        overrides = {
            "economy.spend_back": bool(spend_back),
            "market.passive_share": float(passive_share),
            "economy.interest_rate": float(interest_rate),
        }
        growth = {"OpenAI": openai_growth, "Anthropic": anthropic_growth}
        overrides.update({f"labs.{lab}.revenue_growth": float(growth[lab]) for lab in LABS if lab in growth})
        seed, self.seed_note = _seed(seed)
        super().__init__(regime=regime, years=years, overrides=overrides, rng=seed)
        self.seed = seed  # the seed this run was built with, for the status line
        self.stopped: str | None = None
        self.twin: CircularFinance | None = None
        if compare and compare != COMPARE_OFF:
            self.twin = CircularFinance(regime=compare, years=years, overrides=overrides, rng=seed)

    def step(self) -> None:
        # A run that leaves what the model can represent stops with a message (design 10.10);
        # raising here would leave the play loop with a traceback and a half-drawn page.
        try:
            super().step()
            if self.twin is not None and self.twin.running:
                self.twin.step()
        except DomainError as exc:
            self.stopped = str(exc)
            self.running = False


def _seed(value) -> tuple[int, str | None]:
    """The seed box holds text; blank means the scenario's own seed. Text that is not a whole number
    of 0 or more also falls back to it, with a note: an exception here would break SolaraViz's Reset."""
    text = str(value).strip()
    if not text:
        return BASE.seed, None
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:  # numpy's generators take non-negative seeds only
        return BASE.seed, f"seed {text[:40]!r} is not a whole number of 0 or more, used {BASE.seed}"
    return seed, None


# SolaraViz's parameter panel: each key is a DashboardModel keyword.
MODEL_PARAMS = {
    "regime": {
        "type": "Select",
        "label": "accounting regime",
        "value": BASE.economy.regime,
        "values": list(scenarios.REGIMES),
    },
    "spend_back": {"type": "Checkbox", "label": "spend-back (credits and clauses)", "value": BASE.economy.spend_back},
    "passive_share": {
        "type": "SliderFloat",
        "label": "passive share of fund money",
        "value": BASE.market.passive_share,
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
    },
    "interest_rate": {
        "type": "SliderFloat",
        "label": "interest rate",
        "value": BASE.economy.interest_rate,
        "min": 0.0,
        "max": 0.12,
        "step": 0.005,
    },
    "openai_growth": {
        "type": "SliderFloat",
        "label": "OpenAI revenue growth (yearly)",
        "value": LAB_GROWTH.get("OpenAI", 1.0),
        "min": 0.0,
        "max": 3.0,
        "step": 0.05,
    },
    "anthropic_growth": {
        "type": "SliderFloat",
        "label": "Anthropic revenue growth (yearly)",
        "value": LAB_GROWTH.get("Anthropic", 1.0),
        "min": 0.0,
        "max": 3.0,
        "step": 0.05,
    },
    "compare": {
        "type": "Select",
        "label": "compare with regime (page 1)",
        "value": COMPARE_OFF,
        "values": [COMPARE_OFF, *scenarios.REGIMES],
    },
    "seed": {"type": "InputText", "label": "seed", "value": str(BASE.seed)},
}


# ------------------------------------------------------------------------------ tables


def weekly(model: CircularFinance) -> pd.DataFrame:
    frame = model.datacollector.get_table_dataframe("weekly")
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def quarters(model: CircularFinance, kind: str) -> pd.DataFrame:
    frame = model.datacollector.get_table_dataframe(f"{kind}_quarters")
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def episodes(model: CircularFinance) -> pd.DataFrame:
    """The model's own bubble episodes so far (open ones censored at the current week)."""
    if model.datacollector.get_table_dataframe("weekly").empty:
        return pd.DataFrame()
    return model.tables()["episodes"]


# ----------------------------------------------------------------------------- figures


def _figure(ncols: int = 1, nrows: int = 1, size=FIG_SIZE) -> tuple[Figure, list]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.flat)


def _dates(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)  # the panels are narrow
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _waiting(fig: Figure, what: str) -> Figure:
    fig.text(0.5, 0.5, what, ha="center", va="center", fontsize=10, color="0.4")
    for ax in fig.axes:
        ax.set_axis_off()
    return fig


def price_figure(steps: pd.DataFrame, found: pd.DataFrame, theta: float) -> Figure:
    """The AI basket's market cap against its fundamental, episodes shaded; the rest of the market beside it."""
    fig, (basket, rest) = _figure(2)
    basket.set_title("AI basket: price against fundamental", fontsize=9)
    rest.set_title("Rest of the market (price / opening price)", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    dates = steps["date"]
    basket.plot(dates, steps["basket_price"] / 1000.0, color="tab:blue", label="market cap")
    basket.plot(dates, steps["basket_fundamental"] / 1000.0, color="tab:green", label="fundamental")
    for row in found.itertuples():
        begin = max(pd.Timestamp(row.start), dates.iloc[0])
        end = dates.iloc[-1] if row.censored else pd.Timestamp(row.burst)
        basket.axvspan(begin, end, color="tab:red", alpha=0.15, lw=0)
    basket.set_ylabel("$ trillion")
    basket.legend(loc="upper left", fontsize=7, title=f"shaded: P/F > {1 + theta:g} episodes", title_fontsize=7)
    opening = float(steps["price_Rest"].iloc[0])
    rest.plot(dates, steps["price_Rest"] / opening, color="tab:blue", label="price")
    rest.plot(dates, steps["fundamental_Rest"] / opening, color="tab:green", label="fundamental")
    rest.legend(loc="upper left", fontsize=7)
    for ax in (basket, rest):
        _dates(ax)
    return fig


def premium_figure(steps: pd.DataFrame, theta: float) -> Figure:
    """Price over fundamental of the basket and of the rest of the market, and their ratio (the AI premium)."""
    fig, (ax,) = _figure()
    ax.set_title("AI premium: basket P/F over the rest of the market's P/F", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    ax.plot(steps["date"], steps["ai_premium"], color="tab:red", lw=1.8, label="AI premium")
    ax.plot(steps["date"], steps["basket_pf"], color="tab:blue", lw=1, label="AI basket P/F")
    ax.plot(steps["date"], steps["pf_Rest"], color="tab:gray", lw=1, label="rest of market P/F")
    ax.axhline(1.0, color="black", lw=0.5)
    ax.axhline(1.0 + theta, color="tab:red", lw=0.5, ls=":", label=f"episode threshold {1 + theta:g}")
    ax.legend(loc="upper left", fontsize=7)
    _dates(ax)
    return fig


PROFIT_PARTS = {
    "profit_real": ("real profit", "tab:gray"),
    "profit_roundtrip": ("round-trip revenue", "tab:orange"),
    "profit_marks": ("marks on lab stakes", "tab:purple"),
}


def profit_by_quarter(giant_quarters: pd.DataFrame) -> pd.DataFrame:
    columns = [*PROFIT_PARTS, "net_income", "free_cash_flow"]
    return giant_quarters.groupby("date")[columns].sum()


def profit_figure(giant_quarters: pd.DataFrame) -> Figure:
    """The four giants' reported net income split by origin (stacked bars) against free cash flow."""
    fig, (ax,) = _figure()
    ax.set_title("Giants' reported profit by origin against free cash flow", fontsize=9)
    if giant_quarters.empty:
        return _waiting(fig, "the first quarter closes at week 13")
    by_quarter = profit_by_quarter(giant_quarters)
    when = by_quarter.index
    up = np.zeros(len(by_quarter))
    down = np.zeros(len(by_quarter))
    for column, (label, colour) in PROFIT_PARTS.items():
        values = by_quarter[column].to_numpy()
        positive, negative = np.clip(values, 0.0, None), np.clip(values, None, 0.0)
        ax.bar(when, positive, 60, bottom=up, color=colour, label=label)
        ax.bar(when, negative, 60, bottom=down, color=colour)
        up += positive
        down += negative
    ax.plot(when, by_quarter["free_cash_flow"], color="black", marker=".", label="free cash flow")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_ylabel("$ billion a quarter")
    ax.legend(loc="upper left", fontsize=7)
    _dates(ax)
    return fig


def labs_figure(steps: pd.DataFrame) -> Figure:
    """Each lab's valuation, and its runway with the weeks in distress marked."""
    fig, (value, runway) = _figure(2)
    value.set_title("Labs' valuations", fontsize=9)
    runway.set_title("Runway (x: distressed, failed in legend)", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    dates = steps["date"]
    for lab in LABS:
        colour = LAB_COLOURS.get(lab)
        value.plot(dates, steps[f"{lab}_valuation"], color=colour, label=lab)
        failed = bool(steps[f"{lab}_failed"].iloc[-1])
        runway.plot(dates, steps[f"{lab}_runway_weeks"], color=colour, label=lab + (" (failed)" if failed else ""))
        distressed = steps[f"{lab}_distressed"].astype(bool)
        if distressed.any():
            runway.scatter(
                dates[distressed], steps.loc[distressed, f"{lab}_runway_weeks"], color=colour, marker="x", s=12
            )
    value.set_ylabel("$ billion")
    runway.set_ylabel("weeks")
    value.legend(loc="upper left", fontsize=7)
    runway.legend(loc="upper right", fontsize=7)
    for ax in (value, runway):
        _dates(ax)
    return fig


def backlog_figure(steps: pd.DataFrame, giant_quarters: pd.DataFrame) -> Figure:
    """Each giant's backlog (weekly), and the share of it the labs owe (quarterly statements)."""
    fig, (level, share) = _figure(2)
    level.set_title("Giants' backlog", fontsize=9)
    share.set_title("Share of backlog owed by the labs", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    for giant in GIANTS:
        level.plot(steps["date"], steps[f"{giant}_backlog"], color=GIANT_COLOURS.get(giant), label=giant)
    level.set_ylabel("$ billion")
    level.legend(loc="upper left", fontsize=7)
    _dates(level)
    if giant_quarters.empty:
        share.text(0.5, 0.5, "quarterly, from week 13", ha="center", va="center", fontsize=9, color="0.4")
        share.set_axis_off()
        return fig
    columns = [f"backlog_share_{lab}" for lab in LABS]
    for giant, rows in giant_quarters.groupby("giant", sort=False):
        share.plot(rows["date"], rows[columns].sum(axis=1), color=GIANT_COLOURS.get(giant), marker=".", label=giant)
    share.set_ylim(0.0, 1.0)
    share.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    share.legend(loc="lower left", fontsize=7)
    _dates(share)
    return fig


def strategy_figure(steps: pd.DataFrame) -> Figure:
    """Active funds' assets by strategy: earnings-based, trend followers, cash-based (the rest)."""
    fig, (ax,) = _figure()
    ax.set_title("Active funds' strategy mix (share of their assets)", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    earnings = steps["earnings_funds_share"].to_numpy()
    trend = steps["trend_funds_share"].to_numpy()
    cash = np.clip(1.0 - earnings - trend, 0.0, 1.0)
    ax.stackplot(
        steps["date"],
        earnings,
        trend,
        cash,
        labels=["earnings-based", "trend followers", "cash-based"],
        colors=["tab:orange", "tab:olive", "tab:green"],
        alpha=0.8,
    )
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="lower left", fontsize=7)
    _dates(ax)
    return fig


def flows_figure(steps: pd.DataFrame) -> Figure:
    """Savers' flows (13-week sums), and how much of the market index funds hold."""
    fig, (flows, held) = _figure(2)
    flows.set_title("Savers' flows (13-week sums)", fontsize=9)
    held.set_title("Passive holdings, savers' equity share", fontsize=9)
    if steps.empty:
        return _waiting(fig, "press Step or Play")
    dates = steps["date"]
    window = steps[["saver_contributions", "saver_withdrawals", "flow_to_index", "flow_to_active"]]
    summed = window.rolling(13).sum()  # no partial sums: the first quarter would look like a ramp
    flows.plot(dates, summed["saver_contributions"], color="tab:green", label="contributions")
    flows.plot(dates, -summed["saver_withdrawals"].abs(), color="tab:red", label="withdrawals")
    flows.plot(dates, summed["flow_to_index"], color="tab:blue", label="net to index funds")
    flows.plot(dates, summed["flow_to_active"], color="tab:orange", label="net to active funds")
    flows.axhline(0.0, color="black", lw=0.5)
    flows.set_ylabel("$ billion")
    flows.legend(loc="lower left", fontsize=6, ncol=2)
    held.plot(dates, steps["passive_held"], color="tab:blue", label="market held by index funds")
    held.plot(dates, steps["savers_equity_share"], color="tab:purple", label="savers' equity share")
    held.set_ylim(0.0, 1.0)
    held.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    held.legend(loc="lower left", fontsize=7)
    for ax in (flows, held):
        _dates(ax)
    return fig


COMPARE_COLOURS = ("tab:blue", "tab:red")  # the main run, the twin
COMPARE_VIEWS = {
    "pf": "AI basket price / fundamental",
    "premium": "AI premium",
    "profit": "Giants' reported net income (solid) and free cash flow (dotted)",
    "labs": "Labs' valuations (solid OpenAI, dashed Anthropic)",
}


def compare_figure(view: str, runs: dict[str, tuple[pd.DataFrame, pd.DataFrame]], theta: float) -> Figure:
    """One measure of two settings on the same seed, overlaid; `runs` maps a label to
    (weekly table, giants' quarterly statements); `view` is a key of COMPARE_VIEWS."""
    fig, (ax,) = _figure()
    ax.set_title(COMPARE_VIEWS[view], fontsize=9)
    for (label, (steps, giant_quarters)), colour in zip(runs.items(), COMPARE_COLOURS, strict=False):
        if steps.empty:
            continue
        if view == "pf":
            ax.plot(steps["date"], steps["basket_pf"], color=colour, label=label)
        elif view == "premium":
            ax.plot(steps["date"], steps["ai_premium"], color=colour, label=label)
        elif view == "profit" and not giant_quarters.empty:
            by_quarter = profit_by_quarter(giant_quarters)
            ax.plot(by_quarter.index, by_quarter["net_income"], color=colour, marker=".", label=label)
            ax.plot(by_quarter.index, by_quarter["free_cash_flow"], color=colour, marker=".", ls=":")
        elif view == "labs":
            for lab, style in zip(LABS, ("-", "--"), strict=False):
                ax.plot(steps["date"], steps[f"{lab}_valuation"], color=colour, ls=style, label=f"{lab}, {label}")
    if view == "pf":
        ax.axhline(1.0 + theta, color="black", lw=0.5, ls=":")
    if view == "profit":
        ax.set_ylabel("$ billion a quarter")
    if not ax.has_data():
        return _waiting(fig, "press Step or Play" if view != "profit" else "the first quarter closes at week 13")
    ax.legend(loc="upper left", fontsize=7)
    _dates(ax)
    return fig


# --------------------------------------------------------------------------- components


def _show(fig: Figure) -> None:
    solara.FigureMatplotlib(fig, format="png", dpi=DPI)


def _theta(model: CircularFinance) -> float:
    return model.config.bubble.theta


@solara.component
def PriceView(model):
    update_counter.get()
    _show(price_figure(weekly(model), episodes(model), _theta(model)))


@solara.component
def PremiumView(model):
    update_counter.get()
    _show(premium_figure(weekly(model), _theta(model)))


@solara.component
def ProfitView(model):
    update_counter.get()
    _show(profit_figure(quarters(model, "giant")))


@solara.component
def LabsView(model):
    update_counter.get()
    _show(labs_figure(weekly(model)))


@solara.component
def BacklogView(model):
    update_counter.get()
    _show(backlog_figure(weekly(model), quarters(model, "giant")))


@solara.component
def StrategyView(model):
    update_counter.get()
    _show(strategy_figure(weekly(model)))


@solara.component
def FlowsView(model):
    update_counter.get()
    _show(flows_figure(weekly(model)))


def compare_runs(model) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None:
    """The main run and its twin, labelled by regime (None without a twin)."""
    twin = getattr(model, "twin", None)
    if twin is None:
        return None
    main, other = model.config.economy.regime, twin.config.economy.regime
    if main == other:  # the same regime twice: label them apart so neither hides the other
        main, other = f"{main} (main)", f"{other} (twin)"
    return {main: (weekly(model), quarters(model, "giant")), other: (weekly(twin), quarters(twin, "giant"))}


def make_compare_view(view: str):
    """A component for page 1 drawing one measure of the main run and its twin."""

    @solara.component
    def CompareView(model):
        update_counter.get()
        runs = compare_runs(model)
        if runs is None:
            with solara.Column():
                if view == next(iter(COMPARE_VIEWS)):  # one hint is enough
                    solara.Info("Side by side: choose a regime under 'compare with regime (page 1)', then press Reset.")
            return
        _show(compare_figure(view, runs, _theta(model)))

    CompareView.__name__ = f"Compare_{view}"
    return CompareView


def status_text(model) -> str:
    """One line for the sidebar (and the browser test): where the run is and what it shows now."""
    config = model.config
    economy = config.economy
    growth = ", ".join(f"{lab.name} {lab.revenue_growth:.0%}" for lab in config.labs)
    text = (
        f"week {model.week}, {model.date.isoformat()}; regime {economy.regime}; "
        f"spend-back {'on' if economy.spend_back else 'off'}, passive share {config.market.passive_share:.0%}, "
        f"rate {economy.interest_rate:.1%}, revenue growth {growth}, seed {getattr(model, 'seed', '-')}"
    )
    steps = model.datacollector.get_table_dataframe("weekly")
    if not steps.empty:
        last = steps.iloc[-1]
        text += f"; basket P/F {last['basket_pf']:.2f}, AI premium {last['ai_premium']:.2f}"
    twin = getattr(model, "twin", None)
    if twin is not None:
        text += f"; compared with {twin.config.economy.regime}"
    if getattr(model, "seed_note", None):
        text += f"; {model.seed_note}"
    if getattr(model, "stopped", None):
        text += f"; run stopped: {model.stopped}"
    return text


@solara.component
def Status(model: solara.Reactive):
    update_counter.get()
    with solara.Card("Run"):
        solara.Text(status_text(model.value), classes=["dashboard-status"])


COMPONENTS = [
    (PriceView, 0),
    (PremiumView, 0),
    (ProfitView, 0),
    (LabsView, 0),
    (BacklogView, 0),
    (StrategyView, 0),
    (FlowsView, 0),
    *[(make_compare_view(view), 1) for view in COMPARE_VIEWS],
]


@solara.component
def Page():
    # One model per browser session: a module-level model would be shared by every tab.
    model = solara.use_reactive(solara.use_memo(DashboardModel, []))
    with solara.Sidebar():
        Status(model)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=MODEL_PARAMS,
        name="Circular AI financing",
        play_interval=1,  # the model and the redraw take long enough; no need to wait between frames
        # A quarter per frame: redrawing seven charts costs about a second, a week of the model a few
        # milliseconds; the Render Interval slider in the sidebar goes down to one week.
        render_interval=RENDER_WEEKS,
    )
