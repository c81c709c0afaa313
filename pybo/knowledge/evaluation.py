"""Retrieval evaluation: datasets, metrics and a run over lexical / dense / hybrid.

The corpus goes through the real chunking and indexing code into a temporary store
(never the users'): each passage is chunked as one "page" whose number is the
passage's position, so chunk hits map back to passages. Metrics are passage-level:
recall@k (share of the gold passages in the top k), MRR@10 and nDCG@10.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from pybo.knowledge.hybrid import Scope, Target
from pybo.knowledge.pdf import Page

CUTOFFS = (1, 3, 5, 10)
EVAL_SPACE = "eval"
DEPTH = max(CUTOFFS)


@dataclass
class Dataset:
    name: str
    passages: list  # texts
    queries: list  # texts
    gold: list  # set of passage positions per query
    passage_ids: list = field(default_factory=list)


def load_squad(path):
    """KorQuAD / SQuAD JSON: paragraphs are the corpus, each question's gold is its own."""
    return load_squad_data(json.loads(Path(path).read_text(encoding="utf-8")), Path(path).name)


def load_squad_data(data, name):
    passages, queries, gold, ids = [], [], [], []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            position = len(passages)
            passages.append(paragraph["context"])
            ids.append(f"{article.get('title', '')}#{position}")
            for qa in paragraph["qas"]:
                queries.append(qa["question"])
                gold.append({position})
    return Dataset(name, passages, queries, gold, ids)


def load_autorag(path):
    """AutoRAG parquet: `qa.parquet` (query, retrieval_gt) and `corpus.parquet`
    (doc_id, contents); `path` is their folder or the qa file."""
    import pyarrow.parquet as pq

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    qa_file = path if path.is_file() else folder / "qa.parquet"
    corpus = pq.read_table(folder / "corpus.parquet", columns=["doc_id", "contents"]).to_pylist()
    position = {row["doc_id"]: i for i, row in enumerate(corpus)}
    passages = [row["contents"] for row in corpus]
    queries, gold = [], []
    for row in pq.read_table(qa_file, columns=["query", "retrieval_gt"]).to_pylist():
        wanted = {position[d] for group in row["retrieval_gt"] for d in group if d in position}
        if wanted:
            queries.append(row["query"])
            gold.append(wanted)
    return Dataset(folder.name, passages, queries, gold, [row["doc_id"] for row in corpus])


def load_dataset(path):
    path = Path(path)
    if path.suffix == ".json":
        return load_squad(path)
    if path.suffix == ".parquet" or (path.is_dir() and (path / "qa.parquet").exists()):
        return load_autorag(path)
    raise ValueError(f"알 수 없는 데이터셋 형식입니다: {path} (SQuAD JSON 또는 AutoRAG parquet)")


def passage_ranking(hits, limit=DEPTH):
    """Passage positions in rank order, each once, from chunk hits."""
    ranked = []
    for hit in hits:
        if hit.page not in ranked:
            ranked.append(hit.page)
        if len(ranked) == limit:
            break
    return ranked


def score_query(ranked, gold):
    metrics = {f"recall@{k}": len(gold & set(ranked[:k])) / len(gold) for k in CUTOFFS}
    top = ranked[:DEPTH]
    metrics["mrr@10"] = next((1 / (i + 1) for i, p in enumerate(top) if p in gold), 0.0)
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(top) if p in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), len(top) or 1)))
    metrics["ndcg@10"] = dcg / ideal if ideal else 0.0
    return metrics


def average(rows):
    return {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]} if rows else {}


def corpus_chunks(dataset, tokenizer, max_seq_length, overlap=24):
    """Every passage cut with the real splitter (page number = passage position)."""
    from pybo.knowledge.chunking import split_pages

    pages = [Page(position, text) for position, text in enumerate(dataset.passages)]
    return split_pages(pages, tokenizer, max_seq_length, overlap)


def write_chunks(dataset, retriever, chunks, progress=None, batch=256):
    """Write `chunks` to `retriever` in batches, calling `progress(n)` after each."""
    for start in range(0, len(chunks), batch):
        part = chunks[start : start + batch]
        retriever.add(Target(EVAL_SPACE, "0", dataset.name), part)
        if progress:
            progress(len(part))


def index_corpus(dataset, retriever, tokenizer, max_seq_length, overlap=24, progress=None):
    """Chunk every passage with the real splitter and write it to `retriever`."""
    chunks = corpus_chunks(dataset, tokenizer, max_seq_length, overlap)
    write_chunks(dataset, retriever, chunks, progress)
    return len(chunks)


def evaluate(dataset, retriever, modes, query_vectors=None, progress=None, depth=40):
    """{mode: averaged metrics} over every query of `dataset`."""
    results = {}
    for mode in modes:
        rows = []
        for i, (query, gold) in enumerate(zip(dataset.queries, dataset.gold, strict=True)):
            vector = query_vectors[i] if query_vectors is not None else None
            hits = retriever.search(query, [Scope(EVAL_SPACE)], k=depth, method=mode, vector=vector)
            rows.append(score_query(passage_ranking(hits), gold))
            if progress:
                progress(1)
        results[mode] = average(rows)
    return results


def write_report(results, meta, out_dir):
    """`retrieval_eval.json` and `retrieval_eval.png` (grouped bars) in `out_dir`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "retrieval_eval.json"
    json_path.write_text(
        json.dumps({**meta, "results": results}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    metrics = list(next(iter(results.values())).keys())
    figure, axis = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(results)
    for offset, (mode, values) in enumerate(results.items()):
        xs = [i + offset * width for i in range(len(metrics))]
        bars = axis.bar(xs, [values[m] for m in metrics], width, label=mode)
        axis.bar_label(bars, fmt="%.3f", fontsize=6, rotation=90, padding=2)
    axis.set_xticks([i + width * (len(results) - 1) / 2 for i in range(len(metrics))], metrics)
    axis.set_ylim(0, 1.1)
    axis.set_title(f"{meta['dataset']}: {meta['queries']} queries, {meta['passages']} passages")
    axis.legend(loc="lower right")
    figure.tight_layout()
    png_path = out_dir / "retrieval_eval.png"
    figure.savefig(png_path, dpi=120)
    plt.close(figure)
    return json_path, png_path
