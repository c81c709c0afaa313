#!/usr/bin/env bash
# Shared set-up for run.sh, test.sh and worker.sh: a .venv with the pinned
# requirements, skipped when the requirement files have not changed since the last
# install. Source it; it leaves the venv activated and the repo as the working dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PYTHON" -m venv "$VENV" || {
        echo "[setup] 'python3 -m venv' failed: install it with 'sudo apt-get install python3-venv'" >&2
        exit 1
    }
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"

want_files=(requirements.txt)
if [ "${PYBO_DEV:-0}" = "1" ]; then
    want_files+=(requirements-dev.txt)
fi
stamp="$VENV/.pybo-requirements"
digest="$(cat "${want_files[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "[setup] installing ${want_files[*]} (first run: a few minutes)"
    python -m pip install --disable-pip-version-check -q --upgrade pip
    python -m pip install --disable-pip-version-check -q "${want_files[@]/#/-r}"
    echo "$digest" > "$stamp"
fi
export FLASK_APP=pybo
