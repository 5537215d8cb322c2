"""How an experiment lies on disk, and the one way files are written safely.

An experiment folder holds `manifest.json` (what the experiment is: scenarios, parameters,
seeds, versions, sessions), `runs/<scenario>/<replicate:05d>/` with one `<table>.parquet`
per table and a `done.json` marker, `failures/<scenario>/<replicate:05d>.json` for runs that
raised, and a `.lock` file. This module owns those names, the lock that lets only one runner
use a folder at a time, the sweeping of temporaries a killed runner left behind, and
`write_atomic`: every file the project writes for a reader to find goes through it, so a
reader sees either the old file, the new one or none, never half of one. A run folder is made
complete in a temporary sibling and renamed into place as a whole (`store_run`).

Nothing here imports pandas or numpy: the command line reads these names while it builds
its parser.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from economy.errors import InputError

try:  # POSIX only; elsewhere the single-runner rule is documented but not enforced.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

MANIFEST_NAME = "manifest.json"
DONE_NAME = "done.json"
LOCK_NAME = ".lock"
RUNS_DIR = "runs"
FAILURES_DIR = "failures"
MANIFEST_FORMAT = 1

TMP_PREFIX = ".tmp-"
# Scenario and table names become file names; keep them portable and unambiguous.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RUN_DIR_RE = re.compile(r"^\d{5,}$")


# --------------------------------------------------------------------------- atomic writes


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable (ignored where folders cannot be synced)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: str | os.PathLike, data: bytes | Callable[[Path], Any]) -> Path:
    """Write `path` so that readers see the old file, the new one or none, never a part.

    `data` is the file's bytes, or a function that writes the file at the temporary path it
    is given (`lambda tmp: frame.to_parquet(tmp)`). The temporary lies in the same folder,
    starts with `.tmp-` and ends with `path`'s suffix (so writers that pick a format by
    extension pick the right one); it is synced to disk, renamed over `path` with
    `os.replace`, and removed if anything fails. The folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        if callable(data):
            data(tmp)
            fd = os.open(tmp, os.O_RDONLY)  # the writer closed its handle; sync what it wrote
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """`obj` as indented JSON (no NaN or infinity), written with `write_atomic`."""
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    return write_atomic(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- layout


def iso(timestamp: float) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.UTC).isoformat(timespec="seconds")


def run_dir(out_dir: Path, scenario: str, replicate: int) -> Path:
    return out_dir / RUNS_DIR / scenario / f"{replicate:05d}"


def failure_path(out_dir: Path, scenario: str, replicate: int) -> Path:
    return out_dir / FAILURES_DIR / scenario / f"{replicate:05d}.json"


def is_done(out_dir: Path, scenario: str, replicate: int) -> bool:
    return (run_dir(out_dir, scenario, replicate) / DONE_NAME).is_file()


def finished_runs(out_dir: Path, scenario: str) -> list[tuple[int, Path]]:
    """(replicate, folder) of every finished run of `scenario`, by replicate."""
    folder = out_dir / RUNS_DIR / scenario
    if not folder.is_dir():
        return []
    return sorted(
        (int(child.name), child)
        for child in folder.iterdir()
        if RUN_DIR_RE.match(child.name) and (child / DONE_NAME).is_file()
    )


def run_seed(folder: Path) -> int:
    """The seed a finished run used, from its done.json."""
    return json.loads((folder / DONE_NAME).read_text(encoding="utf-8"))["seed"]


def _write_file(path: Path, data: bytes) -> None:
    # Only inside a temporary run folder, which is renamed into place as a whole.
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def store_run(out_dir: Path, task: Any, outcome: dict) -> None:
    """Write a finished run into a temporary sibling folder, then rename it into place.

    `task` has scenario, replicate and seed; `outcome` holds the encoded tables and the
    run's timing (see `runs.experiment`). A run folder is therefore complete or absent.
    """
    final = run_dir(out_dir, task.scenario, task.replicate)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        for name, data in outcome["tables"].items():
            _write_file(tmp / f"{name}.parquet", data)
        done = {
            "scenario": task.scenario,
            "replicate": task.replicate,
            "seed": task.seed,
            "started": outcome["started"],
            "seconds": round(outcome["seconds"], 3),
            "host": outcome["host"],
            "pid": outcome["pid"],
            "rows": outcome["rows"],
        }
        _write_file(tmp / DONE_NAME, (json.dumps(done, indent=2) + "\n").encode())
        fsync_dir(tmp)
        if final.exists():
            # Finished runs are skipped, so this is a folder without done.json that no
            # runner made (they only rename complete folders in); it must not shadow the run.
            shutil.rmtree(final)
        os.rename(tmp, final)
        fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def store_failure(out_dir: Path, task: Any, outcome: dict) -> None:
    """Record a run that raised (or that the executor lost), with its traceback."""
    record = {
        "scenario": task.scenario,
        "replicate": task.replicate,
        "seed": task.seed,
        "time": iso(time.time()),
        **{k: outcome.get(k) for k in ("error_type", "error", "host", "pid", "seconds")},
        "traceback": outcome.get("traceback"),
    }
    if record["seconds"] is not None:
        record["seconds"] = round(record["seconds"], 3)
    write_json_atomic(failure_path(out_dir, task.scenario, task.replicate), record)


def remove_leftovers(out_dir: Path) -> int:
    """Delete temporary files and folders a killed runner left behind; return how many."""
    removed = 0
    candidates: list[Path] = list(out_dir.glob(f"{TMP_PREFIX}*"))
    for sub in (RUNS_DIR, FAILURES_DIR):
        candidates += list((out_dir / sub).glob(f"*/{TMP_PREFIX}*"))
    for path in candidates:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


@contextlib.contextmanager
def exclusive(out_dir: Path) -> Iterator[None]:
    """Hold the folder's lock; InputError if another runner holds it."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    # The kernel drops a flock when its holder dies, so a killed runner leaves no stale lock.
    with open(out_dir / LOCK_NAME, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"experiment folder {out_dir} is in use by another run_experiment") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- manifest


def read_manifest(out_dir: Path) -> dict | None:
    """The experiment's manifest, or None if the folder holds none; InputError if unreadable."""
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def write_manifest(out_dir: Path, manifest: dict) -> None:
    write_json_atomic(out_dir / MANIFEST_NAME, manifest)


def check_resumable(out_dir: Path, old: dict, scenarios: dict, root_seed: int, years: Any, n_seeds: int) -> None:
    """InputError unless the manifest `old` describes the experiment asked for now."""
    where = f"experiment folder {out_dir} holds a different experiment"
    hint = "use a new out_dir or the original settings"
    if old.get("format") != MANIFEST_FORMAT:
        raise InputError(f"{where} (manifest format {old.get('format')!r}); {hint}")
    if old.get("scenarios") != scenarios:
        old_s, new_s = old.get("scenarios") or {}, scenarios
        changed = sorted(set(old_s) ^ set(new_s) | {k for k in set(old_s) & set(new_s) if old_s[k] != new_s[k]})
        raise InputError(f"{where}: scenarios differ ({', '.join(changed)}); {hint}")
    params = old.get("parameters") or {}
    if params.get("root_seed") != root_seed:
        raise InputError(f"{where}: root_seed {params.get('root_seed')!r} there, {root_seed!r} now; {hint}")
    if params.get("years") is None or float(params["years"]) != float(years):
        raise InputError(f"{where}: years {params.get('years')!r} there, {years!r} now; {hint}")
    if n_seeds < int(params.get("n_seeds", 0)):
        raise InputError(f"{where}: n_seeds {params.get('n_seeds')} there, {n_seeds} now; n_seeds may only grow")
