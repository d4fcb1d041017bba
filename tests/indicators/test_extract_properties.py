"""Properties of extraction (hypothesis), extending the canonicalization ones in test_canonical.py.

- Defang then extract: any indicator, defanged any way an analyst does it and dropped into a
  sentence, comes back as exactly one indicator: its canonical value.
- Canonical values are fixed points: a canonical value extracted from itself gives itself, and
  every value extract() returns canonicalizes to itself (idempotence, through the extractor).
- extract() never raises on arbitrary text, and its offsets always point at the raw value.
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators import IndicatorType, canonicalize
from iocfeed.indicators.extract import extract
from iocfeed.indicators.extract_rules import FILE_EXTENSION_TLDS
from tests.indicators.test_canonical import attack_ids, cves, domains, ipv4s

T = IndicatorType

_ip6 = st.ip_addresses(v=6).filter(lambda a: str(a) != "::")
ipv6s = _ip6.flatmap(lambda a: st.sampled_from([a.compressed, a.exploded, a.exploded.upper(), f"[{a}]"]))
_local_parts = st.from_regex(
    r"[A-Za-z0-9](?:[A-Za-z0-9_+-]|\.(?=[A-Za-z0-9])){0,14}[A-Za-z0-9]", fullmatch=True
)
emails = st.builds(lambda local, domain: f"{local}@{domain.rstrip('.')}", _local_parts, domains())
_path = st.text(alphabet=string.ascii_letters + string.digits + "/._-~%=&+", max_size=20).map(
    lambda p: p.rstrip(".")
)
urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host.rstrip('.')}/{path}",
    st.sampled_from(["http", "https", "ftp"]),
    domains() | ipv4s,
    _path,
)
digests = st.sampled_from([(T.MD5, 32), (T.SHA1, 40), (T.SHA256, 64), (T.SHA512, 128)]).flatmap(
    lambda kind: st.tuples(
        st.just(kind[0]), st.text(alphabet="0123456789abcdefABCDEF", min_size=kind[1], max_size=kind[1])
    )
)

_DOTS = ["[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}", "\\.", "[DOT]"]
_ATS = ["[@]", "(@)", "(at)", "[at]", "{at}", " [at] "]
_SEPARATORS = ["://", "[://]", "[:]//", "(://)"]
_WRAPPERS = ["{}", "[{}]", "({})", '"{}"', "'{}'", "<{}>", "{},", "{}.", "{};", "\u200b{}\u200b", "“{}”"]


def defang(type_: IndicatorType, value: str, style: int) -> str:
    """`value` made unclickable the way analysts do it (one style per `style` number)."""
    if type_ in (T.DOMAIN, T.IPV4, T.URL, T.EMAIL):
        head, sep, tail = value.partition("://") if type_ == T.URL else ("", "", value)
        if sep:
            head = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}[head] if style % 2 else head
            sep = _SEPARATORS[style % len(_SEPARATORS)]
        dot = _DOTS[style % len(_DOTS)]
        if type_ == T.URL and style % 3 == 0:  # some defang only the host
            host, slash, path = tail.partition("/")
            tail = host.replace(".", dot) + slash + path
        else:
            tail = tail.replace(".", dot)
        value = head + sep + tail.replace("@", _ATS[style % len(_ATS)])
    return _WRAPPERS[(style // 7) % len(_WRAPPERS)].format(value)


def _canonical_or_skip(type_: IndicatorType, raw: str) -> str:
    try:
        return canonicalize(type_, raw)
    except InvalidIndicator:
        assume(False)
        raise  # unreachable


typed_values = st.one_of(
    st.tuples(st.just(T.IPV4), ipv4s),
    st.tuples(st.just(T.IPV6), ipv6s),
    st.tuples(st.just(T.DOMAIN), domains()),
    st.tuples(st.just(T.URL), urls),
    st.tuples(st.just(T.EMAIL), emails),
    st.tuples(st.just(T.CVE), cves),
    st.tuples(st.just(T.MITRE_ATTACK), attack_ids),
    digests,
)
_PROSE = ["Indicator: {} observed.", "The actor used {} for staging", "{}", "C2 ({}) was blocked."]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(typed_values, st.integers(0, 10_000), st.sampled_from(_PROSE))
def test_defang_then_extract_gives_the_canonical_value(
    typed: tuple[IndicatorType, str], style: int, sentence: str
) -> None:
    type_, raw = typed
    expected = _canonical_or_skip(type_, raw)
    text = sentence.format(defang(type_, expected, style))
    assert [(item.type, item.value) for item in extract(text)] == [(type_, expected)], text


def _plain_name_rule_applies(type_: IndicatorType, value: str) -> bool:
    """Plain (not defanged) names a rule reads as a file or a package id, not a domain."""
    if type_ != T.DOMAIN:
        return False
    labels = value.split(".")
    return labels[-1] in FILE_EXTENSION_TLDS or (
        labels[0] in {"com", "org", "net", "io", "co"} and len(labels) > 2
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(typed_values)
def test_a_canonical_value_extracts_to_itself(typed: tuple[IndicatorType, str]) -> None:
    type_, raw = typed
    value = _canonical_or_skip(type_, raw)
    assume(not _plain_name_rule_applies(type_, value))
    assert [(item.type, item.value) for item in extract(f"Seen {value} here")] == [(type_, value)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(typed_values, st.integers(0, 10_000)), min_size=1, max_size=6))
def test_extracted_values_are_canonical_fixed_points(
    values: list[tuple[tuple[IndicatorType, str], int]],
) -> None:
    text = " and ".join(defang(type_, raw, style) for (type_, raw), style in values)
    for item in extract(text):
        assert canonicalize(item.type, item.value) == item.value
        assert text[item.start : item.end] == item.raw


_noise = st.text(
    alphabet=st.sampled_from([*"ab.:/@[](){}\\ \n\t\"'<>,hxtpdomeTCVE0123456789f-_*#%?=&", "\u200b", "ü"]),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(_noise)
def test_extract_never_raises_and_offsets_hold_on_arbitrary_text(text: str) -> None:
    for item in extract(text, "text"):
        assert text[item.start : item.end] == item.raw
        assert canonicalize(item.type, item.value) == item.value


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"'&;#abpxhrefdiv .:[]1234")), max_size=120))
def test_extract_never_raises_on_arbitrary_markup(markup: str) -> None:
    for item in extract(markup, "html"):
        assert 0 <= item.start <= item.end <= len(markup)
