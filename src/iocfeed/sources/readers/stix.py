"""STIX 2.1 (and 2.0) content -> raw records: a bundle, a bare array of objects, or a TAXII envelope.

The document is streamed object by object (ijson), so a bundle of any size needs the memory of one
object. What becomes a record (`location` is the object's id):

    indicator (pattern_type stix)   every value an equality comparison of its pattern names; ORed
                                    comparisons and ORed observation expressions give one record each
        [ipv4-addr:value = '…']     ipv4          [email-addr:value = '…']          email
        [ipv6-addr:value = '…']     ipv6          [file:hashes.MD5 = '…']           md5
        [domain-name:value = '…']   domain        [file:hashes.'SHA-1' = '…']       sha1
        [url:value = '…']           url           [file:hashes.'SHA-256'/'SHA-512'] sha256/sha512
        (`x IN ('a', 'b')` is read as ORed equalities; hash names in any case, quoted or not)
    SCOs ipv4-addr, ipv6-addr, domain-name, url, email-addr     their `value`, typed as above
    file SCO                                    each of its MD5, SHA-1, SHA-256, SHA-512 hashes
    observed-data with embedded `objects` (2.0)  the SCOs inside, dated first/last_observed
    vulnerability                   its `cve` external reference (else a name that is a CVE id): cve
    attack-pattern                  its `mitre-attack` external reference id: mitre-attack

Fields: first_seen = valid_from, else created; tags = labels + indicator_types; context = description,
else name; reference_url = the first external reference with a url (ATT&CK's own excepted);
mitre_techniques = technique ids among the object's `mitre-attack` external references.

Counted, not dropped (a record with `error`, the pattern as its value): AND, FOLLOWEDBY, qualifiers
(WITHIN, START/STOP, REPEATS), NOT, operators other than = and IN (a range, LIKE or MATCHES is not a
value), properties iocfeed does not store (file:name, network-traffic:…), other pattern languages
(sigma, yara, snort…) and malformed patterns. In an OR, each unusable part is one such record and
the usable parts are still read. Revoked objects are skipped rows. Other object types (identity,
relationship, report, marking-definition…) hold no indicator and are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, NamedTuple

import ijson

from iocfeed.errors import ImportFormatError
from iocfeed.sources.records import JsonBytes, RawRecord, ReaderOptions, json_error

VALUE_TYPES: dict[str, str] = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}
HASH_TYPES: dict[str, str] = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
ATTACK_SOURCES = frozenset({"mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"})
_TECHNIQUE_RE = re.compile(r"T\d{4}(?:\.\d{3})?", re.IGNORECASE)
_CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_ENVELOPE_KEYS = frozenset({"more", "next", "id", "type", "spec_version"})
_SCALARS = frozenset({"string", "boolean", "number", "null"})


class PatternError(ValueError):
    """The pattern is not valid STIX patterning."""


class PatternTerm(NamedTuple):
    """One value a pattern names (`type`, `value`), or one part of it that is unusable (`problem`)."""

    type: str | None
    value: str | None
    problem: str | None = None


def hash_type(algorithm: str) -> str | None:
    """Our type for a STIX hash name: 'SHA-256', SHA256 and sha_256 all mean sha256."""
    return HASH_TYPES.get(algorithm.upper().replace("-", "").replace("_", ""))


# ------------------------------------------------------------------------------------------ patterns
# The common shape `[type:path = '…']` is matched by one regex; anything else goes through the parser.
_SIMPLE_RE = re.compile(
    r"\[\s*([a-z0-9-]+):(value|hashes\.(?:'[A-Za-z0-9_-]+'|[A-Za-z0-9_-]+))\s*=\s*'((?:[^'\\]|\\['\\])*)'\s*\]"
)
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*')
      | (?P<typed>[tbh]'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<=|>=|[=<>\[\]():.,*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_UNSUPPORTED_OPS = frozenset({"!=", "<", ">", "<=", ">=", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"})


def _unescape(quoted: str) -> str:
    """A string literal's text: the grammar knows exactly two escapes, \\' and \\\\."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in "'\\":
            raise PatternError(f"invalid escape \\{match.group(1)} in a string literal")
        return match.group(1)

    body = quoted[1:-1]
    return _ESCAPE_RE.sub(one, body) if "\\" in body else body


