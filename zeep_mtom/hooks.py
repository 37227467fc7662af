"""The Zeep seams: where a value enters and leaves Zeep, and the state of one call.

Strategy: a transport alone cannot see a value before Zeep base64-encodes
it, nor after Zeep decodes it, so four of Zeep's methods are wrapped once:

* ``SoapBinding.send`` / ``send_async`` — when the client's transport is a
  zeep_mtom transport, a :class:`CallContext` is made current (a
  :class:`contextvars.ContextVar`: threads and asyncio tasks each see their
  own) for the whole call: serialisation, WS-Security, plugins,
  ``post_xml`` and ``process_reply``;
* ``Base64Binary.render`` — a value that will be a part is not encoded at
  all: the element gets a ``cid:`` placeholder and the value (``bytes``, a
  :class:`pathlib.Path`, an open file, an :class:`mtom.Attachment`, an
  :class:`mtom.OutgoingPart`) waits in :attr:`CallContext.pending` for
  :func:`zeep_mtom.request.prepare`; small values get base64 text;
* ``Base64Binary.pythonvalue`` — a reply token (left by
  :mod:`zeep_mtom.response`) becomes the part's ``bytes`` (one read, no
  base64) or, above ``spool_threshold`` with ``stream_attachments``, the
  file-backed :class:`mtom.Attachment` itself.

Outside such a call (no current context) every wrapper runs Zeep's own code
unchanged, so a client with another transport in the same process behaves
exactly as without zeep_mtom. Types derived from ``xs:base64Binary`` are
subclasses Zeep builds at schema load time, so they inherit the wrappers.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import threading
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from lxml import etree
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.const import Nil
from zeep.xsd.types.builtins import Base64Binary, String

import mtom

if TYPE_CHECKING:
    from .response import MtomReply

__all__ = ["CallContext", "ValueDeliveryError", "current_call", "install", "installed",
           "read_attachment"]

_CURRENT: ContextVar[CallContext | None] = ContextVar("zeep_mtom_call", default=None)
_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}
_BEGIN = "_zeep_mtom_begin_call"


class ValueDeliveryError(mtom.MtomError):
    """A reply value could not be delivered (its part was closed or unreadable).

    Deliberately *not* a :class:`ValueError`: Zeep's simple-type parser turns
    ``ValueError`` into a logged ``None``, which would hide a lost value.
    """


def read_attachment(att: mtom.Attachment) -> bytes:
    """The attachment's content as one ``bytes`` (one read; no copy when in memory).

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
        optimise: whether this call's request is sent as MTOM.
        placeholders: render ``cid:`` placeholders (no base64) for values that
            will be parts; off while a signature must cover the base64 text.
        huge_tree: the client's ``Settings.xml_huge_tree`` (for the reply root).
        inline_replies: give Zeep reply values as base64 text (the XOP
            infoset), for a WS-Security signature check over the reply.
    """

    def __init__(self, options: mtom.MtomOptions, *, optimise: bool, placeholders: bool,
                 huge_tree: bool = False, inline_replies: bool = False):
        self.options = options
        self.optimise = optimise
        self.placeholders = placeholders and optimise
        self.huge_tree = huge_tree
        self.inline_replies = inline_replies
        self.pending: dict[str, mtom.OutgoingPart] = {}
        self.typed: list[etree._Element] = []  # base64 text that may become parts
        self.reply: MtomReply | None = None
        self._reply_values: dict[str, mtom.Attachment] = {}
        self._delivered: list[mtom.Attachment] = []
        #: Values at or above the threshold written inline because this call is not MTOM.
        self.inlined = 0
        #: The binding's QName (set by the transport), for messages.
        self.binding: object = None

    # -- sending ---------------------------------------------------------

    def render(self, node: etree._Element, value: object, field: str | None = None) -> None:
        """Set ``node.text`` for a base64Binary ``value``: a placeholder or base64 text.

        ``field`` names the value in errors (default: the element's local name).

        Raises:
            mtom.UsageError: a directory, a text-mode file or a closed file.
        """
        field = field or etree.QName(node).localname
        if isinstance(value, str):
            self._render_text(node, value, field)
            return
        part = mtom.as_part(value, field=field)
        if part is None:  # not a binary value Zeep accepts either: let base64 raise as usual
            _set_text(node, base64.b64encode(value))  # type: ignore[arg-type]
        elif not self.optimise or not self.options.wants_part(node.tag, part.size):
            _set_text(node, mtom.base64_text(part))
            if not self.optimise and self.options.wants_part(node.tag, part.size):
                self.inlined += 1
                self.typed.append(node)  # a part if the request is resent as MTOM
        elif not self.placeholders:
            _set_text(node, mtom.base64_text(part))
            self.typed.append(node)
        else:
            self._placeholder(node, part)

    def _render_text(self, node: etree._Element, text: str, field: str) -> None:
        # Zeep passes str values through as base64 text; decode only what will move.
        node.text = text
        if not self.optimise:
            if self.options.wants_part(node.tag, len(text) * 3 // 4):
                self.inlined += 1
                self.typed.append(node)  # a part if the request is resent as MTOM
            return
        warnings.warn(
            f"field {field!r} (xs:base64Binary) was given a str: it is sent as base64 text "
            "decoded to bytes (Zeep's convention); pass bytes (text.encode()) to send the "
            "text itself, or a pathlib.Path to send a file", mtom.UsageWarning, stacklevel=2)
        if not self.options.wants_part(node.tag, len(text) * 3 // 4):
            return
        if not self.placeholders:
            self.typed.append(node)
            return
        try:
            raw = binascii.a2b_base64(text.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            return  # not base64: sent as given, like Zeep does
        if self.options.wants_part(node.tag, len(raw)):
            self._placeholder(node, mtom.OutgoingPart(raw))

    def _placeholder(self, node: etree._Element, part: mtom.OutgoingPart) -> None:
        token = mtom.cid_href(part.content_id)
        if token in self.pending:  # the same part object used twice: a new Content-ID
            part = mtom.OutgoingPart(part.source, content_type=part.content_type,
                                     headers=part.headers, size=part.size)
            token = mtom.cid_href(part.content_id)
        self.pending[token] = part
        node.text = token

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


def current_call() -> CallContext | None:
    """The context of the operation call running in this thread / task, if any."""
    return _CURRENT.get()


def installed() -> bool:
    return bool(_ORIGINALS)


def _field(node: etree._Element, render_path: Any) -> str:
    """The value's name for an error: Zeep's render path (``Echo.data``), else the tag."""
    if isinstance(render_path, list) and render_path:
        return ".".join(str(p) for p in render_path)
    return etree.QName(node).localname


def _render(self: Any, node: etree._Element, value: Any, xsd_type: Any = None,
            render_path: Any = None) -> None:
    ctx = _CURRENT.get()
    if (ctx is None or value is Nil or isinstance(value, (etree.CDATA, list, dict, set))
            or xsd_type is not None):
        _ORIGINALS["render"](self, node, value, xsd_type, render_path)
        return
    ctx.render(node, value, _field(node, render_path))


def _render_string(self: Any, node: etree._Element, value: Any, xsd_type: Any = None,
                   render_path: Any = None) -> None:
    ctx = _CURRENT.get()
    if ctx is not None and ctx.optimise and isinstance(value, os.PathLike):
        raise mtom.UsageError(
            f"field {_field(node, render_path)!r} is an xs:string but was given a path "
            f"({os.fspath(value)!r}); files go into xs:base64Binary fields. To send the "
            "file's name as text, pass str(path)")
    _ORIGINALS["render_string"](self, node, value, xsd_type, render_path)


def _pythonvalue(self: Any, value: Any) -> Any:
    ctx = _CURRENT.get()
    # Only text that starts like a cid: URL is looked up (hashing a large inline
    # base64 string just to miss would cost a pass over it).
    if ctx is not None and isinstance(value, str) and value[:80].lstrip()[:4].lower() == "cid:":
        resolved = ctx.resolve(value)
        if resolved is not None:
            return resolved
    return _ORIGINALS["pythonvalue"](self, value)


def _begin(client: Any, binding: Any) -> CallContext | None:
    begin: Callable[..., CallContext] | None = getattr(
        getattr(client, "transport", None), _BEGIN, None)
    return begin(binding, client) if begin is not None else None


def _send(self: Any, client: Any, options: Any, operation: Any, args: Any, kwargs: Any) -> Any:
    ctx = _begin(client, self)
    if ctx is None:
        return _ORIGINALS["send"](self, client, options, operation, args, kwargs)
    token = _CURRENT.set(ctx)
    try:
        return _ORIGINALS["send"](self, client, options, operation, args, kwargs)
    finally:
        _CURRENT.reset(token)
        ctx.finish()


async def _send_async(self: Any, client: Any, options: Any, operation: Any, args: Any,
                      kwargs: Any) -> Any:
    ctx = _begin(client, self)
    if ctx is None:
        return await _ORIGINALS["send_async"](self, client, options, operation, args, kwargs)
    token = _CURRENT.set(ctx)
    try:
        return await _ORIGINALS["send_async"](self, client, options, operation, args, kwargs)
    finally:
        _CURRENT.reset(token)
        ctx.finish()


def _wrap(owner: type, name: str, wrapper: Callable[..., Any], key: str | None = None) -> None:
    original = getattr(owner, name)
    _ORIGINALS[key or name] = original
    functools.update_wrapper(wrapper, original)
    wrapper.__zeep_mtom_original__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def install() -> None:
    """Install the wrappers (idempotent, thread-safe). Transports call this themselves."""
    with _LOCK:
        if _ORIGINALS:
            return
        _wrap(Base64Binary, "render", _render)
        _wrap(Base64Binary, "pythonvalue", _pythonvalue)
        _wrap(SoapBinding, "send", _send)
        _wrap(SoapBinding, "send_async", _send_async)
        _wrap(String, "render", _render_string, "render_string")
