"""What the market knows and believes each week (design 6 and 7): the fundamental value of every
stock, the strategies' valuations, latent demand and its noise, and the market-wide signals
savers and labs read.

Values are re-read every week from the state of the economy, so news reaches prices within the
week: core and cloud demand, the labs' revenue, a round's price (through the gains it promises
and, at quarter end, the statements). Persistence lives here, in beliefs (the strategy mix,
savers' extrapolation, latent demand), not in the price.

- **Fundamental** (the model's yardstick, and what cash-based investors trade on): the present
  value of the cash flows that survive without new funding rounds, discounted at k = r + ERP.
  For a giant: core profit, cloud profit on other customers and on the part of the labs'
  spending their own revenue could pay for (round-trip money never counts), each growing as
  the process behind it does; plus net cash; plus its stakes at the labs' intrinsic value. For
  the rest of the market: its earnings. The equity risk premium is implied by the rest of the
  market starting at price/fundamental 1 at the reference rate.
- **Earnings-based value**: the same formula fed with reported EPS (last three quarters plus the
  analysts' estimate of the current one, which includes the gains that rounds already priced)
  and a growth belief that moves a little each week toward the latest 52 weeks' EPS growth
  (sticky expectations).
- **Trend value**: the price carried along its last quarter's trend.
- **Latent demand** δ (Koijen and Yogo 2019): what the opening holdings show that the valuations
  do not explain, set once so the opening prices clear; and its noise u, a persistent (AR(1))
  shock per stock plus a market-wide one: noise in orders (De Long et al. 1990).
"""

from __future__ import annotations

import math

import numpy as np

from agents.funds import CASH, EARNINGS, TREND, strategy_weights, tilt_elasticity
from economy.errors import DomainError
from economy.valuation import (
    MIN_VALUE,
    annualised_return,
    growth_multiple,
    growth_of,
    implied_discount_rate,
    maintained_margin,
    trend_value,
)

HISTORY_WEEKS = 60
VALUE_DOMAIN = 1e6  # a value per share beyond this multiple of the price ends the run (as prices do, economy.market)


