"""The transports: Zeep's own, plus MTOM on the way out and in, a deadline, clean errors.

Strategy: :class:`MtomTransport` (requests) and :class:`AsyncMtomTransport`
(httpx) share :class:`_MtomMixin`: one :class:`mtom.MtomOptions`, the
WS-Policy index (fed by ``load``, which also serves the bundled xmlmime
schemas), the :class:`mtom.ClientCall` Zeep's ``send`` asks for through
:mod:`zeep_mtom.hooks`, ``last_reply`` / ``last_report`` and the
negotiation flow. Everything that is not I/O or Zeep is the core's
(:mod:`mtom.exchange`, :mod:`mtom.negotiation`): the two ``post_xml``
differ only in I/O. Each turns Zeep's envelope into an
:class:`mtom.OutgoingRequest` (:func:`mtom.prepare_request`), POSTs its body
streaming, pushes the reply body into the :class:`mtom.ReplyReader` of an
:class:`mtom.Exchange` chunk by chunk and returns an :class:`MtomResponse`
holding the plain envelope for Zeep.

A value's way in: socket → ``_exchange`` (this module) →
:class:`mtom.ReplyReader` (core :func:`mtom.unpack`; a ``cid:`` token per
value) → Zeep reads the envelope (a multipart reply's tree is the reader's own
parse, :meth:`mtom.ClientCall.parsed_reply`) → ``Base64Binary.pythonvalue``
(:mod:`.hooks`) → :meth:`mtom.ClientCall.resolve` → the user. Out: user →
``Base64Binary.render`` (:mod:`.hooks`) → :meth:`mtom.ClientCall.render`
(placeholder or base64) → Zeep's plugins and WS-Security →
``post_xml`` → :func:`mtom.prepare_request` (core :func:`mtom.build_package`)
→ :class:`mtom.PackageStream` → socket.

Negotiation (:class:`mtom.Negotiator`): ``post_xml`` sends an endpoint the
format it accepted before (``_first``), resends once in the other format
when a reply refuses the request's media type (``_retry``), and before
handing the reply to Zeep raises what Zeep would misreport (``_settle``: a
415 as :class:`UnsupportedMediaType`, a fault of the other SOAP version as
zeep's ``Fault``, from :func:`mtom.negotiation.foreign_fault`). The
deadline covers both attempts.

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
from collections.abc import AsyncIterator, Iterator, Mapping, MutableMapping
from typing import Any

import anyio
import requests
from lxml import etree
from requests.structures import CaseInsensitiveDict
from zeep.exceptions import Fault, TransportError
from zeep.transports import AsyncTransport, Transport
from zeep.wsse.username import UsernameToken

import mtom
from mtom.call import warn_inlined_by_policy
from mtom.exchange import LastReplies, PerCaller, ReplyResult, convert_request, reply_length
from mtom.negotiation import EndpointMemory, Mode, foreign_fault, refused_message
from mtom.policy import MtomPolicy, PolicyIndex
from mtom.progress import ProgressCallback
from mtom.soap import namespace_of

from . import hooks, schemas
from ._http import MtomSession, coalesce

__all__ = ["LOGGER", "AsyncMtomTransport", "CallTimeout", "MtomResponse", "MtomTransport",
           "UnsupportedMediaType"]

#: The adapter's logger: the INFO line per call, negotiation decisions (INFO), the policy
#: WARNING and tolerated reply deviations (WARNING).
LOGGER = logging.getLogger("zeep_mtom")

_CHUNK = 1024 * 1024


class CallTimeout(TimeoutError):
    """The call did not finish within the transport's ``deadline`` (seconds)."""


class UnsupportedMediaType(TransportError):
    """The server refused the request's media type (HTTP 415), and no resend helped.

    A zeep ``TransportError`` (``status_code``, ``content``), so existing
    ``except`` clauses keep working. ``sent`` is ``"mtom"`` or ``"plain"``:
    the format of the last request; ``address`` the endpoint.
    """

    def __init__(self, message: str, *, status_code: int, content: bytes, address: str,
                 sent: Mode):
        super().__init__(message, status_code=status_code,  # type: ignore[no-untyped-call]
                         content=content)
        self.address = address
        self.sent = sent


class MtomResponse(requests.Response):
    """A :class:`requests.Response` holding the (non-multipart) envelope Zeep parses.

    ``mtom_reply`` is the :class:`mtom.MtomReply` with every part.
    """

    mtom_reply: mtom.MtomReply | None = None


