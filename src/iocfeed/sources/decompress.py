"""Turning a downloaded body into the file a reader opens: unpack gzip and zip by their magic bytes,
streaming, under a size cap, hashing what comes out.

Nothing here holds a body whole: gzip is inflated in bounded slices (`max_length`, so a small bomb
cannot balloon in memory) and a zip archive is spooled to disk, because its directory sits at its end.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from iocfeed.errors import FetchError

CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
_SNIFF_BYTES = 4


class GzipStream:
    """Incremental gunzip that refuses to end early: `finish()` raises if a member is incomplete,
    so a truncated download never becomes a silently shorter feed. Concatenated members (as `cat a.gz
    b.gz` makes) are read one after another, as gunzip does."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._in_member = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        more_output = False
        while data or more_output:
            if self._inflater.eof:  # the previous member is complete; what follows starts another
                if not data.strip(b"\x00"):  # some writers pad the last member with zeros
                    return
                self._inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            self._in_member = True
            try:
                out = self._inflater.decompress(data, CHUNK)
            except zlib.error as exc:
                raise FetchError(
                    f"{self._label}: the gzip data is corrupt ({exc})", url=self._label
                ) from None
            # A full slice may leave output inside zlib even when all the input is consumed.
            more_output = len(out) == CHUNK and not self._inflater.eof
            if self._inflater.eof:
                self._in_member = False
                data = self._inflater.unused_data
            else:
                data = self._inflater.unconsumed_tail
            if out:
                yield out

    def finish(self) -> None:
        if self._in_member:
            raise FetchError(
                f"{self._label}: the gzip data is truncated (the download ended inside the archive)",
                url=self._label,
            )


@dataclass(frozen=True, slots=True)
class Body:
    path: Path
    size: int  # bytes in `path`, decoded
    digest: str  # sha256 hex of `path`


class BodyWriter:
    """Receives the (transfer-decoded) body in chunks and leaves its content in one file in `dest_dir`.

    The first bytes decide: gzip is inflated on the fly, a zip archive is spooled and its member
    extracted at `close()`, anything else is written as is. `max_bytes` caps what a reader will see;
    `max_compressed_bytes` caps an archive as downloaded. Any failure deletes every file it made."""

    def __init__(
        self,
        dest_dir: Path,
        *,
        label: str,
        max_bytes: int,
        max_compressed_bytes: int,
        zip_member: str | None = None,
    ) -> None:
        self._label = label
        self._max_bytes = max_bytes
        self._max_compressed = max_compressed_bytes
        self._zip_member = zip_member
        self._dest_dir = dest_dir
        self._head = b""
        self._mode: str | None = None  # "plain" | "gzip" | "zip", once the magic is seen
        self._gzip: GzipStream | None = None
        self._archive: IO[bytes] | None = None
        self._archive_bytes = 0
        self._out = tempfile.NamedTemporaryFile(dir=dest_dir, prefix="iocfeed-", suffix=".body", delete=False)  # noqa: SIM115
        self._size = 0
        self._hash = hashlib.sha256()

    @property
    def path(self) -> Path:
        return Path(self._out.name)

    def write(self, chunk: bytes) -> None:
        if self._mode is None:
            self._head += chunk
            if len(self._head) < _SNIFF_BYTES:
                return
            chunk, self._head = self._head, b""
            self._choose_mode(chunk)
        if self._mode == "plain":
            self._emit(chunk)
            return
        self._count_compressed(len(chunk))
        if self._gzip is not None:
            for piece in self._gzip.feed(chunk):
                self._emit(piece)
        elif self._archive is not None:
            self._archive.write(chunk)

    def close(self) -> Body:
        """Finish the body; raises FetchError (after cleaning up) when it is truncated or unusable."""
        try:
            if self._mode is None:  # a body shorter than the magic bytes
                chunk, self._head = self._head, b""
                self._choose_mode(chunk)
                self.write(chunk)
            if self._gzip is not None:
                self._gzip.finish()
            if self._archive is not None:
                self._extract_zip()
            self._out.close()
        except BaseException:
            self.discard()
            raise
        return Body(self.path, self._size, self._hash.hexdigest())

    def discard(self) -> None:
        for handle in (self._out, self._archive):
            if handle is not None:
                handle.close()
                Path(handle.name).unlink(missing_ok=True)

    def _choose_mode(self, head: bytes) -> None:
        if head.startswith(GZIP_MAGIC):
            self._mode, self._gzip = "gzip", GzipStream(self._label)
        elif head.startswith(ZIP_MAGIC):
            self._mode = "zip"
            self._archive = tempfile.NamedTemporaryFile(  # noqa: SIM115
                dir=self._dest_dir, prefix="iocfeed-", suffix=".zip", delete=False
            )
        else:
            self._mode = "plain"

    def _count_compressed(self, n: int) -> None:
        self._archive_bytes += n
        if self._archive_bytes > self._max_compressed:
            raise FetchError(
                f"{self._label}: the compressed body is larger than the cap of {self._max_compressed} bytes",
                url=self._label,
            )

    def _emit(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._max_bytes:
            raise FetchError(
                f"{self._label}: the body is larger than the cap of {self._max_bytes} bytes", url=self._label
            )
        self._hash.update(data)
        self._out.write(data)

    def _extract_zip(self) -> None:
        assert self._archive is not None
        self._archive.close()
        try:
            with zipfile.ZipFile(self._archive.name) as archive:
                member = self._pick_member(archive)
                with archive.open(member) as stream:
                    while data := stream.read(CHUNK):
                        self._emit(data)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
            # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression method.
            raise FetchError(f"{self._label}: the zip archive is unusable ({exc})", url=self._label) from None
        finally:
            with contextlib.suppress(OSError):
                Path(self._archive.name).unlink()

    def _pick_member(self, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
        files = [info for info in archive.infolist() if not info.is_dir()]
        if self._zip_member is not None:
            for info in files:
                if info.filename == self._zip_member:
                    return info
            raise FetchError(
                f"{self._label}: the zip archive has no member named {self._zip_member!r}", url=self._label
            )
        if len(files) != 1:
            names = ", ".join(info.filename for info in files[:5])
            raise FetchError(
                f"{self._label}: the zip archive holds {len(files)} files ({names}); name one with zip_member",
                url=self._label,
            )
        return files[0]
