"""The transports: Zeep's own, plus MTOM on the way out and in, a deadline, clean errors.

Strategy: :class:`MtomTransport` (requests) and :class:`AsyncMtomTransport`
(httpx) share :class:`_MtomMixin`: one :class:`mtom.MtomOptions`, the
WS-Policy index (fed by ``load``, which also serves the bundled xmlmime
schemas), the per-call setup Zeep's ``send`` asks for through
:mod:`zeep_mtom.hooks`, and ``last_reply``. The two ``post_xml`` differ only
in I/O: each prepares the request with :func:`zeep_mtom.request.prepare`,
POSTs it streaming, pushes the reply body into a
:class:`zeep_mtom.response.ReplyReader` chunk by chunk and returns a
``requests.Response`` holding the plain envelope for Zeep.

A value's way in: socket → ``post_xml`` (this module) → ``ReplyReader``
(:mod:`.response`, core :func:`mtom.unpack`) → Zeep parses the envelope →
``Base64Binary.pythonvalue`` → :meth:`CallContext.resolve` (:mod:`.hooks`)
→ the user. Out: user → ``Base64Binary.render`` → :meth:`CallContext.render`
→ :func:`~zeep_mtom.request.prepare` (core :func:`mtom.build_package`) →
:class:`mtom.PackageStream` → socket.

Negotiation (:mod:`zeep_mtom.negotiate`): ``post_xml`` sends an endpoint the
format it accepted before (``_steer``), resends once in the other format
when a reply refuses the request's media type (``_retry``), and before
handing the reply to Zeep raises what Zeep would misreport (``_settle``: a
415 as :class:`UnsupportedMediaType`, a fault of the other SOAP version as
zeep's ``Fault``). The deadline covers both attempts.

After any error while the reply is read the connection is closed, never
returned to the pool. ``deadline`` bounds the whole exchange (sending the
request included): past it the call raises :class:`CallTimeout`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import weakref
from collections.abc import MutableMapping
from typing import Any

import anyio
import requests
from lxml import etree
from zeep.transports import AsyncTransport, Transport
from zeep.wsse.username import UsernameToken

import mtom
from mtom.policy import MtomPolicy, PolicyIndex
from mtom.progress import ProgressCallback

from . import hooks, schemas
from . import negotiate as negotiate_
from ._http import MtomHTTPAdapter, coalesce
from .hooks import CallContext
from .negotiate import LOG, UnsupportedMediaType
from .report import Exchange, PerCaller, log_report, warn_inlined_by_policy
from .request import PreparedRequest, prepare
from .response import MtomReply, MtomResponse, ReplyReader, ReplyResult, adopt, make_response

__all__ = ["AsyncMtomTransport", "CallTimeout", "MtomTransport", "UnsupportedMediaType"]

_CHUNK = 1024 * 1024


class CallTimeout(TimeoutError):
    """The call did not finish within the transport's ``deadline`` (seconds)."""


def _signs(wsse: Any) -> bool:
    """Whether the client's WS-Security may sign requests / verify replies (not UsernameToken)."""
    if wsse is None:
        return False
    items = wsse if isinstance(wsse, list) else [wsse]
    return any(not isinstance(w, UsernameToken) for w in items)


class _Replies:
    """``last_reply`` per thread and asyncio task, held by the transport only.

    A thread's replies go with the thread (``threading.local``), a task's with
    the task (weak keys), all of them with the transport; ``close`` closes them.
    """

    def __init__(self) -> None:
        self._current: PerCaller[MtomReply] = PerCaller()
        self._all: weakref.WeakValueDictionary[int, MtomReply] = weakref.WeakValueDictionary()

    def get(self) -> MtomReply | None:
        return self._current.get()

    def set(self, reply: MtomReply) -> None:
        self._current.set(reply)
        self._all[id(reply)] = reply

    def close(self) -> None:
        for reply in list(self._all.values()):
            reply.close()
        self._all.clear()
        self._current.clear()


