#!/usr/bin/env bash
# Set up the venv with the test requirements and run the whole test suite offline.
# Extra arguments go to pytest (e.g. shell/test.sh -k vote).
set -euo pipefail
export PYBO_DEV=1
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
ruff check .
exec python -m pytest "$@"
