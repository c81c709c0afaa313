#!/usr/bin/env bash
# Start a Celery ingestion worker from the same config as the web app.
# Needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) and the app's DATABASE_URL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
: "${CELERY_BROKER_URL:?set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0}"
flask db upgrade
exec celery -A pybo.worker worker --loglevel "${LOG_LEVEL:-INFO}" \
    --concurrency "${WORKER_CONCURRENCY:-1}" --hostname "pybo@%h" "$@"
