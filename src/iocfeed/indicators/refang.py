"""Undo the defanging that analysts apply so an indicator cannot be clicked or resolved by accident.

Advisories write `hxxp://evil[.]com`, `1[.]2[.]3[.]4`, `user[@]evil(dot)com` and worse; feeds copy
them. `refang` turns all of those back into the plain value. It is a table of compiled patterns
applied in order, so a new defang style is one new row, not new code.

`refang` works on free text as well as on one value. When the text is a single token (no white
space inside), it also strips what surrounds a value pasted from prose or a table: quotes, angle
brackets, a whole-value pair of square brackets, trailing sentence punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# The defanged spellings of URL schemes and what they stand for. `meow://` is a joke spelling some
# researchers use for http; `fxp` is the ftp counterpart of `hxxp`.
_SCHEMES: dict[str, str] = {
    "hxxp": "http",
    "hxxps": "https",
    "hxxxp": "http",
    "hxxxps": "https",
    "h**p": "http",
    "h**ps": "https",
    "h__p": "http",
    "h__ps": "https",
    "fxp": "ftp",
    "fxps": "ftps",
    "meow": "http",
    "meows": "https",
}


def _scheme(match: re.Match[str]) -> str:
    return _SCHEMES[match.group(1).lower()]


_Replacement = str | Callable[[re.Match[str]], str]

# (pattern, replacement), applied top to bottom. Order matters: zero-width characters go first so
# they cannot hide a pattern; scheme-separator forms go before the bare `[:]` form.
_TABLE: tuple[tuple[re.Pattern[str], _Replacement], ...] = (
    # Zero-width space/non-joiner/joiner, word joiner, BOM: invisible, pasted in to break matching;
    # the soft hyphen (`&shy;`) too: an invisible line-break opportunity inside long values.
    (re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]"), ""),
    # Schemes: only when a (possibly defanged) `:` follows, so words like "meow" in prose survive.
    (
        re.compile(r"(?i)(?<![a-z0-9])(hxxxps?|hxxps?|h\*\*ps?|h__ps?|fxps?|meows?)(?=\s*(?:[\[({]\s*:|:))"),
        _scheme,
    ),
    # `[://]`, `[:]//`, `(://)`, `{://}`.
    (re.compile(r"[\[({]\s*:\s*//\s*[\])}]"), "://"),
    (re.compile(r"[\[({]\s*:\s*[\])}]"), ":"),
    # `[/]` as a path separator.
    (re.compile(r"[\[({]\s*/\s*[\])}]"), "/"),
    # Dots: `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}`, with or without spaces inside or around.
    (re.compile(r"(?i)\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*"), "."),
    # An escaped dot, as regex-minded people write it: `evil\.com`.
    (re.compile(r"\\\."), "."),
    # ` dot ` spelled out, only between label-like tokens (`evil dot com`), never at a word's edge.
    (re.compile(r"(?i)(?<=[a-z0-9_-])\s+dot\s+(?=[a-z0-9_-])"), "."),
    # At signs: `[@]` `(@)` `{@}` `[at]` `(at)` `{at}`.
    (re.compile(r"(?i)\s*[\[({]\s*(?:@|at)\s*[\])}]\s*"), "@"),
)

# Every row of the table needs one of these characters or (lower-cased) words to match. Most
# values have none, and these checks cost a fraction of running the table (or of one regex with
# case-insensitive alternatives, which is slower than all of them together).
_TRIGGER_CHARS = re.compile("[\\[({\\\\\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_TRIGGER_WORDS = ("hxx", "h**", "h__", "fxp", "meow", "dot")


def _needs_table(text: str) -> bool:
    if _TRIGGER_CHARS.search(text):
        return True
    lowered = text.lower()
    return any(word in lowered for word in _TRIGGER_WORDS)


_SPACE = re.compile(r"\s")

# What may wrap a single pasted value. Closing brackets are only stripped when unbalanced inside,
# so `http://en.wikipedia.org/wiki/Foo_(bar)` keeps its parenthesis.
_LEADING_JUNK = "\"'`<(“‘«"
_TRAILING_PUNCT = ".,;!?"  # not ":", which ends IPv6 addresses like `fe80::`
_CLOSERS = {")": "(", ">": "<", "]": "[", "}": "{"}
_QUOTES = "\"'`”’»"
_EDGE_START = frozenset("[" + _LEADING_JUNK)
_EDGE_END = frozenset(_TRAILING_PUNCT + _QUOTES + "".join(_CLOSERS))


def refang(text: str) -> str:
    """Return `text` with every known defanging undone (see the module doc for the forms).

    Passes repeat until nothing changes, so the result is a fixed point (`evil[[.]]com` needs
    two). That ends: every change but a scheme rename shortens the text, and renamed schemes
    (`http`, `ftp`) match no row again.
    """
    while True:
        before = text
        if _needs_table(text):
            for pattern, replacement in _TABLE:
                text = pattern.sub(replacement, text)
        text = text.strip()
        # Most values neither start nor end with anything to strip: two lookups, not the loop.
        if text and (text[0] in _EDGE_START or text[-1] in _EDGE_END) and not _SPACE.search(text):
            text = _strip_single_value(text)
        if text == before:
            return text


def _strip_single_value(value: str) -> str:
    """Strip quotes, brackets and trailing punctuation around one value, until nothing changes."""
    while True:
        before = value
        # A whole-value pair of square brackets: `[1.2.3.4]`, `[evil.com]`. A bracketed IPv6
        # literal loses its brackets too, which is what every consumer wants for a bare address.
        if value.startswith("[") and value.endswith("]") and value.count("[") == 1:
            value = value[1:-1]
        while value and value[0] in _LEADING_JUNK:
            value = value[1:]
        while value:
            last = value[-1]
            if (
                last in _TRAILING_PUNCT
                or last in _QUOTES
                or (last in _CLOSERS and value.count(_CLOSERS[last]) < value.count(last))
            ):
                value = value[:-1]
            else:
                break
        if value == before:
            return value
