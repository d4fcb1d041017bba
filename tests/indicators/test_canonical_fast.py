"""The fast paths of domain and URL canonicalization answer exactly as the general ones do.

- A host of plain lower-case labels is checked in one match instead of label by label.
- The public suffix is looked up on the trailing labels that can decide it (the deepest rule
  under the name's last label), not on the last five: a cache hit for every host under `.com`.
- A URL that canonicalizes to itself is not refanged a second time.
"""

from __future__ import annotations

import functools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators import canonical, network
from iocfeed.indicators.refang import refang


def _reference_domain(value: str) -> str:
    """_canonical_domain label by label, with the suffix of the last five labels (as it was)."""
    if not value.isascii():
        value = value.translate(network._IDN_DOTS)
    if value.endswith("."):
        value = value[:-1]
    if not value:
        raise InvalidIndicator("An empty value is not a domain.")
    labels = [network._ascii_label(label, value) for label in value.split(".")]
    name = ".".join(labels)
    if len(labels) < 2:
        raise InvalidIndicator(f"{network._show(name)} is a single label, not a domain with a public suffix.")
    if len(name) > 253:
        raise InvalidIndicator(f"{network._show(name)} is longer than the 253 characters a domain may have.")
    if labels[-1].isdigit():
        if network.IPV4_LOOSE_RE.fullmatch(name):
            raise InvalidIndicator(f"{network._show(name)} is an IP address, not a domain.")
        raise InvalidIndicator(
            f"{network._show(name)} ends in a numeric label; no top-level domain is numeric."
        )
    suffix = network._psl().publicsuffix(".".join(labels[-5:]))
    suffix_labels = 0 if suffix is None else suffix.count(".") + 1
    if suffix_labels == 0:
        raise InvalidIndicator(
            f"{network._show(name)} has no known public suffix ({labels[-1]!r} is not a TLD)."
        )
    if suffix_labels >= len(labels):
        raise InvalidIndicator(f"{network._show(name)} is itself a public suffix, not a registrable domain.")
    return name


def _outcome(function, value):
    try:
        return function(value)
    except InvalidIndicator as exc:
        return ("invalid", exc.reason)


@functools.cache
def _rules() -> list[str]:
    return sorted(rule for rule in network._psl()._publicsuffix if rule.isascii())


_label = st.sampled_from(
    ["www", "evil", "C2_node", "a-b", "-x-", "xn--bcher-kva", "xn--zz", "Bücher", "12", "0", "", "a" * 63, "b" * 64,
     "city", "kawasaki", "k12", "chtr", "ma", "*", "ck", "jp", "uk", "co", "com", "ne", "\u3002x", "exa mple", "😀"]
)  # fmt: skip


@st.composite
def _hosts(draw):
    rule = (
        draw(st.sampled_from(_rules())).lstrip("!").replace("*", draw(st.sampled_from(["www", "x", "city"])))
    )
    prefix = draw(st.lists(_label, max_size=4))
    host = ".".join([*prefix, rule]) if prefix else rule
    if draw(st.booleans()):
        host = host.upper() if draw(st.booleans()) else host + "."
    return host


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_hosts(), st.lists(_label, min_size=1, max_size=5).map(".".join)))
def test_the_domain_fast_paths_answer_as_the_label_by_label_path(host):
    network._canonical_domain.cache_clear()
    assert _outcome(network._canonical_domain, host) == _outcome(_reference_domain, host)


def test_every_rule_with_labels_in_front_answers_as_before():
    rng = random.Random(7)
    for rule in _rules():
        body = rule.lstrip("!").replace("*", "wild")
        for prefix in ("", "a.", "b.c.", "d.e.f.", "g.h.i.j."):
            host = prefix + body + ("" if rng.random() < 0.8 else ".")
            assert _outcome(network._canonical_domain, host) == _outcome(_reference_domain, host), host


def test_the_suffix_is_decided_by_the_deepest_rule_under_the_last_label():
    depths = network._rule_depths()
    assert depths["com"] == 1 and depths["ck"] == 2 and depths["us"] == 4
    assert network._suffix_tail(["dl-1a", "cdn-123", "com"]) == "com"
    assert network._suffix_tail(["x", "www", "ck"]) == "www.ck"


def _reference_url(value: str) -> str:
    result = network.canonicalize_url(value)
    again = refang(result)
    return result if again == result else network.canonicalize_url(again)


_url_part = st.sampled_from(
    ["http://", "HTTPS://", "hxxp://", "//", "ftp://", "evil.com", "EVIL.com", "[.]", "example.org", ":8080",
     ":80", "/", "/a.php", "/x.", "#top", "?q=1", " ", "%20", "é", "@", "user:pw@", "[2001:db8::1]", "1.2.3.4",
     ".", ")", "(", "]"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(_url_part, min_size=1, max_size=7).map("".join))
def test_a_url_is_refanged_again_only_when_canonicalizing_changed_it(text):
    value = refang(text)
    network._canonical_domain.cache_clear()
    assert _outcome(canonical._canonical_url, value) == _outcome(_reference_url, value)


@pytest.mark.parametrize(
    "value", ["http://evil.com/x.#top", "HTTP://Evil.COM:80/a.php?x=1#f", "http://evil.com/a."]
)
def test_urls_whose_canonical_form_differs(value):
    assert canonical._canonical_url(refang(value)) == _reference_url(refang(value))