class _MtomMixin:
    """What both transports add to Zeep's: options, policy, schemas, per-call state."""

    mtom_options: mtom.MtomOptions
    policies: PolicyIndex
    logger: logging.Logger  # Zeep's transports set it
    deadline: float | None
    render_placeholders: bool

    def _init_mtom(self, options: mtom.MtomOptions, deadline: float | None,
                   render_placeholders: bool, progress: ProgressCallback | None = None,
                   negotiate: bool = True) -> None:
        hooks.install()
        schemas.install()
        self.negotiate = bool(negotiate)
        self.negotiated: negotiate_.Memory[negotiate_.Mode] = negotiate_.Memory()
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(
                deadline, (int, float)) or not deadline > 0):
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable taking an mtom.Progress, got "
                            f"{type(progress).__name__}")
        self.mtom_options = options
        self.deadline = deadline
        self.render_placeholders = bool(render_placeholders)
        self.progress = progress
        self.policies = PolicyIndex()
        self._replies = _Replies()
        self._reports: PerCaller[mtom.WireReport] = PerCaller()
        self._policy_warned: negotiate_.Memory[bool] = negotiate_.Memory()

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
        ctx = CallContext(
            self.mtom_options, optimise=optimise,
            placeholders=self.render_placeholders and not signs,
            huge_tree=bool(getattr(settings, "xml_huge_tree", False)), inline_replies=signs)
        ctx.binding = name
        return ctx

    @property
    def last_reply(self) -> MtomReply | None:
        """The last reply this transport received in the current thread / asyncio task.

        SwA attachments, parts nobody referenced and the whole package are
        reachable here after a call: ``transport.last_reply.swa``,
        ``.unreferenced``, ``.get("cid:…")``. Held by the transport only:
        released by :meth:`close` or when the transport is collected.
        """
        return self._replies.get()

    @property
    def last_report(self) -> mtom.WireReport | None:
        """The :class:`mtom.WireReport` of the last call in the current thread / asyncio task.

        MTOM or plain each way, parts, body bytes, what inline base64 would
        have taken, seconds. Sizes only (no content, no open file); ``None``
        before the first call and while a call that failed before its reply
        was read is the latest. Kept after :meth:`close`.
        """
        return self._reports.get()

    def _release_replies(self) -> None:
        self._replies.close()

    def _start(self, address: str, prepared: PreparedRequest,
               ctx: CallContext | None) -> Exchange:
        """Per exchange: the policy warning, progress meters, the report's clock."""
        self._reports.set(None)
        warn_inlined_by_policy(ctx, self.mtom_options, address, self._policy_warned)
        return Exchange(prepared, self.progress)

    def _finish(self, address: str, exchange: Exchange, reader: ReplyReader,
                result: ReplyResult) -> None:
        report = exchange.report(result.reply.package, reader.received)
        self._reports.set(report)
        log_report(address, result.reply.status_code, report)

    def _prepare(self, address: str, envelope: etree._Element,
                 headers: MutableMapping[str, str]) -> tuple[PreparedRequest, CallContext | None]:
        ctx = hooks.current_call()
        prepared = prepare(envelope, headers, ctx, self.mtom_options)
        if self.logger.isEnabledFor(logging.DEBUG):  # the envelope only: parts may be huge
            kind = (f"MTOM, {len(prepared.package.parts)} part(s), "
                    f"{prepared.package.content_length} bytes" if prepared.package else "plain")
            self.logger.debug("HTTP Post to %s (%s):\n%s", address, kind,
                            prepared.envelope.decode("utf-8", "replace"))
        return prepared, ctx

    def _reply_reader(self, status: int, content_type: str | None,
                      ctx: CallContext | None,
                      progress: mtom.ProgressMeter | None = None) -> ReplyReader:
        return ReplyReader(status, content_type, self.mtom_options,
                           huge_tree=ctx.huge_tree if ctx is not None else False,
                           inline_values=ctx.inline_replies if ctx is not None else False,
                           progress=progress)

    def _accept(self, address: str, result: ReplyResult, ctx: CallContext | None) -> None:
        self._replies.set(result.reply)
        for warning in result.reply.warnings:
            LOG.warning("the HTTP %d reply from %s: %s", result.reply.status_code, address,
                        warning)
        if ctx is not None:
            ctx.accept_reply(result.reply, result.values)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("HTTP Response from %s (status: %d, %s, %d part(s)):\n%s", address,
                            result.reply.status_code, result.reply.content_type.media_type,
                            len(result.reply.attachments),
                            result.content.decode("utf-8", "replace"))

    # -- negotiation (zeep_mtom.negotiate) ---------------------------------

    def _convert(self, mode: negotiate_.Mode, envelope: etree._Element,
                 zeep_headers: dict[str, str], prepared: PreparedRequest,
                 ctx: CallContext | None, *, again: bool) -> PreparedRequest:
        """The same request in the other format (raises mtom.UsageError if impossible)."""
        headers = dict(zeep_headers)
        if mode == "mtom":
            return prepare(envelope, headers, ctx, self.mtom_options, force_mtom=True)
        if prepared.package is not None:
            mtom.inline_parts(envelope, prepared.package.parts, again=again)
        return PreparedRequest(headers, etree.tostring(envelope, xml_declaration=True,
                                                       encoding="utf-8"))

    def _steer(self, address: str, envelope: etree._Element, zeep_headers: dict[str, str],
               prepared: PreparedRequest, ctx: CallContext | None) -> PreparedRequest:
        """Send an endpoint the format it accepted after an earlier resend."""
        mode = self.negotiated.get(address) if self.negotiate else None
        if mode is None or mode == ("mtom" if prepared.is_mtom else "plain"):
            return prepared
        LOG.debug("sending %s as %s (negotiated earlier)", address, mode)
        return self._convert(mode, envelope, zeep_headers, prepared, ctx, again=False)

    def _retry(self, address: str, envelope: etree._Element, zeep_headers: dict[str, str],
               prepared: PreparedRequest, ctx: CallContext | None,
               response: MtomResponse) -> PreparedRequest | None:
        """The request to resend when ``response`` refuses its format, else ``None``."""
        if not self.negotiate:
            return None
        sent: negotiate_.Mode = "mtom" if prepared.is_mtom else "plain"
        want = negotiate_.refusal(sent, response.status_code, response.reason,
                                  response.headers, response.content)
        if want is None:
            return None
        try:
            again = self._convert(want, envelope, zeep_headers, prepared, ctx, again=True)
        except mtom.UsageError as exc:
            raise negotiate_.UnsupportedMediaType(
                negotiate_.refused_message(address, sent, response.status_code, resent=False,
                                           why_not=str(exc), content=response.content),
                status_code=response.status_code, content=response.content, address=address,
                sent=sent) from exc
        LOG.info("%s answered HTTP %d refusing the %s request's media type: resending it once "
                 "as %s", address, response.status_code, sent, want)
        if response.mtom_reply is not None:
            response.mtom_reply.close()
        return again

    def _settle(self, address: str, envelope: etree._Element, prepared: PreparedRequest,
                response: MtomResponse, *, resent: bool) -> MtomResponse:
        """Raise what Zeep would misreport (415, a fault of the other SOAP version);
        remember an endpoint that accepted a resend."""
        sent: negotiate_.Mode = "mtom" if prepared.is_mtom else "plain"
        status = response.status_code
        if status == 415:
            raise negotiate_.UnsupportedMediaType(
                negotiate_.refused_message(address, sent, status, resent=resent,
                                           content=response.content),
                status_code=status, content=response.content, address=address, sent=sent)
        if resent and negotiate_.refusal(sent, status, response.reason, response.headers,
                                         response.content) is None:
            self.negotiated.remember(address, sent)
            LOG.info("%s accepted the request resent as %s (HTTP %d): requests to it go out "
                     "as %s from now on", address, sent, status, sent)
        fault = negotiate_.foreign_fault(etree.QName(envelope).namespace, status,
                                         response.content)
        if fault is not None:
            raise fault
        return response

    def _timeout(self, address: str) -> CallTimeout:
        return CallTimeout(f"the call to {address} did not finish within its deadline of "
                           f"{self.deadline} s")


