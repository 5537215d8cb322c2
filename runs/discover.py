"""`python -m runs discover`: the parameter regions where bubbles are short or long (PRIM scenario discovery).

This module owns scenario discovery (design section 9; Bryant and Lempert 2010): on a
finished sensitivity or sweep experiment (any experiment whose scenarios differ in some
field), every finished run is a case with the values of the parameters its scenario sets,
and it is "of interest" when its first bubble episode's remaining life from the scenario
start is short (the episode bursts within `--short` years, default 1: South-Sea-like) or long
(it lives more than `--long` years, default 5: dot-com-like; a first episode still alive at
the horizon counts its remaining life to the horizon). Remaining life counts from the scenario
start, so a bubble that forms late counts as long-lived; `--measure lifetime` counts from the
episode's own start instead. A run without an episode is of
interest to neither. PRIM (Friedman and Fisher 1999, as implemented by the EMA Workbench's
`prim.Prim`) peels the parameter space down to boxes dense in cases of interest. From each
box's peeling trajectory the densest box that still holds at least `--min-coverage` of the
cases left to it is chosen, and then its restrictions whose quasi-p-value (a one-sided binomial
test of the restriction, Bryant and Lempert 2010) is above `--max-qp` (default 0.05) are dropped
one at a time, the least significant first: a peel that chance alone could explain is no finding.
For each box: coverage (share of the cases of interest inside
it), density (share of the runs inside it that are of interest), mass (share of all runs
inside it), and every restricted parameter's limits with its quasi-p-value. A class needs a horizon beyond its
threshold: "long" in a two-year experiment cannot be observed and is skipped with a note.

Parameters: a sensitivity experiment's own parameters; otherwise every scenario field that
differs among the experiment's scenarios (fields that always move together are kept once).
Results, in the experiment folder or `--out`: `boxes.parquet` (one row per box and
restricted parameter) and `discover.png`. The experiment's lock is held while reading and
writing. `run_discover` is the Python entry point.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs import commands
from runs.commands import Outcome

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("short", "long")
DEFAULT_SHORT = 1.0
DEFAULT_LONG = 5.0
DEFAULT_MIN_COVERAGE = 0.5
DEFAULT_MASS_MIN = 0.05
DEFAULT_MAX_QP = 0.05
DEFAULT_BOXES = 1
WEEKS_PER_YEAR = 52
BOX_COLUMNS = [
    "kind",
    "box",
    "coverage",
    "density",
    "mass",
    "runs_in_box",
    "cases_in_box",
    "cases",
    "runs",
    "parameter",
    "low",
    "high",
    "values",
    "qp",
]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="PRIM boxes of parameters where first bubbles are short or long (on a sensitivity or sweep)",
        description=commands.describe(__doc__) + "\n\n"
        "Reads a finished sensitivity or sweep experiment (any experiment whose scenarios differ in\n"
        "some field) and finds, with PRIM (EMA Workbench), the boxes of parameters where the first\n"
        "bubble episode's remaining life from the scenario start is short (under --short years) or\n"
        "long (over --long years). Prints each box's coverage, density and limits; writes\n"
        "boxes.parquet and discover.png into the experiment folder (or --out).",
        epilog="example:\n  python -m runs sensitivity --method morris --years 10 --out out/morris\n"
        "  python -m runs discover out/morris",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("experiment", metavar="DIR", help="folder of a finished sensitivity or sweep experiment")
    parser.add_argument(
        "--short",
        type=float,
        default=DEFAULT_SHORT,
        metavar="Y",
        help=f"short: bursts within Y years (default {DEFAULT_SHORT:g})",
    )
    parser.add_argument(
        "--long",
        type=float,
        default=DEFAULT_LONG,
        metavar="Y",
        help=f"long: lives over Y years (default {DEFAULT_LONG:g})",
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        default=DEFAULT_MIN_COVERAGE,
        metavar="C",
        help="choose the densest box on the peeling trajectory that keeps this share of the cases "
        f"(default {DEFAULT_MIN_COVERAGE:g})",
    )
    parser.add_argument(
        "--mass-min",
        type=float,
        default=DEFAULT_MASS_MIN,
        metavar="M",
        help=f"PRIM stops peeling below this share of the runs (default {DEFAULT_MASS_MIN:g})",
    )
    parser.add_argument(
        "--max-qp",
        type=float,
        default=DEFAULT_MAX_QP,
        metavar="P",
        help="drop restrictions whose quasi-p-value is above P, the least significant first "
        f"(default {DEFAULT_MAX_QP:g}; 1 keeps them all)",
    )
    parser.add_argument(
        "--boxes", type=int, default=DEFAULT_BOXES, metavar="N", help=f"boxes per class (default {DEFAULT_BOXES})"
    )
    parser.add_argument(
        "--measure",
        choices=commands.MEASURES,
        default="remaining",
        help="remaining (the first episode's life from the scenario start, default) or lifetime "
        "(from the episode's own start: how long the bubble itself lasted)",
    )
    parser.add_argument("--out", metavar="DIR", help="where to write boxes.parquet and discover.png (default: DIR)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    outcome, lines = run_discover(
        args.experiment,
        short=args.short,
        long=args.long,
        min_coverage=args.min_coverage,
        mass_min=args.mass_min,
        max_qp=args.max_qp,
        boxes=args.boxes,
        measure=args.measure,
        out_dir=args.out,
    )
    return outcome.report(lines)


# --------------------------------------------------------------------------- the cases


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """A scenario config as {dotted field: value}; agent tables keyed by their name."""
    out: dict[str, Any] = {}
    if isinstance(config, dict):
        for key, value in config.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(config, list) and config and all(isinstance(row, dict) for row in config):
        for i, row in enumerate(config):
            ident = row.get("name") or "-".join(str(row.get(k)) for k in ("giant", "lab") if k in row) or str(i)
            out.update(_flatten(row, f"{prefix}{ident}."))
    else:
        out[prefix[:-1]] = commands.value_text(config) if isinstance(config, (list, bool)) else config
    return out


def scenario_parameters(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """One row per scenario of the experiment (index: its label), one column per parameter.

    A sensitivity experiment's parameters are its own; otherwise the fields that differ among
    the scenarios, each group of fields that always move together kept once (its first field).
    Numbers stay numbers; true/false and text become categories.
    """
    import pandas as pd

    scenarios = manifest.get("scenarios") or {}
    extra = manifest.get("extra") or {}
    if extra.get("command") == "sensitivity" and isinstance(extra.get("points"), dict):
        table = pd.DataFrame.from_dict(extra["points"], orient="index")
    else:
        flat = pd.DataFrame({label: _flatten(config) for label, config in scenarios.items()}).T
        varying = [c for c in flat.columns if flat[c].map(repr).nunique() > 1]
        table = flat[varying].T.drop_duplicates().T if varying else flat[[]]
    for column in table.columns:
        values = table[column].tolist()
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            table[column] = pd.to_numeric(table[column]).astype(float)
        else:
            table[column] = [commands.value_text(v) for v in values]
    return table


def base_points(extra: Mapping[str, Any]) -> set[str] | None:
    """The labels of a Sobol sensitivity's independent points: the first (A) and last (B) of
    each block of k + 2 (SALib's layout, without second-order indices); None for other designs.

    The other k points of a block differ from A in one parameter only: as cases they would
    count nearly the same run k times, and PRIM's quasi-p-values, which assume independent
    cases, would be far too small (found by a falsification review)."""
    from runs.sensitivity import point_label

    if extra.get("command") != "sensitivity" or extra.get("method") != "sobol":
        return None
    width = len(extra.get("parameters") or []) + 2
    count = len(extra.get("points") or {})
    if width < 3 or count % width:
        return None
    return {point_label(i) for i in range(count) if i % width in (0, width - 1)}


def run_cases(out_dir: Path, manifest: Mapping[str, Any], measure: str = "remaining") -> pd.DataFrame:
    """Every finished run: scenario, replicate, whether it has a first episode, its remaining
    life or lifetime (`measure`) in weeks, and whether that episode was still alive at the horizon."""
    import numpy as np
    import pandas as pd

    from runs import store
    from runs.loader import load_experiment

    labels = sorted(manifest.get("scenarios") or {})
    runs = pd.DataFrame(
        [(label, replicate) for label in labels for replicate, _ in store.finished_runs(out_dir, label)],
        columns=["scenario", "replicate"],
    )
    if runs.empty:
        raise InputError(f"experiment {out_dir} has no finished runs")
    tables = load_experiment(out_dir, {"episodes": None}, labels, strict=False)
    episodes = tables.get("episodes")
    if episodes is not None and len(episodes):
        source = "lifetime_weeks" if measure == "lifetime" else "remaining_weeks"
        try:
            commands.need_columns(episodes, "episodes", ["first", source, "censored"])
        except commands.ResultError as exc:
            raise InputError(f"experiment {out_dir}: {exc}; discover needs the model's episodes tables") from None
        first = episodes[episodes["first"].astype(bool)][["scenario", "replicate", source, "censored"]]
        runs = runs.merge(first.rename(columns={source: "weeks"}), on=["scenario", "replicate"], how="left")
    else:
        runs["weeks"] = np.nan
        runs["censored"] = False
    runs["has_episode"] = runs["weeks"].notna()
    runs["censored"] = runs["censored"].astype("boolean").fillna(False).astype(bool)
    return runs


def interesting(runs: pd.DataFrame, kind: str, years: float) -> Any:
    """Which runs are cases of interest: a first episode that bursts within `years` (short),
    or lives more than `years` (long)."""
    import numpy as np

    weeks = runs["weeks"].to_numpy(dtype=float)
    has = runs["has_episode"].to_numpy(dtype=bool)
    censored = runs["censored"].to_numpy(dtype=bool)
    limit = years * WEEKS_PER_YEAR
    with np.errstate(invalid="ignore"):
        if kind == "short":
            return has & ~censored & (weeks < limit)
        return has & (weeks > limit)


# --------------------------------------------------------------------------- PRIM


def choose(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The trajectory step to report: the densest box keeping at least `min_coverage` of the
    coverage the trajectory starts with (fewer restricted parameters on a tie)."""
    start = float(trajectory["coverage"].iloc[0])
    keep = trajectory[trajectory["coverage"] >= min_coverage * start - 1e-12]
    best = keep.sort_values(["density", "res_dim", "coverage"], ascending=[False, True, False], kind="stable")
    return int(best.index[0])


def find_boxes(
    x: pd.DataFrame, y, min_coverage: float, mass_min: float, n_boxes: int, max_qp: float = 0.05
) -> tuple[list[dict], list]:
    """PRIM boxes for the cases `y` (bool per row of `x`): rows for boxes.parquet (without kind)
    and each box's (trajectory, chosen step, stats, restricted parameters, limits, initial box)
    for the figure. Restrictions whose quasi-p-value is above `max_qp` are dropped one at a
    time, the least significant first."""
    import logging
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workbench warns about optional parallel back ends
        from ema_workbench.analysis import prim

    logging.getLogger("EMA").setLevel(logging.WARNING)
    y = np.asarray(y, dtype=int)
    finder = prim.Prim(x.reset_index(drop=True), y.copy(), mass_min=mass_min)
    init = finder.box_init
    rows, trajectories = [], []
    for number in range(1, n_boxes + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = finder.find_box()
        if box is None or box.peeling_trajectory.empty:
            break
        step = choose(box.peeling_trajectory, min_coverage)
        trajectory = box.peeling_trajectory.copy()
        box.select(step)
        while True:
            restricted = [c for c in x.columns if _restricted(box.box_lims[step][c], init[c])]
            qp = {name: _qp(box.p_values[step], name) for name in restricted}
            weakest = max(restricted, key=lambda n: qp[n] if math.isfinite(qp[n]) else -1.0, default=None)
            if weakest is None or not qp[weakest] > max_qp:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                box.drop_restriction(weakest, step)
            step = len(box.peeling_trajectory) - 1
        stats, limits = box.peeling_trajectory.iloc[step], box.box_lims[step]
        base = {
            "box": number,
            "coverage": float(stats["coverage"]),
            "density": float(stats["density"]),
            "mass": float(stats["mass"]),
            "runs_in_box": int(stats["n"]),
            "cases_in_box": int(stats["k"]),
        }
        for name in restricted or [""]:
            row = {**base, "parameter": name, "low": math.nan, "high": math.nan, "values": "", "qp": math.nan}
            if name:
                if isinstance(limits[name].iloc[0], (set, frozenset)):
                    row["values"] = ", ".join(sorted(str(v) for v in limits[name].iloc[0]))
                else:
                    row["low"], row["high"] = float(limits[name].iloc[0]), float(limits[name].iloc[1])
                row["qp"] = qp[name]
            rows.append(row)
        trajectories.append((trajectory, base, restricted, limits, init))
        if not restricted:
            break  # the whole space: no further box to peel
    return rows, trajectories


def _qp(p_values: Mapping[str, Any], name: str) -> float:
    """A restriction's quasi-p-value: the larger of its two sides' (-1 marks an unrestricted side)."""
    given = [float(p) for p in p_values.get(name, []) if p is not None and float(p) >= 0]
    return max(given) if given else math.nan


def _restricted(limit, init) -> bool:
    first = limit.iloc[0]
    if isinstance(first, (set, frozenset)):
        return set(first) != set(init.iloc[0])
    return float(limit.iloc[0]) > float(init.iloc[0]) or float(limit.iloc[1]) < float(init.iloc[1])


# --------------------------------------------------------------------------- the command


def run_discover(
    experiment: str | Path,
    *,
    short: float = DEFAULT_SHORT,
    long: float = DEFAULT_LONG,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    mass_min: float = DEFAULT_MASS_MIN,
    max_qp: float = DEFAULT_MAX_QP,
    boxes: int = DEFAULT_BOXES,
    measure: str = "remaining",
    out_dir: str | Path | None = None,
) -> tuple[Outcome, list[str]]:
    """Find and write the boxes of a finished experiment; the Outcome and the lines to print."""
    import pandas as pd

    from runs import store

    folder = Path(experiment)
    # The bounds the command line checks (runs.commands.LIMITS), for Python callers too.
    given = dict(short=short, long=long, min_coverage=min_coverage, mass_min=mass_min, max_qp=max_qp, boxes=boxes)
    commands.check_limits(argparse.Namespace(**given))
    if measure not in commands.MEASURES:
        raise InputError(f"--measure must be one of {', '.join(commands.MEASURES)}, got {measure!r}")
    if not short <= long:
        raise InputError(f"--short ({short:g} years) must not be above --long ({long:g} years)")
    if not folder.is_dir():
        raise InputError(f"experiment folder {folder}: not found" if not folder.exists() else f"{folder}: not a folder")
    manifest = store.read_manifest(folder)
    if manifest is None:
        raise InputError(f"{folder} holds no experiment ({store.MANIFEST_NAME} is missing)")
    out = commands.check_out_dir(out_dir if out_dir is not None else folder)
    with store.exclusive(folder):
        params = scenario_parameters(manifest)
        if params.shape[1] == 0:
            raise InputError(
                f"the scenarios of {folder} do not differ in any field: no parameters to discover boxes in"
            )
        runs = run_cases(folder, manifest, measure)
        years = float((manifest.get("parameters") or {}).get("years", math.nan))
        extra = manifest.get("extra") or {}
        command = extra.get("command", "experiment")
        lines = []
        base = base_points(extra)
        if base is not None:
            runs = runs[runs["scenario"].isin(base)].reset_index(drop=True)
            lines.append(
                f"note: a Sobol design repeats each base point k times but for one parameter; discover uses "
                f"its {len(base)} independent base points (Saltelli's A and B), whose quasi-p-values hold"
            )
        if runs.empty:
            raise InputError(f"experiment {folder} has no finished runs at its base points")
        x = params.reindex(runs["scenario"]).reset_index(drop=True)
        outcome = Outcome(out_dir=out)
        lines.insert(
            0,
            f"discover in {folder} ({command}: {len(runs)} runs of {runs['scenario'].nunique()} scenarios, "
            f"{params.shape[1]} parameters, horizon {years:g} years)",
        )
        rows, drawn = [], {}
        for kind, threshold in (("short", short), ("long", long)):
            text = _kind_text(kind, threshold, measure)
            if not years > threshold:
                lines.append(
                    f"{kind} ({text}): needs a horizon over {threshold:g} years; this one ran {years:g}: skipped"
                )
                continue
            y = interesting(runs, kind, threshold)
            cases = int(y.sum())
            lines.append(f"{kind} ({text}): {cases} of {len(runs)} runs ({cases / len(runs):.0%})")
            if cases == 0:
                continue
            found, trajectories = find_boxes(x, y, min_coverage, mass_min, boxes, max_qp)
            drawn[kind] = (text, trajectories)
            for row in found:
                rows.append({"kind": kind, **row, "cases": cases, "runs": len(runs)})
            lines += box_lines(found, params)
        table = pd.DataFrame(rows, columns=BOX_COLUMNS)
        outcome.table(table, "boxes")
        outcome.figure(plot_boxes(drawn, params, f"Scenario discovery in {folder.name}"), "discover")
    return outcome, lines


def _kind_text(kind: str, years: float, measure: str = "remaining") -> str:
    since = "the scenario start" if measure == "remaining" else "its own start"
    if kind == "short":
        return f"first episode bursts within {years:g} year{'s' * (years != 1)} of {since}"
    return f"first episode lives more than {years:g} year{'s' * (years != 1)} from {since}"


def box_lines(rows: Sequence[dict], params: pd.DataFrame) -> list[str]:
    lines = []
    for number in sorted({r["box"] for r in rows}):
        part = [r for r in rows if r["box"] == number]
        head = part[0]
        limits = []
        for r in part:
            if not r["parameter"]:
                continue
            qp = f" (qp {r['qp']:.2g})" if math.isfinite(r["qp"]) else ""
            if r["values"]:
                limits.append(f"{r['parameter']} in {{{r['values']}}}{qp}")
            else:
                limits.append(f"{r['parameter']} in [{r['low']:.4g}, {r['high']:.4g}]{qp}")
        lines.append(
            f"  box {number}: coverage {head['coverage']:.2f}, density {head['density']:.2f}, mass {head['mass']:.2f} "
            f"({head['cases_in_box']} of {head['runs_in_box']} runs): " + ("; ".join(limits) or "no restriction")
        )
    return lines


def plot_boxes(drawn: Mapping[str, tuple], params: pd.DataFrame, title: str):
    """Per class: the first box's peeling trajectory (coverage against density, the chosen box
    marked) and its limits on every restricted parameter, as a share of the parameter's range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not drawn:
        from runs import figures

        return figures.message_figure(title, "No run was a case of interest in any class that the horizon allows.")
    fig, axes = plt.subplots(len(drawn), 2, figsize=(13, 4.6 * len(drawn)), constrained_layout=True, squeeze=False)
    for (left, right), (kind, (text, trajectories)) in zip(axes, drawn.items(), strict=True):
        trajectory, base, restricted, limits, init = trajectories[0]
        points = left.scatter(
            trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"], cmap="viridis", s=18
        )
        left.scatter(
            [base["coverage"]], [base["density"]], s=140, facecolors="none", edgecolors="red", label="box reported"
        )
        fig.colorbar(points, ax=left, label="restricted parameters")
        left.set_xlabel("coverage")
        left.set_ylabel("density")
        left.set_xlim(0, 1.02)
        left.set_ylim(0, 1.02)
        left.set_title(f"{kind}: {text}\npeeling trajectory of box 1", fontsize=10)
        left.legend(fontsize=8, loc="lower left")
        names = restricted or []
        ypos = np.arange(len(names))
        for i, name in enumerate(names):
            first = limits[name].iloc[0]
            if isinstance(first, (set, frozenset)):
                right.text(0.02, i, f"{{{', '.join(sorted(map(str, first)))}}}", va="center", fontsize=8)
                right.barh(i, 1.0, color="#dddddd")
                continue
            lo0, hi0 = float(init[name].iloc[0]), float(init[name].iloc[1])
            lo, hi = float(limits[name].iloc[0]), float(limits[name].iloc[1])
            span = (hi0 - lo0) or 1.0
            right.barh(i, (hi - lo) / span, left=(lo - lo0) / span, color="#1f77b4")
            right.text(1.01, i, f"[{lo:.3g}, {hi:.3g}]", va="center", fontsize=8)
        right.set_yticks(ypos, names, fontsize=8)
        right.set_xlim(0, 1.25)
        right.set_xlabel("share of the parameter's sampled range")
        right.set_title(
            f"box 1: coverage {base['coverage']:.2f}, density {base['density']:.2f}, mass {base['mass']:.2f}",
            fontsize=10,
        )
        if not names:
            right.text(0.5, 0.5, "no restriction: the whole space", ha="center", transform=right.transAxes)
    fig.suptitle(title, fontsize=11)
    return fig
