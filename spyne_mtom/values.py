"""Between Spyne's binary values and MIME parts, without base64 on the way.

Strategy: Spyne models binary data as ``ByteArray`` (a sequence of ``bytes``
chunks) and ``File`` (a ``File.Value`` with ``data``, ``handle`` or ``path``).
Incoming, an attachment becomes ``(bytes,)`` or a ``File.Value`` whose
``handle`` reads the attachment (memory or its spooled temporary file; the
value has no ``path``, and keeps the attachment alive as ``.attachment``).
Outgoing, a value becomes a :data:`mtom.writer.PartSource` plus its size
when it can be known without reading (buffers and chunks:
:func:`mtom.values.chunks_source`): paths and open files are handed to the
writer as they are, so they are streamed from disk, never loaded.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from spyne.model.binary import File

from mtom import Attachment, source_size
from mtom.values import chunks_source, safe_filename

__all__ = ["Found", "binary_source", "file_source", "file_value", "part_value"]

Found = tuple[Any, "int | None", "str | None"]
"""(source for :class:`mtom.OutgoingPart`, size or ``None``, content type or ``None``)."""


# -- incoming ------------------------------------------------------------------


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
    """The native value of ``cls`` for a received part: ``File`` a :func:`file_value`,
    ``ByteArray`` one ``bytes`` chunk (one read)."""
    if issubclass(cls, File):
        return file_value(attachment, content_type)
    return (attachment.read(),)


# -- outgoing ------------------------------------------------------------------


def _with_type(found: tuple[Any, int] | None, content_type: str | None) -> Found | None:
    return None if found is None else (found[0], found[1], content_type)


def binary_source(cls: type, value: Any) -> Found | None:
    """A part source for a value of ``cls`` (``File``: :func:`file_source`; ``ByteArray``:
    ``bytes``-likes and sequences of them, as Spyne accepts), or ``None`` if not binary."""
    if issubclass(cls, File):
        return file_source(value)
    return _with_type(chunks_source(value), None)


def file_source(value: Any) -> Found | None:
    """A part source for a ``File`` value: ``(source, size, content_type)``.

    ``File.Value`` with ``.attachment`` (received), ``data``, ``handle``
    (read from the start, as Spyne does) or ``path`` (opened only while the
    part is sent); also a bare :class:`mtom.Attachment`, path or bytes.
    """
    if isinstance(value, Attachment):
        return value, value.size, value.content_type
    if not isinstance(value, File.Value):
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value), os.stat(value).st_size, None
        return _with_type(chunks_source(value), None)
    att = getattr(value, "attachment", None)
    if isinstance(att, Attachment) and not att.closed:
        return att, att.size, value.type
    if value.data is not None:
        return _with_type(chunks_source(value.data), value.type)
    if value.handle is not None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if value.handle.seekable():
                value.handle.seek(0)  # Spyne reads a File handle from its start
        return value.handle, source_size(value.handle), value.type
    path = value.abspath or value.path
    return None if path is None else (os.fspath(path), os.stat(path).st_size, value.type)
