"""The transports: Zeep's own, plus MTOM on the way out and in.

Strategy: :class:`MtomTransport` (requests) and :class:`AsyncMtomTransport`
(httpx) share :class:`_MtomMixin`, which holds the options, the WS-Policy
index (fed by ``load``, which also serves the bundled xmlmime schemas) and
the per-call setup Zeep's ``send`` asks for through :mod:`zeep_mtom.hooks`.
The two classes differ only in ``post_xml``: each prepares the request with
:func:`zeep_mtom.request.prepare`, POSTs it streaming, pushes the reply body
into a :class:`zeep_mtom.response.ReplyReader` chunk by chunk and returns a
``requests.Response`` holding the plain envelope for Zeep.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Iterable, MutableMapping
from typing import Any

import requests
from lxml import etree
from zeep.transports import AsyncTransport, Transport
from zeep.wsse.username import UsernameToken

import mtom

from . import hooks, schemas
from .options import DEFAULT_THRESHOLD, ElementName, MtomOptions
from .policy import MtomPolicy, PolicyIndex
from .request import PreparedRequest, prepare
from .response import MtomReply, MtomResponse, ReplyReader, ReplyResult, make_response
from .values import CallContext

__all__ = ["AsyncMtomTransport", "MtomTransport"]

_CHUNK = 1024 * 1024


def _signs(wsse: Any) -> bool:
    """Whether the client's WS-Security may sign requests / verify replies (not UsernameToken)."""
    if wsse is None:
        return False
    items = wsse if isinstance(wsse, list) else [wsse]
    return any(not isinstance(w, UsernameToken) for w in items)


class _MtomMixin:
    """What both transports add to Zeep's: options, policy, schemas, per-call state."""

    mtom_options: MtomOptions
    policies: PolicyIndex

    def _init_mtom(self, options: MtomOptions) -> None:
        hooks.install()
        self.mtom_options = options
        self.policies = PolicyIndex()
        self._last_reply: contextvars.ContextVar[MtomReply | None] = contextvars.ContextVar(
            f"zeep_mtom_last_reply_{id(self):x}", default=None)

    # -- WSDL loading ----------------------------------------------------

    def load(self, url: str) -> bytes:
        """Zeep's ``load``, serving the bundled xmlmime schemas and indexing WS-Policy."""
        bundled = schemas.schema_for(url) if isinstance(url, str) else None
        if bundled is not None:
            return bundled
        content: bytes = super().load(url)  # type: ignore[misc]
        self.policies.add_document(content, url)
        return content

    def binding_policy(self, binding: str | etree.QName) -> MtomPolicy:
        """What the loaded WSDLs' WS-Policy says about MTOM for ``binding`` (its QName)."""
        return self.policies.binding_policy(binding)

    def sends_mtom(self, binding: str | etree.QName) -> bool:
        """Whether requests on ``binding`` go out as MTOM: the option, else the policy."""
        if self.mtom_options.mtom is not None:
            return self.mtom_options.mtom
        return self.binding_policy(binding).enabled

    # -- per call --------------------------------------------------------

    def _zeep_mtom_begin_call(self, binding: Any, client: Any) -> CallContext:
        """Called by the hooked ``SoapBinding.send`` before Zeep serialises anything."""
        name = getattr(binding, "name", None)
        optimise = self.sends_mtom(name) if name is not None else self.mtom_options.mtom is True
        settings = getattr(client, "settings", None)
        signs = _signs(getattr(client, "wsse", None))
        return CallContext(
            self.mtom_options, optimise=optimise,
            placeholders=self.mtom_options.render_placeholders and not signs,
            huge_tree=bool(getattr(settings, "xml_huge_tree", False)), inline_replies=signs)

    @property
    def last_reply(self) -> MtomReply | None:
        """The last reply this transport received in the current thread / asyncio task.

        SwA attachments, parts nobody referenced and the whole package are
        reachable here after a call: ``transport.last_reply.swa``,
        ``.unreferenced``, ``.get("cid:…")``.
        """
        return self._last_reply.get()

    @property
    def _log(self) -> logging.Logger:
        logger: logging.Logger = getattr(self, "logger", None) or logging.getLogger(
            "zeep.transports")
        return logger

    def _prepare(self, address: str, envelope: etree._Element,
                 headers: MutableMapping[str, str]) -> tuple[PreparedRequest, CallContext | None]:
        ctx = hooks.current_call()
        prepared = prepare(envelope, headers, ctx, self.mtom_options)
        if self._log.isEnabledFor(logging.DEBUG):  # the envelope only: parts may be huge
            kind = (f"MTOM, {len(prepared.package.parts)} part(s), "
                    f"{prepared.package.content_length} bytes" if prepared.package else "plain")
            self._log.debug("HTTP Post to %s (%s):\n%s", address, kind,
                            prepared.envelope.decode("utf-8", "replace"))
        return prepared, ctx

    def _reply_reader(self, status: int, content_type: str | None,
                      ctx: CallContext | None) -> ReplyReader:
        return ReplyReader(status, content_type, self.mtom_options,
                           huge_tree=ctx.huge_tree if ctx is not None else False,
                           inline_values=ctx.inline_replies if ctx is not None else False)

    def _accept(self, address: str, result: ReplyResult, ctx: CallContext | None) -> None:
        self._last_reply.set(result.reply)
        if ctx is not None:
            ctx.accept_reply(result.reply, result.values)
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("HTTP Response from %s (status: %d, %s, %d part(s)):\n%s", address,
                            result.reply.status_code, result.reply.content_type.media_type,
                            len(result.reply.attachments),
                            result.content.decode("utf-8", "replace"))


