"""Binary values on their way into and out of Zeep, without base64 in between.

Strategy
--------
One :class:`CallContext` lives for one operation call (see :mod:`zeep_mtom.hooks`,
which creates it around ``SoapBinding.send``).

*Sending.* Zeep renders every ``xs:base64Binary`` value (and every type
derived from it, which Zeep builds as a subclass) through
``Base64Binary.render``. The hook hands the value to :meth:`CallContext.render`:
a value that will become a MIME part is not encoded at all — the element gets
a placeholder text ``cid:<content-id>`` and the source (``bytes``, an open
binary file, a :class:`pathlib.Path`, an :class:`mtom.Attachment` or an
:class:`mtom.OutgoingPart`) is remembered under it. ``post_xml`` later swaps
each placeholder for an ``xop:Include`` of a part streaming that source
(:func:`zeep_mtom.request.optimise_envelope`). Small values, opted-out
elements and non-MTOM calls get ordinary base64 text. While a signing
``wsse`` is configured the real base64 text is rendered (the signature must
cover it) and the element is remembered instead, to be moved after signing.

*Receiving.* :mod:`zeep_mtom.response` leaves a ``cid:`` token in each element
whose ``xop:Include`` it resolved and registers the part here;
``Base64Binary.pythonvalue`` asks :meth:`CallContext.resolve`, which returns
the part's bytes (read once, no base64) or, in ``stream_attachments`` mode,
the file-backed :class:`mtom.Attachment` itself.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

import mtom
from mtom.writer import PartSource

from .options import MtomOptions

if TYPE_CHECKING:
    from .response import MtomReply

__all__ = [
    "CallContext",
    "OutgoingValue",
    "ValueDeliveryError",
    "coerce_value",
    "inline_base64_text",
    "is_binary_source",
    "read_attachment",
]

_CHUNK = 1024 * 1024


class ValueDeliveryError(mtom.MtomError):
    """A reply value could not be delivered (its part was closed or unreadable).

    Deliberately *not* a :class:`ValueError`: Zeep's simple-type parser turns
    ``ValueError`` into a logged ``None``, which would hide a lost value.
    """


def is_binary_source(value: object) -> bool:
    """True for the value kinds a base64Binary field accepts besides base64 text."""
    return isinstance(value, (bytes, bytearray, memoryview, os.PathLike, mtom.Attachment,
                              mtom.OutgoingPart)) or (
        not isinstance(value, str) and hasattr(value, "read"))


def _file_size(f: Any) -> int | None:
    try:
        if not f.seekable():
            return None
        pos = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(pos)
        return int(end - pos)
    except (OSError, AttributeError, ValueError):
        return None


@dataclass
class OutgoingValue:
    """A binary value the user passed, not yet read: where it comes from and what we know."""

    source: PartSource
    size: int | None
    content_type: str | None = None
    content_id: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def to_part(self, content_id: str, element_content_type: str | None) -> mtom.OutgoingPart:
        """The part to send; ``xmime:contentType`` on the element wins over the value's own type."""
        return mtom.OutgoingPart(
            self.source, content_id=content_id,
            content_type=element_content_type or self.content_type or "application/octet-stream",
            headers=self.headers, size=self.size)


def coerce_value(value: object) -> OutgoingValue | None:
    """Describe a non-text binary value, or ``None`` when ``value`` is not one.

    ``bytes``-likes, :class:`os.PathLike` paths (``str`` is base64 text in
    Zeep, never a path), binary file objects (read from their current
    position), :class:`mtom.Attachment` and :class:`mtom.OutgoingPart`.

    Raises:
        OSError: a path that cannot be stat'ed.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return OutgoingValue(value, memoryview(value).nbytes)
    if isinstance(value, mtom.OutgoingPart):
        return OutgoingValue(value.source, value.size, value.content_type, value.content_id,
                             list(value.headers))
    if isinstance(value, mtom.Attachment):
        return OutgoingValue(value, value.size, value.content_type)
    if isinstance(value, os.PathLike):
        return OutgoingValue(value, os.stat(value).st_size)
    if not isinstance(value, str) and hasattr(value, "read"):
        return OutgoingValue(value, _file_size(value))  # type: ignore[arg-type]
    return None


def _read_source(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return b"".join(bytes(c) for c in mtom.OutgoingPart(source).iter_content())


def inline_base64_text(value: object) -> bytes:
    """Base64 text for a binary value (files and paths are read whole: the inline path)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value)
    described = coerce_value(value)
    if described is None:
        raise TypeError(f"{type(value).__name__} is not a binary value")
    return base64.b64encode(_read_source(described.source))


