"""Between Spyne's binary values and MIME parts, without base64 on the way.

Strategy: Spyne models binary data as ``ByteArray`` (a sequence of ``bytes``
chunks) and ``File`` (a ``File.Value`` with ``data``, ``handle`` or ``path``).
Incoming, an attachment becomes ``(bytes,)`` or a ``File.Value`` whose
``handle`` reads the attachment (memory or its spooled temporary file; the
value has no ``path``, and keeps the attachment alive as ``.attachment``).
Outgoing, a value becomes a :data:`mtom.writer.PartSource` plus its size
when it can be known without reading: paths and open files are handed to the
writer as they are, so they are streamed from disk, never loaded.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterable
from typing import Any

from spyne.model.binary import File

from mtom import Attachment, source_size
from mtom.values import safe_filename

__all__ = [
    "BinarySource",
    "Found",
    "binary_source",
    "byte_array_source",
    "byte_array_value",
    "file_source",
    "file_value",
    "part_value",
]

BinarySource = tuple[Any, "int | None"]
"""(source for :class:`mtom.OutgoingPart`, size in bytes or ``None``)."""
Found = tuple[Any, "int | None", "str | None"]
"""(source, size or ``None``, content type or ``None``): a value to send."""


# -- incoming ------------------------------------------------------------------


def byte_array_value(attachment: Attachment) -> tuple[bytes]:
    """The native ``ByteArray`` value of an attachment: one ``bytes`` chunk (one read)."""
    return (attachment.read(),)


def file_value(attachment: Attachment, content_type: str) -> Any:
    """A ``File.Value`` reading ``attachment`` through a handle (no path).

    The handle is closed when the request ends; copy the data (``save``,
    ``shutil.copyfileobj``) to keep it.
    """
    value = File.Value(name=safe_filename(attachment.filename), type=content_type,
                       handle=attachment.open())
    value.attachment = attachment
    return value


def part_value(cls: type, attachment: Attachment, content_type: str) -> Any:
    """The native value of ``cls`` (``File`` or ``ByteArray``) for a received part."""
    if issubclass(cls, File):
        return file_value(attachment, content_type)
    return byte_array_value(attachment)


# -- outgoing ------------------------------------------------------------------


def _buffer_size(value: Any) -> int | None:
    if isinstance(value, (bytes, bytearray, memoryview, mmap.mmap)):
        return memoryview(value).nbytes
    return None


def byte_array_source(value: Any) -> BinarySource | None:
    """A part source for a ``ByteArray`` value, or ``None`` when it is not binary.

    Accepts ``bytes``-like objects and sequences (or iterables) of them, as
    Spyne does; an iterable of unknown length is materialised to know it.
    """
    if isinstance(value, str):
        return None
    size = _buffer_size(value)
    if size is not None:
        return (value if not isinstance(value, mmap.mmap) else memoryview(value)), size
    if isinstance(value, Iterable):
        chunks = list(value)
        sizes = [_buffer_size(c) for c in chunks]
        if any(s is None for s in sizes):
            return None
        if len(chunks) == 1:
            only = chunks[0]
            return (only if not isinstance(only, mmap.mmap) else memoryview(only)), sizes[0]
        return [bytes(c) if not isinstance(c, bytes) else c for c in chunks], sum(
            s for s in sizes if s is not None)
    return None


def _handle_source(handle: Any) -> BinarySource:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if handle.seekable():
            handle.seek(0)  # Spyne reads a File handle from its start
    return handle, source_size(handle)


def file_source(value: Any) -> Found | None:
    """A part source for a ``File`` value: ``(source, size, content_type)``.

    ``File.Value`` with ``.attachment`` (received), ``data``, ``handle``
    (read from the start, as Spyne does) or ``path`` (opened only while the
    part is sent); also a bare :class:`mtom.Attachment`, path or bytes.
    """
    if isinstance(value, Attachment):
        return value, value.size, value.content_type
    if isinstance(value, File.Value):
        ctype = value.type
        att = getattr(value, "attachment", None)
        if isinstance(att, Attachment) and not att.closed:
            return att, att.size, ctype
        if value.data is not None:
            found = byte_array_source(value.data)
            if found is None:
                return None
            return found[0], found[1], ctype
        if value.handle is not None:
            src, size = _handle_source(value.handle)
            return src, size, ctype
        path = value.abspath or value.path
        if path is not None:
            return os.fspath(path), os.stat(path).st_size, ctype
        return None
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value), os.stat(value).st_size, None
    found = byte_array_source(value)
    if found is None:
        return None
    return found[0], found[1], None


def binary_source(cls: type, value: Any) -> Found | None:
    """A part source for a value of ``cls`` (``File``: :func:`file_source`, else
    ``ByteArray``: :func:`byte_array_source`), or ``None`` when it is not binary."""
    if issubclass(cls, File):
        return file_source(value)
    found = byte_array_source(value)
    return None if found is None else (found[0], found[1], None)
