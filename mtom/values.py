"""The value contract: (envelope, values) → package, and package → (envelope, values).

Strategy: an adapter's framework hands it binary *values* — ``bytes``, a
path, an open file, an :class:`~mtom.Attachment`, an
:class:`~mtom.OutgoingPart` — bound to elements of an lxml envelope. Both
directions live here, so each adapter keeps only its framework seams:

* **out**: :func:`as_part` describes a value as an :class:`OutgoingPart`
  without reading it (files and paths are streamed later);
  :func:`build_package` puts an ``xop:Include`` in each element whose value
  is big enough (:meth:`MtomOptions.wants_part`), writes the small ones as
  base64 text (:func:`base64_text`), optionally decodes chosen base64 text
  into parts too (:func:`mtom.optimize` does the walking), and returns the
  :class:`OutgoingPackage` — or ``None`` when nothing became a part.
* **in**: a :class:`PackageReader` from :meth:`MtomOptions.reader` is fed
  the body; :func:`unpack` parses its root once (with the caller's parser
  options) and resolves every ``xop:Include`` and SwA reference: the
  envelope plus element → :class:`~mtom.Attachment`, no base64 at all.
"""

from __future__ import annotations

import base64
import io
import mmap
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from lxml import etree

from .attachments import Attachment
from .encodings import decode_base64
from .errors import UsageError
from .headers import cid_href
from .options import MtomOptions
from .package import Package
from .soap import XMIME_CONTENT_TYPE, SoapVersion
from .writer import OutgoingPackage, OutgoingPart, PartSource, source_size
from .xop import XOP_INCLUDE, XopReference, XopResult, optimize, reconstitute

__all__ = ["ACCEPTED_VALUES", "Detached", "as_part", "base64_text", "build_package",
           "check_source", "chunks_source", "decode_base64", "detach_hints", "inline_parts",
           "is_binary_value", "safe_filename", "source_size", "unpack", "validate_received"]

_B64_CHUNK = 3 * 256 * 1024  # a multiple of 3: chunks encode without padding


def is_binary_value(value: object) -> bool:
    """True for the value kinds :func:`as_part` accepts (a ``str`` is never one)."""
    return isinstance(value, (bytes, bytearray, memoryview, os.PathLike, Attachment,
                              OutgoingPart)) or (
        not isinstance(value, str) and hasattr(value, "read"))


#: What a binary field accepts, for error messages.
ACCEPTED_VALUES = ("bytes, a pathlib.Path to a file, a file object opened in binary mode "
                   "('rb'), an mtom.Attachment or an mtom.OutgoingPart")


def _named(field: str | None) -> str:
    return f"field {field!r}" if field else "a binary value"


def check_source(value: object, *, field: str | None = None) -> None:
    """Refuse a value that cannot be sent as a part, naming ``field``, before anything is sent.

    A directory path, a file opened in text mode and a closed file raise
    :class:`~mtom.UsageError` (a :class:`ValueError`) saying what is accepted;
    an :class:`~mtom.OutgoingPart`'s source is checked the same way.

    Raises:
        UsageError: the value can never be read as binary content.
        OSError: a path that cannot be stat'ed (e.g. missing).
    """
    if isinstance(value, OutgoingPart):
        value = value.source
        if isinstance(value, str):  # an OutgoingPart's str source is a path
            value = Path(value)
    where = _named(field)
    if isinstance(value, os.PathLike):
        if stat.S_ISDIR(os.stat(value).st_mode):
            raise UsageError(f"{where}: {os.fspath(value)!r} is a directory, not a file; "
                             f"expected {ACCEPTED_VALUES}")
        return
    if isinstance(value, (str, bytes, bytearray, memoryview, Attachment)) or not hasattr(
            value, "read"):
        return
    if getattr(value, "closed", False) is True:
        name = getattr(value, "name", None)
        raise UsageError(f"{where}: the file {name!r} is closed; pass it while it is open "
                         "(inside its 'with' block) or pass its pathlib.Path" if name
                         else f"{where}: the file object is closed; pass an open one")
    mode = getattr(value, "mode", None)
    if isinstance(value, io.TextIOBase) or (
            isinstance(mode, str) and "b" not in mode and hasattr(value, "encoding")):
        name = getattr(value, "name", None)
        shown = f" {name!r}" if isinstance(name, str) else ""
        raise UsageError(f"{where}: the file{shown} is open in text mode; open it in binary "
                         "mode (open(path, 'rb')) or pass its pathlib.Path")


