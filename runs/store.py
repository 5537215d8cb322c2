"""How an experiment lies on disk, and the one way files are written safely.

An experiment folder holds `manifest.json` (what the experiment is: scenarios, parameters,
seeds, versions, sessions), `runs/<scenario>/<replicate:05d>/` with one `<table>.parquet`
per table and a `done.json` marker, `failures/<scenario>/<replicate:05d>.json` for runs that
raised, and a `.lock` file. This module owns those names, the lock that lets only one runner
use a folder at a time (`exclusive`; the experiment commands hold it from the first run to
the last result written), the sweeping of temporaries a killed runner left behind, and
`write_atomic`: every file the project writes for a reader to find goes through it, so a
reader sees either the old file, the new one or none, never half of one. A run folder is made
complete in a temporary sibling and renamed into place as a whole (`store_run`).

A run's `done.json` records the size and SHA-256 of every file it wrote (`files`), so a
finished run can be verified: `verify_run` says what is wrong with a run folder (a file
missing, a size or a hash that differs, an unreadable done.json) or returns None. The runner
verifies every finished run (sizes and hashes) before it skips it and redoes the damaged
ones; the loader checks presence and sizes only, which costs a `stat` per file. A done.json
written before checksums existed has no `files`: such a run is treated as present but
unverifiable (trusted, as before, and counted in the runner's note) rather than redone,
because redoing would silently replace results made with older code.

Nothing here imports pandas or numpy: the command line reads these names while it builds
its parser.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
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


def read_done(folder: Path) -> dict | None:
    """A run folder's done.json as a dict, or None if it is missing, unreadable or not a record."""
    try:
        done = json.loads((folder / DONE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return done if isinstance(done, dict) and isinstance(done.get("seed"), int) else None


def file_digest(data: bytes) -> dict:
    """What done.json records of one file: its size in bytes and its SHA-256 (hex)."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# verify_run's answer for a done.json without checksums (written before they existed).
UNVERIFIABLE = "unverifiable"


def verify_run(folder: Path, hashes: bool = True) -> str | None:
    """What is wrong with a finished run folder, in a few words, or None if it is intact.

    Checks that done.json is readable and that every file it lists exists with its recorded
    size and (if `hashes`) SHA-256. Returns UNVERIFIABLE for a readable done.json that lists
    no files (written before checksums existed): present, but it cannot be checked.
    """
    done = read_done(folder)
    if done is None:
        return f"{DONE_NAME} unreadable"
    files = done.get("files")
    if files is None:
        return UNVERIFIABLE
    if not isinstance(files, dict):
        return f"{DONE_NAME} unreadable"
    for name, expected in sorted(files.items()):
        path = folder / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"{name} missing"
        except OSError as exc:
            return f"{name} unreadable ({exc.strerror})"
        if not isinstance(expected, dict) or size != expected.get("size"):
            return f"{name} has {size} bytes, {DONE_NAME} says {expected.get('size') if isinstance(expected, dict) else '?'}"
        if hashes:
            try:
                if _sha256_file(path) != expected.get("sha256"):
                    return f"{name} does not match its checksum"
            except OSError as exc:
                return f"{name} unreadable ({exc.strerror})"
    return None


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
        files = {}
        for name, data in outcome["tables"].items():
            _write_file(tmp / f"{name}.parquet", data)
            files[f"{name}.parquet"] = file_digest(data)
        done = {
            "scenario": task.scenario,
            "replicate": task.replicate,
            "seed": task.seed,
            "started": outcome["started"],
            "seconds": round(outcome["seconds"], 3),
            "host": outcome["host"],
            "pid": outcome["pid"],
            "rows": outcome["rows"],
            "files": files,
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
    """Hold the folder's lock (creating the folder if needed); InputError if another runner holds it.

    A command holds it from its first run to its last result written (`runs.commands.execute`
    and `holding_lock`), so a second runner on the same folder is refused rather than
    analysing or writing alongside it. The lock is per open file: taking it twice, even in
    one process, is refused too.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"out_dir {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    # The kernel drops a flock when its holder dies, so a killed runner leaves no stale lock.
    with open(out_dir / LOCK_NAME, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"experiment folder {out_dir} is in use by another runner; wait for it or use another --out"
            ) from None
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


def check_resumable(
    out_dir: Path, old: dict, scenarios: dict, root_seed: int, years: Any, n_seeds: int, command: str | None = None
) -> None:
    """InputError unless the manifest `old` describes the experiment asked for now.

    `command` is the command now running (manifest extra "command"); a folder another
    command made is refused, as is one with other scenario names, each in one line naming both.
    """
    where = f"experiment folder {out_dir} holds a different experiment"
    hint = "use a new out_dir or the original settings"
    if old.get("format") != MANIFEST_FORMAT:
        raise InputError(f"{where} (manifest format {old.get('format')!r}); {hint}")
    made_by = (old.get("extra") or {}).get("command") if isinstance(old.get("extra"), dict) else None
    if command is not None and made_by is not None and made_by != command:
        raise InputError(f"{out_dir} was made by `{made_by}`, not `{command}`; use another --out")
    old_names, new_names = sorted(old.get("scenarios") or {}), sorted(scenarios)
    if old_names != new_names:
        raise InputError(
            f"{out_dir} holds scenario(s) {', '.join(old_names) or 'none'}, not {', '.join(new_names)}; "
            "use another --out"
        )
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
