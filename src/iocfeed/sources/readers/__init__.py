"""One module per input format; each exposes `read(stream, options) -> Iterator[RawRecord]`."""
