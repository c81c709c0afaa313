"""Memory of `shell/run.sh --prod` with 2 gunicorn workers: the LLM in every worker
(LLM_SERVER=off) against one `transformers serve` for the machine (the default).

    python benchmarks/served_memory.py                         # ~0.4B-parameter Gemma-3n shape
    python benchmarks/served_memory.py --hidden 64 --layers 4 --intermediate 128   # tiny

Builds a random-weight Gemma-3n checkpoint in the real multimodal layout (no hub here),
runs the real `shell/run.sh --prod` for each mode on free loopback ports, sends chats
until every worker has answered one (so each has built its chat model), then prints the
RSS and PSS (shared pages split between processes) of every process in the tree.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import PASSWORD, chat_stream, csrf, free_port, session_for  # noqa: E402


def wait_port(port, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("run.sh exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def add_users(url, count):
    from config import TestConfig
    from pybo import create_app
    from pybo.auth import service
    from pybo.extensions import db

    app = create_app(type("MemConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        for i in range(count):
            service.signup(f"mem{i}", f"mem{i}@example.com", PASSWORD)
        db.session.remove()
        db.engine.dispose()


def tree(pid):
    import psutil

    root = psutil.Process(pid)
    rows = []
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
            cmd = " ".join(process.cmdline())
        except psutil.Error:
            continue
        rows.append((process.pid, info.rss, info.pss, cmd))
    return rows


def label(cmd):
    if "transformers serve" in cmd or cmd.split(" ")[0].endswith("/transformers"):
        return "transformers serve"
    if "gunicorn" in cmd:
        return "gunicorn"
    return cmd.split(" ")[0].rsplit("/", 1)[-1]


def run_mode(mode, workdir, models, workers, rounds):
    port, llm_port = free_port(), free_port()
    db_url = f"sqlite:///{workdir / f'{mode}.db'}"
    env = {**os.environ, "PORT": str(port), "LLM_PORT": str(llm_port), "LLM_SERVER": mode,
           "SECRET_KEY": "memory-secret", "DATABASE_URL": db_url, "MODELS": "skip",
           "UPLOAD_DIR": str(workdir / f"upload-{mode}"), "WEB_WORKERS": str(workers),
           "VECTOR_STORE_DIR": str(workdir / f"vs-{mode}"), "LLM_MAX_NEW_TOKENS": "2",
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **models}  # fmt: skip
    env.pop("LLM_BASE_URL", None)
    log = open(workdir / f"run-{mode}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        ["bash", "shell/run.sh", "--prod"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(port, process)
        if mode == "on":
            from pybo.knowledge.llm_server import wait_until_healthy

            assert wait_until_healthy(f"http://127.0.0.1:{llm_port}", None, 600), "no LLM server"
        base = f"http://127.0.0.1:{port}"
        add_users(db_url, 2 * workers)
        sessions = []
        for i in range(2 * workers):
            session = session_for(base, f"mem{i}")
            sessions.append((session, csrf(session, base, "/chat/")))
        served_by = []
        for _ in range(rounds):  # concurrent chats land on every worker (one each at least)
            with ThreadPoolExecutor(len(sessions)) as pool:
                results = list(pool.map(lambda s: chat_stream(s[0], base, s[1], "금리는?"),
                                        sessions))  # fmt: skip
            served_by += [r for r in results if r["ok"]]
        rows = tree(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return rows, len(served_by)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--intermediate", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tests.fixtures.tiny_models import build_tiny_embedder, build_tiny_gemma

    workdir = Path(tempfile.mkdtemp(prefix="pybo-mem-"))
    llm = build_tiny_gemma(workdir / "gemma-3n", hidden=args.hidden, layers=args.layers,
                           intermediate=args.intermediate)  # fmt: skip
    weights = (llm / "model.safetensors").stat().st_size
    models = {"LLM_MODEL": str(llm), "EMBEDDING_MODEL": str(build_tiny_embedder(workdir / "emb"))}
    print(f"LLM: Gemma-3n shape hidden {args.hidden}, {args.layers} layers, "
          f"weights {weights / 2**20:.0f} MiB (bf16); {args.workers} gunicorn workers, "
          f"{os.cpu_count()} cores")  # fmt: skip
    for mode in ("off", "on"):
        rows, answered = run_mode(mode, workdir, models, args.workers, args.rounds)
        title = {"off": "LLM in every worker (LLM_SERVER=off)", "on": "one transformers serve"}[
            mode
        ]
        print(f"\n{title}: {answered} chats answered")
        print(f"{'pid':>8s} {'RSS MiB':>9s} {'PSS MiB':>9s}  process")
        for pid, rss, pss, cmd in rows:
            print(f"{pid:8d} {rss / 2**20:9.0f} {pss / 2**20:9.0f}  {label(cmd)}")
        total_rss = sum(r[1] for r in rows) / 2**20
        total_pss = sum(r[2] for r in rows) / 2**20
        print(f"{'total':>8s} {total_rss:9.0f} {total_pss:9.0f}")


if __name__ == "__main__":
    main()
