"""The vector store: Chroma through LangChain, one collection per space.

A space is one reader audience: a user's private documents (`u17`), the shared
library (`shared`), the board (`board`). Each space's chunks live in their own
collection (`{prefix}_{space}`), so a query can only reach the spaces the caller
names: isolation is structural, and searching a whole space needs no metadata filter
(a `where` over a shared 100k-chunk collection cost ~28 ms per query; an unfiltered
query on its own collection a few ms). A chunk's id is its key `"{source}:{chunk}"`
(source `12` for document 12, `q7` for question 7), so re-indexing overwrites instead
of duplicating; its metadata names its source, so a source is deleted with one `where`.

Search results are keys and scores only: the caller maps keys to its own chunk rows
(text, title, page), which are the source of truth.
"""

import threading
from collections.abc import Mapping

import numpy as np

# A scope of at most this many chunks is ranked exactly: fetching its vectors by id
# and a dot product take ~3 ms, while Chroma's filtered HNSW query over a 100k-chunk
# collection took ~55 ms for a 100-chunk document.
EXACT_SCOPE_MAX = 5000


MAX_WRITE = 5000  # vectors per Chroma call (its limit is 5,461)


def chunk_key(source, chunk):
    return f"{source}:{int(chunk)}"


def _cosines(embeddings, vector):
    matrix = np.asarray(embeddings, dtype=np.float32)
    query = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    return matrix @ query / np.where(norms == 0, 1.0, norms)


def source_filter(sources):
    sources = [str(s) for s in sources]
    return {"source": sources[0]} if len(sources) == 1 else {"source": {"$in": sources}}


def delete_filter(source):
    """All vectors of a source; those written before sources were named (document ids)
    carry only `document_id`."""
    where = {"source": str(source)}
    if str(source).isdigit():
        where = {"$or": [where, {"document_id": int(source)}]}
    return where


class VectorStore:
    """Per-space Chroma collections behind one object."""

    def __init__(self, open_collection, embeddings, prefix="pybo_chunks"):
        """`open_collection(name)` returns a `langchain_chroma.Chroma` over `embeddings`
        (built by `providers`, the only module that imports chromadb)."""
        self.embeddings = embeddings
        self.prefix = prefix
        self._open = open_collection
        self._collections = {}
        self._lock = threading.Lock()

    def name_for(self, space):
        return f"{self.prefix}_{space}"

    def chroma(self, space):
        name = self.name_for(space)
        with self._lock:
            if name not in self._collections:
                self._collections[name] = self._open(name)
            return self._collections[name]

    def collection(self, space):
        return self.chroma(space)._collection

    def add(self, space, source, chunks, vectors=None, metadata=None):
        """Write a source's chunks (embedding them unless `vectors` are given).
        `metadata` is stored with every chunk (ids the caller wants to see again)."""
        if not chunks:
            return
        if vectors is None:
            vectors = self.embeddings.embed_documents([c.text for c in chunks])
        self.add_many(space, [(source, chunks, vectors, metadata)])

    def add_many(self, space, items):
        """Write several sources' chunks to one space: [(source, chunks, vectors, metadata)],
        vectors given. Chroma's cost is mostly per call, so a bulk re-index writes a whole
        batch of sources at once (in slices under Chroma's largest batch)."""
        ids, vectors, metadatas, texts = [], [], [], []
        for source, chunks, batch, metadata in items:
            extra = {k: v for k, v in (metadata or {}).items() if v is not None}
            for chunk, vector in zip(chunks, batch, strict=True):
                ids.append(chunk_key(source, chunk.index))
                vectors.append(vector)
                texts.append(chunk.text)
                metadatas.append({**extra, "space": space, "source": str(source),
                                  "page": chunk.page, "chunk": chunk.index})  # fmt: skip
        collection = self.collection(space) if ids else None
        for start in range(0, len(ids), MAX_WRITE):
            part = slice(start, start + MAX_WRITE)
            collection.upsert(
                ids=ids[part], embeddings=vectors[part], metadatas=metadatas[part],
                documents=texts[part],
            )  # fmt: skip

    def delete_source(self, space, source):
        self.collection(space).delete(where=delete_filter(source))

    def move(self, source, old_space, new_space):
        """Move a source's vectors to another space's collection, as they are."""
        got = self.collection(old_space).get(
            where=delete_filter(source), include=["embeddings", "documents", "metadatas"]
        )
        if got["ids"]:
            metadatas = [{**meta, "space": new_space, "source": str(source)}
                         for meta in got["metadatas"]]  # fmt: skip
            self.collection(new_space).upsert(
                ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                metadatas=metadatas,
            )  # fmt: skip
        self.delete_source(old_space, source)

    def clear(self, space):
        """Drop a space's collection (a full rebuild follows)."""
        chroma = self.chroma(space)
        chroma.delete_collection()
        with self._lock:
            self._collections.pop(self.name_for(space), None)

    def delete_keys(self, space, keys):
        if keys:
            self.collection(space).delete(ids=list(keys))

    def source_vectors(self, space, source):
        """{key: (text, vector)} of a source's chunks (to reuse unchanged ones)."""
        got = self.collection(space).get(
            where={"source": str(source)}, include=["embeddings", "documents"]
        )
        return {
            key: (text, list(vector))
            for key, text, vector in zip(
                got["ids"], got["documents"], got["embeddings"], strict=True
            )
        }

    def count(self, space, source=None):
        collection = self.collection(space)
        if source is None:
            return collection.count()
        return len(collection.get(where={"source": str(source)}, include=[])["ids"])

    def search(self, query, space, scope=None, k=4):
        """[(key, cosine)] of the top-k chunks for `query` in `space`; see `search_by_vector`."""
        if scope is not None and not scope:
            return []
        return self.search_by_vector(self.embeddings.embed_query(query), space, scope, k)

    def search_by_vector(self, vector, space, scope=None, k=4):
        """[(key, cosine)], best first. `scope`: None for the whole space, a list of
        sources, or a mapping {source: chunk_count} (counts enable the exact path)."""
        if isinstance(scope, Mapping) and sum(scope.values()) <= EXACT_SCOPE_MAX:
            return self._exact(vector, space, scope, k)
        # No count() first: Chroma (1.5) answers an empty collection, or fewer chunks than
        # k, with what it has, and counting cost 32 ms a query at 370,000 chunks.
        got = self.collection(space).query(
            query_embeddings=[list(vector)],
            n_results=k,
            where=None if scope is None else source_filter(scope),
            include=["distances"],
        )
        return [
            (key, 1.0 - float(d)) for key, d in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    def cosine(self, vector, space, keys):
        """{key: cosine} for chunk keys (missing keys are left out)."""
        if not keys:
            return {}
        got = self.collection(space).get(ids=list(keys), include=["embeddings"])
        if not got["ids"]:
            return {}
        return dict(zip(got["ids"], _cosines(got["embeddings"], vector).tolist(), strict=True))

    def _exact(self, vector, space, scope, k):
        """Exact cosine ranking of a small scope, fetched by chunk id."""
        ids = [chunk_key(source, i) for source, count in scope.items() for i in range(int(count))]
        if not ids:
            return []
        scores = self.cosine(vector, space, ids)
        return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
