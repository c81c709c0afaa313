"""The vector store: Chroma through LangChain, one collection per owner.

Each user's chunks live in their own collection (`{prefix}_u{owner_id}`), so a query
can only ever reach that user's chunks: isolation is structural, and searching all
of a user's documents needs no metadata filter (a `where` over a shared 100k-chunk
collection cost ~28 ms per query; an unfiltered per-owner query a few ms). Each chunk
carries `document_id`, `owner_id`, `page`, `chunk` and `filename` metadata under the
id `"{document_id}:{chunk}"`, so re-indexing overwrites instead of duplicating and
deleting a document is one `where` delete.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# A scope of at most this many chunks is ranked exactly: fetching its vectors by id
# and a dot product take ~3 ms, while Chroma's filtered HNSW query over a 100k-chunk
# collection took ~55 ms for a 100-chunk document.
EXACT_SCOPE_MAX = 5000


@dataclass
class Hit:
    text: str
    document_id: int
    page: int
    chunk: int
    filename: str
    score: float
    lexical_score: float = 0.0

    def as_source(self, snippet_chars=200):
        return {
            "document_id": self.document_id,
            "filename": self.filename,
            "page": self.page,
            "chunk": self.chunk,
            "snippet": self.text[:snippet_chars],
            "score": round(self.score, 4),
        }


def _cosines(embeddings, vector):
    matrix = np.asarray(embeddings, dtype=np.float32)
    query = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    return matrix @ query / np.where(norms == 0, 1.0, norms)


def document_filter(scope):
    ids = [int(i) for i in scope]
    return {"document_id": ids[0]} if len(ids) == 1 else {"document_id": {"$in": ids}}


class VectorStore:
    """Per-owner Chroma collections behind one object."""

    def __init__(self, open_collection, embeddings, prefix="pybo_chunks"):
        """`open_collection(name)` returns a `langchain_chroma.Chroma` over `embeddings`
        (built by `providers`, the only module that imports chromadb)."""
        self.embeddings = embeddings
        self.prefix = prefix
        self._open = open_collection
        self._collections = {}
        self._lock = threading.Lock()

    def name_for(self, owner_id):
        return f"{self.prefix}_u{int(owner_id)}"

    def chroma(self, owner_id):
        name = self.name_for(owner_id)
        with self._lock:
            if name not in self._collections:
                self._collections[name] = self._open(name)
            return self._collections[name]

    def collection(self, owner_id):
        return self.chroma(owner_id)._collection

    def add(self, document_id, owner_id, filename, chunks, vectors=None):
        """Write chunks (embedding them unless `vectors` are given)."""
        if not chunks:
            return
        texts = [c.text for c in chunks]
        if vectors is None:
            vectors = self.embeddings.embed_documents(texts)
        self.collection(owner_id).upsert(
            ids=[f"{document_id}:{c.index}" for c in chunks],
            embeddings=vectors,
            metadatas=[
                {
                    "document_id": int(document_id),
                    "owner_id": int(owner_id),
                    "page": c.page,
                    "chunk": c.index,
                    "filename": filename,
                }
                for c in chunks
            ],  # fmt: skip
            documents=texts,
        )

    def delete_document(self, document_id, owner_id):
        self.collection(owner_id).delete(where={"document_id": int(document_id)})

    def count(self, owner_id, document_id=None):
        collection = self.collection(owner_id)
        if document_id is None:
            return collection.count()
        return len(collection.get(where={"document_id": int(document_id)}, include=[])["ids"])

    def search(self, query, owner_id, scope=None, k=4):
        """Top-k chunks for `query` among the owner's documents.

        `scope`: None for all of them, a list of document ids, or a mapping
        {document_id: chunk_count} (counts from the database enable the exact path)."""
        if scope is not None and not scope:
            return []
        return self.search_by_vector(self.embeddings.embed_query(query), owner_id, scope, k)

    def search_by_vector(self, vector, owner_id, scope=None, k=4):
        if isinstance(scope, Mapping) and sum(scope.values()) <= EXACT_SCOPE_MAX:
            return self._exact(vector, owner_id, scope, k)
        where = None if scope is None else document_filter(scope)
        pairs = self.chroma(owner_id).similarity_search_by_vector_with_relevance_scores(
            vector, k=k, filter=where
        )
        hits = [
            Hit(doc.page_content, int(doc.metadata["document_id"]), int(doc.metadata["page"]),
                int(doc.metadata["chunk"]), doc.metadata.get("filename", ""), 1.0 - float(dist))
            for doc, dist in pairs
        ]  # fmt: skip
        return self._owned(hits, owner_id, pairs)

    @staticmethod
    def _owned(hits, owner_id, pairs):
        """Belt and braces: drop anything not tagged with this owner."""
        return [
            hit
            for hit, (doc, _) in zip(hits, pairs, strict=True)
            if int(doc.metadata["owner_id"]) == int(owner_id)
        ]

    def cosine(self, vector, owner_id, keys):
        """{key: cosine} for chunk keys `"{document_id}:{chunk}"` (missing keys are left out)."""
        if not keys:
            return {}
        got = self.collection(owner_id).get(ids=list(keys), include=["embeddings"])
        if not got["ids"]:
            return {}
        return dict(zip(got["ids"], _cosines(got["embeddings"], vector).tolist(), strict=True))

    def _exact(self, vector, owner_id, scope, k):
        """Exact cosine ranking of a small scope, fetched by chunk id."""
        ids = [f"{int(doc)}:{i}" for doc, count in scope.items() for i in range(int(count))]
        if not ids:
            return []
        got = self.collection(owner_id).get(
            ids=ids, include=["embeddings", "metadatas", "documents"]
        )
        if not got["ids"]:
            return []
        scores = _cosines(got["embeddings"], vector)
        hits = []
        for i in np.argsort(-scores)[:k]:
            meta = got["metadatas"][i]
            if int(meta["owner_id"]) != int(owner_id):
                continue
            hits.append(
                Hit(got["documents"][i], int(meta["document_id"]), int(meta["page"]),
                    int(meta["chunk"]), meta.get("filename", ""), float(scores[i]))
            )  # fmt: skip
        return hits
