"""Readers: raw records with their locations, whatever the file's encoding details."""

from __future__ import annotations

import gzip
import io

import pytest

from iocfeed.errors import ImportFormatError
from iocfeed.sources.files import guess_format, read_file
from iocfeed.sources.readers import delimited, jsonrecords, text
from iocfeed.sources.records import ReaderOptions


def values(records):
    return [(r.location, r.value) for r in records]


def test_text_skips_blanks_and_comments():
    stream = io.StringIO("# Feodo Tracker\n\n1.2.3.4\r\n  # indented comment\n5.6.7.8  \n")
    assert values(text.read(stream)) == [("line 3", "1.2.3.4"), ("line 5", "5.6.7.8")]


def test_csv_header_comments_quotes_and_crlf():
    data = (
        '# generated\r\nvalue,type,tags,context\r\n"1.2.3.4",ipv4,"c2,botnet","said ""hi"""\r\n'
        "\r\n# mid comment\r\nevil.com,domain,,\r\n"
    )
    records = list(delimited.read(io.StringIO(data, newline="")))
    assert values(records) == [("line 3", "1.2.3.4"), ("line 6", "evil.com")]
    assert records[0].tags == "c2,botnet" and records[0].context == 'said "hi"' and records[0].type == "ipv4"
    assert records[1].tags is None


def test_csv_header_is_case_insensitive_and_value_is_required():
    records = list(delimited.read(io.StringIO("Value,First_Seen\n1.2.3.4,2024-01-01\n")))
    assert records[0].value == "1.2.3.4" and records[0].first_seen == "2024-01-01"
    with pytest.raises(ImportFormatError, match="no 'value' column"):
        list(delimited.read(io.StringIO("ip,port\n1.2.3.4,80\n")))


def test_csv_with_fieldnames_from_a_comment_header_and_column_mapping():
    data = '# id,dateadded,url,url_status\n"1","2024-08-28 10:46:06","http://x.example.com/a","online"\n'
    options = ReaderOptions(
        columns={"value": "url", "first_seen": "dateadded"},
        fieldnames=("id", "dateadded", "url", "url_status"),
    )
    [record] = delimited.read(io.StringIO(data), options)
    assert record.value == "http://x.example.com/a" and record.first_seen == "2024-08-28 10:46:06"


def test_csv_quoted_fields_after_a_space():
    data = '# "a", "b"\n"2024-01-01 00:00:00", "1.2.3.4:443"\n'
    options = ReaderOptions(columns={"value": "b", "first_seen": "a"}, fieldnames=("a", "b"))
    [record] = delimited.read(io.StringIO(data), options)
    assert record.value == "1.2.3.4:443"


def test_a_stray_quote_costs_one_line_not_the_rest_of_the_file():
    data = 'value,tags\n1.2.3.4\n"unterminated,x\n5.6.7.8,x\n' + "".join(f"9.9.9.{i},y\n" for i in range(30))
    records = list(delimited.read(io.StringIO(data)))
    assert (records[0].location, records[0].value) == ("line 2", "1.2.3.4")  # a short row is fine
    assert records[1].location == "line 3" and "quote" in records[1].error
    assert [r.value for r in records[2:4]] == ["5.6.7.8", "9.9.9.0"]
    assert len(records) == 33


def test_a_quoted_line_break_is_one_record():
    data = 'value,context\n1.2.3.4,"first line\nsecond line"\n5.6.7.8,x\n'
    records = list(delimited.read(io.StringIO(data)))
    assert records[0].context == "first line\nsecond line"
    assert (records[1].location, records[1].value) == ("line 4", "5.6.7.8")


def test_json_array_with_line_numbers():
    data = '[\n  {"value": "1.2.3.4", "tags": ["c2"]},\n  {"value": "evil.com"},\n  "5.6.7.8",\n  42\n]\n'
    records = list(jsonrecords.read(io.StringIO(data)))
    assert values(records)[:3] == [("line 2", "1.2.3.4"), ("line 3", "evil.com"), ("line 4", "5.6.7.8")]
    assert records[0].tags == ["c2"]
    assert records[3].error and records[3].location == "line 5"


