"""Reading a finished experiment back: one table per table name, only the columns asked for.

`load_experiment` concatenates every finished run's tables (failed and unfinished runs are
absent) and puts three columns first: scenario, replicate and seed. Rows are ordered by
scenario name, then replicate, then as the run returned them. Asking for columns reads only
those columns from the Parquet files (pyarrow reads column chunks, not whole files), which
keeps a 1,000-run experiment of ten-year weekly tables within a few hundred MB where whole
tables would take gigabytes.

The loader never reads a damaged run silently. It checks each finished run cheaply (a
readable done.json, and every file it lists present with its recorded size: a `stat` per
file) and raises InputError naming the run and the damage otherwise; rerunning the command
that made the experiment redoes it. It does not hash the files: the runner does that before it
skips a finished run, and the experiment commands analyse under the same lock right after
(`runs.store.verify_run`). Runs written before checksums existed are read as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from economy.errors import InputError
from runs import store

if TYPE_CHECKING:
    import pandas as pd

Tables = Iterable[str] | Mapping[str, Sequence[str] | None]


def load_experiment(
    out_dir: str | os.PathLike,
    tables: Tables | None = None,
    scenarios: Iterable[str] | None = None,
    *,
    strict: bool = True,
) -> dict[str, pd.DataFrame]:
    """Every finished run's tables, concatenated per table name, in name order.

    tables: None (every table, every column), an iterable of table names (every column of
    those), or a mapping of table name to the columns to read (None: all). A column name
    ending in '*' is a prefix and stands for every column that starts with it
    ('backlog_share_*'). scenarios: None (all) or the scenarios to read.

    Raises InputError when the folder holds no experiment, when a scenario is not in it, and
    (if strict, the default) when a table asked for is in no finished run or a column asked
    for (or a prefix) is in none of that table's files. With strict=False such tables and
    columns are simply absent from the result, for callers that report what is missing
    themselves.
    """
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    manifest = store.read_manifest(out_dir)
    if manifest is None:
        raise InputError(f"no experiment in {out_dir} ({store.MANIFEST_NAME} is missing)")
    known = sorted(manifest.get("scenarios", {}))
    wanted = known if scenarios is None else sorted(set(scenarios))
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InputError(f"scenario(s) {unknown} not in experiment {out_dir} (it has {known})")
    projection = _projection(tables)

    runs = [
        (scenario, replicate, folder)
        for scenario in wanted
        for replicate, folder in store.finished_runs(out_dir, scenario)
    ]

    pieces: dict[str, list[pd.DataFrame]] = {}
    seen: dict[str, set[str]] = {}  # the columns each table's files have, over all runs
    for scenario, replicate, folder in runs:
        problem = store.verify_run(folder, hashes=False)
        if problem not in (None, store.UNVERIFIABLE):
            raise InputError(
                f"run {scenario}/{replicate:05d} of experiment {out_dir} is damaged ({problem}); "
                "rerun the command that made it to redo the run"
            )
        seed = store.run_seed(folder)
        if projection is None:
            paths = [(path.stem, path) for path in sorted(folder.glob("*.parquet"))]
        else:
            paths = [(name, folder / f"{name}.parquet") for name in projection]
        for name, path in paths:
            if not path.is_file():
                continue
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
            seen.setdefault(name, set()).update(names)
            columns = None if projection is None else projection[name]
            if columns is None:
                frame = parquet.read().to_pandas()
            else:
                # select() fixes the order: the order asked for, prefixes in file order.
                chosen = _select(names, columns)
                frame = parquet.read(columns=chosen).select(chosen).to_pandas()
            frame.insert(0, "scenario", scenario)
            frame.insert(1, "replicate", np.int64(replicate))
            frame.insert(2, "seed", np.int64(seed))
            pieces.setdefault(name, []).append(frame)

    if strict and projection is not None and runs:
        missing = sorted(set(projection) - set(pieces))
        if missing:
            raise InputError(f"table(s) {missing} not found in experiment {out_dir}")
        for name, columns in projection.items():
            absent = [c for c in columns or () if not _select(sorted(seen[name]), [c])]
            if absent:
                raise InputError(
                    f"column(s) {absent} not in table {name!r} of experiment {out_dir} (it has {sorted(seen[name])})"
                )

    result = {}
    for name in sorted(pieces):
        # Empty pieces would only blur the dtypes of the others.
        frames = [f for f in pieces[name] if len(f)] or pieces[name][:1]
        result[name] = pd.concat(frames, ignore_index=True)
    return result


def _projection(tables: Tables | None) -> dict[str, list[str] | None] | None:
    """The columns to read per table name (None: every column), or None for every table."""
    if tables is None:
        return None
    if isinstance(tables, Mapping):
        return {name: (None if columns is None else _column_list(name, columns)) for name, columns in tables.items()}
    if isinstance(tables, str):
        raise InputError(f"tables must be a list of table names or a mapping, got the string {tables!r}")
    return dict.fromkeys(tables)


def _column_list(table: str, columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise InputError(f"columns of table {table!r} must be a list of names or None, got {columns!r}")
    return list(columns)


def _select(names: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The file's columns `names` that `columns` asks for, each once; 'x_*' is a prefix."""
    chosen = []
    for column in columns:
        if column.endswith("*"):
            chosen += [n for n in names if n.startswith(column[:-1]) and n not in chosen]
        elif column in names and column not in chosen:
            chosen.append(column)
    return chosen
