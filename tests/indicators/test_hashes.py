"""Hash canonical forms: lower-case hex of the algorithm's exact length, or a reason."""

from __future__ import annotations

import hashlib

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.hashes import (
    canonicalize_hash,
    canonicalize_md5,
    canonicalize_sha1,
    canonicalize_sha256,
    canonicalize_sha512,
)
from iocfeed.indicators.types import IndicatorType

SAMPLE = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.mark.parametrize(
    ("function", "algorithm"),
    [
        (canonicalize_md5, "md5"),
        (canonicalize_sha1, "sha1"),
        (canonicalize_sha256, "sha256"),
        (canonicalize_sha512, "sha512"),
    ],
)
def test_real_digests_are_lower_cased_and_stripped(function, algorithm: str) -> None:
    digest = hashlib.new(algorithm, SAMPLE).hexdigest()
    assert function(digest) == digest
    assert function(f"  {digest.upper()}\t") == digest


def test_eicar_md5() -> None:
    assert canonicalize_md5("44D88612FEA8A8F36DE82E1278ABB02F") == "44d88612fea8a8f36de82e1278abb02f"


@pytest.mark.parametrize(
    ("type_", "raw", "reason"),
    [
        (IndicatorType.MD5, "44d88612fea8a8f36de82e1278abb02", "has 32 hex digits; this value has 31"),
        (IndicatorType.MD5, "3395856ce81f2b7382dee72602f798b642f14140", "length of a sha1"),
        (IndicatorType.SHA1, "44d88612fea8a8f36de82e1278abb02f", "length of a md5"),
        (IndicatorType.SHA256, "44d88612fea8a8f36de82e1278abb02f", "has 64 hex digits; this value has 32"),
        (IndicatorType.SHA512, "ab" * 63, "has 128 hex digits; this value has 126"),
        (IndicatorType.MD5, "44d88612fea8a8f36de82e1278abb0zz", "non-hexadecimal"),
        (IndicatorType.MD5, "44d88612-fea8-a8f3-6de8-2e1278abb02f", "non-hexadecimal"),
        (IndicatorType.MD5, "０" * 32, "non-hexadecimal"),  # full-width digits are not hex
        (IndicatorType.SHA256, "", "empty"),
        (IndicatorType.DOMAIN, "44d88612fea8a8f36de82e1278abb02f", "not a hash type"),
    ],
)
def test_rejects_with_reason(type_: IndicatorType, raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator, match=reason):
        canonicalize_hash(type_, raw)
