"""The five places where Zeep is hooked, installed once, inert for other transports.

Strategy: a transport alone cannot see a value before Zeep base64-encodes
it, nor after Zeep decodes it, so the adapter wraps

* ``SoapBinding.send`` / ``send_async`` — when the client's transport is a
  zeep_mtom transport, a :class:`~zeep_mtom.values.CallContext` is made
  current (a :class:`contextvars.ContextVar`, so threads and asyncio tasks
  each see their own) for the whole call: serialisation, WS-Security,
  plugins, ``post_xml`` and ``process_reply``;
* ``Base64Binary.render`` — values go to the current context (placeholder or
  base64, see :mod:`zeep_mtom.values`);
* ``Base64Binary.pythonvalue`` — reply tokens resolve to the part's bytes;
* ``Base64Binary.xmlvalue`` — also outside a call (``Client.create_message``,
  plain transports) a ``Path``, file, ``Attachment`` or ``OutgoingPart`` is
  accepted and inlined as base64 instead of raising ``TypeError``.

With no current context every wrapper calls Zeep's own code unchanged, so
clients using other transports in the same process behave exactly as before.
Types derived from ``xs:base64Binary`` are subclasses Zeep builds at schema
load time, so they inherit the wrappers.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from lxml import etree
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.const import Nil
from zeep.xsd.types.builtins import Base64Binary

from .values import CallContext, inline_base64_text, is_binary_source

__all__ = ["current_call", "install", "installed"]

_CURRENT: ContextVar[CallContext | None] = ContextVar("zeep_mtom_call", default=None)
_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}
_BEGIN = "_zeep_mtom_begin_call"


def current_call() -> CallContext | None:
    """The context of the operation call running in this thread / task, if any."""
    return _CURRENT.get()


def installed() -> bool:
    return bool(_ORIGINALS)


def _render(self: Any, node: etree._Element, value: Any, xsd_type: Any = None,
            render_path: Any = None) -> None:
    ctx = _CURRENT.get()
    if (ctx is None or value is Nil or isinstance(value, (etree.CDATA, list, dict, set))
            or xsd_type is not None):
        _ORIGINALS["render"](self, node, value, xsd_type, render_path)
        return
    ctx.render(node, value)


def _xmlvalue(self: Any, value: Any) -> Any:
    if is_binary_source(value) and not isinstance(value, (bytes, bytearray, memoryview)):
        return inline_base64_text(value)
    return _ORIGINALS["xmlvalue"](self, value)


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


def _wrap(owner: type, name: str, wrapper: Callable[..., Any]) -> None:
    original = getattr(owner, name)
    _ORIGINALS[name] = original
    functools.update_wrapper(wrapper, original)
    wrapper.__zeep_mtom_original__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def install() -> None:
    """Install the wrappers (idempotent, thread-safe). Transports call this themselves."""
    with _LOCK:
        if _ORIGINALS:
            return
        _wrap(Base64Binary, "render", _render)
        _wrap(Base64Binary, "xmlvalue", _xmlvalue)
        _wrap(Base64Binary, "pythonvalue", _pythonvalue)
        _wrap(SoapBinding, "send", _send)
        _wrap(SoapBinding, "send_async", _send_async)