class Beliefs:
    def __init__(self, model, market):
        self.model = model
        self.market = market
        config = model.config
        spec = config.market
        economy = config.economy
        self.n_giants = len(model.giants)
        self.rest = len(market.names) - 1
        self.rest_earnings = spec.rest_earnings  # yearly run-rate, exogenous path
        self.rest_earnings_history = [
            spec.rest_earnings / (1.0 + spec.rest_growth) ** ((52 - w) / 52.0) for w in range(53)
        ]
        # Implied equity risk premium: the rest of the market fairly priced at the reference rate.
        opening_pe = spec.rest_market_cap / spec.rest_earnings
        self.equity_premium = (
            implied_discount_rate(opening_pe, spec.rest_growth, spec.long_run_growth, spec.growth_halflife_years)
            - economy.rate_reference
        )
        # The market's volatility as investors estimate it (EWMA of squared weekly returns, yearly).
        self.market_variance = spec.normal_volatility**2
        self.start_history()
        self.sentiment = economy.sentiment
        # Latent demand and its noise; the opening solves for `latent` (see model.opening).
        self.latent = np.zeros(len(market.names))
        self.noise = np.zeros(len(market.names))  # other holders', per stock
        self.market_noise = 0.0  # other holders', market-wide
        self.strategy_noise = np.zeros((3, len(market.names)))  # each strategy's, per stock
        self.other_scale = 0.0
        mix = np.array([spec.earnings_share, 1.0 - spec.earnings_share - spec.trend_share, spec.trend_share])
        # A strategy nobody follows at the start is not on the menu (trend following is optional).
        self.available = mix > 0.0
        # Track records before the start are unknown: set so the logit rule reproduces the opening mix.
        self.fitness = np.log(np.maximum(mix, 1e-6)) / max(spec.switching_intensity, 1e-9)
        self.fitness -= self.fitness.max()
        self.values = np.zeros((3, len(market.names)))
        self.earnings_growth: np.ndarray | None = None  # earnings investors' growth belief, per stock
        self.fundamental = np.zeros(len(market.names))
        self.reference_excess = (
            self.reported_earnings() / float(market.caps().sum()) + spec.long_run_growth - economy.rate_reference
        )

    def start_history(self) -> None:
        """A year of prices before the start at last year's pace, so trends and returns start where
        2025 left them: the AI giants at the sentiment, the rest of the market at its return."""
        config = self.model.config
        spec, economy = config.market, config.economy
        market = self.market
        paces = np.array([economy.sentiment] * self.n_giants + [spec.market_return_last_year])
        self.price_history = [market.prices / (1.0 + paces) ** ((52 - w) / 52.0) for w in range(53)]
        caps = market.caps()
        self.basket_index = [
            float(caps[: self.n_giants].sum()) / (1.0 + economy.sentiment) ** ((52 - w) / 52.0) for w in range(53)
        ]
        self.market_index = [
            float(caps.sum()) / (1.0 + spec.market_return_last_year) ** ((52 - w) / 52.0) for w in range(53)
        ]

    # -------------------------------------------------------------- signals
    @property
    def discount_rate(self) -> float:
        """k = r + ERP, kept a point above long-run growth (below it no present value is finite)."""
        config = self.model.config
        return max(config.economy.interest_rate + self.equity_premium, config.market.long_run_growth + 0.01)

    @property
    def risk_appetite(self) -> float:
        """The normal variance of the market over its estimated variance, within a factor of
        `risk_appetite_range` either way. Active funds size their bets by it: risk budgets shrink
        when markets are turbulent (Adrian and Shin 2010), so they lean less on value then and
        turbulence feeds on itself (limits to arbitrage, Shleifer and Vishny 1997)."""
        spec = self.model.config.market
        bound = spec.risk_appetite_range
        if self.market_variance <= 0.0:  # a market that has not moved at all: as calm as it gets
            return bound
        return min(bound, max(1.0 / bound, spec.normal_volatility**2 / self.market_variance))

    @property
    def kappa(self) -> np.ndarray:
        """Active funds' tilt elasticity, κ = 1 / (γ σ² T) times the risk appetite."""
        spec = self.model.config.market
        kappa = tilt_elasticity(spec.risk_aversion, spec.residual_volatility, spec.gap_closing_years)
        return np.full(len(self.market.names), kappa * self.risk_appetite)

    @property
    def other_elasticity(self) -> float:
        """Foreign and direct holders' price elasticity."""
        return self.model.config.market.other_holders_elasticity

    def taste(self) -> np.ndarray:
        """Other holders' exp(latent demand + noise) per stock."""
        return np.exp(self.latent + self.noise + self.market_noise)

    def reported_earnings(self) -> float:
        """The market's reported earnings over the last year: the giants' and the rest's."""
        giants = sum(sum(g.reported_income[-4:]) for g in self.model.giants)
        return giants + self.rest_earnings

    def market_return(self) -> float:
        return annualised_return(self.market_index[-1], self.market_index[-53], 52)

    def drawdown(self) -> float:
        recent = self.market_index[-52:]
        return 1.0 - recent[-1] / max(recent)

    def saver_lean(self) -> float:
        """How far the expected excess return of stocks over the rate moves savers' equity share:
        s · (x − x₀), x = earnings yield + long-run growth − rate + extrapolation of last year's
        return (Greenwood and Shleifer 2014); s as measured by Giglio et al. (2021), far below
        Merton's 1 / (γ σ²)."""
        config = self.model.config
        savers, spec = config.savers, config.market
        x = (
            self.reported_earnings() / float(self.market.caps().sum())
            + spec.long_run_growth
            - config.economy.interest_rate
            + savers.extrapolation * (self.market_return() - savers.return_reference)
        )
        return savers.allocation_sensitivity * (x - self.reference_excess)

    # ----------------------------------------------------------- valuations
    def revalue(self) -> None:
        """Every strategy's value per share and the fundamental, from this week's news.

        All present-value multiples of the week come from one vectorised call: per giant its
        core business and its other cloud customers, per lab its revenue, the rest of the
        market's earnings, and the earnings-based investors' multiple per stock.

        Extreme scenarios (a giant with almost no shares, earnings growing 1000% a year) can
        overflow these numbers; they are computed without warnings and checked instead: a value
        that is not finite or beyond VALUE_DOMAIN times its price stops the run with one line.
        """
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            self._revalue()

    def _revalue(self) -> None:
        model = self.model
        market = self.market
        config = model.config
        spec, economy = config.market, config.economy
        k = self.discount_rate
        eps, eps_growth = self._reported_eps()
        latest = np.clip(eps_growth, spec.earnings_growth_min, spec.earnings_growth_max)
        if self.earnings_growth is None:  # at the opening: last year's growth, as reported
            self.earnings_growth = latest
        else:
            # Sticky expectations (Bouchaud, Krüger, Landier and Thesmar 2019): the growth belief
            # moves toward the latest 52 weeks' growth, a share `earnings_growth_revision` a quarter.
            weekly = 1.0 - (1.0 - spec.earnings_growth_revision) ** (1.0 / 13.0)
            self.earnings_growth = self.earnings_growth + weekly * (latest - self.earnings_growth)
        giants, labs = model.giants, model.labs
        growth = np.concatenate(
            [
                [g.spec.core_growth for g in giants],
                [g.other_growth() for g in giants],
                [lab.growth for lab in labs],
                [spec.rest_growth],
                self.earnings_growth,
            ]
        )
        halflife = np.concatenate(
            [
                np.full(len(giants), spec.growth_halflife_years),
                np.full(len(giants), economy.cloud_growth_halflife_years),
                [lab.spec.growth_halflife_years for lab in labs],
                [spec.growth_halflife_years],
                np.full(len(eps), spec.growth_halflife_years),
            ]
        )
        multiples = growth_multiple(growth, spec.long_run_growth, halflife, k)
        n, m = len(giants), len(labs)
        core, other, lab_multiple = multiples[:n], multiples[n : 2 * n], multiples[2 * n : 2 * n + m]
        rest_multiple = multiples[2 * n + m]
        self.fundamental = self._fundamental(core, other, lab_multiple, rest_multiple)
        self._check_representable(self.fundamental, "fundamental value")
        self.values[EARNINGS] = np.maximum(eps * multiples[2 * n + m + 1 :], MIN_VALUE)
        self._check_representable(self.values[EARNINGS], "value on earnings")
        self.values[CASH] = self.fundamental
        then = self.price_history[-1 - spec.trend_weeks]
        self.values[TREND] = trend_value(market.prices, then, spec.trend_weeks, spec.trend_horizon)

    def _check_representable(self, per_share: np.ndarray, what: str) -> None:
        """A value per share beyond VALUE_DOMAIN times the price (or not a number) is an economy
        the model cannot represent: its demands would overflow. One line, naming the stock."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = per_share / self.market.prices
        bad = ~np.isfinite(ratio) | (ratio > VALUE_DOMAIN)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DomainError(
                f"{self.market.names[j]}'s {what} is {ratio[j]:.1e} times its price at week {self.model.week}: "
                f"beyond what the model can represent (at most {VALUE_DOMAIN:.0e})"
            )

    def _fundamental(
        self, core: np.ndarray, other: np.ndarray, lab_multiple: np.ndarray, rest_multiple: float
    ) -> np.ndarray:
        """Per share: surviving earnings times their multiples, plus net cash and stakes (design 7)."""
        model = self.model
        config = model.config
        spec, economy = config.market, config.economy
        labs = model.labs
        revenue = np.array([lab.revenue_weekly * 52.0 for lab in labs])
        alive = np.array([not lab.failed for lab in labs])
        intrinsic = dict(
            zip((lab.name for lab in labs), alive * revenue * spec.lab_mature_margin * lab_multiple, strict=True)
        )
        per_lab = dict(
            zip(
                (lab.name for lab in labs),
                lab_multiple * np.array([lab.surviving_share() for lab in labs]),
                strict=True,
            )
        )
        totals = np.empty(len(self.market.names))
        for j, giant in enumerate(model.giants):
            s = giant.spec
            margin = maintained_margin(
                s.cloud_cash_cost, s.capex_cost, economy.capacity_decay, economy.capacity_headroom
            )
            earnings = (
                core[j] * giant.core_revenue_annual * s.core_margin
                + other[j] * giant.other_cloud_annual * margin
                + margin * sum(per_lab[name] * spend for name, spend in giant.untied_lab_spend().items())
            )
            stakes = sum(
                h.shares / model.labs_by_name[name].shares * intrinsic[name] for name, h in giant.holdings.items()
            )
            totals[j] = (1.0 - s.tax_rate) * earnings + giant.net_cash() + stakes
        totals[self.rest] = rest_multiple * self.rest_earnings
        return np.maximum(totals / self.market.shares, MIN_VALUE)

    def _reported_eps(self) -> tuple[np.ndarray, np.ndarray]:
        """Earnings over the last 52 weeks as analysts see them, per share, and their growth over
        the 52 weeks before; for the rest of the market, its earnings run-rate.

        Each reported quarter counts spread over its 13 weeks, so a quarter leaves the window a
        week at a time a year later instead of all at once on its anniversary (a one-off mark
        would otherwise knock a third off trailing earnings in one week, a year after the news);
        the current quarter's operating earnings accrue with the weeks, and the gains its rounds
        imply count in full as soon as they are known.
        """
        shares = self.market.shares
        eps, growth = np.empty(len(shares)), np.empty(len(shares))
        done = (self.model.week % 13 + 1) / 13.0  # share of the current quarter behind us
        for j, giant in enumerate(self.model.giants):
            q = giant.reported_income  # the last eight quarters, oldest first
            now = (
                (1.0 - done) * q[-4]
                + q[-3]
                + q[-2]
                + q[-1]
                + done * giant.operating_income_last
                + giant.expected_marks()
            )
            before = (1.0 - done) * q[-8] + q[-7] + q[-6] + q[-5] + done * q[-4]
            eps[j] = now / shares[j]
            growth[j] = growth_of(now, before)
        eps[self.rest] = self.rest_earnings / shares[self.rest]
        growth[self.rest] = growth_of(self.rest_earnings, self.rest_earnings_history[-53])
        return eps, growth

    # ------------------------------------------------------------ orders
    def strategy_weights(self) -> np.ndarray:
        """Target weights of each strategy (rows) in each stock at this week's opening prices."""
        spec = self.model.config.market
        return strategy_weights(
            self.values,
            self.market.prices,
            self.market.shares,
            self.strategy_noise,
            self.latent,
            spec.equity_share,
            self.kappa,
            spec.tilt_bound,
        )

    def other_target(self) -> np.ndarray:
        """Shares foreign and direct holders want at this week's opening prices."""
        eta = self.other_elasticity
        market = self.market
        # Finite: the value/price ratio is at most VALUE_DOMAIN (checked when values are set), so
        # even the largest elasticity (20) leaves the power far below overflow.
        return self.other_scale * market.shares * (self.fundamental / market.prices) ** eta * self.taste()

    # ------------------------------------------------------------- weekly
    def step_noise(self) -> None:
        """Latent demand shocks: AR(1) per stock and market-wide, persistent (half-life in weeks)."""
        spec = self.model.config.market
        rng = self.model.rng
        keep = 0.5 ** (1.0 / spec.noise_halflife_weeks)
        scale = math.sqrt(1.0 / 52.0)
        # Per-stock noise is each company's own: the rest of the market stands for some 500 companies
        # whose own noise cancels, so it has none (its market-wide noise is the holders' own).
        own = np.ones(len(self.noise))
        own[self.rest] = 0.0
        self.noise = keep * self.noise + own * spec.noise_stock * scale * rng.standard_normal(len(self.noise))
        self.market_noise = keep * self.market_noise + spec.noise_market * scale * rng.standard_normal()
        sizes = np.array([spec.noise_earnings, 0.0, spec.noise_earnings])[:, None] * own  # value funds: none
        self.strategy_noise = keep * self.strategy_noise + sizes * scale * rng.standard_normal(
            self.strategy_noise.shape
        )

    def step_rest_earnings(self) -> None:
        """The rest of the market earns on its exogenous path (a random walk with drift)."""
        spec = self.model.config.market
        noise = spec.rest_volatility * math.sqrt(1.0 / 52.0) * self.model.rng.standard_normal()
        self.rest_earnings *= math.exp(math.log1p(spec.rest_growth) / 52.0 + noise)
        self.rest_earnings_history.append(self.rest_earnings)
        del self.rest_earnings_history[:-53]

    def after_clearing(self, before: np.ndarray, weights: np.ndarray) -> None:
        """Record the week's prices; update the strategies' track records and sentiment."""
        model = self.model
        spec = model.config.market
        market = self.market
        returns = market.prices / before - 1.0
        caps_before = before * market.shares
        n = self.n_giants
        self.basket_index.append(
            self.basket_index[-1] * (1.0 + float(caps_before[:n] @ returns[:n]) / float(caps_before[:n].sum()))
        )
        market_return = float(caps_before @ returns) / float(caps_before.sum())
        self.market_index.append(self.market_index[-1] * (1.0 + market_return))
        memory = 1.0 - 0.5 ** (1.0 / spec.volatility_halflife_weeks)
        self.market_variance += memory * (52.0 * math.log1p(market_return) ** 2 - self.market_variance)
        cash_return = model.config.economy.interest_rate / 52.0
        weekly = weights @ returns + (1.0 - weights.sum(axis=1)) * cash_return
        fitness_memory = 1.0 / spec.fitness_memory_weeks
        self.fitness += fitness_memory * (52.0 * weekly - self.fitness)
        self.price_history.append(market.prices.copy())
        for history in (self.price_history, self.basket_index, self.market_index):
            del history[:-HISTORY_WEEKS]
        if model.config.economy.sentiment_source == "market":
            weeks = spec.sentiment_weeks
            self.sentiment = annualised_return(self.basket_index[-1], self.basket_index[-1 - weeks], weeks)

    def last_return(self, index: list[float]) -> float:
        return index[-1] / index[-2] - 1.0
