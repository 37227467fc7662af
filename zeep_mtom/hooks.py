"""The Zeep seams: where a value enters and leaves Zeep.

Strategy: a transport alone cannot see a value before Zeep base64-encodes
it, nor after Zeep decodes it, so five of Zeep's functions are wrapped once;
each asks the call's :class:`mtom.ClientCall` (:mod:`mtom.call`, the value
decisions) what to do:

* ``SoapBinding.send`` / ``send_async`` — when the client's transport is a
  zeep_mtom transport, the :class:`~mtom.ClientCall` it makes is current (a
  :class:`contextvars.ContextVar`: threads and asyncio tasks each see their
  own) for the whole call: serialisation, WS-Security, plugins,
  ``post_xml`` and ``process_reply``;
* ``Base64Binary.render`` → :meth:`~mtom.ClientCall.render`: a value that
  will be a part gets a ``cid:`` placeholder (no base64) and waits, unread,
  for :func:`mtom.prepare_request` in ``post_xml``; small values get base64
  text. ``String.render`` refuses a path while the call is MTOM;
* ``Base64Binary.pythonvalue`` → :meth:`~mtom.ClientCall.resolve`: a reply
  token (left by :class:`mtom.ReplyReader`) becomes the part's ``bytes``
  (one read, no base64) or, above ``spool_threshold`` with
  ``stream_attachments``, the file-backed :class:`mtom.Attachment` itself;
* ``parse_xml`` as ``SoapBinding.process_reply`` calls it →
  :meth:`~mtom.ClientCall.parsed_reply`: a multipart reply's envelope was
  parsed once already (the core's safe parse: no DTD, no entities, no
  network, comments dropped as Zeep drops them); when Zeep asks to parse the
  very ``bytes`` object made from that tree, it gets the tree. Zeep's checks
  around the parse (status, plugins, WS-Security, faults) run on it unchanged.

Outside such a call (no current context) every wrapper runs Zeep's own code
unchanged, so a client with another transport in the same process behaves
exactly as without zeep_mtom. Types derived from ``xs:base64Binary`` are
subclasses Zeep builds at schema load time, so they inherit the wrappers.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from lxml import etree
from zeep.wsdl.bindings import soap as zeep_soap
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.const import Nil
from zeep.xsd.types.builtins import Base64Binary, String

from mtom.call import ClientCall, is_token

__all__ = ["current_call", "install", "installed"]

_CURRENT: ContextVar[ClientCall | None] = ContextVar("zeep_mtom_call", default=None)
_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}
_BEGIN = "_zeep_mtom_begin_call"


def current_call() -> ClientCall | None:
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
    if ctx is not None and isinstance(value, os.PathLike):
        ctx.check_text(value, _field(node, render_path))
    _ORIGINALS["render_string"](self, node, value, xsd_type, render_path)


def _pythonvalue(self: Any, value: Any) -> Any:
    ctx = _CURRENT.get()
    if ctx is not None and is_token(value):
        resolved = ctx.resolve(value)
        if resolved is not None:
            return resolved
    return _ORIGINALS["pythonvalue"](self, value)


def _parse_xml(content: Any, transport: Any, base_url: Any = None, settings: Any = None) -> Any:
    ctx = _CURRENT.get()
    root = ctx.parsed_reply(content) if ctx is not None else None
    if root is not None:  # the transport's own parse of exactly these bytes
        return root
    return _ORIGINALS["parse_xml"](content, transport, base_url=base_url, settings=settings)


def _begin(client: Any, binding: Any) -> ClientCall | None:
    begin: Callable[..., ClientCall] | None = getattr(
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


def _wrap(owner: object, name: str, wrapper: Callable[..., Any], key: str | None = None) -> None:
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
        # The name process_reply calls (imported there from zeep.loader): WSDL and schema
        # loading, which use zeep.loader.parse_xml itself, are untouched.
        _wrap(zeep_soap, "parse_xml", _parse_xml)