def as_part(value: object, *, content_type: str | None = None,
            field: str | None = None) -> OutgoingPart | None:
    """Describe a binary value as a part to send, without reading it; ``None`` if it is not one.

    ``bytes``-likes, :class:`os.PathLike` paths (a ``str`` is text, never a
    path), binary file objects (read from their current position when sent),
    :class:`Attachment` (its own Content-Type) and :class:`OutgoingPart`
    (returned as it is). ``field`` names the value in errors.

    Raises:
        UsageError: a directory, a text-mode file or a closed file
            (:func:`check_source`).
        OSError: a path that cannot be stat'ed.
    """
    if not is_binary_value(value):
        return None
    check_source(value, field=field)
    if isinstance(value, OutgoingPart):
        return value
    if isinstance(value, Attachment):
        content_type = content_type or value.content_type
    source: PartSource = value  # type: ignore[assignment]
    return OutgoingPart(source, content_type=content_type or "application/octet-stream")


def _chunks(value: object) -> Iterator[bytes | memoryview]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        yield memoryview(value)
        return
    part = as_part(value)
    if part is None:
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            raise TypeError(f"{type(value).__name__} is not a binary value")
        part = OutgoingPart(value)
    for chunk in part.iter_content():
        view = memoryview(chunk)
        for i in range(0, len(view), _B64_CHUNK):
            yield view[i:i + _B64_CHUNK]


def _buffer_size(value: object) -> int | None:
    if isinstance(value, (bytes, bytearray, memoryview, mmap.mmap)):
        return memoryview(value).nbytes
    return None


def chunks_source(value: object) -> tuple[PartSource, int] | None:
    """A binary value given as one buffer or as chunks: its part source and size, or
    ``None`` when it is not one.

    One ``bytes``-like object (an ``mmap`` too, as a ``memoryview``), or an
    iterable of them (a sequence of one is that one object; an iterable of
    unknown length is materialised to know its size). A ``str`` is never one.
    """
    if isinstance(value, str):
        return None
    size = _buffer_size(value)
    if size is not None:
        buffer = memoryview(value) if isinstance(value, mmap.mmap) else value
        return cast(PartSource, buffer), size
    if not isinstance(value, Iterable):
        return None
    chunks = list(value)
    sizes = [_buffer_size(c) for c in chunks]
    if any(s is None for s in sizes):
        return None
    if len(chunks) == 1:
        return chunks_source(chunks[0])
    return [c if isinstance(c, bytes) else bytes(c) for c in chunks], sum(
        s for s in sizes if s is not None)


def base64_text(value: object) -> bytes:
    """The base64 text of a binary value (files and paths are read a chunk at a time).

    Raises:
        TypeError: ``value`` is not a binary value (or an iterable of byte chunks).
    """
    if isinstance(value, OutgoingPart) and isinstance(value.source, (bytes, bytearray)):
        value = value.source  # one encode, not a pass over chunks
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value)
    pending = b""
    out: list[bytes] = []
    for chunk in _chunks(value):
        data = pending + bytes(chunk)
        cut = len(data) - len(data) % 3
        out.append(base64.b64encode(data[:cut]))
        pending = data[cut:]
    out.append(base64.b64encode(pending))
    return b"".join(out)


def safe_filename(name: str | None) -> str | None:
    """A part's Content-Disposition filename usable as a value's name (metadata only).

    Names with any directory part, ``.``/``..`` or a NUL are dropped (``None``):
    a peer's name must never become a path.
    """
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        return None
    return name


def build_package(envelope: etree._Element, values: Mapping[etree._Element, OutgoingPart],
                  options: MtomOptions, *, soap_version: SoapVersion | str = SoapVersion.SOAP11,
                  action: str | None = None, charset: str = "UTF-8",
                  select: Callable[[etree._Element], bool] | None = None,
                  ) -> OutgoingPackage | None:
    """(envelope, values) → the MTOM package to send, or ``None`` when no value became a part.

    ``envelope`` is modified in place: an ``xop:Include`` in each element
    whose value became a part, base64 text in the others. ``select`` also
    moves elements that already hold base64 text (default: none; e.g. text
    a signature covered). ``options.mtom is False`` inlines every value.

    Raises:
        mtom.InvalidInclude: a selected element's text is not base64.
    """
    if options.mtom is False:
        for element, part in values.items():
            element.text = base64_text(part.source).decode("ascii")
        return None
    parts = optimize(envelope, values=values, options=options,
                     select=select or (lambda el: False))
    if not parts:
        return None
    root = cast(bytes, etree.tostring(envelope, xml_declaration=True, encoding=charset))
    return OutgoingPackage(root, parts, soap_version=soap_version, action=action,
                           charset=charset)


