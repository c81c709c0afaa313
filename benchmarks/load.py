"""Load: 50 board users and 4 chat streams against gunicorn on loopback for 60 s.

    python benchmarks/load.py                       # tiny models, SQLite, 60 s
    python benchmarks/load.py --seconds 30 --users 20 --workers 2 --threads 32
    python benchmarks/load.py --serve-tiny          # 4 and 16 chat streams via transformers serve
    python benchmarks/load.py --llm-url http://127.0.0.1:8001/v1 --llm-model NAME

Starts `gunicorn pybo:create_app()` (production config, threads) on a free loopback port
with a seeded board and one indexed PDF per chat user, then runs the load and prints
request counts, p50/p95/p99 latency and errors per kind, and whether any chat stream
received another user's sources (mixed streams). Every request loop stops by itself.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "load-password"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(workdir, n_users, n_chat, n_questions):
    from benchmarks.board import seed
    from config import TestConfig
    from pybo import create_app
    from pybo.auth import service
    from pybo.extensions import db
    from tests.fixtures.tiny_models import build_tiny_embedder, build_tiny_gemma

    models = {"EMBEDDING_MODEL": str(build_tiny_embedder(workdir / "emb")),
              "LLM_MODEL": str(build_tiny_gemma(workdir / "llm"))}  # fmt: skip
    url = f"sqlite:///{workdir / 'load.db'}"
    app = create_app(type("LoadConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    seed(app, n_questions, random.Random(3))  # users user1..user1000 (unusable passwords)
    with app.app_context():
        for i in range(n_users + n_chat):
            service.signup(f"load{i}", f"load{i}@example.com", PASSWORD)
        db.session.remove()
    return url, models


def start_server(workdir, url, models, workers, threads, concurrent=0, extra=None):
    port = free_port()
    env = {**os.environ, "PYBO_CONFIG": "production", "SECRET_KEY": "load-secret",
           "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback
           "DATABASE_URL": url, "UPLOAD_DIR": str(workdir / "upload"),
           "VECTOR_STORE_DIR": str(workdir / "vs"), "LLM_MAX_NEW_TOKENS": "32",
           "LLM_MAX_CONCURRENT": str(concurrent), "HF_HUB_OFFLINE": "1", **models,
           **(extra or {})}  # fmt: skip
    log = open(workdir / "gunicorn.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", str(threads), "--timeout", "0", "--keep-alive", "30",
         "pybo:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    raise RuntimeError((workdir / "gunicorn.log").read_text())


def session_for(base, username):
    import requests

    session = requests.Session()
    token = csrf(session, base, "/auth/login/")
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    session.post(base + "/auth/login/", data=form, allow_redirects=False)
    return session


def csrf(session, base, path):
    page = session.get(base + path).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = {}
        self.errors = {}
        self.reasons = {}

    def add(self, kind, ms, ok, reason=None):
        with self.lock:
            self.samples.setdefault(kind, []).append(ms)
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                key = f"{kind}: {reason}"
                self.reasons[key] = self.reasons.get(key, 0) + 1


def board_user(base, username, stop, stats, n_questions, think):
    session = session_for(base, username)
    rng = random.Random(username)
    paths = [
        lambda: "/question/list/",
        lambda: f"/question/list/?page={rng.randint(2, 500)}",
        lambda: "/question/list/?so=" + rng.choice(["recommend", "popular"]),
        lambda: "/question/list/?kw=" + rng.choice(["은행", "플라스크 배포", "금리", "서버"]),
        lambda: f"/question/detail/{rng.randint(1, n_questions)}/",
    ]
    while not stop.is_set():
        path = rng.choice(paths)()
        t0 = time.perf_counter()
        try:
            status = session.get(base + path, timeout=30).status_code
            ok, reason = status == 200, f"HTTP {status} {path.split('?')[0]}"
        except Exception as exc:  # noqa: BLE001 - counted as an error
            ok, reason = False, type(exc).__name__
        stats.add("board", (time.perf_counter() - t0) * 1000, ok, reason)
        if think:
            stop.wait(rng.uniform(0.5 * think, 1.5 * think))  # a person reading the page


def chat_user(base, username, stop, stats, mixed):
    from tests.fixtures.pdfs import pdf_bytes

    session = session_for(base, username)
    token = csrf(session, base, "/chat/documents/")
    text = f"{username}의 문서: 고유 번호 {username} 은행 금리와 예금 이자에 대한 설명입니다."
    session.post(base + "/chat/documents/upload", data={"csrf_token": token},
                 files={"file": (f"{username}.pdf", pdf_bytes([text]))})  # fmt: skip
    own = None
    while own is None and not stop.is_set():
        docs = session.get(base + "/chat/documents/status").json()["documents"]
        if docs and docs[0]["status"] == "ready":
            own = docs[0]["id"]
        time.sleep(0.2)
    while not stop.is_set():
        token = csrf(session, base, "/chat/")
        location = session.post(base + "/chat/new", data={"csrf_token": token},
                                allow_redirects=False).headers["Location"]  # fmt: skip
        conversation = location.split("c=")[1]
        t0, first, ok, event = time.perf_counter(), None, False, None
        try:
            ask = f"{base}/chat/{conversation}/ask"
            headers = {"X-CSRFToken": token}
            with session.post(
                ask, json={"question": "금리는?"}, headers=headers, stream=True, timeout=120
            ) as r:
                for line in r.iter_lines(decode_unicode=True):
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        if event == "token" and first is None:
                            first = time.perf_counter()
                        if event == "sources" and {s["document_id"] for s in data["sources"]} - {
                            own
                        }:
                            mixed.append(username)
                        ok = ok or event == "done"
        except Exception:  # noqa: BLE001 - counted as an error
            ok = False
        stats.add("chat stream (whole answer)", (time.perf_counter() - t0) * 1000, ok)
        if first:
            stats.add("chat first token", (first - t0) * 1000, True)


def chat_stream(session, base, token, question, timeout=900):
    """One chat answer through `POST /chat/ask` (a new conversation): seconds to the
    first token and to the end, token events, and whether it ended with `done`."""
    t0, first, tokens, event, last = time.perf_counter(), None, 0, None, None
    try:
        with session.post(f"{base}/chat/ask", json={"question": question}, stream=True,
                          headers={"X-CSRFToken": token}, timeout=timeout) as r:  # fmt: skip
            for line in r.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    last = event
                    if event == "token":
                        tokens += 1
                        first = first or time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - reported as a failed stream
        last = type(exc).__name__
    end = time.perf_counter()
    return {"ok": last == "done", "end_event": last, "tokens": tokens, "total": end - t0,
            "first": (first - t0) if first else None,
            "decode": (end - first) if first else None}  # fmt: skip


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def serve_tiny(workdir, models, threads=0, extra=()):
    """A `transformers serve` on the tiny Gemma-3n (text-only folder); (process, url, name).
    `threads`: its OMP_NUM_THREADS (0: torch's default, one per core)."""
    from pybo.knowledge import llm_server

    folder = llm_server.text_only_folder(models["LLM_MODEL"])
    port = free_port()
    env = {"OMP_NUM_THREADS": str(threads)} if threads else None
    process = llm_server.start(folder, port, workdir / "llm-server.log", env=env, extra=extra)
    url = f"http://127.0.0.1:{port}/v1"
    if not llm_server.wait_until_healthy(url, process, timeout=600):
        raise RuntimeError((workdir / "llm-server.log").read_text())
    return process, url, str(folder)


def stream_round(base, sessions, rounds):
    """Every session asks `rounds` questions one after another, all sessions at once."""
    results, lock = [], threading.Lock()
    barrier = threading.Barrier(len(sessions))

    def user(session, token):
        barrier.wait()
        for _ in range(rounds):
            result = chat_stream(session, base, token, "예금 금리는 얼마인가요?")
            with lock:
                results.append(result)

    threads = [threading.Thread(target=user, args=pair) for pair in sessions]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - t0


def report_streams(count, results, wall):
    firsts = [r["first"] for r in results if r["first"] is not None]
    rates = [(r["tokens"] - 1) / r["decode"] for r in results if r["decode"] and r["tokens"] > 1]
    tokens = sum(r["tokens"] for r in results)
    ends = sorted({r["end_event"] for r in results if not r["ok"]} - {None})
    nan = float("nan")
    print(f"{count:7d} {sum(r['ok'] for r in results):4d}/{len(results):<4d} "
          f"{statistics.median(firsts) if firsts else nan:9.2f} "
          f"{percentile(firsts, 0.95) if firsts else nan:9.2f} "
          f"{statistics.median(rates) if rates else nan:10.2f} "
          f"{tokens / wall:10.2f} {wall:7.1f}  {', '.join(ends)}")  # fmt: skip


def llm_main(args):
    """`--llm-url` / `--serve-tiny`: concurrent chat streams through gunicorn whose
    workers stream from one OpenAI-compatible server."""
    counts = [int(n) for n in args.streams.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="pybo-llm-load-"))
    url, models = prepare(workdir, 0, max(counts), 10)
    llm_process, llm_url, served = None, args.llm_url, args.llm_model
    if args.serve_tiny:
        llm_process, llm_url, served = serve_tiny(
            workdir, models, args.server_threads, args.server_args.split()
        )
    extra = {"LLM_BASE_URL": llm_url or "", "LLM_MAX_NEW_TOKENS": str(args.max_tokens)}
    if args.in_process:  # the baseline: every worker loads the tiny model itself
        llm_url, served = "in-process", "tiny Gemma-3n in each worker"
        if args.server_threads:
            extra["OMP_NUM_THREADS"] = str(args.server_threads)
    if served:
        extra["LLM_SERVED_MODEL"] = served
    process, base = start_server(workdir, url, models, args.workers, args.threads,
                                 args.generations, extra)  # fmt: skip
    try:
        print(f"chat streams through gunicorn ({args.workers} workers x {args.threads} threads, "
              f"LLM_MAX_CONCURRENT {args.generations or 'default'}) -> {llm_url} "
              f"({'tiny Gemma-3n, transformers serve' if args.serve_tiny else served}"
              f"{f', OMP_NUM_THREADS {args.server_threads}' if args.server_threads else ''}"
              f"{f' {args.server_args}' if args.server_args else ''}); "
              f"max {args.max_tokens} tokens, {args.rounds} question(s) per stream, "
              f"{os.cpu_count()} cores")  # fmt: skip
        warm = [session_for(base, f"load{i}") for i in range(2 * args.workers)]
        warm = [(session, csrf(session, base, "/chat/")) for session in warm]
        results, wall = stream_round(base, warm, 1)  # every worker loads its models first
        print(f"warm-up: {2 * args.workers} streams in {wall:.1f} s (not counted)")
        print(f"{'streams':>7s} {'ok':>9s} {'1st p50 s':>9s} {'1st p95 s':>9s} "
              f"{'tok/s each':>10s} {'tok/s all':>10s} {'wall s':>7s}  failures")  # fmt: skip
        for count in counts:
            sessions = []
            for i in range(count):
                session = session_for(base, f"load{i}")
                sessions.append((session, csrf(session, base, "/chat/")))
            results, wall = stream_round(base, sessions, args.rounds)
            report_streams(count, results, wall)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        if llm_process is not None:
            os.killpg(llm_process.pid, signal.SIGTERM)
            llm_process.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--chat", type=int, default=4)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument(
        "--generations", type=int, default=0,
        help="LLM_MAX_CONCURRENT per worker (0: the default, 1 on CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds a board user waits between pages (0: no pause)",
    )
    parser.add_argument("--llm-url", help="an OpenAI-compatible server: measure chat streams")
    parser.add_argument("--llm-model", default="", help="its model name (LLM_SERVED_MODEL)")
    parser.add_argument(
        "--serve-tiny", action="store_true", help="start transformers serve on the tiny Gemma-3n"
    )
    parser.add_argument(
        "--server-threads", type=int, default=0, help="OMP_NUM_THREADS of the generating process"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="the same streams without a server (baseline)"
    )
    parser.add_argument(
        "--server-args", default="", help="extra `transformers serve` options (--serve-tiny)"
    )
    parser.add_argument("--streams", default="4,16", help="concurrent chat streams to measure")
    parser.add_argument("--rounds", type=int, default=1, help="questions per stream")
    parser.add_argument("--max-tokens", type=int, default=32, help="LLM_MAX_NEW_TOKENS")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.llm_url or args.serve_tiny or args.in_process:
        return llm_main(args)
    workdir = Path(tempfile.mkdtemp(prefix="pybo-load-"))
    url, models = prepare(workdir, args.users, args.chat, args.questions)
    process, base = start_server(workdir, url, models, args.workers, args.threads, args.generations)
    stats, mixed, stop = Stats(), [], threading.Event()
    try:
        threads = [
            threading.Thread(
                target=chat_user, args=(base, f"load{args.users + i}", stop, stats, mixed)
            )
            for i in range(args.chat)
        ]
        threads += [
            threading.Thread(
                target=board_user, args=(base, f"load{i}", stop, stats, args.questions, args.think)
            )
            for i in range(args.users)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(150)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    print(f"{args.users} board users (think time {args.think} s) + {args.chat} chat streams "
          f"(LLM_MAX_CONCURRENT {args.generations or 'default'}), "
          f"{args.seconds} s, gunicorn {args.workers} workers x {args.threads} threads, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{'kind':28s} {'count':>7s} {'errors':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}")
    for kind, values in stats.samples.items():
        print(f"{kind:28s} {len(values):7d} {stats.errors.get(kind, 0):7d} "
              f"{statistics.median(values):8.1f} {percentile(values, 0.95):8.1f} "
              f"{percentile(values, 0.99):8.1f}")  # fmt: skip
    print(f"mixed streams: {len(mixed)}")
    for reason, count in sorted(stats.reasons.items()):
        print(f"error: {reason} x{count}")


if __name__ == "__main__":
    main()
