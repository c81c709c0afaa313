"""The RAG feature: documents (upload, ingestion job, pages) and the chat
(conversations, the chain, the local chat model, the streaming view, `flask rag`).

It connects the Flask-free knowledge layer (`pybo.knowledge`) to the app: `runtime`
builds the per-app objects (providers, retriever, chat model, generation gate, job
runner) and `chunks` is the database side of the lexical index.
"""
