"""Join the lines a PDF wrapped inside a word, keep every other line break.

PDF text comes out one printed line at a time. Korean word processors wrap by
character, so a word is often cut in two ("만듭니\\n다"), and code identifiers are cut
too ("SECRE\\nT_KEY"). Left alone, snippets read "만듭니 다", BM25 sees two unknown
tokens and the embedder a broken sentence. For each single line break between two
word characters we decide whether the halves form one word:

- Hangul (or a digit / Latin word followed by Hangul, e.g. "2024\\n년"): Kiwi's
  spacing model reads the two halves written together; if it puts no space at the
  junction, they are one word. Kiwi inserts spaces Korean needs ("학교에갔다" ->
  "학교에 갔다"), so a line that ended at a real word boundary keeps its break.
- Latin and digits: a half that is part of an identifier (an underscore at the
  junction or inside a half, or ALLCAPS + ALLCAPS_), or a joined form that the
  document writes whole elsewhere while it never writes the halves as words.

Blank lines (paragraph breaks) and lines ending in punctuation are never touched.
"""

import re

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORD_END = re.compile(r"(\S+)$")
_WORD_START = re.compile(r"^(\S+)")
_TOKEN = re.compile(r"[0-9A-Za-z_\uac00-\ud7a3]+")
_IDENT_PART = re.compile(r"^[A-Z0-9_]+$")
CLOSING = set(",.)]}>%:;?!」』”’〉》")  # never starts a word: the break was inside one
OPENING = set("([{<「『“‘〈《")  # never ends a word
CONTEXT_WORDS = 3  # words of each line that Kiwi sees around a junction


def _is_word_char(ch):
    return ch.isalnum() or ch == "_"


def _latin_joins(left, right, vocabulary):
    """The rule for a Latin/digit junction, e.g. "SECRE" + "T_KEY"."""
    if left + right in vocabulary:
        return True
    if left in vocabulary and right in vocabulary:
        return False
    if left.endswith("_") or right.startswith("_"):
        return True
    # An ALLCAPS constant cut in two: "SECRE" + "T_KEY", "MAX_UP" + "LOAD_MB".
    return ("_" in left + right) and bool(_IDENT_PART.match(left) and _IDENT_PART.match(right))


def vocabulary_of(texts):
    """Words a document writes whole: every token that is not at a line's edge."""
    words = set()
    for text in texts:
        for line in text.split("\n"):
            for word in line.split()[1:-1]:
                words.update(_TOKEN.findall(word))
    return words


def _junctions(lines):
    """Indexes i where the break between lines[i] and lines[i + 1] may be inside a word."""
    found = []
    for index in range(len(lines) - 1):
        left, right = lines[index].rstrip(), lines[index + 1].lstrip()
        if not left or not right or lines[index] != left or lines[index + 1] != right:
            continue  # blank line (paragraph) or explicit spaces at the break
        if left[-1] in OPENING or right[0] in CLOSING:
            found.append(index)
        elif _is_word_char(left[-1]) and _is_word_char(right[0]):
            found.append(index)
    return found


def _kiwi_window(left_line, right_line):
    """(text written with no space at the junction, junction offset)."""
    left = " ".join(left_line.split()[-CONTEXT_WORDS:])
    right = " ".join(right_line.split()[:CONTEXT_WORDS])
    return left + right, len(left)


def _space_at(original, spaced, junction):
    """Whether Kiwi's `spaced` version of `original` has a space inserted at `junction`."""
    o = 0
    for i, ch in enumerate(original):
        if i == junction:
            return o < len(spaced) and spaced[o] == " "
        while o < len(spaced) and spaced[o] != ch:
            o += 1  # a space Kiwi inserted
        o += 1
    return False


def kiwi_says_one_word(windows, kiwi=None):
    """For each (text, junction): True when Kiwi writes no space at the junction."""
    if not windows:
        return []
    from pybo.knowledge.lexical import kiwi as shared_kiwi
    from pybo.knowledge.lexical import kiwi_lock

    if kiwi is None:
        kiwi = shared_kiwi()
    with kiwi_lock:  # one analyzer per process, shared with the BM25 index
        spaced = list(kiwi.space([text for text, _ in windows], reset_whitespace=False))
    return [
        not _space_at(text, out, junction)
        for (text, junction), out in zip(windows, spaced, strict=True)
    ]


def join_wrapped_lines(text, vocabulary=None, kiwi=None):
    """`text` with the line breaks that cut a word removed. `vocabulary` (a set of
    words seen in the whole document) lets the Latin rule see a word written whole."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    junctions = _junctions(lines)
    if not junctions:
        return text
    if vocabulary is None:
        vocabulary = vocabulary_of([text])
    join, ask = {}, []
    for index in junctions:
        if lines[index][-1] in OPENING or lines[index + 1][0] in CLOSING:
            join[index] = True
            continue
        left = _WORD_END.search(lines[index]).group(1)
        right = _WORD_START.search(lines[index + 1]).group(1)
        left_word = (_TOKEN.findall(left) or [left])[-1]
        right_word = (_TOKEN.findall(right) or [right])[0]
        if left_word[-1:].isdigit() and right_word[:1].isdigit():
            join[index] = True  # a number cut in two ("19" + "44년")
        elif _HANGUL.search(right_word[:1]) or _HANGUL.search(left_word[-1:]):
            ask.append(index)
        else:
            join[index] = _latin_joins(left_word, right_word, vocabulary)
    verdicts = kiwi_says_one_word([_kiwi_window(lines[i], lines[i + 1]) for i in ask], kiwi=kiwi)
    join.update(zip(ask, verdicts, strict=True))
    out = [lines[0]]
    for index in range(1, len(lines)):
        separator = "" if join.get(index - 1) else "\n"
        out.append(separator + lines[index])
    return "".join(out)


def join_pages(texts, kiwi=None):
    """`join_wrapped_lines` over a document's pages with one shared vocabulary."""
    vocabulary = vocabulary_of(texts)
    return [join_wrapped_lines(text, vocabulary, kiwi) for text in texts]
