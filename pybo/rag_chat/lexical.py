"""Korean lexical retrieval: Kiwi morphemes scored with BM25 (bm25s).

Korean glues particles and endings to words (`은행은`, `은행에서`), so whitespace
tokens rarely match a query; Kiwi splits them into morphemes and we keep the content
ones (nouns, verb/adjective stems, roots, foreign words, numbers, hanja,
determiners). Numbers lose their thousands separators (`5,000` -> `5000`) and
Latin text is lower-cased, so mixed Korean/English text, years, amounts and article
numbers are searchable. Measured on KorQuAD dev (paragraph retrieval): whitespace
BM25 R@1 0.748, these morphemes R@1 0.892 with bm25s defaults (k1 1.5, b 0.75) and
0.901 with k1 0.9, b 0.4; on our chunks, k1 0.7 / b 0.4 measured best (the defaults).
"""

import threading

KEEP_TAGS = ("NN", "VV", "VA", "XR", "SL", "SN", "SH", "MM", "W_")

_kiwi = None
_load_lock = threading.Lock()
_use_lock = threading.Lock()  # Kiwi objects are not documented as thread-safe


def kiwi():
    """The process-wide Kiwi analyzer (its model loads once, ~1 s)."""
    global _kiwi
    if _kiwi is None:
        with _load_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi()
    return _kiwi


def _normalize(token):
    form = token.form
    if token.tag == "SN":
        form = form.replace(",", "")
    return form.lower()


def analyze(text):
    """Content morphemes of `text`, normalized for matching."""
    return analyze_many([text])[0]


def analyze_many(texts):
    """`analyze` for a batch (Kiwi tokenizes a list faster than one by one)."""
    texts = [t if t and t.strip() else " " for t in texts]
    analyzer = kiwi()
    with _use_lock:
        results = list(analyzer.tokenize(texts))
    return [[_normalize(t) for t in result if t.tag.startswith(KEEP_TAGS)] for result in results]


class LexicalIndex:
    """BM25 over pre-analyzed chunks; scores every chunk for a query in one sparse pass."""

    def __init__(self, keys, token_lists, k1=0.7, b=0.4):
        import bm25s

        self.keys = list(keys)
        self.position = {key: i for i, key in enumerate(self.keys)}
        self._bm25 = None
        if self.keys:
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            self._bm25.index([tokens or [""] for tokens in token_lists], show_progress=False)

    def __len__(self):
        return len(self.keys)

    def scores(self, query_tokens):
        """BM25 score of every chunk (a numpy array aligned with `keys`)."""
        import numpy as np

        if self._bm25 is None or not query_tokens:
            return np.zeros(len(self.keys), dtype=np.float32)
        return self._bm25.get_scores(query_tokens)

    def top(self, query_tokens, k, allowed=None):
        """[(key, score)] of the best `k` chunks with a positive score, optionally only
        those whose key passes `allowed(key)`."""
        return self.top_scores(self.scores(query_tokens), k, allowed)

    def top_scores(self, scores, k, allowed=None):
        """`top` over scores already computed with `scores` (one BM25 pass per query)."""
        import numpy as np

        if allowed is not None:
            mask = np.fromiter((allowed(key) for key in self.keys), bool, len(self.keys))
            scores = np.where(mask, scores, 0.0)
        count = min(k, int((scores > 0).sum()))
        if count == 0:
            return []
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best])]
        return [(self.keys[i], float(scores[i])) for i in best]
