"""The sentence around an indicator: what `iocfeed extract --with-context` shows an analyst.

A sentence ends at `.` `!` `?` followed by white space (not after an abbreviation such as `e.g.`
or a single letter), at a line that is a unit of its own (a short line: a heading, a line of an
IOC list), and before a list item, table row, heading, quote or blank line. Hard-wrapped prose
(long lines) runs on across line breaks. The result is whitespace-collapsed and at most
`MAX_SENTENCE` characters, cut around the indicator when longer.

All boundaries of a text are found by one regex pass (`Sentences`), so a lookup is a bisection.
"""

from __future__ import annotations

import bisect
import re

MAX_SENTENCE = 300
_WINDOW = 600  # a sentence reaches at most this far on either side of its indicator

# fmt: off
_ABBREVIATIONS = [
    "etc", "vs", "fig", "figs", "no", "nos", "approx", "inc", "ltd", "corp", "co", "mr", "ms", "dr",
    "st", "al", "cf", "resp", "ver", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec"
]
# fmt: on
# Checked after the full stop is matched (look-behinds before it would run at every position),
# one look-behind per abbreviation length (a look-behind has a fixed width).
_BY_LENGTH: dict[int, list[str]] = {}
for _word in _ABBREVIATIONS:
    _BY_LENGTH.setdefault(len(_word), []).append(_word)
_NOT_AFTER_ABBREVIATION = "".join(rf"(?<!\b(?i:{'|'.join(words)})\.)" for words in _BY_LENGTH.values())
# Every boundary starts with a newline or a full stop, so the pattern starts with that class and
# `re` skips to those characters in C, without trying the branches at every position.
_BOUNDARY_RE = re.compile(
    r"[\n.!?](?:"
    r"(?<=\n)(?:(?=(?P<short>[^\n]{0,49})(?:\n|\Z))"  # a short line follows: a unit of its own
    r"|(?=[ \t]*(?:[-*•+|#>]|[0-9]{1,3}[.)][ \t]|\r?\n)))"  # an item, a row, a blank line follows
    r"|(?<=[.!?])(?=[.!?\"'”’)\]]*\s)"  # a sentence's end: punctuation before white space,
    rf"(?<![^\w]\w\.){_NOT_AFTER_ABBREVIATION}[.!?]*[\"'”’)\]]*"  # not after `e.g.`, `etc.`
    r")"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


class Sentences:
    """Sentence lookups in one text: its boundaries are found once, then each lookup bisects."""

    def __init__(self, text: str) -> None:
        self.text = text
        ends: list[int] = []
        for boundary in _BOUNDARY_RE.finditer(text):
            ends.append(boundary.end())
            if (short := boundary.group("short")) is not None:  # bounded on both sides
                ends.append(boundary.end() + len(short))
        self.ends = sorted(ends)

    def around(self, start: int, end: int) -> str:
        """The sentence holding `text[start:end]`, whitespace-collapsed, at most MAX_SENTENCE chars."""
        text, ends = self.text, self.ends
        before = bisect.bisect_right(ends, start) - 1
        sentence_start = max(ends[before] if before >= 0 else 0, start - _WINDOW)
        after = bisect.bisect_left(ends, end)
        sentence_end = min(ends[after] if after < len(ends) else len(text), end + _WINDOW)
        sentence = _fit(text[sentence_start:start], text[start:end], text[end:sentence_end])
        return sentence.translate(_INVISIBLE) if _INVISIBLE_RE.search(sentence) else sentence


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding `text[start:end]` (for one lookup; `Sentences` for many)."""
    low = max(0, start - _WINDOW)
    return Sentences(text[low : end + _WINDOW]).around(start - low, end - low)


def _fit(before: str, value: str, after: str) -> str:
    """`before value after`, whitespace-collapsed; when too long, cut at spaces around the value
    and marked `…`."""
    joined = " ".join(f"{before}{value}{after}".split())
    if len(joined) <= MAX_SENTENCE:
        return joined
    value = " ".join(value.split())
    if len(value) >= MAX_SENTENCE:
        return value[: MAX_SENTENCE - 1] + "…"
    # Keep the space (or its absence) between the value and its neighbours.
    left = " " if before[-1:].isspace() else ""
    right = " " if after[:1].isspace() else ""
    before, after = " ".join(before.split()), " ".join(after.split())
    room = (MAX_SENTENCE - len(value) - 4) // 2
    head = before if len(before) <= room else "…" + before[-room:].partition(" ")[2]
    tail_room = MAX_SENTENCE - len(value) - len(head) - 3
    tail = after if len(after) <= tail_room else after[:tail_room].rpartition(" ")[0] + "…"
    return f"{head}{left if head else ''}{value}{right if tail else ''}{tail}"