def _where(exc: BaseException, address: str, status: int) -> None:
    """Say which reply a core error is about (Python 3.11+ exception notes)."""
    if isinstance(exc, mtom.MtomError) and hasattr(exc, "add_note"):
        exc.add_note(f"while reading the HTTP {status} reply from {address}")


class _Watchdog:
    """Shuts the reply's socket down at the deadline, so a blocked read returns at once."""

    def __init__(self, response: requests.Response, remaining: float):
        self.fired = False
        self._sock: socket.socket | None = getattr(response.raw.connection, "sock", None)
        self._timer = threading.Timer(max(remaining, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class _TimedStream(mtom.PackageStream):
    """The request body, refusing to go on past the deadline."""

    def __init__(self, package: mtom.OutgoingPackage, end: float, error: CallTimeout,
                 progress: mtom.ProgressMeter | None = None):
        super().__init__(package, progress=progress)
        self._deadline_at, self._error = end, error

    def read(self, size: int | None = _CHUNK) -> bytes:
        if time.monotonic() > self._deadline_at:
            raise self._error
        return super().read(size)


class MtomTransport(_MtomMixin, Transport):
    """Zeep's requests-based ``Transport`` with MTOM.

    Args:
        cache, timeout, operation_timeout, session: as for
            :class:`zeep.transports.Transport` (``operation_timeout`` bounds
            each socket read; ``deadline`` the whole call).
        options: an :class:`mtom.MtomOptions`.
        mtom_options: its fields as keyword arguments (they override
            ``options``): ``mtom``, ``threshold``, ``optimize_elements``,
            ``inline_elements``, ``spool_threshold``, ``spool_dir``, ``limits``,
            ``huge_tree``, ``stream_attachments``; see :class:`mtom.MtomOptions`.
            By default a reply value over ``spool_threshold`` (4 MiB) comes back
            as a file-backed
            :class:`mtom.Attachment`, so a call holds at most
            ``spool_threshold`` bytes per value plus ``max_root_size`` of
            envelope; ``stream_attachments=False`` returns ``bytes`` always.
        deadline: seconds the whole call may take, request and reply
            included (default: no deadline); past it :class:`CallTimeout`.
        render_placeholders: let Zeep render a ``cid:`` placeholder instead
            of base64 for values that will become parts (no base64 work).
            Off automatically while a signing ``wsse`` is configured; turn it
            off yourself only for an egress plugin that hashes the body.
        progress: a callable receiving :class:`mtom.Progress` events while
            the request is sent (``direction="send"``) and the reply read
            (``"receive"``): bytes done, total (``None`` when unknown), the
            part's Content-ID; about a hundred per transfer whatever its
            size, and a last one with ``finished=True``. It runs in the
            calling thread (or event loop): keep it quick. An exception it
            raises ends the call and propagates (a way to cancel); the
            connection is not reused. Default: none, at no cost.
        negotiate: when a server refuses the request's format, resend once in
            the other: an MTOM request answered HTTP 415 (or with a fault
            saying the media type is unsupported) as plain SOAP with inline
            base64; a plain request answered 415 naming ``multipart/related``
            as MTOM. An endpoint that accepts the resend gets that format from
            then on (remembered per transport, at most 256 endpoints). Each
            decision is logged at INFO on the ``zeep_mtom`` logger. A value
            read from a non-seekable stream is not resent. Default ``True``;
            with ``False`` a 415 raises :class:`UnsupportedMediaType`.
        max_in_flight: (:class:`AsyncMtomTransport` only) at most this many
            HTTP exchanges at once on the transport; further calls wait their
            turn (first come, first served) with their request already built
            by Zeep, and the wait counts towards ``deadline``. Default
            ``None``: no limit but httpx's pool limits. Many calls in flight
            against a nearby server cost less CPU per call with a small limit
            (4-8): httpx's pool spends CPU per request in proportion to the
            connections it juggles (see the performance page).

    Use: ``with MtomTransport() as transport: zeep.Client(wsdl, transport=transport)``.
    After each call ``transport.last_report`` is its :class:`mtom.WireReport`,
    also logged at INFO on the ``zeep_mtom`` logger.
    Binary fields accept ``bytes``, base64 ``str``, a binary file, a
    :class:`pathlib.Path`, an :class:`mtom.Attachment` or an
    :class:`mtom.OutgoingPart`.

    Raises (from operation calls): :class:`mtom.UsageError` for a binary
    value that cannot be sent (a directory, a text-mode or closed file), or a
    path given to an ``xs:string`` field while MTOM is on, naming the field;
    the :class:`mtom.MtomError` family for a malformed or oversized reply
    (:class:`mtom.DimeNotSupported` for DIME); :class:`CallTimeout`;
    :class:`UnsupportedMediaType` (a zeep ``TransportError``) for an HTTP 415
    no resend cured; requests' exceptions for network errors; Zeep's
    ``Fault`` for SOAP faults, MTOM-packaged or not, also a fault in the
    other SOAP version's envelope (a VersionMismatch: its reason, and which
    binding to use).
    """

    def __init__(self, cache: Any = None, timeout: float = 300,
                 operation_timeout: float | None = None,
                 session: requests.Session | None = None, *,
                 options: mtom.MtomOptions | None = None, deadline: float | None = None,
                 render_placeholders: bool = True, progress: ProgressCallback | None = None,
                 negotiate: bool = True,
                 **mtom_options: Any):
        self._close_session = False  # Zeep's __del__ reads it even if validation fails
        opts = mtom.MtomOptions.merge(options, **mtom_options)
        super().__init__(cache=cache, timeout=timeout,  # type: ignore[no-untyped-call]
                         operation_timeout=operation_timeout, session=session)
        if session is None:  # our own session: replies' headers skip email's boundary regex
            for prefix in ("http://", "https://"):
                self.session.mount(prefix, MtomHTTPAdapter())
        self._init_mtom(opts, deadline, render_placeholders, progress, negotiate)

    def close(self) -> None:
        """Release ``last_reply`` (its temporary files) and the session this transport made."""
        self._release_replies()
        if self._close_session:
            self.session.close()

    def __enter__(self) -> MtomTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post_xml(self, address: str, envelope: etree._Element,
                 headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        zeep_headers = dict(headers)
        prepared, ctx = self._prepare(address, envelope, headers)
        prepared = self._steer(address, envelope, zeep_headers, prepared, ctx)
        end = None if self.deadline is None else time.monotonic() + self.deadline
        response = self._exchange(address, prepared, ctx, end)
        retry = self._retry(address, envelope, zeep_headers, prepared, ctx, response)
        if retry is not None:
            prepared, response = retry, self._exchange(address, retry, ctx, end)
        return self._settle(address, envelope, prepared, response, resent=retry is not None)

    def _exchange(self, address: str, prepared: PreparedRequest, ctx: CallContext | None,
                  end: float | None) -> MtomResponse:
        exchange = self._start(address, prepared, ctx)
        body: Any = prepared.content(exchange.send_meter)
        timeout: Any = self.operation_timeout
        if end is not None:
            if prepared.package is not None:
                body = _TimedStream(prepared.package, end, self._timeout(address),
                                    exchange.send_meter)
                if prepared.package.content_length is None:
                    body = iter(body.read, b"")
            remaining = max(end - time.monotonic(), 0.001)
            read = remaining if timeout is None else min(timeout, remaining)
            timeout = (remaining, read)
        try:
            response = self.session.post(address, data=body, headers=prepared.headers,
                                         timeout=timeout, stream=True)
        except requests.RequestException as exc:
            if end is not None and time.monotonic() >= end:
                raise self._timeout(address) from exc
            raise
        exchange.request_sent()
        watchdog = _Watchdog(response, end - time.monotonic()) if end is not None else None
        connection = response.raw.connection  # urllib3 returns it to the pool at the body's end
        with response:
            reader = self._reply_reader(response.status_code,
                                        response.headers.get("Content-Type"), ctx,
                                        exchange.receive_meter(response.headers))
            try:
                for chunk in coalesce(response.iter_content(_CHUNK)):
                    reader.feed(chunk)  # past the deadline the watchdog ends the reads
                if watchdog is not None and watchdog.fired:  # the body may look complete
                    raise self._timeout(address)
                result = reader.close()
            except BaseException as exc:
                reader.abort()
                # Close the connection (never reused), and now: the traceback keeps
                # this frame (and with it the socket) alive while the caller holds it.
                (connection or response.raw).close()
                if watchdog is not None and watchdog.fired and not isinstance(exc, CallTimeout):
                    raise self._timeout(address) from exc
                _where(exc, address, response.status_code)
                raise
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        self._accept(address, result, ctx)
        self._finish(address, exchange, reader, result)
        return adopt(response, result)


class AsyncMtomTransport(_MtomMixin, AsyncTransport):
    """Zeep's httpx-based ``AsyncTransport`` with MTOM (same options as :class:`MtomTransport`).

    Use ``async with AsyncMtomTransport() as transport:`` and
    ``zeep.AsyncClient(wsdl, transport=transport)``. File parts are read with
    blocking 1 MiB reads. One more option, ``max_in_flight``: see
    :class:`MtomTransport`'s arguments.
    """

    def __init__(self, client: Any = None, wsdl_client: Any = None, cache: Any = None,
                 timeout: float = 300, operation_timeout: float | None = None,
                 verify_ssl: bool = True, proxy: Any = None, *,
                 options: mtom.MtomOptions | None = None, deadline: float | None = None,
                 render_placeholders: bool = True, progress: ProgressCallback | None = None,
                 negotiate: bool = True, max_in_flight: int | None = None,
                 **mtom_options: Any):
        self._close_session = False
        if max_in_flight is not None and (isinstance(max_in_flight, bool) or not isinstance(
                max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"max_in_flight must be a positive int or None, got "
                             f"{max_in_flight!r}")
        opts = mtom.MtomOptions.merge(options, **mtom_options)
        super().__init__(client=client, wsdl_client=wsdl_client,  # type: ignore[no-untyped-call]
                         cache=cache, timeout=timeout, operation_timeout=operation_timeout,
                         verify_ssl=verify_ssl, proxy=proxy)
        self._init_mtom(opts, deadline, render_placeholders, progress, negotiate)
        self.max_in_flight = max_in_flight
        # anyio's semaphore is not bound to one event loop (asyncio's is, from its first wait).
        self._gate: Any = (contextlib.nullcontext() if max_in_flight is None
                           else anyio.Semaphore(max_in_flight))

    async def aclose(self) -> None:
        """Release ``last_reply`` and close the httpx clients."""
        self._release_replies()
        await self.client.aclose()
        self.wsdl_client.close()

    async def __aenter__(self) -> AsyncMtomTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def post_xml(self, address: str, envelope: etree._Element,
                       headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        zeep_headers = dict(headers)
        prepared, ctx = self._prepare(address, envelope, headers)
        prepared = self._steer(address, envelope, zeep_headers, prepared, ctx)
        if self.deadline is None:
            return await self._negotiate(address, envelope, zeep_headers, prepared, ctx)
        try:
            with anyio.fail_after(self.deadline):
                return await self._negotiate(address, envelope, zeep_headers, prepared, ctx)
        except TimeoutError as exc:
            raise self._timeout(address) from exc

    async def _negotiate(self, address: str, envelope: etree._Element,
                         zeep_headers: dict[str, str], prepared: PreparedRequest,
                         ctx: CallContext | None) -> MtomResponse:
        response = await self._exchange(address, prepared, ctx)
        retry = self._retry(address, envelope, zeep_headers, prepared, ctx, response)
        if retry is not None:
            prepared, response = retry, await self._exchange(address, retry, ctx)
        return self._settle(address, envelope, prepared, response, resent=retry is not None)

    async def _exchange(self, address: str, prepared: PreparedRequest,
                        ctx: CallContext | None) -> MtomResponse:
        async with self._gate:
            return await self._exchange_now(address, prepared, ctx)

    async def _exchange_now(self, address: str, prepared: PreparedRequest,
                            ctx: CallContext | None) -> MtomResponse:
        exchange = self._start(address, prepared, ctx)
        async with self.client.stream("POST", address,
                                      content=prepared.aiter_content(exchange.send_meter),
                                      headers=dict(prepared.headers)) as response:
            exchange.request_sent()
            reader = self._reply_reader(response.status_code,
                                        response.headers.get("Content-Type"), ctx,
                                        exchange.receive_meter(response.headers))
            try:
                async for chunk in response.aiter_bytes(_CHUNK):
                    reader.feed(chunk)
                result = reader.close()
            except BaseException as exc:
                reader.abort()
                # Never back to the pool: a closed network stream makes httpcore drop it.
                network = response.extensions.get("network_stream")
                if network is not None:
                    with contextlib.suppress(Exception):
                        await network.aclose()
                _where(exc, address, response.status_code)
                raise
        self._accept(address, result, ctx)
        self._finish(address, exchange, reader, result)
        return make_response(
            result, status_code=response.status_code, headers=response.headers,
            url=str(response.url), reason=response.reason_phrase, cookies=response.cookies,
            **({} if result.reply.is_multipart else {"encoding": response.encoding}))
