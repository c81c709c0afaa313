"""Local RAG chat: PDFs -> ko-sroberta vectors in Chroma -> Gemma-3n answers.

The core (`pdf`, `chunking`, `store`, `generation`, `chain`, `ingest`) takes its
collaborators as arguments and never imports Flask; `providers` is the one module
that imports transformers / sentence-transformers / chromadb. `service`, `jobs`,
`views` and `cli` connect the core to the app.
"""
