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

# One stamp per set: the dev set includes the runtime one, so after test.sh, run.sh
# has nothing to install (and the other way round only the test tools are added).
runtime_digest="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "${PYBO_DEV:-0}" = "1" ]; then
    want_files=(requirements.txt requirements-dev.txt)
    stamp="$VENV/.pybo-requirements-dev"
else
    want_files=(requirements.txt)
    stamp="$VENV/.pybo-requirements"
fi
digest="$(cat "${want_files[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "[setup] installing ${want_files[*]} (first run: a few minutes)"
    python -m pip install --disable-pip-version-check -q --upgrade pip
    python -m pip install --disable-pip-version-check -q "${want_files[@]/#/-r}"
    echo "$digest" > "$stamp"
    echo "$runtime_digest" > "$VENV/.pybo-requirements"
fi
export FLASK_APP=pybo
