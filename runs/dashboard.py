"""`python -m runs dashboard`: an interactive dashboard of one run in the browser, on Mesa's SolaraViz.

Starts a Solara server on `runs.dashboard_page` (the page, its levers and its charts live
there) at http://HOST:PORT and serves until interrupted (Ctrl-C). The levers are the
accounting regime, spend-back, the passive share, the interest rate, the labs' revenue
growth and the seed; a change takes effect on Reset; Play and Step advance the model a
quarter per frame by default; page 1 runs a second regime on the same seed beside the first.
This module owns only the command line and the server process: it imports neither solara
nor the model, so `python -m runs --help` stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from economy.errors import InputError

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
PAGE_MODULE = "runs.dashboard_page"
ROOT = Path(__file__).resolve().parent.parent

# The docstring without its "`python -m runs X`: " lead-in, as the command's --help text.
_DESCRIPTION = __doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="interactive dashboard in the browser (Mesa SolaraViz)",
        description=_DESCRIPTION,
        epilog="example:\n  python -m runs dashboard --port 8765   # then open http://127.0.0.1:8765",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="P", help=f"port to serve on (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, metavar="HOST", help=f"address to listen on (default: {DEFAULT_HOST})"
    )
    parser.set_defaults(func=main)


def server_command(host: str, port: int) -> list[str]:
    """The `solara run` command line that serves the page (production mode: no auto-reload, no browser)."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        PAGE_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
    ]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    # A local tool phones nowhere: Solara's usage statistics are on by default.
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    # Solara warns on every page load that a plain-http host gets lax cookies: expected on localhost, only noise.
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS", ""), quiet) if w)
    # The page module is imported by name: the repository must be on the path even without an install.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def main(args) -> int:
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be between 1 and 65535, not {args.port}")
    check_address(args.host, args.port)
    import importlib.util

    if importlib.util.find_spec("solara") is None:
        raise InputError("the dashboard needs solara: install the project again (pip install -e .) for mesa[viz]")
    print(f"dashboard: serving on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    process = subprocess.Popen(server_command(args.host, args.port), cwd=ROOT, env=server_env())
    # A SIGTERM to this command (a test's teardown, a process manager) must not orphan the server.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return _stop(process)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            _stop(process)


def check_address(host: str, port: int) -> None:
    """The server must be able to listen there: an unknown host or a port in use is bad input,
    said in one line before the server starts (it would otherwise fail with its own log)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError):
        raise InputError(f"--host {host!r}: not an address this machine knows") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(f"--host {host} --port {port}: cannot listen there ({exc.strerror})") from None


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen) -> int:
    """Ask the server to stop (Ctrl-C may have reached it already), then insist."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return 130
