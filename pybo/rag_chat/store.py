"""The vector store: Chroma through LangChain, with ownership in every query.

Each chunk is stored with `document_id`, `owner_id`, `page`, `chunk` and `filename`
metadata under the id `"{document_id}:{chunk}"`, so re-indexing overwrites instead of
duplicating, and deleting a document is one `where` delete. Every search carries an
`owner_id` filter (and a document filter when the user picked documents): a query can
never reach another user's chunks.
"""

from dataclasses import dataclass


@dataclass
class Hit:
    text: str
    document_id: int
    page: int
    chunk: int
    filename: str
    score: float

    def as_source(self, snippet_chars=200):
        return {
            "document_id": self.document_id,
            "filename": self.filename,
            "page": self.page,
            "chunk": self.chunk,
            "snippet": self.text[:snippet_chars],
            "score": round(self.score, 4),
        }


def owner_filter(owner_id, document_ids=None):
    """Chroma `where` for one owner, optionally limited to some of their documents."""
    if document_ids is None:
        return {"owner_id": int(owner_id)}
    ids = [int(i) for i in document_ids]
    return {"$and": [{"owner_id": int(owner_id)}, {"document_id": {"$in": ids}}]}


class VectorStore:
    """Chunks of all users in one Chroma collection, always queried per owner."""

    def __init__(self, chroma, embeddings):
        """`chroma`: a `langchain_chroma.Chroma` (built by `providers`) over `embeddings`."""
        self.embeddings = embeddings
        self.chroma = chroma

    @property
    def collection(self):
        return self.chroma._collection

    def add(self, document_id, owner_id, filename, chunks, vectors=None):
        """Write chunks (embedding them unless `vectors` are given)."""
        if not chunks:
            return
        ids = [f"{document_id}:{c.index}" for c in chunks]
        metadatas = [
            {
                "document_id": int(document_id),
                "owner_id": int(owner_id),
                "page": c.page,
                "chunk": c.index,
                "filename": filename,
            }
            for c in chunks
        ]
        texts = [c.text for c in chunks]
        if vectors is None:
            vectors = self.embeddings.embed_documents(texts)
        self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas, documents=texts)

    def delete_document(self, document_id):
        self.collection.delete(where={"document_id": int(document_id)})

    def count(self, document_id=None):
        if document_id is None:
            return self.collection.count()
        found = self.collection.get(where={"document_id": int(document_id)}, include=[])
        return len(found["ids"])

    def search(self, query, owner_id, document_ids=None, k=4):
        """Top-k chunks for `query` among the owner's (chosen) documents."""
        if document_ids is not None and not document_ids:
            return []
        vector = self.embeddings.embed_query(query)
        return self.search_by_vector(vector, owner_id, document_ids, k)

    def search_by_vector(self, vector, owner_id, document_ids=None, k=4):
        pairs = self.chroma.similarity_search_by_vector_with_relevance_scores(
            vector, k=k, filter=owner_filter(owner_id, document_ids)
        )
        return [
            Hit(
                doc.page_content,
                int(doc.metadata["document_id"]),
                int(doc.metadata["page"]),
                int(doc.metadata["chunk"]),
                doc.metadata.get("filename", ""),
                1.0 - float(dist),
            )
            for doc, dist in pairs
        ]
