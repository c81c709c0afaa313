#!/usr/bin/env bash
# Set up (venv, requirements, migrations, models) and serve pybo on 127.0.0.1:$PORT.
#   shell/run.sh          development server (PORT, default 5000)
#   shell/run.sh --prod   gunicorn with threads (SECRET_KEY required) and one
#                         `transformers serve` for the LLM on LLM_PORT (8001; LLM_SERVER=off: none)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# torch threads sleep instead of spinning while they wait: on a busy small machine spinning
# made one query embedding 460 ms instead of 3.5 ms (pybo/__init__.py, benchmarks/contention.py).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

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
    web=(gunicorn --bind "127.0.0.1:${PORT}" --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-8}"
         --keep-alive 30 --timeout 0 "pybo:create_app()")
    # One model per machine, not one per worker: a `transformers serve` on LLM_PORT holds
    # the local LLM and every worker streams from it (README, "Served LLM"). Skipped when
    # LLM_BASE_URL already names a server, with LLM_SERVER=off, or without the model.
    llm_pid=""
    if [ -z "${LLM_BASE_URL:-}" ] && [ "${LLM_SERVER:-on}" != "off" ]; then
        if served="$(flask models text-export)"; then
            LLM_PORT="${LLM_PORT:-8001}"
            echo "[run] 언어 모델 서버 시작: 127.0.0.1:${LLM_PORT} (로그: instance/llm-server.log)"
            # LLM_THREADS: the server's torch threads (OMP_NUM_THREADS; default one per core);
            # LLM_SERVER_ARGS: more options, e.g. --continuous-batching
            env ${LLM_THREADS:+OMP_NUM_THREADS="$LLM_THREADS"} \
                transformers serve "$served" --host 127.0.0.1 --port "$LLM_PORT" \
                --device "${LLM_DEVICE:-auto}" --dtype bfloat16 --log-level warning \
                ${LLM_SERVER_ARGS:-} >>instance/llm-server.log 2>&1 &
            llm_pid=$!
            export LLM_BASE_URL="http://127.0.0.1:${LLM_PORT}/v1" LLM_SERVED_MODEL="$served"
        else
            echo "[run] 언어 모델 서버 없이 시작합니다 (모델을 받은 뒤 다시 시작하세요)." >&2
        fi
    fi
    if [ -z "$llm_pid" ]; then
        exec "${web[@]}"
    fi
    "${web[@]}" &
    web_pid=$!
    trap 'kill -TERM "$web_pid" 2>/dev/null || true' INT TERM
    trap 'kill -TERM "$llm_pid" 2>/dev/null || true' EXIT
    status=0
    while kill -0 "$web_pid" 2>/dev/null; do wait "$web_pid" || status=$?; done
    exit "$status"
fi
exec flask run --host 127.0.0.1 --port "$PORT"