def _adopt(response: requests.Response, result: ReplyResult) -> MtomResponse:
    """Turn the streamed ``requests`` response into the one Zeep reads, in place.

    Its status, headers, cookies, history and timing stay as requests made
    them; the body becomes the envelope (the Content-Type says so) and
    ``mtom_reply`` the parts. (Building a second response object cost a
    call more than the rest of the per-call bookkeeping.)
    """
    response.__class__ = MtomResponse
    assert isinstance(response, MtomResponse)
    if result.content_type is not None:
        response.headers["Content-Type"] = result.content_type
    response._content = result.content
    response._content_consumed = True  # type: ignore[attr-defined]
    if result.reply.package is not None:
        response.encoding = "utf-8"
    response.mtom_reply = result.reply
    return response


def _response(result: ReplyResult, status_code: int, headers: Mapping[str, str],
              **attributes: Any) -> MtomResponse:
    """The response object the async ``post_xml`` returns to Zeep (from httpx's)."""
    resp = MtomResponse()
    resp.status_code = status_code
    resp.headers = CaseInsensitiveDict(headers)
    if result.content_type is not None:
        resp.headers["Content-Type"] = result.content_type
    resp._content = result.content
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.encoding = "utf-8" if result.reply.package is not None else None
    for name, value in attributes.items():  # url, reason, cookies, encoding…
        setattr(resp, name, value)
    resp.mtom_reply = result.reply
    return resp


def _read_size(headers: Mapping[str, str]) -> int | None:
    """``iter_content``'s chunk size: ``None`` (the whole body in one read) for a body of
    known length up to ``_CHUNK``, else ``_CHUNK`` (about 10 µs less per small reply)."""
    length = reply_length(headers)
    return None if length is not None and length <= _CHUNK else _CHUNK


def _signs(wsse: Any) -> bool:
    """Whether the client's WS-Security may sign requests / verify replies (not UsernameToken)."""
    if wsse is None:
        return False
    items = wsse if isinstance(wsse, list) else [wsse]
    return any(not isinstance(w, UsernameToken) for w in items)


