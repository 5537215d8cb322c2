"""Experiments users run: the command line (`python -m runs ...`) and the Python API behind it.

Each command lives in its own module with `add_parser(subparsers)`, which registers the
command and sets `func(args) -> int` as its handler; `runs.cli.main` dispatches and turns
`InputError` into one clear line on stderr and exit status 2.
"""
