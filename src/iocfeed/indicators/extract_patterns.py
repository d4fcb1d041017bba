"""The one pre-scan regex of the extractor: every indicator-shaped span of a text, defanged or not.

It only finds candidates; `refang` and the canonicalizers decide what a candidate is. It runs over
every advisory, so it is written for `re`'s engine: each match first skips, in one possessive loop,
the words that cannot start an indicator (most of any text; see `_SKIP`), branches start only at
word starts, labels are possessive (no backtracking inside a word), and case-insensitivity is
scoped to the few words that need it (a global IGNORECASE slows every character class). One
`finditer` over the text, no second pass.

Branches, tried in this order at each word start (the first that matches wins):

- `hex`: a run of 32 or more hex digits (a digest if its length is one), or a shorter run that a
  line break splits from more hex (a digest wrapped over two lines). Never inside a longer hex
  run, a word, a hyphenated GUID, an e-mail address or a host name.
- `cve`: `CVE-2021-44228`, with the separators `vulns.CVE_RE` accepts.
- `attack`: `T1059`, `T1059.001`, `T1059/001`, `TA0001` (known-ness is checked later).
- `ipv6`: any textual IPv6 form (compressed, full, embedded IPv4, zone id).
- `tok`: `[scheme SEP [userinfo@]] | [local AT]` host `[:port] [path]`, where the host is at least
  two labels joined by a dot, and every separator may be defanged:
    dots   `.` `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}` (spaces allowed around), `\\.`, ` dot `
    at     `@` `[@]` `(@)` `{@}` `[at]` `(at)` `{at}`
    scheme `hxxp` `hxxps` `hxxxp` `h**p` `h__p` `fxp` `meow` (and real ones) + `://` `[://]` `[:]//`
    colon  `:` `[:]` before a port; `[/]` as the first path separator.
  Zero-width characters (and U+0000, which `mask_escapes` puts where a backslash escape was) are
  label characters, so they cannot split a value.
"""

from __future__ import annotations

import re

# Invisible characters pasted into values to break matching (the same set `refang` removes), plus
# U+0000, the stand-in for a backslash escape (see `mask_escapes`).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00"
INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")

_LABEL = rf"[\w{INVISIBLE}-]++"
_SPACE = rf"[ \t{INVISIBLE}]*"  # inside and around bracketed defangs: `evil [ . ] com`
_OPEN, _CLOSE = r"[\[({]", r"[\])}]"

DOT = (
    r"(?:\."
    r"|\\\."
    rf"|[ \t]?{_OPEN}{_SPACE}(?:\.|(?i:dot)){_SPACE}{_CLOSE}[ \t]?"
    r"|\[\[\.\]\]"
    r"|[ \t](?i:dot)[ \t](?=\w))"
)
# The defanged dots alone, to read a host back: the host is LABEL (DOT LABEL)+, so replacing each
# of these by "." undoes exactly what the scanner matched (the canonicalizer then validates it).
DEFANGED_DOT_RE = re.compile(DOT.replace(r"(?:\.|", "(?:", 1))
AT = rf"(?:@|[ \t]?{_OPEN}{_SPACE}(?:@|(?i:at)){_SPACE}{_CLOSE}[ \t]?)"
_SCHEME = r"(?i:h(?:xxx|xx|tt|\*\*|__)ps?|f(?:xp|tp)s?|meows?|sftp|wss?)"
_SCHEME_SEP = rf"(?:(?::|{_OPEN}:{_CLOSE})//|{_OPEN}://{_CLOSE})"
_USERINFO = r"[\w.%+!$&'*=~;,-]{1,64}(?::[^\s@/]{0,64})?"
_HOST = rf"(?:\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]|{_LABEL}(?:{DOT}{_LABEL})+)"
_LOCAL = rf"[\w{INVISIBLE}+%=-]++(?:{DOT}[\w{INVISIBLE}+%=-]++)*+"
_PORT = r"(?::|\[:\])[0-9]{1,5}(?![\w])"
# Anything printable up to white space, quotes or angle brackets; `](` ends a Markdown link text.
_PATH_CHAR = r"(?:[^\s<>\"'`|\]\u201c\u201d\u2018\u2019\u00ab\u00bb]|\](?!\())"
_PATH = rf"(?:[/?#]|\[/\]){_PATH_CHAR}*+"

_HEX_DIGIT = "[0-9A-Fa-f]"
# After a digest or an id: not more of a word, a host name or an e-mail address (`<md5>.exe` is left to
# `tok`, which falls back to the digest when the whole is not a domain).
_HEX_END = rf"(?![\w@-]|\.\w|\\\.|[ \t]?{_OPEN}{_SPACE}(?:\.|(?i:dot)|@|(?i:at)){_SPACE}{_CLOSE}|[ \t](?i:dot)[ \t]\w)"
_HEX = rf"(?P<hex>{_HEX_DIGIT}{{32,}}+|{_HEX_DIGIT}++(?=\r?\n{_HEX_DIGIT})){_HEX_END}"

