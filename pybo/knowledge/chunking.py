"""Split page text into chunks measured in the embedder's own tokens.

ko-sroberta reads at most 128 tokens (`max_seq_length`) and silently truncates the
rest, and a 500-character Korean chunk is usually longer than that. Chunks are
therefore sized with the embedder's tokenizer, leave room for its two special
tokens, and any piece the splitter could not cut small enough is cut again on
token boundaries, so no chunk is ever truncated by the embedder.
"""

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from pybo.knowledge.pdf import is_garbage

SEPARATORS = ["\n\n", "\n", ". ", "다. ", "? ", "! ", "。", ", ", " ", ""]
MIN_CHUNK_CHARS = 15
SPECIAL_TOKENS = 2  # <s> ... </s>


@dataclass
class Chunk:
    text: str
    page: int
    index: int
    anchor: int | None = None  # what a citation points at inside the source (an answer id)


def token_count(tokenizer, text):
    return len(tokenizer.encode(text, add_special_tokens=False, verbose=False))


def _cut_by_tokens(tokenizer, text, limit):
    """Cut `text` on token boundaries into pieces of at most `limit` tokens."""
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = encoding["offset_mapping"]
    pieces = []
    for start in range(0, len(offsets), limit):
        window = offsets[start : start + limit]
        pieces.append(text[window[0][0] : window[-1][1]])
    return pieces


def make_splitter(tokenizer, max_tokens, overlap):
    return RecursiveCharacterTextSplitter(
        chunk_size=max_tokens,
        chunk_overlap=min(overlap, max_tokens // 2),
        length_function=lambda text: token_count(tokenizer, text),
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def keep(text, min_chars=MIN_CHUNK_CHARS):
    """The chunk filter: drop empty, tiny and garbage pieces."""
    stripped = text.strip()
    return len(stripped) >= max(min_chars, 1) and not is_garbage(stripped)


def split_pages(pages, tokenizer, max_seq_length, overlap=24, min_chars=MIN_CHUNK_CHARS):
    """Chunks of every page, each at most `max_seq_length - 2` embedder tokens. Pieces
    shorter than `min_chars` are dropped (PDF debris; a board question may be short)."""
    limit = max_seq_length - SPECIAL_TOKENS
    splitter = make_splitter(tokenizer, limit, overlap)
    chunks = []
    for page in pages:
        text = " ".join(page.text.split(" "))  # keep newlines, they are separators
        # A page that fits whole is one chunk (most board posts): no splitting, one count.
        fits = len(text) <= limit * 4 and token_count(tokenizer, text) <= limit
        for piece in [text] if fits else splitter.split_text(text):
            parts = [piece]
            if not fits and token_count(tokenizer, piece) > limit:
                parts = _cut_by_tokens(tokenizer, piece, limit)
            for part in parts:
                if keep(part, min_chars):
                    chunks.append(Chunk(part.strip(), page.number, len(chunks), page.anchor))
    return chunks


class ApproxTokenizer:
    """A stand-in for an embedder's tokenizer where none is at hand (lexical-only
    measurements, USE): one "token" per `chars` characters, offsets included."""

    def __init__(self, chars=2):
        self.chars = chars
        self.name = f"approx-{chars}-chars"

    def encode(self, text, add_special_tokens=False, verbose=False):
        return list(range(-(-len(text) // self.chars)))

    def __call__(self, text, add_special_tokens=False, return_offsets_mapping=True,
                 verbose=False):  # fmt: skip
        spans = [(i, min(i + self.chars, len(text))) for i in range(0, len(text), self.chars)]
        return {"offset_mapping": spans}