def _path_type(object_type: str, path: tuple[str, ...]) -> str | None:
    if path == ("value",):
        return VALUE_TYPES.get(object_type)
    if object_type == "file" and len(path) == 2 and path[0] == "hashes":
        return hash_type(path[1])
    return None


def parse_pattern(pattern: str) -> list[PatternTerm]:
    """The values a STIX pattern names, and its unusable parts; PatternError if it is malformed."""
    simple = _SIMPLE_RE.fullmatch(pattern.strip())
    if simple:
        object_type, path_text, literal = simple.groups()
        path = tuple(p.strip("'") for p in path_text.split(".", 1))
        ours = _path_type(object_type, path)
        if ours is not None:
            return [PatternTerm(ours, _unescape(f"'{literal}'"))]
    return _Parser(pattern).pattern()


class _Parser:
    """Recursive descent over the STIX 2.1 patterning grammar, by precedence: FOLLOWEDBY, then OR,
    then AND, at the observation level and again inside brackets. It keeps only what iocfeed can
    use: a flat list of ORed equality terms; anything narrower than "this value" becomes a problem."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position, end = 0, len(text.rstrip())
        while position < end:
            match = _TOKEN_RE.match(text, position)
            if not match or match.lastgroup is None:
                raise PatternError(f"unexpected text at {text[position : position + 20].strip()!r}")
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self.index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise PatternError("the pattern ends too early")
        self.index += 1
        return token

    def _accept(self, text: str) -> bool:
        token = self._peek()
        if token is not None and token[1] == text and token[0] in ("op", "word"):
            self.index += 1
            return True
        return False

    def _expect(self, text: str) -> None:
        if not self._accept(text):
            found = self._peek()
            raise PatternError(f"expected {text!r}, found {found[1] if found else 'the end'!r}")

    def pattern(self) -> list[PatternTerm]:
        terms = self._sequence()
        if self._peek() is not None:
            raise PatternError(f"unexpected {self._peek()[1]!r}")  # type: ignore[index]
        return terms

    def _sequence(self) -> list[PatternTerm]:
        terms = self._observation_or()
        if self._peek() != ("word", "FOLLOWEDBY"):
            return terms
        while self._accept("FOLLOWEDBY"):
            self._observation_or()
        return [PatternTerm(None, None, "FOLLOWEDBY (a sequence of observations)")]

    def _either(self, operand: Callable[[], list[PatternTerm]], what: str) -> list[PatternTerm]:
        """operand (OR operand)*, where operand is operand (AND operand)*: AND makes it unusable."""

        def conjunction() -> list[PatternTerm]:
            terms = operand()
            if self._peek() != ("word", "AND"):
                return terms
            while self._accept("AND"):
                operand()
            return [PatternTerm(None, None, f"ANDed {what}")]

        terms = conjunction()
        while self._accept("OR"):
            terms += conjunction()
        return terms

    def _observation_or(self) -> list[PatternTerm]:
        return self._either(self._observation, "observation expressions")

    def _observation(self) -> list[PatternTerm]:
        if self._accept("["):
            terms = self._either(self._comparison, "comparisons")
            self._expect("]")
        else:
            self._expect("(")
            terms = self._sequence()
            self._expect(")")
        qualifiers = []
        while (token := self._peek()) and token[1] in ("WITHIN", "START", "REPEATS"):
            qualifiers.append(self._take()[1])
            self._take()  # a number, or START's timestamp
            self._take()  # SECONDS, STOP, TIMES
            if qualifiers[-1] == "START":
                self._take()  # STOP's timestamp
        return [PatternTerm(None, None, f"{qualifiers[0]} qualifier")] if qualifiers else terms

    def _comparison(self) -> list[PatternTerm]:
        if self._accept("("):
            terms = self._either(self._comparison, "comparisons")
            self._expect(")")
            return terms
        if self._accept("EXISTS"):
            self._object_path()
            return [PatternTerm(None, None, "EXISTS")]
        object_type, path = self._object_path()
        negated = self._accept("NOT")
        _, operator = self._take()
        if operator not in ("=", "IN") and operator not in _UNSUPPORTED_OPS:
            raise PatternError(f"expected a comparison operator, found {operator!r}")
        literals = self._set() if operator == "IN" else [self._literal()]
        if negated or operator not in ("=", "IN"):
            return [PatternTerm(None, None, f"the {'NOT ' if negated else ''}{operator} operator")]
        ours = _path_type(object_type, path)
        if ours is None:
            shown = f"{object_type}:" + ".".join(path).replace(".[", "[")
            return [PatternTerm(None, None, f"{shown} is not a property iocfeed reads")]
        if any(literal is None for literal in literals):
            return [PatternTerm(None, None, f"{object_type} compared with a non-string literal")]
        return [PatternTerm(ours, literal) for literal in literals]

    def _object_path(self) -> tuple[str, tuple[str, ...]]:
        kind, object_type = self._take()
        if kind != "word":
            raise PatternError(f"expected an object type, found {object_type!r}")
        self._expect(":")
        path = [self._component()]
        while True:
            if self._accept("."):
                path.append(self._component())
            elif self._accept("["):
                path.append(f"[{self._take()[1]}]")
                self._expect("]")
            else:
                return object_type, tuple(path)

    def _component(self) -> str:
        kind, text = self._take()
        if kind == "word":
            return text
        if kind == "str":
            return _unescape(text)
        raise PatternError(f"expected a property name, found {text!r}")

    def _literal(self) -> str | None:
        """A string literal's text; None for the other literals (numbers, booleans, t'', b'', h'')."""
        kind, text = self._take()
        if kind == "str":
            return _unescape(text)
        if kind in ("num", "typed") or text in ("true", "false"):
            return None
        raise PatternError(f"expected a literal, found {text!r}")

    def _set(self) -> list[str | None]:
        self._expect("(")
        literals = [self._literal()]
        while self._accept(","):
            literals.append(self._literal())
        self._expect(")")
        return literals


