"""RSS and Atom reader: one article per item or entry; XML bombs and non-feeds refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from iocfeed.errors import ImportFormatError
from iocfeed.sources.files import ARTICLE_FORMATS, FORMATS, READERS, guess_format, read_articles, read_file
from iocfeed.sources.readers import rss
from iocfeed.sources.records import RawArticle, ReaderOptions

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"


def read(name: str, options: ReaderOptions | None = None) -> list:
    with open(FEEDS / name, "rb") as stream:
        return list(rss.read(stream, options))


def test_rss_items():
    first, second, third = read("rss_cisa_advisories.xml")
    assert first.location == "item 1"
    assert first.title == "#StopRansomware: NorthLoader Affiliates Target Logistics Providers"
    assert first.url == "https://www.cisa.gov/news-events/cybersecurity-advisories/aa25-061a"
    assert first.published == "Sun, 02 Mar 2025 12:00:00 EST"  # as written
    assert first.content.startswith("<h3>Summary</h3><p>CISA and FBI observed")  # unescaped once, by XML
    assert "45.137.21[.]9" in first.content  # never refanged here
    assert first.content_type == "html"
    assert first.tags == ["Ransomware", "Transportation Systems"]
    assert first.fetch_page is False
    assert second.content.startswith("<p>CISA has added one new vulnerability")  # content:encoded wins
    assert second.tags == []
    # No <link>: a permalink guid stands in; no pubDate: dc:date.
    assert third.url == "https://www.cisa.gov/news-events/cybersecurity-advisories/aa25-045b"
    assert third.published == "2025-02-14T09:30:00Z"


def test_guid_that_is_not_a_permalink_is_not_a_url():
    data = b"""<rss version="2.0"><channel><item><title>t</title>
        <guid isPermaLink="false">https://a.example/1</guid></item></channel></rss>"""
    [article] = rss.read(io.BytesIO(data))
    assert article.url == ""


def test_atom_entries():
    first, second, third = read("atom_vendor_blog.xml")
    assert first.location == "entry 1"
    assert (
        first.url == "https://research.northwind-intel.com/2025/03/northloader-invoice-lures"
    )  # alternate, not self
    assert first.published == "2025-03-03T06:30:00+00:00"  # published, not updated
    assert first.content.startswith("<p>The loader (SHA-256 <code>fa24fc33")  # content over summary
    assert first.content_type == "html"
    assert first.tags == ["malware-analysis", "logistics"]  # category terms
    assert second.url == "https://research.northwind-intel.com/2025/01/patch-now"  # a link without rel
    assert second.published == "2025-01-11T10:00:00Z"  # only updated
    assert second.content == "Exploitation from 103.131.57.202 began on 2025-01-09."  # xhtml: its text
    assert second.content_type == "text"
    assert second.title == "Patch now: CVE-2025-0282 &amp; friends"  # an html title, as written
    assert (third.content, third.content_type) == (
        "<p>Seven days of phishing domains.</p>",
        "html",
    )  # summary


def test_atom_text_content_and_content_by_reference():
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom">
        <entry><title>a</title><content>plain words</content></entry>
        <entry><title>b</title><content src="https://a.example/x.pdf" type="application/pdf"/>
               <summary type="html">&lt;b&gt;s&lt;/b&gt;</summary></entry>
        <entry><title>c</title></entry></feed>"""
    plain, by_reference, empty = rss.read(io.BytesIO(data))
    assert (plain.content, plain.content_type) == ("plain words", "text")
    assert (by_reference.content, by_reference.content_type) == ("<b>s</b>", "html")
    assert (empty.content, empty.url, empty.published) == ("", "", None)


def test_rss_1_0_rdf_items():
    data = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
             xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="https://isc.example/"><title>ISC</title></channel>
      <item rdf:about="https://isc.example/diary/1"><title>Diary 1</title><link>https://isc.example/diary/1</link>
        <description>Scans from 45.137.21.9</description><dc:date>2025-03-01T10:00:00Z</dc:date>
        <dc:subject>scanning</dc:subject></item>
    </rdf:RDF>"""
    [item] = rss.read(io.BytesIO(data))
    assert (item.title, item.url, item.published) == (
        "Diary 1",
        "https://isc.example/diary/1",
        "2025-03-01T10:00:00Z",
    )
    assert item.content == "Scans from 45.137.21.9" and item.tags == ["scanning"]


def test_fetch_pages_option_marks_every_article():
    assert all(a.fetch_page for a in read("atom_vendor_blog.xml", ReaderOptions(fetch_pages=True)))


def test_the_document_encoding_declaration_is_honoured():
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><item><title>Caf\xe9 advisory</title></item></channel></rss>'
    [article] = rss.read(io.BytesIO(data.encode("latin-1")))
    assert article.title == "Café advisory"
    [again] = rss.read(io.StringIO(data))  # a caller that already decoded it
    assert again.title == "Café advisory"


def test_billion_laughs_is_refused_before_expansion():
    with pytest.raises(ImportFormatError, match="declares XML entities"):
        read("rss_billion_laughs.xml")


def test_external_entities_are_refused():
    data = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
        <rss><channel><item><title>&x;</title></item></channel></rss>"""
    with pytest.raises(ImportFormatError, match="declares XML entities"):
        list(rss.read(io.BytesIO(data)))


def test_a_bare_doctype_is_allowed():
    data = b"""<?xml version="1.0"?>
    <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
    <rss version="0.91"><channel><item><title>Old feed</title><link>https://a.example/1</link></item></channel></rss>"""
    [article] = rss.read(io.BytesIO(data))
    assert article.title == "Old feed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>Service unavailable</body></html>", "not an RSS or Atom feed: the document is <html>"),
        (b"<rss><channel><item><title>cut", "not well-formed XML"),
        (b"<!doctype html><html><body><p>Login</p>", "not well-formed XML"),
        (b"<rss><channel><item><title>&nbsp;</title></item></channel></rss>", "not well-formed XML"),
        (b"", "not well-formed XML"),
    ],
)
def test_not_a_feed(data, message):
    with pytest.raises(ImportFormatError, match=message):
        list(rss.read(io.BytesIO(data)))


def test_items_before_a_truncation_are_kept():
    data = b"<rss><channel><item><title>one</title></item><item><title>tw"
    articles = rss.read(io.BytesIO(data))
    assert next(articles).title == "one"
    with pytest.raises(ImportFormatError):
        next(articles)


def test_registered_as_an_article_format(tmp_path):
    assert READERS["rss"].articles and READERS["rss"].binary
    assert "rss" in ARTICLE_FORMATS and "rss" not in FORMATS
    assert [a.location for a in read_articles(FEEDS / "atom_vendor_blog.xml", "rss", ReaderOptions())] == [
        "entry 1",
        "entry 2",
        "entry 3",
    ]
    articles = list(read_file(FEEDS / "rss_cisa_advisories.xml", "rss", ReaderOptions(fetch_pages=True)))
    assert [type(a) for a in articles] == [RawArticle] * 3 and articles[0].fetch_page
    with pytest.raises(ImportFormatError, match="not an article format"):
        list(read_articles(FEEDS / "atom_vendor_blog.xml", "csv", ReaderOptions()))
    assert guess_format(FEEDS / "rss_cisa_advisories.xml") == "rss"
    feed = tmp_path / "feed"
    feed.write_text('<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    assert guess_format(feed) == "rss"
