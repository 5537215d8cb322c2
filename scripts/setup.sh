#!/usr/bin/env bash
# Make .venv with a Python >= 3.12 (from PATH, else from pyenv) and install the project into it.
# Usage: bash scripts/setup.sh [--test]     (--test also installs the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    for candidate in python3.13 python3.12 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.|$)' | sort -rV); do
            exe="$(pyenv root)/versions/$version/bin/python"
            [ -x "$exe" ] && { echo "$exe"; return 0; }
        done
    fi
    return 1
}

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    PYTHON="$(find_python)" || { echo "error: no Python >= 3.12 found on PATH or in pyenv" >&2; exit 1; }
    echo "setup: creating .venv with $("$PYTHON" --version)"
    rm -rf .venv
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".$extras"
echo "setup: .venv ready"