# ------------------------------------------------------------------------------------------ objects
def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The record fields an object lends every value it holds."""
    tags: list[str] = []
    for key in ("labels", "indicator_types"):
        for tag in obj.get(key) or ():
            if isinstance(tag, str) and tag not in tags:
                tags.append(tag)
    references = [r for r in obj.get("external_references") or () if isinstance(r, dict)]
    return {
        "first_seen": _text(obj.get("valid_from")) or _text(obj.get("created")),
        "tags": tags or None,
        "context": _text(obj.get("description")) or _text(obj.get("name")),
        "reference_url": next(
            (
                r["url"]
                for r in references
                if _text(r.get("url")) and r.get("source_name") not in ATTACK_SOURCES
            ),
            None,
        ),
        "mitre_techniques": _techniques(references) or None,
    }


def _techniques(references: list[dict[str, Any]]) -> list[str]:
    return [
        r["external_id"]
        for r in references
        if r.get("source_name") in ATTACK_SOURCES
        and isinstance(r.get("external_id"), str)
        and _TECHNIQUE_RE.fullmatch(r["external_id"])
    ]


def _indicator(obj: Mapping[str, Any], location: str) -> Iterator[RawRecord]:
    pattern = obj.get("pattern")
    language = obj.get("pattern_type", "stix")  # STIX 2.0 indicators have no pattern_type
    if language != "stix":
        yield RawRecord(location, str(pattern or ""), error=f"pattern_type {language!r} is not read")
        return
    if not isinstance(pattern, str):
        yield RawRecord(location, "", error="the indicator has no pattern")
        return
    try:
        terms = parse_pattern(pattern)
    except PatternError as exc:
        yield RawRecord(location, pattern, error=f"invalid STIX pattern ({exc})")
        return
    fields = _fields(obj)
    for term in terms:
        if term.problem:
            yield RawRecord(location, pattern, error=f"unsupported STIX pattern: {term.problem}")
        else:
            yield RawRecord(location, term.value, type=term.type, **fields)


def _observable(obj: Mapping[str, Any], location: str, fields: dict[str, Any]) -> Iterator[RawRecord]:
    kind = obj.get("type")
    if kind in VALUE_TYPES and _text(obj.get("value")):
        yield RawRecord(location, obj["value"], type=VALUE_TYPES[kind], **fields)
    elif kind == "file" and isinstance(obj.get("hashes"), dict):
        for algorithm, digest in obj["hashes"].items():
            ours = hash_type(algorithm)
            if ours and _text(digest):
                yield RawRecord(location, digest, type=ours, **fields)


def _observed_data(obj: Mapping[str, Any], location: str) -> Iterator[RawRecord]:
    embedded = obj.get("objects")
    if not isinstance(embedded, dict):
        return  # STIX 2.1 refers to SCOs elsewhere in the bundle (object_refs): read there
    fields = _fields(obj) | {
        "first_seen": _text(obj.get("first_observed")),
        "last_seen": _text(obj.get("last_observed")),
    }
    for key, sco in embedded.items():
        if isinstance(sco, dict):
            yield from _observable(sco, f"{location} objects.{key}", fields)


def _vulnerability(obj: Mapping[str, Any], location: str) -> Iterator[RawRecord]:
    references = [r for r in obj.get("external_references") or () if isinstance(r, dict)]
    cves = [
        r["external_id"] for r in references if r.get("source_name") == "cve" and _text(r.get("external_id"))
    ]
    if not cves and isinstance(obj.get("name"), str) and _CVE_RE.fullmatch(obj["name"].strip()):
        cves = [obj["name"]]
    fields = _fields(obj)
    for cve in cves:
        yield RawRecord(location, cve, type="cve", **fields)


def _attack_pattern(obj: Mapping[str, Any], location: str) -> Iterator[RawRecord]:
    references = [r for r in obj.get("external_references") or () if isinstance(r, dict)]
    fields = _fields(obj) | {"mitre_techniques": None}
    for technique in _techniques(references):
        yield RawRecord(location, technique, type="mitre-attack", **fields)


def records_from_object(obj: object, index: int) -> Iterator[RawRecord]:
    """The records one STIX object holds; `index` (1-based) locates an object without an id."""
    if not isinstance(obj, dict):
        yield RawRecord(f"object {index}", "", error=f"expected a STIX object, found {type(obj).__name__}")
        return
    kind = obj.get("type")
    location = obj["id"] if _text(obj.get("id")) else f"object {index}"
    if kind not in _HANDLERS and kind not in VALUE_TYPES and kind != "file":
        return
    if obj.get("revoked") is True:
        shown = obj.get("pattern") or obj.get("value") or obj.get("name") or ""
        yield RawRecord(location, str(shown), error=f"the {kind} is revoked", skipped=True)
        return
    if kind in _HANDLERS:
        yield from _HANDLERS[kind](obj, location)
    else:
        yield from _observable(obj, location, _fields(obj))


_HANDLERS: dict[str, Callable[[Mapping[str, Any], str], Iterator[RawRecord]]] = {
    "indicator": _indicator,
    "observed-data": _observed_data,
    "vulnerability": _vulnerability,
    "attack-pattern": _attack_pattern,
}


# ------------------------------------------------------------------------------------------ documents
def iter_objects(stream: IO[bytes] | IO[str], envelope: dict[str, Any] | None = None) -> Iterator[object]:
    """The objects of a bundle, a TAXII envelope (both `{"objects": [...]}`) or a bare array, one at a
    time. With `envelope`, the document's top-level scalars (more, next, id, type, spec_version) are
    stored in it as they stream past: complete once the iterator is exhausted."""
    source = JsonBytes(stream)
    if source.first == b"[":
        prefix = "item"
    elif source.first == b"{":
        prefix = "objects.item"
    elif not source.first:
        return
    else:
        raise ImportFormatError(f"not a STIX document: it starts with {source.first!r}, not {{ or [")
    try:
        if envelope is None:
            yield from ijson.items(source, prefix, use_float=True)
        else:
            yield from ijson.items(_capture(ijson.parse(source, use_float=True), envelope), prefix)
    except ijson.JSONError as exc:
        raise ImportFormatError(f"invalid JSON ({json_error(exc)})") from exc


def _capture(
    events: Iterator[tuple[str, str, Any]], envelope: dict[str, Any]
) -> Iterator[tuple[str, str, Any]]:
    for event in events:
        if event[0] in _ENVELOPE_KEYS and event[1] in _SCALARS:
            envelope[event[0]] = event[2]
        yield event


def read(stream: IO[bytes] | IO[str], options: ReaderOptions | None = None) -> Iterator[RawRecord]:
    """A STIX bundle, bare array of objects or TAXII envelope as raw records (see the module doc)."""
    for index, obj in enumerate(iter_objects(stream), start=1):
        yield from records_from_object(obj, index)
