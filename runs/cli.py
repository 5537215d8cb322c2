"""The `python -m runs` command line: one sub-command per module, one error policy.

Every command module exposes `add_parser(subparsers)`. Bad input raises `InputError`
(or argparse rejects it); either way the user sees one line on stderr and exit status 2,
before anything is run or written: `main` checks every numeric option against
`runs.commands.LIMITS` and the output folder with `runs.commands.check_out_dir` before it calls
the command, and returns argparse's status instead of exiting. Building the parser imports every command module, so a
command module must be cheap to import: pandas, matplotlib, scipy and the model are imported
inside the functions that use them, and `python -m runs --help` stays well under a second
(`benchmarks/bench_cli.py`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from economy.errors import DomainError, InputError

# Sub-command modules, in the order `--help` lists them.
COMMAND_MODULES = [
    "runs.calibration",
    "runs.single",
    "runs.properties",
    "runs.baseline",
    "runs.compare",
    "runs.sweep",
    "runs.decompose",
    "runs.sensitivity",
    "runs.discover",
    "runs.psy_command",
    "runs.dashboard",
]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised via CLI tests
        self.exit(2, f"error: {self.prog}: {one_line(message)}\n")


def one_line(message: object) -> str:
    """A message as one line: a newline inside a name the user gave (a file, a key) is shown as \\n."""
    return str(message).replace("\r", "\\r").replace("\n", "\\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m runs",
        description="Experiments on the circular AI financing model: one run, ensembles of seeds,\n"
        "comparisons of scenarios, parameter sweeps and bubble tests. Bad input stops a command\n"
        "with one line and exit status 2 before anything runs.",
        epilog="example:\n  python -m runs baseline --seeds 20 --out out/baseline\n\n"
        "`python -m runs COMMAND --help` shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, title="commands", metavar="COMMAND"
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from runs.commands import check_limits, check_out_dir

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (status 2, one line already printed) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        # Every command's numeric options and output folder, before anything runs or is written.
        check_limits(args)
        if getattr(args, "out", None) is not None:
            check_out_dir(args.out)
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"run stopped: {one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (say `| head`) stopped listening: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
