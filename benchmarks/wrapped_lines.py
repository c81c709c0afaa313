"""How many words cut by a PDF's line wrap `pybo.knowledge.lines` puts back together.

    python benchmarks/wrapped_lines.py [--width 40] [--paragraphs 2000]

KorQuAD dev paragraphs are wrapped by character at a fixed width, as Korean word
processors do (a space that falls on the break disappears, as in extracted PDF text).
Then each line break becomes a space (what the snippets showed before) or goes through
`join_pages`. Figures: the share of words cut by the wrap that come out whole, the share
of real word boundaries at a break that were wrongly glued, and overall word accuracy.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KORQUAD = next(
    (p / "shared/data/korquad/KorQuAD_v1.0_dev.json" for p in ROOT.parents
     if (p / "shared/data/korquad/KorQuAD_v1.0_dev.json").is_file()),
    ROOT.parent / "shared/data/korquad/KorQuAD_v1.0_dev.json",
)  # beside the repository, or beside a worktree's parent  # fmt: skip


def wrap(text, width):
    """Character wrap; a space at a break is dropped."""
    lines, line = [], ""
    for ch in " ".join(text.split()):
        if len(line) == width:
            lines.append(line.rstrip())
            line = "" if ch == " " else ch
        else:
            line += ch
    lines.append(line)
    return "\n".join(lines)


def boundaries(text):
    """(word spans in non-space character offsets, set of boundary offsets)."""
    spans, position = [], 0
    for word in text.split():
        spans.append((position, position + len(word)))
        position += len(word)
    return spans, {end for _, end in spans} | {0}


def score(original, wrapped, output):
    spans, _ = boundaries(original)
    _, got = boundaries(output)
    cuts = set()  # offsets of line breaks inside a word
    position = 0
    for line in wrapped.split("\n")[:-1]:
        position += len("".join(line.split()))
        cuts.add(position)
    _, real = boundaries(original)
    cut_words = [s for s in spans if any(s[0] < c < s[1] for c in cuts)]
    ok = [s for s in spans if s[0] in got and s[1] in got and not any(s[0] < b < s[1] for b in got)]
    ok_set = set(ok)
    breaks_at_boundary = [c for c in cuts if c in real] + [
        p for p in _line_end_offsets(wrapped) if p in real and p not in cuts
    ]
    glued = [b for b in breaks_at_boundary if b not in got]
    return (
        len(spans),
        len(ok),
        len(cut_words),
        sum(s in ok_set for s in cut_words),
        len(breaks_at_boundary),
        len(glued),
    )


def _line_end_offsets(wrapped):
    offsets, position = [], 0
    for line in wrapped.split("\n")[:-1]:
        position += len("".join(line.split()))
        offsets.append(position)
    return offsets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=40)
    parser.add_argument("--paragraphs", type=int, default=2000)
    args = parser.parse_args()
    from pybo.knowledge.lines import join_pages

    data = json.loads(KORQUAD.read_text())
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]][: args.paragraphs]
    wrapped = [wrap(p, args.width) for p in paragraphs]
    join_pages(wrapped[:1])  # load Kiwi outside the timing
    started = time.perf_counter()
    joined = join_pages(wrapped)
    seconds = time.perf_counter() - started
    totals = {"before": [0] * 6, "after": [0] * 6}
    for original, lines, out in zip(paragraphs, wrapped, joined, strict=True):
        for name, text in (("before", lines.replace("\n", " ")), ("after", out.replace("\n", " "))):
            totals[name] = [
                a + b for a, b in zip(totals[name], score(original, lines, text), strict=True)
            ]
    print(
        f"{len(paragraphs)} KorQuAD paragraphs wrapped at {args.width} characters, "
        f"{sum(w.count(chr(10)) for w in wrapped):,} line breaks; join: {seconds:.1f} s"
    )
    for name, (words, ok, cut, restored, at_boundary, glued) in totals.items():
        print(
            f"{name:6s}: words correct {ok / words:6.1%}  cut words restored "
            f"{restored / cut:6.1%} ({restored:,}/{cut:,})  real breaks glued "
            f"{glued / at_boundary:5.1%} ({glued:,}/{at_boundary:,})"
        )


if __name__ == "__main__":
    main()