def test_json_array_larger_than_the_read_chunk():
    items = ",\n".join(
        f'{{"value": "10.0.{i // 256}.{i % 256}", "context": "{"x" * 50}"}}' for i in range(5000)
    )
    records = list(jsonrecords.read(io.StringIO(f"[\n{items}\n]")))
    assert len(records) == 5000
    assert records[-1].location == "line 5001" and records[-1].value == "10.0.19.135"


def test_json_array_syntax_error_reports_the_line_and_keeps_what_came_before():
    data = '[\n{"value": "1.2.3.4"},\n{"value": "5.6.7.8",,},\n{"value": "9.9.9.9"}\n]'
    records = list(jsonrecords.read(io.StringIO(data)))
    assert records[0].value == "1.2.3.4"
    assert records[1].error and records[1].location == "line 3"


def test_truncated_json_array_is_an_error():
    with pytest.raises(ImportFormatError, match="not closed"):
        list(jsonrecords.read(io.StringIO('[{"value": "1.2.3.4"},\n')))


def test_json_lines_skip_bad_lines():
    data = '{"value": "1.2.3.4"}\n\nnot json\n{"value": "evil.com", "type": "domain"}\n'
    records = list(jsonrecords.read(io.StringIO(data)))
    assert [(r.location, r.value, r.error is not None) for r in records] == [
        ("line 1", "1.2.3.4", False),
        ("line 3", "", True),
        ("line 4", "evil.com", False),
    ]


def test_json_nested_records_key():
    data = '{"title": "KEV", "vulnerabilities": [{"cveID": "CVE-2021-44228"}, {"cveID": "CVE-2023-4966"}]}'
    options = ReaderOptions(columns={"value": "cveID"}, records="vulnerabilities")
    assert values(jsonrecords.read(io.StringIO(data), options)) == [
        ("item 1", "CVE-2021-44228"),
        ("item 2", "CVE-2023-4966"),
    ]


def test_files_strip_the_bom_and_read_gzip(tmp_path):
    plain = tmp_path / "list.txt"
    plain.write_bytes("\ufeff1.2.3.4\r\n5.6.7.8\r\n".encode())
    assert [r.value for r in read_file(plain, "txt", ReaderOptions())] == ["1.2.3.4", "5.6.7.8"]
    csv_file = tmp_path / "iocs.csv"
    csv_file.write_bytes("\ufeffvalue,type\r\n1.2.3.4,ipv4\r\n".encode())
    assert [r.value for r in read_file(csv_file, "csv", ReaderOptions())] == ["1.2.3.4"]
    packed = tmp_path / "list.txt.gz"
    packed.write_bytes(gzip.compress(b"1.2.3.4\n"))
    assert [r.value for r in read_file(packed, "txt", ReaderOptions())] == ["1.2.3.4"]


def test_undecodable_bytes_cost_only_their_row(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"1.2.3.4\n\xff\xfe\xfa.com\n5.6.7.8\n")
    assert [r.value for r in read_file(path, "txt", ReaderOptions())][::2] == ["1.2.3.4", "5.6.7.8"]


def test_guess_format(tmp_path):
    cases = {
        "a.csv": "value\n1.2.3.4\n",
        "a.json": "[]",
        "a.jsonl": "{}",
        "a.txt": "1.2.3.4",
        "noext": "[{}]",
        "noext2": "value,type\n",
        "noext3": "1.2.3.4\n",
    }
    expected = {
        "a.csv": "csv",
        "a.json": "json",
        "a.jsonl": "jsonl",
        "a.txt": "txt",
        "noext": "json",
        "noext2": "csv",
        "noext3": "txt",
    }
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        assert guess_format(tmp_path / name) == expected[name], name
