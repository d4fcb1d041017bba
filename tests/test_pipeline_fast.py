"""The pipeline's per-run converter (remembering what each spelling became) gives what
`to_observation` gives, record by record, rejections and their reasons included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.types import IndicatorType
from iocfeed.pipeline import RecordConverter, RecordMapping, to_observation
from iocfeed.sources.records import RawRecord

_values = st.sampled_from(
    ["1.2.3.4", " 10.0.0.1 ", "hxxp://evil[.]example[.]com/a", "evil.example.com", "", "1.2.3.4:443",
     "44d88612fea8a8f36de82e1278abb02f", "not a value", 17, None, "CVE-2024-3400", "[2001:db8::1]:443"]
)  # fmt: skip
_types = st.sampled_from([None, "", "ip", "ipv4", "URL", "domain", "md5", "bogus", " sha256 "])
_dates = st.sampled_from([None, "", "2026-11-03 04:00:00", "2026-11-03T04:00:00Z", "yesterday", "2026-02-30"])
_lists = st.one_of(
    st.sampled_from(
        [None, "", "c2, Botnet", "elf;mirai", "n/a", "energy", "Energy, water", "T1566,t1059.001"]
    ),
    st.lists(st.sampled_from(["c2", "energy", "T1566", 3]), max_size=3),
)


@st.composite
def _records(draw):
    return RawRecord(
        "line 1",
        draw(_values),
        type=draw(_types),
        first_seen=draw(_dates),
        last_seen=draw(_dates),
        tags=draw(_lists),
        context=draw(st.sampled_from([None, "", " n/a ", "C2 server"])),
        industries=draw(_lists),
        reference_url=draw(st.sampled_from([None, "https://example.org/r"])),
        mitre_techniques=draw(_lists),
        error=draw(st.sampled_from([None, None, "unbalanced quote"])),
    )


_mappings = st.sampled_from(
    [
        RecordMapping(),
        RecordMapping(fixed_type=IndicatorType.IPV4, strip_port=True),
        RecordMapping(type_map={"ip": "ipv4", "bogus": "url"}, static_tags=("feed",), industries=("energy",)),
        RecordMapping(tags_separator="|", time_shift_us=3_600_000_000),
    ]
)


def _outcome(convert, record):
    try:
        return convert(record)
    except InvalidIndicator as exc:
        return ("rejected", exc.reason)
    except Exception as exc:  # what to_observation raises, the converter must raise too
        return ("raised", type(exc).__name__)


@settings(max_examples=500, deadline=None)
@given(_mappings, st.lists(_records(), min_size=1, max_size=12))
def test_the_converter_gives_what_to_observation_gives(mapping, records):
    convert = RecordConverter(mapping)
    for record in records + records:  # the second time round, from what it remembered
        assert _outcome(convert, record) == _outcome(lambda r: to_observation(r, mapping), record)
