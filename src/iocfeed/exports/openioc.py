"""OpenIOC 1.0: one `<ioc>` document in the 2010 namespace, one IndicatorItem per indicator, streamed.

    <ioc xmlns="http://schemas.mandiant.com/2010/ioc" id=".." last-modified="..">
      <short_description/> <description/> <keywords/> <authored_by/> <authored_date/> <links/>
      <definition><Indicator operator="OR" id="..">
        <IndicatorItem id=".." condition="is">
          <Context document="PortItem" search="PortItem/remoteIP" type="mir"/>
          <Content type="IP">203.0.113.7</Content>
        </IndicatorItem> ...
      </Indicator></definition>
    </ioc>

Terms (Mandiant's IOC term list; `type="mir"` names that list):

    ipv4, ipv6   PortItem/remoteIP         IP        (a connection's remote end)
    domain       Network/DNS               string
    url          UrlHistoryItem/URL        string
    md5          FileItem/Md5sum           md5
    sha1         FileItem/Sha1sum          sha1
    sha256       FileItem/Sha256sum        sha256
    email        Email/From                string

sha512, CVE and ATT&CK ids have no OpenIOC 1.0 term (the file terms stop at SHA-256; a CVE or a
technique is no observable on a host): they are left out, and a comment after the definition counts
them by type so a reader knows the document is not the whole feed. The OR of items means "any of
these values seen"; `is` is an exact match on the canonical value.

Ids are deterministic: the ioc's from the export's filters (uuid5), each item's from the indicator id,
so a re-export replaces rather than adds. Text is XML-escaped; characters XML 1.0 cannot carry (C0
controls other than tab and line breaks) become U+FFFD, which no canonical value contains anyway.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from iocfeed.store.queries import IndicatorRow, SourceRef
from iocfeed.timeutil import MICROS_PER_SECOND, format_us

Batch = list[tuple[IndicatorRow, SourceRef | None]]

OPENIOC_NAMESPACE = "http://schemas.mandiant.com/2010/ioc"
# Namespace of the ioc and item ids: uuid5(IOC_ID_NAMESPACE, ...). Fixed forever.
IOC_ID_NAMESPACE = uuid.UUID("3d9e4b71-5c08-5a2f-8e63-b1c7a0d42f58")

# type -> (Context document, Context search, Content type)
TERMS: dict[str, tuple[str, str, str]] = {
    "ipv4": ("PortItem", "PortItem/remoteIP", "IP"),
    "ipv6": ("PortItem", "PortItem/remoteIP", "IP"),
    "domain": ("Network", "Network/DNS", "string"),
    "url": ("UrlHistoryItem", "UrlHistoryItem/URL", "string"),
    "md5": ("FileItem", "FileItem/Md5sum", "md5"),
    "sha1": ("FileItem", "FileItem/Sha1sum", "sha1"),
    "sha256": ("FileItem", "FileItem/Sha256sum", "sha256"),
    "email": ("Email", "Email/From", "string"),
}

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def ioc_id(export_key: str) -> str:
    return str(uuid.uuid5(IOC_ID_NAMESPACE, f"ioc|{export_key}"))


def indicator_item(row: IndicatorRow) -> str | None:
    """The IndicatorItem of one record, or None if OpenIOC 1.0 has no term for its type."""
    term = TERMS.get(row.type)
    if term is None:
        return None
    document, search, content_type = term
    item_id = uuid.uuid5(IOC_ID_NAMESPACE, f"item|{row.id}")
    return (
        f'      <IndicatorItem id="{item_id}" condition="is">\n'
        f'        <Context document="{document}" search="{search}" type="mir"/>\n'
        f'        <Content type="{content_type}">{xml_text(row.value)}</Content>\n'
        f"      </IndicatorItem>\n"
    )


def openioc_chunks(
    batches: Iterable[Batch], *, description: str, export_key: str, now: int
) -> Iterator[bytes]:
    """The document as byte chunks: the head, one chunk of items per batch, then the tail."""
    identifier = ioc_id(export_key)
    stamp = format_us(now - now % MICROS_PER_SECOND)  # xs:dateTime; whole seconds read better
    yield (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<ioc xmlns="{OPENIOC_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" id="{identifier}" last-modified="{stamp}">\n'
        "  <short_description>iocfeed indicators</short_description>\n"
        f"  <description>{xml_text(description)}</description>\n"
        "  <keywords>iocfeed threat-intelligence</keywords>\n"
        "  <authored_by>iocfeed</authored_by>\n"
        f"  <authored_date>{stamp}</authored_date>\n"
        "  <links/>\n"
        "  <definition>\n"
        f'    <Indicator operator="OR" id="{uuid.uuid5(IOC_ID_NAMESPACE, f"root|{identifier}")}">\n'
    ).encode()
    omitted: Counter[str] = Counter()
    for batch in batches:
        items = []
        for row, _source in batch:
            item = indicator_item(row)
            if item is None:
                omitted[row.type] += 1
            else:
                items.append(item)
        if items:
            yield "".join(items).encode()
    tail = "    </Indicator>\n  </definition>\n"
    if omitted:
        counts = ", ".join(f"{kind}: {count}" for kind, count in sorted(omitted.items()))
        tail += f"  <!-- left out, no OpenIOC 1.0 term for their type: {counts} -->\n"
    yield (tail + "</ioc>\n").encode()
