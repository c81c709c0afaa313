#!/usr/bin/env bash
# Start a Celery ingestion worker from the same config as the web app.
# Needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) and the app's DATABASE_URL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# torch threads sleep instead of spinning while they wait: on a busy small machine spinning
# made one query embedding 460 ms instead of 3.5 ms (pybo/__init__.py, benchmarks/contention.py).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
: "${CELERY_BROKER_URL:?set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0}"
flask db upgrade
exec celery -A pybo.worker worker --loglevel "${LOG_LEVEL:-INFO}" \
    --concurrency "${WORKER_CONCURRENCY:-1}" --hostname "pybo@%h" "$@"
