"""Where an experiment's runs execute: in this process, in a process pool, or on Dask.

`ExecutorOptions` is the one description of that choice the runner, the commands and the
scripts pass around; `open_executor` turns it into a `concurrent.futures.Executor` (with how
many runs to keep in flight) and closes whatever it started. Dask is imported only when it
is asked for, and nothing here imports pandas, so the command line can build its parser
from these names cheaply.

Process-pool workers end soon after the runner dies, even by SIGKILL: the pool initializer
starts a watchdog thread in each worker that exits it once the runner process has ended
(checked every WATCHDOG_SECONDS through /proc on Linux, by pid elsewhere, where a runner that
is dead but not yet reaped still counts as alive). The fork server cannot be relied on for
this: it outlives the runner for as long as any worker holds its client pipe.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from economy.errors import InputError

EXECUTORS = ("serial", "process", "dask")
# Generous: a ten-year run of the model takes seconds; only a hung run comes near it.
DEFAULT_RUN_TIMEOUT = 3600.0
# How often a pool worker checks that its parent is still alive.
WATCHDOG_SECONDS = 1.0


@dataclass(frozen=True)
class ExecutorOptions:
    """How to execute the runs.

    executor: "serial" (in order, in this process), "process" (a process pool of `workers`,
    default os.cpu_count()) or "dask": `scheduler="tcp://host:port"` joins a running
    cluster, otherwise `dask_local` (default `workers`, then os.cpu_count()) single-threaded
    worker processes are started here and stopped afterwards.
    run_timeout: seconds one run may take before it is stopped and recorded as a failure
    (None: no limit; enforced with SIGALRM on a process's main thread, see runs.experiment).
    """

    executor: str = "process"
    workers: int | None = None
    scheduler: str | None = None
    dask_local: int | None = None
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT

    def check(self) -> ExecutorOptions:
        """InputError naming what is wrong; the options themselves when they are usable."""
        if self.executor not in EXECUTORS:
            raise InputError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if (self.scheduler is not None or self.dask_local is not None) and self.executor != "dask":
            raise InputError("scheduler and dask_local need executor='dask'")
        if self.scheduler is not None and self.dask_local is not None:
            raise InputError("give either scheduler (a running Dask cluster) or dask_local, not both")
        for name in ("workers", "dask_local"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        value = self.run_timeout
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise InputError(f"run_timeout must be a positive number of seconds, got {value!r}")
        return self

    @classmethod
    def from_args(cls, args) -> ExecutorOptions:
        """The options of an argparse namespace (--executor, --workers, --scheduler, --dask-local,
        --run-timeout); an option the parser does not define keeps its default."""
        timeout = getattr(args, "run_timeout", None)
        return cls(
            executor=getattr(args, "executor", None) or "process",
            workers=getattr(args, "workers", None),
            scheduler=getattr(args, "scheduler", None),
            dask_local=getattr(args, "dask_local", None),
            run_timeout=DEFAULT_RUN_TIMEOUT if timeout is None else timeout,
        )


class SerialExecutor(cf.Executor):
    """A concurrent.futures executor that runs each call at submit time, in this process."""

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: cf.Future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


def process_context() -> multiprocessing.context.BaseContext:
    # fork is unsafe once threads exist (tqdm, Dask clients); forkserver is Python 3.14's default.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _process_start(pid: int) -> str | None:
    """A Linux process's start time (to tell it from a later process with its pid), or None if
    it has ended (gone, or a zombie); elsewhere "" while a process of that pid exists."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: ask the kernel whether the pid exists (a zombie still does)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    return None if fields[0] in ("Z", "X") else fields[19]


def _end_with_runner(runner: int) -> None:
    """Pool initializer: make this worker exit soon after the runner process `runner` dies.

    With the forkserver start method the worker's parent is the fork server, which lives as
    long as any worker does, so the runner is watched by pid (and start time, against pid
    reuse) from a daemon thread; where the runner is the parent (spawn) Linux is also asked to
    kill the worker when it goes (`prctl(PR_SET_PDEATHSIG)`).
    """
    if os.getppid() == runner and sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # best effort; the watchdog below covers it
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    started = _process_start(runner)
    if started is None:  # the runner died before this worker got going
        os._exit(1)

    def watch() -> None:
        while _process_start(runner) == started:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)  # orphaned: nothing will read this worker's results

    threading.Thread(target=watch, name="runner-watchdog", daemon=True).start()


@contextlib.contextmanager
def open_executor(options: ExecutorOptions) -> Iterator[tuple[cf.Executor, int, str]]:
    """Yield (executor, how many runs to keep in flight, description); close what we started."""
    options.check()
    if options.executor == "serial":
        yield SerialExecutor(), 1, "serial"
        return
    if options.executor == "process":
        n = options.workers or os.cpu_count() or 1
        pool = cf.ProcessPoolExecutor(
            max_workers=n, mp_context=process_context(), initializer=_end_with_runner, initargs=(os.getpid(),)
        )
        try:
            # Twice the workers keeps them busy while the parent writes, and bounds memory.
            yield pool, 2 * n, f"process pool, {n} workers"
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return

    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if options.scheduler is not None:
            client = stack.enter_context(Client(options.scheduler))
            where = f"dask scheduler {options.scheduler}"
        else:
            n = options.dask_local or options.workers or os.cpu_count() or 1
            cluster = stack.enter_context(
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
            where = f"dask local cluster, {n} workers"
        threads = sum(client.nthreads().values())
        pool = client.get_executor(pure=False)
        try:
            # At least a few in flight so an adaptive cluster that starts empty sees work.
            yield pool, max(2 * threads, 4), where
        finally:
            pool.shutdown(wait=False)
