"""Batch ingestion: `flask rag ingest` on 32 Korean PDFs (720 pages) in one process.

    python benchmarks/ingest_batch.py                  # ko-sroberta if installed, else
                                                       # random weights in its real shape
    python benchmarks/ingest_batch.py --shape tiny     # the tests' tiny embedder (fast)
    python benchmarks/ingest_batch.py --embedding resources/models/ko-sroberta

Pages are KorQuAD dev paragraphs (one per page, wrapped at 40 characters as the tests'
PDFs are). The models are loaded before the clock starts, as a long batch amortizes
them. Figures: pages/s of the whole command (parse, OCR check, chunk, embed, BM25 rows,
Chroma, the documents' rows), and its wall time over the pure encode time of the same
chunks in the same batch size (target <= 1.10: parsing hides behind embedding).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES, PAGES = 32, 720
KORQUAD = next(
    (p / "shared/data/korquad/KorQuAD_v1.0_dev.json" for p in ROOT.parents
     if (p / "shared/data/korquad/KorQuAD_v1.0_dev.json").is_file()),
    None,
)  # beside the repository, or beside a worktree's parent  # fmt: skip


def korean_paragraphs(count):
    """KorQuAD dev paragraphs (the benchmark refuses to run on generated text)."""
    import json

    if KORQUAD is None:
        raise SystemExit("KorQuAD dev not found beside the repository (shared/data/korquad)")
    data = json.loads(KORQUAD.read_text())
    return [p["context"] for a in data["data"] for p in a["paragraphs"]][:count]


def write_corpus(folder, files=FILES, pages=PAGES):
    """`files` PDFs holding `pages` pages in all, one KorQuAD paragraph per page."""
    from tests.fixtures.pdfs import pdf_bytes

    paragraphs = korean_paragraphs(pages)
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for number in range(files):
        count = pages // files + (1 if number < pages % files else 0)
        (folder / f"문서{number + 1:02d}.pdf").write_bytes(
            pdf_bytes(paragraphs[start : start + count])
        )
        start += count
    return start


def pick_embedder(args, workdir):
    if args.embedding:
        return args.embedding, "given"
    installed = ROOT / "resources" / "models" / "ko-sroberta"
    if args.shape == "auto" and (installed / "config.json").is_file():
        return str(installed), "installed ko-sroberta"
    from tests.fixtures.tiny_models import build_tiny_embedder

    if args.shape == "tiny":
        return str(build_tiny_embedder(workdir / "emb")), "tiny test embedder"
    real = build_tiny_embedder(
        workdir / "emb-real", hidden=768, layers=12, heads=12, vocab_size=32000,
        corpus=korean_paragraphs(1000),
    )  # fmt: skip
    return str(real), "random weights, ko-sroberta's shape (768-d, 12 layers)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=["auto", "real", "tiny"], default="auto")
    parser.add_argument("--embedding", help="An embedder folder to use as it is.")
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--pages", type=int, default=PAGES)
    args = parser.parse_args()
    from benchmarks.rag import make_app
    from pybo.extensions import db
    from pybo.knowledge import lexical
    from pybo.rag_chat import runtime
    from pybo.rag_chat.models import Chunk

    with tempfile.TemporaryDirectory(prefix="pybo-ingest-bench-") as tmp:
        workdir = Path(tmp)
        embedding, kind = pick_embedder(args, workdir)
        from tests.fixtures.tiny_models import build_tiny_gemma

        app = make_app(workdir, embedding, str(build_tiny_gemma(workdir / "llm")), 8)
        pages = write_corpus(workdir / "corpus", args.files, args.pages)
        with app.app_context():
            retriever = runtime.retriever()  # models load before the clock starts
            runtime.providers().embedding_tokenizer()
            retriever.embeddings.embed_documents(["워밍업 문장입니다."] * 8)
            lexical.analyze("워밍업 문장입니다.")
            runtime.ocr().problem()
        runner = app.test_cli_runner()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = runner.invoke(
            args=["rag", "ingest", str(workdir / "corpus"), "--user", "bench", "--quiet"]
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if result.exit_code != 0:
            print(result.output)
            raise SystemExit(1)
        with app.app_context():
            texts = list(db.session.scalars(select_texts(Chunk)))
            batch = app.config["INGEST_BATCH_SIZE"]
            started, cpu_started = time.perf_counter(), time.process_time()
            for start in range(0, len(texts), batch):
                retriever.embeddings.embed_documents(texts[start : start + batch])
            encode = time.perf_counter() - started
            encode_cpu = time.process_time() - cpu_started
    print(result.output.strip().splitlines()[-1] if result.output.strip() else "")
    print(f"embedder: {kind}")
    print(f"{args.files} PDFs, {pages} pages -> {len(texts):,} chunks")
    print(f"ingest wall {wall:.1f} s = {pages / wall:.2f} pages/s; pure encode of the same "
          f"chunks {encode:.1f} s; wall/encode = {wall / encode:.3f} (target <= 1.10)")
    print(f"process CPU time (robust to other load on the machine): ingest {cpu:.1f} s, "
          f"encode {encode_cpu:.1f} s, ratio {cpu / encode_cpu:.3f}")  # fmt: skip


def select_texts(chunk_model):
    from sqlalchemy import select

    return select(chunk_model.text).order_by(chunk_model.source, chunk_model.chunk_index)


if __name__ == "__main__":
    main()
