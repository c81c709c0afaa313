#!/usr/bin/env bash
# Set up (venv, requirements, migrations, models) and serve pybo on 127.0.0.1:$PORT.
#   shell/run.sh          development server (PORT, default 5000)
#   shell/run.sh --prod   gunicorn with threads (SECRET_KEY required)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

PORT="${PORT:-5000}"
mkdir -p instance
flask db upgrade

# Models: fetched when missing and the hub answers (HF_TOKEN for the gated Gemma);
# an unreachable hub is reported within seconds and the board starts anyway.
if [ "${MODELS:-auto}" != "skip" ]; then
    flask models download --soft || echo "[run] 모델을 받지 못했습니다: 게시판은 동작하고, 채팅 페이지가 설치 방법을 알려 줍니다." >&2
fi

if [ "${1:-}" = "--prod" ]; then
    export PYBO_CONFIG=production
    # Plain HTTP on 127.0.0.1: a Secure-only session cookie would never come back.
    # Behind an HTTPS proxy, run with SESSION_COOKIE_SECURE=1.
    export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"
    exec gunicorn --bind "127.0.0.1:${PORT}" --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-8}" \
        --keep-alive 30 \
        --timeout 0 "pybo:create_app()"
fi
exec flask run --host 127.0.0.1 --port "$PORT"