def _where(exc: BaseException, address: str, status: int) -> None:
    """Say which reply a core error is about (Python 3.11+ exception notes)."""
    if isinstance(exc, mtom.MtomError) and hasattr(exc, "add_note"):
        exc.add_note(f"while reading the HTTP {status} reply from {address}")


def _options(mtom_: bool | None, threshold: int, optimize_elements: Iterable[ElementName],
             inline_elements: Iterable[ElementName], spool_threshold: int,
             spool_dir: str | os.PathLike[str] | None, limits: mtom.Limits,
             stream_attachments: bool, render_placeholders: bool) -> MtomOptions:
    return MtomOptions(
        mtom=mtom_, threshold=threshold,
        optimize_elements=frozenset(optimize_elements),  # type: ignore[arg-type]
        inline_elements=frozenset(inline_elements),  # type: ignore[arg-type]
        spool_threshold=spool_threshold, spool_dir=spool_dir, limits=limits,
        stream_attachments=stream_attachments, render_placeholders=render_placeholders)


class MtomTransport(_MtomMixin, Transport):
    """Zeep's requests-based ``Transport`` with MTOM.

    Args:
        cache, timeout, operation_timeout, session: as for
            :class:`zeep.transports.Transport`.
        mtom: ``None`` (default) follows the WSDL's WS-Policy per binding;
            ``True``/``False`` force MTOM requests on/off. Replies are
            always decoded, MTOM or not.
        threshold: ``xs:base64Binary`` values of fewer bytes stay inline
            (default 1024).
        optimize_elements: element QNames always sent as parts.
        inline_elements: element QNames never sent as parts.
        spool_threshold: reply parts over this size go to a temporary file.
        spool_dir: where those files live (default: the system's).
        limits: :class:`mtom.Limits` for replies.
        stream_attachments: return spooled reply values as
            :class:`mtom.Attachment` (file-backed) instead of ``bytes``.
        render_placeholders: see :class:`MtomOptions`.

    Use: ``zeep.Client(wsdl, transport=MtomTransport())``. Binary fields
    accept ``bytes``, base64 ``str``, a binary file, a :class:`pathlib.Path`,
    an :class:`mtom.Attachment` or an :class:`mtom.OutgoingPart`.

    Raises (from operation calls): the :class:`mtom.MtomError` family for a
    malformed multipart reply; requests' exceptions for network errors;
    Zeep's ``Fault`` for SOAP faults, MTOM-packaged or not.
    """

    def __init__(self, cache: Any = None, timeout: float = 300,
                 operation_timeout: float | None = None,
                 session: requests.Session | None = None, *, mtom: bool | None = None,
                 threshold: int = DEFAULT_THRESHOLD,
                 optimize_elements: Iterable[ElementName] = (),
                 inline_elements: Iterable[ElementName] = (),
                 spool_threshold: int = mtom.DEFAULT_SPOOL_THRESHOLD,
                 spool_dir: str | os.PathLike[str] | None = None,
                 limits: mtom.Limits = mtom.DEFAULT_LIMITS, stream_attachments: bool = False,
                 render_placeholders: bool = True):
        self._close_session = False  # Zeep's __del__ reads it even if validation fails
        options = _options(mtom, threshold, optimize_elements, inline_elements,
                           spool_threshold, spool_dir, limits, stream_attachments,
                           render_placeholders)
        super().__init__(cache=cache, timeout=timeout,  # type: ignore[no-untyped-call]
                         operation_timeout=operation_timeout, session=session)
        self._init_mtom(options)

    def post_xml(self, address: str, envelope: etree._Element,
                 headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        prepared, ctx = self._prepare(address, envelope, headers)
        response = self.session.post(address, data=prepared.requests_body(), headers=headers,
                                     timeout=self.operation_timeout, stream=True)
        with response:
            reader = self._reply_reader(response.status_code,
                                        response.headers.get("Content-Type"), ctx)
            try:
                for chunk in response.iter_content(_CHUNK):
                    reader.feed(chunk)
                result = reader.close()
            except BaseException as exc:
                reader.abort()
                # Drop the connection now: the traceback keeps this frame (and with it
                # the socket) alive for as long as the caller holds the exception.
                response.raw.close()
                _where(exc, address, response.status_code)
                raise
        self._accept(address, result, ctx)
        return make_response(
            result, status_code=response.status_code, headers=response.headers,
            url=response.url, reason=response.reason,
            extra={"cookies": response.cookies, "elapsed": response.elapsed,
                   "history": response.history, "request": response.request,
                   **({} if result.reply.is_multipart else {"encoding": response.encoding})})


class AsyncMtomTransport(_MtomMixin, AsyncTransport):
    """Zeep's httpx-based ``AsyncTransport`` with MTOM (same options as :class:`MtomTransport`).

    Use with ``zeep.AsyncClient(wsdl, transport=AsyncMtomTransport())``.
    """

    def __init__(self, client: Any = None, wsdl_client: Any = None, cache: Any = None,
                 timeout: float = 300, operation_timeout: float | None = None,
                 verify_ssl: bool = True, proxy: Any = None, *, mtom: bool | None = None,
                 threshold: int = DEFAULT_THRESHOLD,
                 optimize_elements: Iterable[ElementName] = (),
                 inline_elements: Iterable[ElementName] = (),
                 spool_threshold: int = mtom.DEFAULT_SPOOL_THRESHOLD,
                 spool_dir: str | os.PathLike[str] | None = None,
                 limits: mtom.Limits = mtom.DEFAULT_LIMITS, stream_attachments: bool = False,
                 render_placeholders: bool = True):
        self._close_session = False
        options = _options(mtom, threshold, optimize_elements, inline_elements,
                           spool_threshold, spool_dir, limits, stream_attachments,
                           render_placeholders)
        super().__init__(client=client, wsdl_client=wsdl_client,  # type: ignore[no-untyped-call]
                         cache=cache, timeout=timeout, operation_timeout=operation_timeout,
                         verify_ssl=verify_ssl, proxy=proxy)
        self._init_mtom(options)

    async def post_xml(self, address: str, envelope: etree._Element,
                       headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        prepared, ctx = self._prepare(address, envelope, headers)
        async with self.client.stream("POST", address, content=prepared.httpx_content(),
                                      headers=dict(headers)) as response:
            reader = self._reply_reader(response.status_code,
                                        response.headers.get("Content-Type"), ctx)
            try:
                async for chunk in response.aiter_bytes(_CHUNK):
                    reader.feed(chunk)
                result = reader.close()
            except BaseException as exc:
                reader.abort()
                _where(exc, address, response.status_code)
                raise
        self._accept(address, result, ctx)
        return make_response(
            result, status_code=response.status_code, headers=response.headers,
            url=str(response.url), reason=response.reason_phrase,
            extra={"cookies": response.cookies,
                   **({} if result.reply.is_multipart else {"encoding": response.encoding})})
