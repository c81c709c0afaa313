"""Quality guard for the int8 embedder: on 1,000 KorQuAD chunks its vectors must stay
close to the fp32 (torch) ones.

Random-weight models can map every input to nearly the same vector, which would make a
plain cosine pass whatever the quantization did; the centred cosine (the mean vector
subtracted from both sides) compares what distinguishes the chunks, so it can fail.

The ko-sroberta-shaped case (12 layers, 768 hidden, 32k WordPiece vocabulary; random
weights, the hub is unreachable) takes minutes on a 2-core CPU: it is marked `heavy` and
skipped unless PYBO_HEAVY_TESTS=1 is set.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from pybo.knowledge import onnx_module
from pybo.knowledge.chunking import split_pages
from pybo.knowledge.pdf import Page
from pybo.knowledge.providers import load_embeddings
from tests.fixtures.tiny_models import build_tiny_embedder

ROOT = Path(__file__).resolve().parent.parent
KORQUAD_NAME = Path("shared") / "data" / "korquad" / "KorQuAD_v1.0_dev.json"
N_CHUNKS = 1000


def korquad_path():
    """KorQuAD dev beside the checkout (or in KORQUAD_DEV); None when absent."""
    candidates = [os.environ.get("KORQUAD_DEV", "")]
    candidates += [base / KORQUAD_NAME for base in (ROOT, ROOT.parent, ROOT.parent.parent)]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def paragraphs():
    path = korquad_path()
    if path is None:
        pytest.skip("KorQuAD dev set not found (set KORQUAD_DEV=/path/KorQuAD_v1.0_dev.json)")
    data = json.loads(path.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def korquad_chunks(paragraphs, tokenizer, max_seq_length):
    pages = [Page(number, text) for number, text in enumerate(paragraphs, start=1)]
    chunks = [chunk.text for chunk in split_pages(pages, tokenizer, max_seq_length)]
    assert len(chunks) >= N_CHUNKS
    return chunks[:N_CHUNKS]


def compare_int8_with_fp32(location, paragraphs):
    """(min cosine, min centred cosine, mean fp32 pairwise cosine) over 1,000 chunks."""
    torch_embeddings = load_embeddings(location, "cpu", "torch")
    tokenizer = torch_embeddings._client.tokenizer
    chunks = korquad_chunks(paragraphs, tokenizer, 128)
    onnx_module.export(location)
    int8 = load_embeddings(location, "cpu", "onnx-int8")
    reference = np.array(torch_embeddings.embed_documents(chunks))
    quantized = np.array(int8.embed_documents(chunks))
    plain = (reference * quantized).sum(1)  # both normalized
    centred_ref = reference - reference.mean(0)
    centred_q = quantized - quantized.mean(0)
    centred = (centred_ref * centred_q).sum(1) / (
        np.linalg.norm(centred_ref, axis=1) * np.linalg.norm(centred_q, axis=1)
    )
    # The guard can fail: a chunk's centred vector is far from its neighbour's.
    shifted = np.roll(centred_ref, 1, axis=0)
    mismatched = (centred_ref * shifted).sum(1) / (
        np.linalg.norm(centred_ref, axis=1) * np.linalg.norm(shifted, axis=1)
    )
    assert float(np.median(mismatched)) < 0.5
    sample = reference[:200]
    spread = float((sample @ sample.T)[np.triu_indices(len(sample), 1)].mean())
    return float(plain.min()), float(centred.min()), spread


def check(location, paragraphs):
    plain, centred, spread = compare_int8_with_fp32(location, paragraphs)
    print(
        f"int8 vs fp32 on {N_CHUNKS} chunks: min cosine {plain:.4f}, "
        f"min centred cosine {centred:.4f} (fp32 mean pairwise cosine {spread:.3f})"
    )
    assert plain >= 0.99
    assert centred >= 0.98


def test_int8_stays_close_to_fp32_on_korquad(paragraphs, tmp_path):
    location = build_tiny_embedder(
        tmp_path / "ko-sroberta", hidden=64, heads=4, vocab_size=4000, corpus=paragraphs[:300]
    )
    check(location, paragraphs)


@pytest.mark.heavy
@pytest.mark.skipif(
    os.environ.get("PYBO_HEAVY_TESTS") != "1",
    reason="ko-sroberta-shaped model (minutes on CPU): set PYBO_HEAVY_TESTS=1",
)
def test_int8_stays_close_to_fp32_in_ko_sroberta_shape(paragraphs, tmp_path):
    location = build_tiny_embedder(
        tmp_path / "ko-sroberta",
        hidden=768,
        layers=12,
        heads=12,
        vocab_size=32000,
        corpus=paragraphs,
    )
    try:
        check(location, paragraphs)
    finally:
        shutil.rmtree(location, ignore_errors=True)  # ~800 MB with the exports