def inline_parts(envelope: etree._Element, parts: Iterable[OutgoingPart], *,
                 again: bool = True) -> None:
    """Undo :func:`build_package`: each ``xop:Include`` of one of ``parts`` becomes the
    part's content as base64 text again (files and paths are read again).

    ``envelope`` is modified in place. Used to resend a request as plain SOAP
    when a server refuses MTOM (``again``: the parts were already sent once;
    ``again=False`` for a request not sent yet).

    Raises:
        UsageError: a part's source cannot be read a second time (a non-seekable
            stream or an iterable of chunks), naming the element and the part.
    """
    by_href = {cid_href(p.content_id): p for p in parts}
    for inc in list(envelope.iter(XOP_INCLUDE)):
        part = by_href.get(inc.get("href") or "")
        parent = inc.getparent()
        if part is None or parent is None:
            continue
        if again and not part.rereadable:
            raise UsageError(
                f"the value of {etree.QName(parent).localname!r} (part <{part.content_id}>) "
                f"came from a {type(part.source).__name__} that cannot be read a second time "
                "(not seekable); pass bytes, a pathlib.Path or a seekable binary file to let "
                "it be resent")
        parent.remove(inc)
        parent.text = base64_text(part).decode("ascii")


def unpack(package: Package, options: MtomOptions, *,
           parser_options: dict[str, Any] | None = None
           ) -> tuple[etree._Element, XopResult]:
    """Package → (envelope, references): one parse of the root, every Include resolved.

    Each ``xop:Include`` is removed, leaving its parent empty; the value is
    the reference's :class:`Attachment` (no base64). SwA references and
    unreferenced parts are reported too.

    Raises:
        RootPartError, InvalidInclude, DanglingInclude, LimitExceeded.
    """
    root = options.parse(package.root.read(), charset=package.root.parsed_content_type.charset,
                         parser_options=parser_options)
    return root, reconstitute(root, package, limits=options.limits)


class Detached:
    """What :func:`detach_hints` took out of a tree; :meth:`restore` puts it back (idempotent)."""

    def __init__(self) -> None:
        self.items: list[tuple[etree._Element, str | None, str | None]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def restore(self) -> None:
        for element, attribute, value in self.items:
            if attribute is None:
                element.text = value
            elif value is not None:
                element.set(attribute, value)
        self.items.clear()


def validate_received(validate: Callable[[], object], root: etree._Element,
                      references: Iterable[XopReference] = (),
                      errors: type[Exception] | tuple[type[Exception], ...] = Exception) -> None:
    """Run a schema validation of ``root`` as a schema of the values sees it.

    ``validate()`` runs with :func:`detach_hints` applied; when it raises one of
    ``errors`` and something was detached, it runs once more on the tree as
    received (the schema may declare, even require, an ``xmime:contentType``).
    The tree is restored in every case; the first error is the one raised.
    """
    detached = detach_hints(root, references)
    retry = bool(detached)
    try:
        validate()
        return
    except errors as exc:
        if not retry:
            raise
        first = exc
    finally:
        detached.restore()
    try:
        validate()
    except errors:
        raise first from None


def detach_hints(root: etree._Element, references: Iterable[XopReference] = ()) -> Detached:
    """Take out what a schema of the values may not declare, for a validation.

    ``xmime:contentType`` attributes anywhere under ``root``, the ``href`` of
    SwA references and the ``cid:`` text of swaRef values: the received
    infoset a schema sees is then the values' own.
    """
    out = Detached()
    for el in root.iter(tag=etree.Element):
        for name in XMIME_CONTENT_TYPE:
            value = el.get(name)
            if value is not None:
                out.items.append((el, name, value))
                del el.attrib[name]
    for ref in references:
        if ref.kind == "swa-href" and ref.element.get("href") is not None:
            out.items.append((ref.element, "href", ref.element.get("href")))
            del ref.element.attrib["href"]
        elif ref.kind == "swa-ref":
            out.items.append((ref.element, None, ref.element.text))
            ref.element.text = None
    return out
