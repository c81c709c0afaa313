"""Query embedding while other work holds the cores: OpenMP's wait policy, measured.

    python benchmarks/contention.py [--shape tiny|real] [--busy 2] [--repeat 60]

The chat embeds each question on the web process while the LLM (or an ingestion job, or
another request) keeps both cores of a small machine busy. torch's CPU kernels run on an
OpenMP pool; with the default (active) wait policy its threads spin at every barrier, so
on a busy machine a 2-thread embedding of one short query waits for time slices at each
of its few hundred barriers. pybo sets `OMP_WAIT_POLICY=PASSIVE` before torch loads (see
pybo/__init__.py). Each figure comes from a fresh subprocess (the policy is read once,
when the OpenMP runtime starts), beside `--busy` pure-Python busy loops and without them.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, statistics, sys, time
import torch
from pybo.knowledge import providers
embeddings = providers.load_embeddings(sys.argv[1])
texts = ["은행 예금 금리는 어떻게 정해지나요? 질문 %d" % i for i in range(int(sys.argv[2]))]
for text in texts[:5]:
    embeddings.embed_query(text)
times = []
for text in texts:
    t = time.perf_counter()
    embeddings.embed_query(text)
    times.append((time.perf_counter() - t) * 1000)
chunks = ["한국어 문서의 한 조각입니다. " * 12 + str(i) for i in range(128)]
t = time.perf_counter()
embeddings.embed_documents(chunks)
rate = len(chunks) / (time.perf_counter() - t)
print(json.dumps({"p50": statistics.median(times), "p95": sorted(times)[int(len(times) * .95)],
                  "chunks_per_s": rate, "threads": torch.get_num_threads()}))
"""


def measure(model, policy, busy, repeat):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    else:
        env["PYBO_OMP_WAIT_POLICY"] = "default"  # ask pybo to leave OpenMP's default alone
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, model, str(repeat)], env=env,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    finally:
        for loop in loops:
            loop.kill()
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--embedding", help="an embedder folder instead of a generated one")
    parser.add_argument("--busy", type=int, default=2, help="busy loops beside the embedder")
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    from tests.fixtures.tiny_models import build_tiny_embedder

    with tempfile.TemporaryDirectory() as tmp:
        model = args.embedding
        if not model and args.shape == "tiny":
            model = str(build_tiny_embedder(Path(tmp) / "tiny"))
        elif not model:
            model = str(build_tiny_embedder(Path(tmp) / "real", hidden=768, layers=12,
                                            heads=12, vocab_size=8000))  # fmt: skip
        print(f"embedder: {args.embedding or args.shape}, {os.cpu_count()} CPUs, "
              f"load before {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"{'wait policy':22s} {'busy loops':>10s} {'query p50':>10s} {'p95':>8s} "
              f"{'chunks/s':>9s}")  # fmt: skip
        for busy in (0, args.busy):
            for policy in ("", "PASSIVE"):
                r = measure(model, policy, busy, args.repeat)
                name = policy or "OpenMP default (active)"
                print(f"{name:22s} {busy:10d} {r['p50']:8.1f}ms {r['p95']:6.1f}ms "
                      f"{r['chunks_per_s']:9.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
