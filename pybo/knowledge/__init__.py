"""The knowledge layer: indexes any source (user PDFs, the shared library, board posts)
and searches it, with no Flask in sight.

- `pdf`: checks and page text extraction; `chunking`: chunks in embedder tokens;
- `lexical`: Kiwi morphemes and BM25; `store`: Chroma vectors; `fusion` and `hybrid`:
  both retrievers over the same chunks, fused;
- `ingest`: PDF -> chunks -> both indexes, with progress; `evaluation`: retrieval metrics;
- `providers`: the one module that imports transformers, sentence-transformers and
  chromadb; everything else receives built objects.

The app side (tables, per-app objects, jobs, pages) lives in `pybo.rag_chat` and
`pybo.assistant`; a test checks that nothing here imports Flask or the app.
"""
