"""The extractor's judgement calls: when an indicator-shaped span of prose is not an indicator.

Each rule is a small pure function of the text around a candidate, documented with the decision
it encodes (the module doc of `extract` lists them for users):

- File names are not domains. A plain (not defanged) name under a TLD that is also a common file
  extension (`readme.md`, `payload.zip`, `bot.py`, `Safari.app`, `notes.one`) is a file; it is a
  domain when defanged (`payload[.]zip`), when it is a URL's host or an e-mail address's domain
  (then it is reported as that URL or address), or when it starts with `www.`. TLDs that are
  both but far more often malicious hosts than file names in threat reports (`.cc`, `.ai`, `.ml`,
  `.ws`) are not on the list.
- Dotted code identifiers are not domains: `System.Net`, `attack.The` (a last label written
  Capitalized, as identifiers and run-together sentences are, and domains in reports are not),
  and reverse-DNS package ids such as `com.tencent.mm` (a generic TLD as the first of three or
  more labels), unless defanged.
- ` dot ` spelled out counts only between non-stop-words and before a TLD that is not also an
  English word: `evil dot com` is a domain, `the dot com bubble` and `the red dot is` are not.
- Version numbers are not IPv4 addresses. A plain IPv4-shaped value is a version when a version
  cue comes right before it (`version`, `v`, `build`, `firmware`, `prior to`, `through`, ...), or
  `or later`/`and earlier` right after it, or it follows a `product/` (`Chrome/120.0.0.0`), or it
  continues a list that started with a version (`versions 1.2.3.4, 1.2.3.5 and 1.2.3.6`). A
  defanged value is never a version.
- GUIDs are not MD5s: 32 hex digits in braces, or right after `GUID`, `UUID`, `CLSID`, a
  "... ID" label, are skipped. Hyphenated GUIDs never match (their runs are too short).
"""

from __future__ import annotations

import re

from iocfeed.indicators.extract_patterns import DEFANG_MARK_RE

FILE_EXTENSION_TLDS: frozenset[str] = frozenset(
    {"app", "cab", "cat", "data", "java", "md", "mk", "mov", "one", "pl", "pm", "ps", "pub", "py", "rs"}
    | {"sh", "so", "tf", "zip"}
)


def is_defanged(raw: str) -> bool:
    return DEFANG_MARK_RE.search(raw) is not None


def is_file_name(domain: str, raw: str) -> bool:
    """`readme.md` (a file), not `readme[.]md` or `www.example.zip` (domains)."""
    tld = domain.rpartition(".")[2]
    return tld in FILE_EXTENSION_TLDS and not domain.startswith("www.") and not is_defanged(raw)


_PACKAGE_ROOTS = frozenset({"com", "org", "net", "edu", "gov", "mil", "int", "io", "co"})


def is_code_identifier(raw: str) -> bool:
    """`System.Net`, `attack.The` (last label Capitalized), `com.tencent.mm` (a reverse-DNS
    package or bundle id: three or more labels under a generic TLD as the first), not defanged."""
    if is_defanged(raw):
        return False
    first, _, rest = raw.partition(".")
    last = rest.rpartition(".")[2]
    if len(last) > 1 and last[0].isupper() and not last.isupper():
        return True
    return first in _PACKAGE_ROOTS and rest.count(".") >= 1


_SPELLED_DOT_RE = re.compile(r"(?i)[ \t]dot[ \t]")
# fmt: off
_STOPWORDS = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "is", "are", "was", "were", "be", "been", "of",
    "to", "in", "on", "at", "by", "for", "with", "and", "or", "not", "no", "as", "it", "its", "from",
    "into", "per", "via", "one", "each", "every", "any", "same", "red", "blue", "green", "black",
    "white", "small", "single", "little", "big", "tiny", "grey", "gray", "final", "last", "first",
    "next", "decimal", "period", "full", "dot", "dots"
})
# fmt: on
# Two-letter country codes and gTLDs that are also English words, likely after "dot" in prose.
# fmt: off
_WORD_TLDS = frozenset({
    "is", "in", "it", "to", "at", "be", "by", "me", "my", "no", "so", "us", "do", "go", "am", "an",
    "as", "he", "hi", "if", "id", "la", "ma", "mo", "ne", "nu", "pa", "re", "se", "st", "tv", "how",
    "now", "new", "top", "win", "fun", "one", "run", "red", "blue", "pink", "black", "green", "here",
    "you", "and", "bar", "buy", "best", "day"
})
# fmt: on