def read_attachment(att: mtom.Attachment) -> bytes:
    """The attachment's content as one ``bytes``, copied once.

    An in-memory part returns its stored bytes (no copy); a spooled part is
    read with one ``pread`` into one ``bytes`` (:meth:`mtom.Attachment.read`).

    Raises:
        ValueDeliveryError: the part is closed or came back shorter than its size.
    """
    try:
        data = att.read()
    except (mtom.MtomError, OSError, ValueError) as exc:
        raise ValueDeliveryError(f"reply part <{att.content_id}> could not be read: {exc}") from exc
    if len(data) != att.size:
        raise ValueDeliveryError(
            f"reply part <{att.content_id}> gave {len(data)} of {att.size} bytes")
    return data


def _set_text(node: etree._Element, text: bytes) -> None:
    # lxml takes ASCII bytes as text without a decode copy; the stubs only know str.
    node.text = text  # type: ignore[assignment]


class CallContext:
    """State of one operation call: values to send, parts received.

    Args:
        options: the transport's options.
        optimise: whether this call's request is sent as MTOM (values at or
            over the threshold become parts).
        placeholders: whether such values are rendered as ``cid:``
            placeholders (no base64) rather than as base64 text.
        huge_tree: the client's ``Settings.xml_huge_tree``, used when parsing
            a reply's root part.
        inline_replies: give Zeep reply values as base64 text (the XOP
            infoset), for a WS-Security signature check over the reply.
    """

    def __init__(self, options: MtomOptions, *, optimise: bool, placeholders: bool,
                 huge_tree: bool = False, inline_replies: bool = False):
        self.options = options
        self.optimise = optimise
        self.placeholders = placeholders and optimise
        self.huge_tree = huge_tree
        self.inline_replies = inline_replies
        self.pending: dict[str, tuple[str, OutgoingValue]] = {}
        self.typed: list[etree._Element] = []
        self.reply: MtomReply | None = None
        self._reply_values: dict[str, mtom.Attachment] = {}
        self._delivered: list[mtom.Attachment] = []

    # -- sending ---------------------------------------------------------

    def render(self, node: etree._Element, value: object) -> None:
        """Set ``node.text`` for a base64Binary ``value``: placeholder or base64 text."""
        tag = node.tag if isinstance(node.tag, str) else ""
        if isinstance(value, str):
            self._render_text(node, tag, value)
            return
        described = coerce_value(value)
        if described is None:
            # Not a binary value Zeep would accept either: let base64 raise as usual.
            _set_text(node, base64.b64encode(value))  # type: ignore[arg-type]
            return
        if not self.optimise or not self.options.wants_part(tag, described.size):
            _set_text(node, inline_base64_text(value))
            return
        if not self.placeholders:
            _set_text(node, inline_base64_text(value))
            self.typed.append(node)
            return
        self._placeholder(node, described)

    def _render_text(self, node: etree._Element, tag: str, text: str) -> None:
        # Zeep passes str values through as base64 text; decode only what will move.
        if not self.optimise or not self.options.wants_part(tag, len(text) * 3 // 4):
            node.text = text
            return
        if not self.placeholders:
            node.text = text
            self.typed.append(node)
            return
        try:
            raw = binascii.a2b_base64(text.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            node.text = text  # not base64: sent as given, like Zeep does
            return
        if not self.options.wants_part(tag, len(raw)):
            node.text = text
            return
        self._placeholder(node, OutgoingValue(raw, len(raw)))

    def _placeholder(self, node: etree._Element, value: OutgoingValue) -> None:
        cid = value.content_id
        if not cid or mtom.cid_href(cid) in self.pending:
            cid = mtom.make_content_id()
        token = mtom.cid_href(cid)
        self.pending[token] = (cid, value)
        node.text = token

    def take(self, text: str) -> tuple[str, OutgoingValue] | None:
        """The value a placeholder text stands for (each placeholder is taken once)."""
        return self.pending.pop(text, None)

    # -- receiving -------------------------------------------------------

    def accept_reply(self, reply: MtomReply, values: dict[str, mtom.Attachment]) -> None:
        """Register the parts a reply's tokens stand for."""
        self.reply = reply
        self._reply_values = values

    def resolve(self, text: str) -> bytes | mtom.Attachment | None:
        """The value for a reply token, or ``None`` when ``text`` is not one."""
        att = self._reply_values.get(text)
        if att is None:
            return None
        if self.options.stream_attachments and not att.in_memory:
            if self.reply is not None:
                self.reply.hand_out(att)
            return att
        data = read_attachment(att)
        self._delivered.append(att)
        return data

    def finish(self) -> None:
        """Release what the call no longer needs (parts already copied into ``bytes``)."""
        self.pending.clear()
        self.typed.clear()
        keep: set[int] = set()
        if self.reply is not None:
            keep = {id(r.attachment) for r in self.reply.swa}
            keep.update(id(a) for a in self.reply.unreferenced)
            keep.update(self.reply.handed_out_ids)
        for att in self._delivered:
            if id(att) not in keep:
                att.close()
        self._delivered.clear()
