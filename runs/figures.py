"""Figures of the experiment commands, drawn from the tables those commands write.

This module owns how results look: the basket's price against its fundamental as a fan
chart across seeds with bubble episodes shaded, reported profit split by where it came from
against free cash flow, backlog concentration, Kaplan-Meier curves of model-known and
PSY-detected lifetimes side by side, and sweep curves and heat maps. Every function is pure:
it takes tidy tables (the ones saved as Parquet, so a figure can be redrawn from disk),
returns a matplotlib Figure on the Agg canvas and touches no pyplot state. Time axes of
survival plots are in years of 52 weeks, like `runs.survival`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WEEKS_PER_YEAR = 52.0
GIANT_COLOURS = {"Microsoft": "C0", "Alphabet": "C2", "Amazon": "C1", "Oracle": "C3"}


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _note(fig: Figure, text: str | None, width: int = 150) -> None:
    """A footnote under the axes; the layout engine ignores figure text, so room is reserved."""
    if not text:
        return
    lines = textwrap.wrap(text, width)
    height = fig.get_size_inches()[1]
    room = (0.14 * len(lines) + 0.08) / height
    fig.get_layout_engine().set(rect=(0, room, 1, 1 - room))
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, ha="left", va="bottom", color="0.25", gid="note")


def message_figure(title: str, message: str) -> Figure:
    """A figure that says why there is nothing to plot, so a run never leaves a hole in the output."""
    fig = _figure(8, 3)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5, 0.5, "\n".join(textwrap.wrap(message, 80)), ha="center", va="center", transform=ax.transAxes, gid="message"
    )
    return fig


# --------------------------------------------------------------------------- baseline


def fan_chart(fan: pd.DataFrame, bubble_share: pd.DataFrame, title: str, note: str | None = None) -> Figure:
    """Median and 10-90% band of the basket's price and fundamental across seeds, episodes shaded.

    fan: date, series ('price' or 'fundamental'), p10, p50, p90.
    bubble_share: date, share (of runs inside a bubble episode that week). The main panel is
    shaded where most runs are in a bubble; the lower panel shows the share itself.
    """
    fig = _figure(11, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    styles = {"price": ("C3", "basket price"), "fundamental": ("C0", "basket fundamental value")}
    for series, (colour, label) in styles.items():
        part = fan[fan["series"] == series].sort_values("date")
        if part.empty:
            continue
        dates = pd.to_datetime(part["date"])
        top.fill_between(
            dates,
            part["p10"],
            part["p90"],
            color=colour,
            alpha=0.18,
            linewidth=0,
            label=f"{label}, 10-90% of seeds",
            gid=f"band:{series}",
        )
        top.plot(dates, part["p50"], color=colour, linewidth=1.6, label=f"{label}, median", gid=f"median:{series}")
    values = fan[["p10", "p90"]].to_numpy(dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size and positive.max() / positive.min() > 10:
        top.set_yscale("log")
    share = bubble_share.sort_values("date")
    share_dates = pd.to_datetime(share["date"])
    most = share["share"].to_numpy(dtype=float) >= 0.5
    if most.any():
        top.fill_between(
            share_dates,
            0,
            1,
            where=most,
            step="post",
            color="0.5",
            alpha=0.15,
            transform=top.get_xaxis_transform(),
            linewidth=0,
            label="most runs inside a bubble episode",
            gid="episodes",
        )
    top.set_ylabel("AI basket (market-cap index)")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8, frameon=False)
    bottom.fill_between(
        share_dates, 0, share["share"], step="post", color="0.4", alpha=0.5, linewidth=0, gid="bubble-share"
    )
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("share of runs\nin a bubble")
    _date_axis(bottom)
    _note(fig, note)
    return fig


def profit_split(table: pd.DataFrame, title: str, note: str | None = None) -> Figure:
    """Reported profit of the giants by source (stacked bars) against free cash flow, by quarter.

    table: date, profit_real, profit_roundtrip, profit_marks, net_income, free_cash_flow and
    optionally free_cash_flow_p10/p90: medians across seeds of the sums over the giants.
    """
    fig = _figure(11, 5.5)
    ax = fig.add_subplot()
    data = table.sort_values("date")
    dates = pd.to_datetime(data["date"])
    width = 0.8 * (
        float(np.median(np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(float))) if len(dates) > 1 else 91.0
    )
    parts = [
        ("profit_real", "real (customers' money)", "C2"),
        ("profit_roundtrip", "round-trip revenue", "C1"),
        ("profit_marks", "marks on lab stakes", "C4"),
    ]
    up = np.zeros(len(data))
    down = np.zeros(len(data))
    for column, label, colour in parts:
        values = data[column].to_numpy(dtype=float)
        values = np.where(np.isfinite(values), values, 0.0)
        base = np.where(values >= 0, up, down)
        ax.bar(
            dates,
            values,
            width=width,
            bottom=base,
            color=colour,
            alpha=0.75,
            label=f"reported profit: {label}",
            gid=f"bar:{column}",
        )
        up += np.where(values >= 0, values, 0)
        down += np.where(values < 0, values, 0)
    ax.plot(
        dates,
        data["net_income"],
        color="black",
        linewidth=1.2,
        marker=".",
        label="reported net income",
        gid="net_income",
    )
    if {"free_cash_flow_p10", "free_cash_flow_p90"} <= set(data.columns):
        ax.fill_between(
            dates,
            data["free_cash_flow_p10"],
            data["free_cash_flow_p90"],
            color="C0",
            alpha=0.15,
            linewidth=0,
            label="free cash flow, 10-90% of seeds",
        )
    ax.plot(dates, data["free_cash_flow"], color="C0", linewidth=2.0, label="free cash flow", gid="free_cash_flow")
    ax.axhline(0, color="0.3", linewidth=0.6)
    ax.set_ylabel(r"\$ billion per quarter, sum over the giants (median across seeds)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _date_axis(ax)
    _note(fig, note)
    return fig


def backlog_concentration(table: pd.DataFrame, title: str, note: str | None = None) -> Figure:
    """Share of each giant's backlog owed by the AI labs over time: median and 10-90% band.

    table: date, giant, p10, p50, p90 (shares in [0, 1]).
    """
    fig = _figure(11, 5)
    ax = fig.add_subplot()
    for i, (giant, part) in enumerate(table.sort_values("date").groupby("giant", sort=True)):
        colour = GIANT_COLOURS.get(str(giant), f"C{(i + 4) % 10}")
        dates = pd.to_datetime(part["date"])
        ax.fill_between(dates, part["p10"], part["p90"], color=colour, alpha=0.15, linewidth=0)
        ax.plot(dates, part["p50"], color=colour, linewidth=1.6, label=str(giant), gid=f"giant:{giant}")
    ax.axhline(0.5, color="0.4", linestyle=":", linewidth=0.9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of backlog from the AI labs")
    ax.set_title(title)
    ax.legend(title="median, band 10-90% of seeds", fontsize=8, title_fontsize=8, frameon=False)
    _date_axis(ax)
    _note(fig, note)
    return fig


# --------------------------------------------------------------------------- survival


def _km_panel(ax, km: pd.DataFrame, order: Sequence[str], title: str) -> None:
    for i, scenario in enumerate(order):
        part = km[km["scenario"] == scenario].sort_values("timeline")
        if part.empty:
            continue
        years = part["timeline"].to_numpy(dtype=float) / WEEKS_PER_YEAR
        colour = f"C{i % 10}"
        ax.fill_between(years, part["lower"], part["upper"], step="post", color=colour, alpha=0.15, linewidth=0)
        ax.step(
            years,
            part["survival"],
            where="post",
            color=colour,
            linewidth=1.5,
            label=str(scenario),
            gid=f"km:{scenario}",
        )
    ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("years (52 weeks)")


def survival_side_by_side(
    model_km: pd.DataFrame,
    psy_km: pd.DataFrame,
    scenarios: Sequence[str],
    model_title: str,
    psy_title: str,
    note: str | None = None,
) -> Figure:
    """Kaplan-Meier curves (tables from survival.km_by_scenario) of the model's episodes and of
    the PSY-detected ones, same scenarios and colours, so the two definitions can be compared."""
    fig = _figure(12, 5)
    left, right = fig.subplots(1, 2, sharey=True)
    _km_panel(left, model_km, scenarios, model_title)
    _km_panel(right, psy_km, scenarios, psy_title)
    span = max([ax.get_xlim()[1] for ax in (left, right)] + [0.5])
    for ax in (left, right):
        ax.set_xlim(0, span)
    left.set_ylabel("share of episodes not yet over")
    left.legend(fontsize=8, frameon=False, title="scenario", title_fontsize=8)
    if psy_km.empty:
        right.text(0.5, 0.5, "no PSY episodes detected", ha="center", va="center", transform=right.transAxes)
    _note(fig, note)
    return fig


# --------------------------------------------------------------------------- sweeps


def _numeric(values: Sequence) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def sweep_curves(table: pd.DataFrame, param: str, title: str, burst_label: str, note: str | None = None) -> Figure:
    """Median lifetime and burst probability, with 95% intervals, against one parameter's values.

    table: one row per value, in sweep order, with columns `param`, median_weeks,
    median_lower_weeks, median_upper_weeks, median_reached, max_weeks, p_burst,
    p_burst_lower, p_burst_upper, n_episodes; `burst_label` names P(burst) with its horizon.
    Medians not reached are drawn as open triangles
    at the longest observed lifetime (the median is beyond it).
    """
    fig = _figure(11, 4.8)
    left, right = fig.subplots(1, 2)
    values = list(table[param])
    numeric = _numeric(values)
    x = np.asarray(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    # Lines and bands between categories (regimes) would suggest values in between.
    style = "-" if numeric else "none"
    med = table["median_weeks"].to_numpy(dtype=float) / WEEKS_PER_YEAR
    lo = table["median_lower_weeks"].to_numpy(dtype=float) / WEEKS_PER_YEAR
    hi = table["median_upper_weeks"].to_numpy(dtype=float) / WEEKS_PER_YEAR
    longest = table["max_weeks"].to_numpy(dtype=float) / WEEKS_PER_YEAR
    reached = table["median_reached"].to_numpy(dtype=bool)
    top = np.nanmax(np.concatenate([hi, longest, med, [0.1]]))
    hi_drawn = np.where(np.isfinite(hi), hi, top * 1.05)

    left.plot(
        x[reached],
        med[reached],
        color="C0",
        marker="o",
        linestyle=style,
        linewidth=1.5,
        label="median lifetime",
        gid="median",
    )
    ok = reached & np.isfinite(lo)
    if ok.any():
        left.errorbar(
            x[ok],
            med[ok],
            yerr=[med[ok] - lo[ok], hi_drawn[ok] - med[ok]],
            fmt="none",
            ecolor="C0",
            capsize=3,
            alpha=0.7,
            label="95% CI (to the top: not reached)",
        )
    missing = ~reached & np.isfinite(longest)
    if missing.any():
        left.plot(
            x[missing],
            longest[missing],
            linestyle="none",
            marker="^",
            markerfacecolor="none",
            color="C0",
            markersize=8,
            label="not reached: median beyond the longest lifetime",
            gid="not-reached",
        )
    left.set_ylim(bottom=0)
    left.set_ylabel("median bubble lifetime (years)")
    left.legend(fontsize=8, frameon=False, loc="best")

    p = table["p_burst"].to_numpy(dtype=float)
    right.plot(x, p, color="C3", marker="o", linestyle=style, linewidth=1.5, label="P(burst)", gid="p_burst")
    low, high = table["p_burst_lower"].to_numpy(dtype=float), table["p_burst_upper"].to_numpy(dtype=float)
    if numeric:
        right.fill_between(x, low, high, color="C3", alpha=0.15, linewidth=0, label="95% CI")
    else:
        right.errorbar(x, p, yerr=[p - low, high - p], fmt="none", ecolor="C3", capsize=3, alpha=0.7, label="95% CI")
    right.set_ylim(0, 1.02)
    right.set_ylabel(burst_label)
    right.legend(fontsize=8, frameon=False)
    for ax in (left, right):
        ax.set_xlabel(param)
        if not numeric:
            ax.set_xticks(x, [str(v) for v in values])
            ax.set_xlim(-0.5, len(values) - 0.5)
        for xi, n in zip(x, table["n_episodes"], strict=True):
            ax.annotate(
                f"n={n}",
                (xi, 0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color="0.4",
                xycoords=("data", "axes fraction"),
            )
    fig.suptitle(title)
    _note(fig, note)
    return fig


def sweep_heatmaps(
    table: pd.DataFrame,
    param_x: str,
    param_y: str,
    title: str,
    burst_label: str,
    note: str | None = None,
) -> Figure:
    """Heat maps of median lifetime (years) and burst probability over a two-parameter grid.

    table: one row per grid point with columns param_x, param_y and the sweep_curves columns.
    Cells where the median is not reached are grey and read '> longest'.
    """
    xs = list(dict.fromkeys(table[param_x]))
    ys = list(dict.fromkeys(table[param_y]))
    index = {(a, b): i for i, (a, b) in enumerate(zip(table[param_x], table[param_y], strict=True))}

    def grid(column: str, scale: float = 1.0) -> np.ndarray:
        out = np.full((len(ys), len(xs)), np.nan)
        for j, b in enumerate(ys):
            for i, a in enumerate(xs):
                if (a, b) in index:
                    out[j, i] = float(table[column].iloc[index[(a, b)]]) / scale
        return out

    median = grid("median_weeks", WEEKS_PER_YEAR)
    longest = grid("max_weeks", WEEKS_PER_YEAR)
    p_burst = grid("p_burst")
    fig = _figure(12, 0.55 * len(ys) + 4)
    left, right = fig.subplots(1, 2)
    panels = [
        (left, median, "median bubble lifetime (years)", "viridis", "{:.1f}"),
        (right, p_burst, burst_label, "magma_r", "{:.2f}"),
    ]
    for ax, values, label, cmap, fmt in panels:
        masked = np.ma.masked_invalid(values)
        limits = (0, 1) if values is p_burst else (None, None)
        image = ax.imshow(masked, cmap=cmap, aspect="auto", origin="lower", vmin=limits[0], vmax=limits[1])
        ax.set_facecolor("0.85")
        fig.colorbar(image, ax=ax, label=label, shrink=0.9)
        for j in range(len(ys)):
            for i in range(len(xs)):
                colour = "black"
                if math.isfinite(values[j, i]):
                    text = fmt.format(values[j, i])
                    red, green, blue, _ = image.cmap(image.norm(values[j, i]))
                    # Light cells get dark text and dark cells light text (perceived luminance).
                    colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                elif values is median and math.isfinite(longest[j, i]):
                    text = f"> {longest[j, i]:.1f}"
                else:
                    text = "n/a"
                ax.text(i, j, text, ha="center", va="center", fontsize=8, color=colour, gid=f"cell:{i},{j}")
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [str(v) for v in ys])
        ax.set_xlabel(param_x)
        ax.set_ylabel(param_y)
        ax.set_title(label, fontsize=10)
    fig.suptitle(title)
    _note(fig, note)
    return fig