def is_spelled_dot_prose(raw: str, domain: str) -> bool:
    """`the dot com bubble`: a spelled-out ` dot ` that is English, not a defanged name."""
    if not _SPELLED_DOT_RE.search(raw):
        return False
    labels = domain.split(".")
    return labels[-1] in _WORD_TLDS or any(label in _STOPWORDS for label in labels)


# Words right before a version number (one word, or the last two).
_VERSION_CUES = frozenset(
    {"version", "versions", "ver", "v", "build", "builds", "release", "releases", "firmware", "patch"}
    | {"patched", "rev", "revision", "before", "through", "thru", "prior to", "earlier than"}
    | {"later than", "up to", "fixed in", "upgrade to", "update to", "upgraded to", "updated to"}
    | {"upgrading to", "updating to", "version number", "release number"}
)
_VERSION_CUE_AFTER_RE = re.compile(
    r"(?i)[ \t]*(?:and|or)[ \t]+(?:later|earlier|above|below|newer|older|prior|higher|lower)\b"
)
# Between two versions of one list: `1.2.3.4, 1.2.3.5 and 1.2.3.6`, `1.2.3.4 through 1.2.3.9`.
_VERSION_LIST_GAP_RE = re.compile(r"(?i)[ \t]*(?:,|-|–|/|and|or|to|through|thru)?[ \t,]*(?:and|or)?[ \t]*")


def is_version_number(text: str, start: int, end: int, last_version_end: int) -> bool:
    """Whether the IPv4-shaped `text[start:end]` is a version number (see the module doc)."""
    list_gap = last_version_end >= 0 and start - last_version_end <= 12
    if list_gap and _VERSION_LIST_GAP_RE.fullmatch(text, last_version_end, start):
        return True
    if start >= 2 and text[start - 1] == "/" and text[start - 2].isalpha():
        return True  # `Chrome/120.0.0.0`, `Version/17.1.2.3`
    words = text[max(0, start - 40) : start].rstrip(" \t:=").lower().split()[-2:]
    if words and (words[-1] in _VERSION_CUES or " ".join(words) in _VERSION_CUES):
        return True
    return _VERSION_CUE_AFTER_RE.match(text, end, end + 24) is not None


_GUID_CUE_RE = re.compile(
    r"(?i)(?:guid|uuid|clsid|iid|appid|typelib(?:id)?|class[ _-]?id|interface[ _-]?id"
    r"|(?:correlation|request|trace|session|tenant|object|activity|device|client|subscription)[ _-]?id)"
    r"[\W_]{0,4}$"
)


def is_guid(text: str, start: int, end: int) -> bool:
    """32 hex digits that name a GUID, not an MD5 (see the module doc)."""
    if start > 0 and text[start - 1] == "{" and text[end : end + 1] == "}":
        return True
    return _GUID_CUE_RE.search(text[max(0, start - 24) : start]) is not None


_TRAILING_PUNCTUATION = frozenset(".,;:!?*'\"”’»`")
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def trim_end(text: str, start: int, end: int) -> int:
    """End of `text[start:end]` without trailing punctuation, quotes, Markdown emphasis, or a
    closing bracket it does not open (`(see http://x/a_(b))` keeps one parenthesis)."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING_PUNCTUATION or (
            last in _CLOSERS and text.count(_CLOSERS[last], start, end) < text.count(last, start, end)
        ):
            end -= 1
        else:
            break
    return end


def strip_emphasis(text: str, start: int, end: int) -> tuple[int, int]:
    """`_evil.com_` -> `evil.com`: Markdown emphasis around a name (`_` is a label character)."""
    while end - start > 2 and text[start] == "_" and text[end - 1] == "_":
        start, end = start + 1, end - 1
    return start, end