def _where(exc: BaseException, address: str, status: int) -> None:
    """Say which reply a core error is about (Python 3.11+ exception notes)."""
    if isinstance(exc, mtom.MtomError) and hasattr(exc, "add_note"):
        exc.add_note(f"while reading the HTTP {status} reply from {address}")


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
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(
                deadline, (int, float)) or not deadline > 0):
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable taking an mtom.Progress, got "
                            f"{type(progress).__name__}")
        self.negotiator = mtom.Negotiator(negotiate, LOGGER)
        self.mtom_options = options
        self.deadline = deadline
        self.render_placeholders = bool(render_placeholders)
        self.progress = progress
        self.policies = PolicyIndex()
        self._replies = LastReplies()
        self._reports: PerCaller[mtom.WireReport] = PerCaller()
        self._policy_warned: EndpointMemory[bool] = EndpointMemory()

    @property
    def negotiate(self) -> bool:
        """Whether a refused request is resent in the other format (``negotiate=``)."""
        return self.negotiator.enabled

    @property
    def negotiated(self) -> EndpointMemory[Mode]:
        """Endpoint → the format it accepted after a resend (bounded, least recent dropped)."""
        return self.negotiator.memory

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

    def _zeep_mtom_begin_call(self, binding: Any, client: Any) -> mtom.ClientCall:
        """Called by the hooked ``SoapBinding.send`` before Zeep serialises anything."""
        name = getattr(binding, "name", None)
        optimise = self.sends_mtom(name) if name is not None else self.mtom_options.mtom is True
        settings = getattr(client, "settings", None)
        signs = _signs(getattr(client, "wsse", None))
        ctx = mtom.ClientCall(
            self.mtom_options, optimise=optimise,
            placeholders=self.render_placeholders and not signs,
            huge_tree=bool(getattr(settings, "xml_huge_tree", False)), inline_replies=signs)
        ctx.binding = name
        return ctx

    @property
    def last_reply(self) -> mtom.MtomReply | None:
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

    def _start(self, address: str, request: mtom.OutgoingRequest,
               ctx: mtom.ClientCall | None) -> mtom.Exchange:
        """Per exchange: the policy warning, progress meters, the report's clock."""
        self._reports.set(None)
        warn_inlined_by_policy(ctx, address, self._policy_warned, LOGGER)
        return mtom.Exchange(request, self.progress)

    def _finish(self, address: str, exchange: mtom.Exchange, reader: mtom.ReplyReader,
                result: ReplyResult, ctx: mtom.ClientCall | None) -> None:
        """The reply was read: keep it, hand its values to the call, report and log."""
        reply = result.reply
        self._replies.set(reply)
        for warning in reply.warnings:
            LOGGER.warning("the HTTP %d reply from %s: %s", reply.status_code, address, warning)
        report = exchange.finish(reader, result, ctx)
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("HTTP Response from %s (status: %d, %s):\n%s", address,
                              reply.status_code, result.describe(),
                              result.content.decode("utf-8", "replace"))
        self._reports.set(report)
        if LOGGER.isEnabledFor(logging.INFO):  # the summary is formatted only when logged
            LOGGER.info("POST %s -> HTTP %d: %s", address, reply.status_code, report.summary())

    # -- negotiation (mtom.negotiation) ------------------------------------

    def _first(self, address: str, envelope: etree._Element, headers: MutableMapping[str, str]
               ) -> tuple[mtom.OutgoingRequest, mtom.ClientCall | None, dict[str, str]]:
        """The first request: as the options and policy decide, or as the endpoint accepted
        after an earlier resend. Also returns the call and Zeep's own headers."""
        zeep_headers = dict(headers)
        ctx = hooks.current_call()
        request = mtom.prepare_request(envelope, headers, ctx, self.mtom_options)
        if self.logger.isEnabledFor(logging.DEBUG):  # the envelope only: parts may be huge
            self.logger.debug("HTTP Post to %s (%s):\n%s", address, request.describe(),
                              request.envelope.decode("utf-8", "replace"))
        mode = self.negotiator.steer(address, request.mode)
        if mode is not None:
            request = convert_request(mode, envelope, zeep_headers, request, ctx, self.mtom_options,
                                      again=False)
        return request, ctx, zeep_headers

    def _refused(self, address: str, sent: Mode, response: MtomResponse, *, resent: bool,
                 why_not: str | None = None) -> UnsupportedMediaType:
        status, content = response.status_code, response.content
        return UnsupportedMediaType(
            refused_message(address, sent, status, resent=resent, why_not=why_not,
                            content=content),
            status_code=status, content=content, address=address, sent=sent)

    def _retry(self, address: str, envelope: etree._Element, zeep_headers: dict[str, str],
               request: mtom.OutgoingRequest, ctx: mtom.ClientCall | None,
               response: MtomResponse) -> mtom.OutgoingRequest | None:
        """The request to resend when ``response`` refuses its format, else ``None``."""
        sent = request.mode
        want = self.negotiator.resend_as(sent, response.status_code, response.reason,
                                         response.headers, response.content)
        if want is None:
            return None
        try:
            again = convert_request(want, envelope, zeep_headers, request, ctx, self.mtom_options,
                                    again=True)
        except mtom.UsageError as exc:
            raise self._refused(address, sent, response, resent=False, why_not=str(exc)) from exc
        self.negotiator.resending(address, response.status_code, sent, want)
        if response.mtom_reply is not None:
            response.mtom_reply.close()
        return again

    def _settle(self, address: str, envelope: etree._Element, request: mtom.OutgoingRequest,
                response: MtomResponse, *, resent: bool) -> MtomResponse:
        """Raise what Zeep would misreport (415, a fault of the other SOAP version);
        remember an endpoint that accepted a resend."""
        status = response.status_code
        if status == 415:
            raise self._refused(address, request.mode, response, resent=resent)
        self.negotiator.settle(address, request.mode, status, response.reason,
                               response.headers, response.content, resent=resent)
        fault = foreign_fault(namespace_of(envelope), status, response.content)
        if fault is not None:
            raise Fault(message=fault.message, code=fault.code,  # type: ignore[no-untyped-call]
                        actor=fault.actor, detail=fault.detail)
        return response

    def _timeout(self, address: str) -> CallTimeout:
        return CallTimeout(f"the call to {address} did not finish within its deadline of "
                           f"{self.deadline} s")


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
            each socket read; ``deadline`` the whole call). Without a
            ``session`` the transport makes a :class:`MtomSession` (set auth,
            certificates or proxies on ``transport.session``): it reads reply
            headers without the ``email`` parser's boundary regex and asks
            the environment for an endpoint's proxy once per change of
            ``os.environ`` instead of on every request. A session passed in
            is used as it is: pass a :class:`MtomSession` you configured to
            keep both.
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
            against a nearby server cost less CPU per call with a limit of
            about the server's CPUs: httpx's pool spends CPU per request in
            proportion to the connections it juggles (see the performance page).

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
        own = session is None  # ours: reply headers skip email's regex, proxies looked up once
        super().__init__(cache=cache, timeout=timeout,  # type: ignore[no-untyped-call]
                         operation_timeout=operation_timeout,
                         session=MtomSession() if own else session)
        self._close_session = own
        self._init_mtom(opts, deadline, render_placeholders, progress, negotiate)

    def close(self) -> None:
        """Release ``last_reply`` (its temporary files) and the session this transport made."""
        self._replies.close()
        if self._close_session:
            self.session.close()

    def __enter__(self) -> MtomTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post_xml(self, address: str, envelope: etree._Element,
                 headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        request, ctx, zeep_headers = self._first(address, envelope, headers)
        end = None if self.deadline is None else time.monotonic() + self.deadline
        response = self._exchange(address, request, ctx, end)
        retry = self._retry(address, envelope, zeep_headers, request, ctx, response)
        if retry is not None:
            request, response = retry, self._exchange(address, retry, ctx, end)
        return self._settle(address, envelope, request, response, resent=retry is not None)

    def _exchange(self, address: str, request: mtom.OutgoingRequest,
                  ctx: mtom.ClientCall | None, end: float | None) -> MtomResponse:
        exchange = self._start(address, request, ctx)
        body: Any = exchange.body()
        timeout: Any = self.operation_timeout
        if end is not None:
            if request.package is not None:
                body = _TimedStream(request.package, end, self._timeout(address),
                                    exchange.send_meter)
                if request.package.content_length is None:
                    body = iter(body.read, b"")
            remaining = max(end - time.monotonic(), 0.001)
            read = remaining if timeout is None else min(timeout, remaining)
            timeout = (remaining, read)
        try:
            response = self.session.post(address, data=body, headers=request.headers,
                                         timeout=timeout, stream=True)
        except requests.RequestException as exc:
            if end is not None and time.monotonic() >= end:
                raise self._timeout(address) from exc
            raise
        exchange.request_sent()
        watchdog = _Watchdog(response, end - time.monotonic()) if end is not None else None
        connection = response.raw.connection  # urllib3 returns it to the pool at the body's end
        with response:
            reader = exchange.reader(response.status_code, response.headers, self.mtom_options,
                                     ctx)
            try:
                for chunk in coalesce(response.iter_content(_read_size(response.headers))):
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
        self._finish(address, exchange, reader, result, ctx)
        return _adopt(response, result)


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
        self._gate = None if max_in_flight is None else anyio.Semaphore(max_in_flight)

    async def aclose(self) -> None:
        """Release ``last_reply`` and close the httpx clients."""
        self._replies.close()
        await self.client.aclose()
        self.wsdl_client.close()

    async def __aenter__(self) -> AsyncMtomTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def post_xml(self, address: str, envelope: etree._Element,
                       headers: MutableMapping[str, str]) -> MtomResponse:
        """POST the envelope (as MTOM when values qualify) and read the reply as a stream."""
        request, ctx, zeep_headers = self._first(address, envelope, headers)
        if self.deadline is None:
            return await self._negotiate(address, envelope, zeep_headers, request, ctx)
        try:
            with anyio.fail_after(self.deadline):
                return await self._negotiate(address, envelope, zeep_headers, request, ctx)
        except TimeoutError as exc:
            raise self._timeout(address) from exc

    async def _negotiate(self, address: str, envelope: etree._Element,
                         zeep_headers: dict[str, str], request: mtom.OutgoingRequest,
                         ctx: mtom.ClientCall | None) -> MtomResponse:
        response = await self._exchange(address, request, ctx)
        retry = self._retry(address, envelope, zeep_headers, request, ctx, response)
        if retry is not None:
            request, response = retry, await self._exchange(address, retry, ctx)
        return self._settle(address, envelope, request, response, resent=retry is not None)

    async def _exchange(self, address: str, request: mtom.OutgoingRequest,
                        ctx: mtom.ClientCall | None) -> MtomResponse:
        gate = self._gate
        if gate is None:
            return await self._exchange_now(address, request, ctx)
        try:  # a free slot is taken without yielding to the event loop (as asyncio's does)
            gate.acquire_nowait()
        except anyio.WouldBlock:
            await gate.acquire()  # first come, first served
        try:
            return await self._exchange_now(address, request, ctx)
        finally:
            gate.release()

    async def _exchange_now(self, address: str, request: mtom.OutgoingRequest,
                            ctx: mtom.ClientCall | None) -> MtomResponse:
        exchange = self._start(address, request, ctx)
        async with self.client.stream("POST", address, content=_aiter(exchange.chunks()),
                                      headers=dict(request.headers)) as response:
            exchange.request_sent()
            reader = exchange.reader(response.status_code, response.headers, self.mtom_options,
                                     ctx)
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
        self._finish(address, exchange, reader, result, ctx)
        return _response(
            result, response.status_code, response.headers,
            url=str(response.url), reason=response.reason_phrase, cookies=response.cookies,
            **({} if result.reply.is_multipart else {"encoding": response.encoding}))


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A request body for httpx (file parts are read with blocking 1 MiB reads)."""
    for chunk in chunks:
        yield chunk
