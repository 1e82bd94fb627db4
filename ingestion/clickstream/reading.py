"""Reading the clickstream's log files: bytes streamed in blocks and split into Arrow arrays of
complete lines with numpy, batched ``chunk_size`` lines at a time."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .helpers import READ_ERRORS, UnreadableFile
from .settings import (
    KEEP_CONTENT_BYTES,
    READ_BLOCK_BYTES,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Reading


def read_lines(stream: IO[bytes], chunk_size: int) -> Iterator[pa.Table]:
    """Yield the lines of a byte stream as Arrow tables ``(line_number, line)`` of at most
    ``chunk_size`` lines, reading ``READ_BLOCK_BYTES`` at a time: memory stays flat whatever
    the file size.

    A line ends at ``\\n``, which is not part of it (a ``\\r`` before it is); a last line
    without one counts too. Lines stay bytes: one that is not UTF-8 must reach the quarantine,
    not stop the file.

    Raises UnreadableFile, after yielding every complete line before it, if the stream breaks
    (a truncated or corrupt gzip); it carries the line cut short and that line's number.
    """
    first_line = 1
    try:
        for lines in _rebatch(_complete_lines(stream), chunk_size):
            numbers = np.arange(first_line, first_line + len(lines), dtype=np.int64)
            first_line += len(lines)
            yield pa.table({"line_number": numbers, "line": lines})
    except UnreadableFile as exc:
        exc.line_number = first_line
        raise


def _complete_lines(stream: IO[bytes]) -> Iterator[pa.Array]:
    """The lines of each block read, with a line cut by the block's end carried over."""
    carried = b""
    try:
        for block in _blocks(stream):
            data = carried + block if carried else block
            end = data.rfind(b"\n") + 1
            carried = data[end:]
            if end:
                yield split_lines(data[:end])
    except READ_ERRORS as exc:
        raise UnreadableFile(f"{type(exc).__name__}: {exc}", carried) from exc
    if carried:
        yield split_lines(carried + b"\n")


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in blocks of ``READ_BLOCK_BYTES``, gathered from ``read1`` calls where the
    stream has them: a gzip cut short raises in the middle of a ``read``, which would throw
    away the good lines decompressed before the cut; ``read1`` returns them first."""
    read = getattr(stream, "read1", None) or stream.read
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := read(READ_BLOCK_BYTES - size):
            pieces.append(piece)
            size += len(piece)
            if size >= READ_BLOCK_BYTES:
                yield b"".join(pieces)
                pieces, size = [], 0
    except READ_ERRORS:
        if pieces:
            yield b"".join(pieces)
        raise
    if pieces:
        yield b"".join(pieces)


def split_lines(data: bytes) -> pa.Array:
    """Newline-terminated bytes as an Arrow binary array of the lines, without the newlines."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
    with_newlines = pa.Array.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return pc.binary_slice(with_newlines, 0, -1)


def _rebatch(arrays: Iterable[pa.Array], size: int) -> Iterator[pa.Array]:
    """Arrays regrouped into arrays of exactly ``size`` elements (the last one fewer)."""
    pending: list[pa.Array] = []
    count = 0
    try:
        for array in arrays:
            pending.append(array)
            count += len(array)
            if count >= size:
                merged, offset = pa.concat_arrays(pending), 0
                while count - offset >= size:
                    yield merged.slice(offset, size)
                    offset += size
                pending, count = [merged.slice(offset)], count - offset
    except UnreadableFile:
        if count:  # the lines read before the source broke still count
            yield pa.concat_arrays(pending)
        raise
    if count:
        yield pa.concat_arrays(pending)


@dataclass(frozen=True)
class FileContent:
    """What the hashing pass learnt of a file: its content hash (see ``read_content``) and,
    for a file small enough, the decompressed content itself, so the parse reads it from
    memory instead of decompressing the file a second time."""

    sha256: str | None
    data: bytes | None

    def open(self, item: Any) -> IO[bytes]:
        """The decompressed content as a stream: from memory if kept, else the file again."""
        return io.BytesIO(self.data) if self.data is not None else item.open()


def read_content(item: Any, keep_bytes: int = KEEP_CONTENT_BYTES) -> FileContent:
    """SHA-256 of a file's decompressed content, read in blocks, and that content if it is at
    most ``keep_bytes`` long and read to its end (a broken file is read again by the parse,
    which quarantines what it cannot read).

    The hash is None when the content names no `event_id` (an empty file, or one of malformed
    lines only: two quiet hours may hold the same garbage without one being a copy of the
    other; events are unique, so a file holding one is a copy only if delivered twice) or the
    file cannot be read to its end. The content, not the stored bytes: gzip writes a time
    stamp into its header, so the same lines compressed again differ."""
    digest = hashlib.sha256()
    marker = b'"event_id"'
    has_event = False
    tail = b""
    kept: list[bytes] | None = [] if keep_bytes > 0 else None
    size = 0
    try:
        with item.open() as stream:
            while block := stream.read(READ_BLOCK_BYTES):
                digest.update(block)
                # The marker may straddle two blocks: look across the boundary too.
                has_event = has_event or marker in tail + block[: len(marker)] or marker in block
                tail = block[-len(marker) :]
                size += len(block)
                if kept is not None and size <= keep_bytes:
                    kept.append(block)
                else:
                    kept = None
    except READ_ERRORS:
        return FileContent(None, None)
    data = b"".join(kept) if kept is not None else None
    return FileContent(digest.hexdigest() if has_event else None, data)
