"""refang: one test per defang form, the single-value cleanup, and what must be left alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.indicators import refang


@pytest.mark.parametrize(
    ("defanged", "expected"),
    [
        # Schemes
        ("hxxp://evil.com/a", "http://evil.com/a"),
        ("hxxps://evil.com/a", "https://evil.com/a"),
        ("HXXPS://evil.com/a", "https://evil.com/a"),
        ("hXXp://evil.com/a", "http://evil.com/a"),
        ("hxxxp://evil.com/a", "http://evil.com/a"),
        ("h**p://evil.com/a", "http://evil.com/a"),
        ("h__ps://evil.com/a", "https://evil.com/a"),
        ("fxp://files.evil.com/a", "ftp://files.evil.com/a"),
        ("meow://evil.com/a", "http://evil.com/a"),
        # Scheme separators and colons
        ("http[:]//evil.com/a", "http://evil.com/a"),
        ("hxxp[:]//evil.com/a", "http://evil.com/a"),
        ("hxxps[://]evil.com/a", "https://evil.com/a"),
        ("http(://)evil.com/a", "http://evil.com/a"),
        ("evil.com[:]8080", "evil.com:8080"),
        ("http://evil.com[/]a", "http://evil.com/a"),
        # Dots
        ("evil[.]com", "evil.com"),
        ("evil(.)com", "evil.com"),
        ("evil{.}com", "evil.com"),
        ("evil[dot]com", "evil.com"),
        ("evil(dot)com", "evil.com"),
        ("evil{dot}com", "evil.com"),
        ("evil[DOT]com", "evil.com"),
        ("evil [.] com", "evil.com"),
        ("evil[ . ]com", "evil.com"),
        ("evil dot com", "evil.com"),
        ("www dot evil dot co dot uk", "www.evil.co.uk"),
        ("evil\\.com", "evil.com"),
        ("evil[[.]]com", "evil.com"),
        # At signs
        ("user[@]evil.com", "user@evil.com"),
        ("user(@)evil.com", "user@evil.com"),
        ("user(at)evil.com", "user@evil.com"),
        ("user[at]evil.com", "user@evil.com"),
        ("user{at}evil.com", "user@evil.com"),
        ("user [at] evil [dot] com", "user@evil.com"),
        # IP addresses
        ("1[.]2[.]3[.]4", "1.2.3.4"),
        ("1.2.3[.]4", "1.2.3.4"),
        ("[1.2.3.4]", "1.2.3.4"),
        ("[1[.]2[.]3[.]4]", "1.2.3.4"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[evil.com]", "evil.com"),
    ],
)
def test_defang_forms(defanged: str, expected: str) -> None:
    assert refang(defanged) == expected


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_removed(char: str) -> None:
    assert refang(f"ev{char}il.com") == "evil.com"
    assert refang(f"{char}1.2.3.4{char}") == "1.2.3.4"


@pytest.mark.parametrize(
    ("wrapped", "expected"),
    [
        ('"evil.com"', "evil.com"),
        ("'evil.com'", "evil.com"),
        ("`evil.com`", "evil.com"),
        ("“evil.com”", "evil.com"),
        ("<http://evil.com/x>", "http://evil.com/x"),
        ("(evil.com)", "evil.com"),
        ("evil.com.", "evil.com"),
        ("evil.com,", "evil.com"),
        ("evil.com;", "evil.com"),
        ("http://evil.com/a!", "http://evil.com/a"),
        ("'evil[.]com',", "evil.com"),
        ("  evil.com  ", "evil.com"),
    ],
)
def test_surrounding_punctuation_of_a_single_value(wrapped: str, expected: str) -> None:
    assert refang(wrapped) == expected


@pytest.mark.parametrize(
    "value",
    [
        "https://en.wikipedia.org/wiki/Foo_(bar)",  # balanced parenthesis is part of the URL
        "fe80::",  # a trailing colon is part of an IPv6 address
        "2001:db8::",
        "http://evil.com/?a[0]=1",
        "http://evil.com/",
        "dotnet.com",  # "dot" inside a word is not a defang
        "hxxpd.com",  # nor is hxxp without a colon after it
        "T1059.001",
        "d41d8cd98f00b204e9800998ecf8427e",
    ],
)
def test_values_left_alone(value: str) -> None:
    assert refang(value) == value


def test_free_text_is_refanged_in_place() -> None:
    text = "C2 at hxxps://evil[.]com/gate.php and 203[.]0[.]113[.]7, mail to ops[@]evil[.]com"
    assert refang(text) == "C2 at https://evil.com/gate.php and 203.0.113.7, mail to ops@evil.com"


def test_prose_words_that_look_like_schemes_survive() -> None:
    assert refang("the cat says meow to the fxp team") == "the cat says meow to the fxp team"


@given(st.text(alphabet=st.sampled_from("ab.:/@[](){}\\ \"'<>,hxpdotmew\u200b"), max_size=30))
def test_refang_is_idempotent(text: str) -> None:
    once = refang(text)
    assert refang(once) == once
