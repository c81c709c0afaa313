#!/usr/bin/env bash
# Set up (venv, requirements, migrations, models) and serve pybo on 127.0.0.1:$PORT.
#   shell/run.sh          development server (PORT, default 5000)
#   shell/run.sh --prod   gunicorn with threads (SECRET_KEY required)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

PORT="${PORT:-5000}"
mkdir -p instance
flask db upgrade

if [ "${1:-}" = "--prod" ]; then
    export PYBO_CONFIG=production
    exec gunicorn --bind "127.0.0.1:${PORT}" --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-8}" \
        --timeout 0 "pybo:create_app()"
fi
exec flask run --host 127.0.0.1 --port "$PORT"