_SEP = "[-_ \u2010\u2011\u2012\u2013\u2014\u2212]"  # as vulns.CVE_RE
_CVE = rf"(?P<cve>(?i:cve){_SEP}[0-9]{{4}}{_SEP}[0-9]{{4,}}+)"
_ATTACK = rf"(?P<attack>[Tt](?:[Aa])?[0-9]{{4}}(?:[./][0-9]{{3}})?){_HEX_END}"  # not `t1234[.]com`

_IPV6 = (
    r"(?<!:)(?P<ipv6>(?:[0-9A-Fa-f]{1,4}|(?=::))(?::[0-9A-Fa-f]{0,4}){2,8}"
    r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?:%[\w.-]+)?)(?![\w:]|\.[0-9])"
)

_TOKEN = (
    rf"(?P<tok>(?:(?P<scheme>{_SCHEME}){_SCHEME_SEP}(?:{_USERINFO}@)?|(?P<local>{_LOCAL}){AT})?"
    rf"(?P<host>{_HOST})(?P<port>{_PORT})?(?P<path>{_PATH})?)"
)

# A word start: not inside a word, a hyphenated name, an e-mail address, or after `x.` (the rest
# of a dotted name). A dot after a non-word (`*.evil.com`, `...evil.com`) is a start.
_WORD_START = r"(?<![\w@-])(?<![\w-]\.)"

# The skip: most words of an advisory cannot start an indicator, and letting `re` try every branch
# at every position of them is what makes a naive scanner slow. So each match first consumes, in
# one tight possessive loop, the words that cannot start a candidate (no hex/CVE/ATT&CK start, and
# nothing after them that could join them to a next label: a dot, `@`, `:`, a bracket, ` dot `...)
# and the gaps between them (anything but `::`, which may start an IPv6 address). A word that is
# not skippable but starts no candidate is consumed as `junk`, so a match never fails (a failed
# match would make `re` retry the whole skip from the next position).
_ID_START = rf"{_HEX_DIGIT}{{32}}|{_HEX_DIGIT}++\r?\n{_HEX_DIGIT}|[Cc][Vv][Ee]{_SEP}|[Tt][Aa]?[0-9]{{4}}"
_JOINER = (
    rf"[.\\](?=[\w{INVISIBLE}\[({{.-])|[:@+%=\[({{{INVISIBLE}]|\*\*[Pp]"
    r"|[ \t](?:[\[({][ \t]*(?:[.@:]|(?i:dot|at))|(?i:dot)[ \t])"
)
# (The first look-ahead answers most words by their first letter, before the full id check.)
_SKIPPABLE_WORD = rf"(?:(?![0-9A-Fa-fCcTt])|(?!{_ID_START}))[\w-]++(?!{_JOINER})"
_SKIPPABLE_GAP = r"(?:[^\w:-]|:(?!:))++"  # `-` is a word character here: `-x.com` is a name
_SKIP = rf"(?:(?:{_SKIPPABLE_WORD})?{_SKIPPABLE_GAP})*+"
_JUNK = r"(?P<junk>[\w-]++(?s:.)?|(?s:.)|\Z)"

# Each match is one candidate, named by its branch (`m.lastgroup`), or `junk` to ignore.
CANDIDATE_RE = re.compile(rf"{_SKIP}(?:{_WORD_START}(?:{_HEX}|{_CVE}|{_ATTACK}|{_IPV6}|{_TOKEN})|{_JUNK})")

# More hex after a line break, for digests wrapped over lines.
HEX_CONTINUATION_RE = re.compile(rf"\r?\n({_HEX_DIGIT}+){_HEX_END}")
# What continues a URL on the next line of a hard-wrapped text: no indent, no new scheme.
URL_CONTINUATION_RE = re.compile(r"\r?\n(?!(?i:h..ps?|ftp|meow)\S*?[\[(:])([^\s<>\"'`|]+)")

# Any defanging in a raw value: used to tell `readme[.]md` (a domain) from `readme.md` (a file).
DEFANG_MARK_RE = re.compile(
    rf"[\[({{}})\]{INVISIBLE[:-1]}]|\\\.|(?i:hxx|h\*\*|h__|fxp|meow)|[ \t](?i:dot)[ \t]"
)

# Backslash escapes (Markdown's, and `evil\[.\]com`): replaced by U+0000 so the text keeps its
# length (offsets stay valid) while the escaped character joins the value. `\.` is kept: it is a
# defang form of its own that `refang` undoes.
_ESCAPE_RE = re.compile(r"\\(?=[\[\]()@_*{}~#+!-])")


def mask_escapes(text: str) -> str:
    """`text` with each backslash escape replaced by U+0000 (same length, so offsets hold)."""
    return _ESCAPE_RE.sub("\x00", text) if "\\" in text else text


def drop_invisible(raw: str) -> str:
    return INVISIBLE_RE.sub("", raw)
