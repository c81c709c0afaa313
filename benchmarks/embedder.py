"""Embedder speed by backend: fp32 torch vs ONNX fp32 vs ONNX int8, in one run.

    python benchmarks/embedder.py                       # ko-sroberta's shape, random weights
    python benchmarks/embedder.py --model resources/models/ko-sroberta   # the real model

Prints, for each backend, on the chunks of the 60-page Korean benchmark PDF (the one
benchmarks/rag.py ingests, KorQuAD dev paragraphs): chunks/s (best of --rounds,
backends interleaved so a loaded machine hurts them alike), query embedding p50/p95 on
KorQuAD questions, and the int8 vectors' cosine to the fp32 torch ones.
Targets: int8 >= 2.5x the chunks/s of fp32 torch; query p50 <= 15 ms.

Retrieval quality (KorQuAD dev hybrid R@1/R@5) needs the real weights: a random-weight
model retrieves nothing meaningful. With the real model, compare
    EMBEDDING_BACKEND=torch     flask rag eval ../shared/data/korquad/KorQuAD_v1.0_dev.json
    EMBEDDING_BACKEND=onnx-int8 flask rag eval ../shared/data/korquad/KorQuAD_v1.0_dev.json
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACKENDS = ("torch", "onnx", "onnx-int8")


def korquad():
    from tests.test_embedder_quality import korquad_path

    path = korquad_path()
    if path is None:
        raise SystemExit("KorQuAD dev not found: set KORQUAD_DEV=/path/KorQuAD_v1.0_dev.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    questions = [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
    return paragraphs, questions


def build_model(workdir, paragraphs):
    from tests.fixtures.tiny_models import build_tiny_embedder

    path = workdir / "ko-sroberta-shape"
    if not (path / "model.safetensors").is_file():
        build_tiny_embedder(
            path, hidden=768, layers=12, heads=12, vocab_size=32000, corpus=paragraphs
        )
    return path


def pdf_chunks(paragraphs, pages, tokenizer, max_seq):
    from pybo.knowledge.chunking import split_pages
    from pybo.knowledge.pdf import extract_pages, open_pdf
    from tests.fixtures.pdfs import pdf_bytes

    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf_bytes(paragraphs[:pages]))
        handle.flush()
        extracted = extract_pages(open_pdf(handle.name, 10_000))[0]
    return [chunk.text for chunk in split_pages(extracted, tokenizer, max_seq)]


def quantiles(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def centred_cosines(a, b):
    import numpy as np

    a, b = a - a.mean(0), b - b.mean(0)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a sentence-transformers folder (default: built)")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "pybo-bench"))
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()

    from pybo.knowledge import onnx_module
    from pybo.knowledge.providers import load_embeddings

    paragraphs, questions = korquad()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    location = Path(args.model) if args.model else build_model(workdir, paragraphs)
    weights = "real weights" if args.model else "ko-sroberta shape, random weights"
    print(f"model: {location} ({weights}); int8 variant for this CPU: "
          f"{onnx_module.cpu_int8_variant()}")  # fmt: skip
    started = time.perf_counter()
    onnx_module.export(location, progress=lambda m: print("  export:", m))
    print(f"export (or check) took {time.perf_counter() - started:.1f}s")

    models = {name: load_embeddings(location, "cpu", name) for name in BACKENDS}
    tokenizer = models["onnx"].tokenizer
    chunks = pdf_chunks(paragraphs, args.pages, tokenizer, models["onnx"].max_seq_length)
    tokens = [len(tokenizer(c)["input_ids"]) for c in chunks]
    print(f"{args.pages}-page PDF -> {len(chunks)} chunks, "
          f"mean {statistics.mean(tokens):.0f} tokens")  # fmt: skip

    vectors, best = {}, dict.fromkeys(BACKENDS, float("inf"))
    cpu = dict(best)  # process CPU seconds (all threads): steadier than wall on a busy host
    for model in models.values():
        model.embed_documents(chunks[:8])  # warm-up
    for _ in range(args.rounds):
        for name, model in models.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            vectors[name] = np.array(model.embed_documents(chunks))
            best[name] = min(best[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)

    latencies = {name: [] for name in BACKENDS}
    for question in questions[: args.queries]:
        for name, model in models.items():
            start = time.perf_counter()
            model.embed_query(question)
            latencies[name].append((time.perf_counter() - start) * 1000)

    base = len(chunks) / best["torch"]
    print(f"\n{'backend':10s} {'chunks/s':>9s} {'vs torch':>9s} {'per cpu-s':>10s} "
          f"{'vs torch':>9s} {'query p50':>10s} {'p95':>7s} {'min cos':>8s} "
          f"{'centred':>8s}")  # fmt: skip
    for name in BACKENDS:
        rate = len(chunks) / best[name]
        p50, p95 = quantiles(latencies[name])
        cos = (vectors[name] * vectors["torch"]).sum(1).min()
        centred = centred_cosines(vectors[name], vectors["torch"]).min()
        per_cpu = len(chunks) / cpu[name]
        print(f"{name:10s} {rate:9.2f} {rate / base:8.2f}x {per_cpu:10.2f} "
              f"{per_cpu / (len(chunks) / cpu['torch']):8.2f}x {p50:8.1f}ms {p95:5.1f}ms "
              f"{cos:8.4f} {centred:8.4f}")  # fmt: skip
    int8_rate = len(chunks) / best["onnx-int8"] / base
    int8_p50 = quantiles(latencies["onnx-int8"])[0]
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\ntargets: int8 chunks/s >= 2.5x torch: {int8_rate:.2f}x "
          f"({'met' if int8_rate >= 2.5 else 'NOT met'}); query p50 <= 15 ms: "
          f"{int8_p50:.1f} ms ({'met' if int8_p50 <= 15 else 'NOT met'})")  # fmt: skip
    if not args.model:
        print("retrieval R@1/R@5: not measured (random weights retrieve nothing meaningful; "
              "see the docstring for the real-model command)")  # fmt: skip
    sizes = {p.name: p.stat().st_size / 1e6 for p in (location / "onnx").glob("*.onnx")}
    print("files: " + ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(sizes.items())))


if __name__ == "__main__":
    main()
