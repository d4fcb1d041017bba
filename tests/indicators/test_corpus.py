"""Precision and recall of the extractor on hand-written advisory-style texts.

Each `corpus/NN-name.{txt,md,html}` has a hand-reviewed `NN-name.expected.json`: every indicator
an analyst would want from it (legitimate domains mentioned in prose included: screening is a
later stage; file names, version numbers, GUIDs and hex blobs excluded). The test scores the
extractor per type and overall and fails under F1 0.95 overall or 0.9 for any type; `pytest -s`
prints the table.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from iocfeed.indicators.extract import extract

CORPUS = Path(__file__).parent / "corpus"
MIN_F1_OVERALL = 0.95
MIN_F1_PER_TYPE = 0.90

Pair = tuple[str, str]


def corpus_documents() -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if not path.name.endswith(".expected.json"))


def expected_for(document: Path) -> set[Pair]:
    expected_path = document.with_name(document.name.rsplit(".", 1)[0] + ".expected.json")
    return {(item["type"], item["value"]) for item in json.loads(expected_path.read_text("utf-8"))}


def score(results: list[tuple[set[Pair], set[Pair]]]) -> dict[str, tuple[int, int, int]]:
    """Per type (and "all"): true positives, false positives, false negatives."""
    counts: dict[str, Counter[str]] = {}
    for expected, found in results:
        for kind, pairs in (("tp", expected & found), ("fp", found - expected), ("fn", expected - found)):
            for type_, _ in pairs:
                counts.setdefault(type_, Counter())[kind] += 1
                counts.setdefault("all", Counter())[kind] += 1
    return {type_: (c["tp"], c["fp"], c["fn"]) for type_, c in counts.items()}


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    total = precision + recall
    return precision, recall, (2 * precision * recall / total if total else 0.0)


def table(scores: dict[str, tuple[int, int, int]]) -> str:
    lines = ["| type | expected | found | precision | recall | F1 |", "|---|---:|---:|---:|---:|---:|"]
    for type_ in sorted(scores, key=lambda t: (t == "all", t)):
        tp, fp, fn = scores[type_]
        precision, recall, f = f1(tp, fp, fn)
        lines.append(f"| {type_} | {tp + fn} | {tp + fp} | {precision:.3f} | {recall:.3f} | {f:.3f} |")
    return "\n".join(lines)


def test_corpus_is_big_enough_and_every_document_has_its_expectations() -> None:
    documents = corpus_documents()
    assert len(documents) >= 40
    assert {path.suffix for path in documents} == {".txt", ".md", ".html"}
    for document in documents:
        assert expected_for(document), document.name


def test_precision_and_recall() -> None:
    results = []
    misses = []
    for document in corpus_documents():
        expected = expected_for(document)
        found = {(item.type.value, item.value) for item in extract(document.read_text("utf-8"))}
        results.append((expected, found))
        misses += [f"{document.name}: missed {pair}" for pair in sorted(expected - found)]
        misses += [f"{document.name}: extra {pair}" for pair in sorted(found - expected)]
    scores = score(results)
    print("\n" + table(scores))
    print("\n".join(misses))
    failing = {t: f1(*s)[2] for t, s in scores.items() if t != "all" and f1(*s)[2] < MIN_F1_PER_TYPE}
    assert not failing, f"types under F1 {MIN_F1_PER_TYPE}: {failing}"
    assert f1(*scores["all"])[2] >= MIN_F1_OVERALL


@pytest.mark.parametrize("document", corpus_documents(), ids=lambda path: path.name)
def test_offsets_point_at_the_raw_value(document: Path) -> None:
    text = document.read_text("utf-8")
    for item in extract(text):
        if document.suffix != ".html":
            assert text[item.start : item.end] == item.raw
        assert item.raw
        assert len(item.sentence) <= 310
