"""The echo service the Zeep adapter tests talk to over real HTTP, and its own checks.

``EchoApp`` is a WSGI app built only on the ``mtom`` core: it reads MTOM,
SwA or plain SOAP requests with ``mtom.PackageReader`` (as a stream from
``wsgi.input``), records what arrived on the wire, and answers ``Echo``
with an ``EchoResponse`` holding the same values — as MTOM parts, inline
base64, or whatever the test asks for. Other test modules import it from
here (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from _support import serve_wsgi
from lxml import etree

import mtom

DATA = Path(__file__).parent / "data" / "zeep"
NS = "urn:soap-mtom:test:echo"
BINARY_FIELDS = frozenset({"data", "derived", "typed", "image"})
ECHO11 = f"{{{NS}}}Echo11Binding"
ECHO12 = f"{{{NS}}}Echo12Binding"
ACTION = "urn:soap-mtom:test:echo/Echo"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class Value:
    """One binary value as the server received it."""

    field: str
    size: int
    sha256: str
    data: bytes | None  # kept when small
    content_type: str | None  # the part's Content-Type, None when inline
    via_include: bool


@dataclass
class Received:
    """One request as it arrived: headers, body (when small) and values."""

    headers: dict[str, str]
    body: bytes | None
    body_size: int
    multipart: bool
    values: list[Value] = field(default_factory=list)
    envelope: bytes = b""
    package: mtom.Package | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").lower()] = environ[key]
    return out


def _body_chunks(environ: dict[str, Any], size: int = 1 << 20) -> Iterator[bytes]:
    stream = environ["wsgi.input"]
    while chunk := stream.read(size):
        yield chunk


def fault_envelope(version: mtom.SoapVersion, message: str) -> etree._Element:
    env = version.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"env": env})
    fault = etree.SubElement(etree.SubElement(root, f"{{{env}}}Body"), f"{{{env}}}Fault")
    if version is mtom.SoapVersion.SOAP11:
        etree.SubElement(fault, "faultcode").text = "env:Client"
        etree.SubElement(fault, "faultstring").text = message
    else:
        code = etree.SubElement(fault, f"{{{env}}}Code")
        etree.SubElement(code, f"{{{env}}}Value").text = "env:Sender"
        reason = etree.SubElement(fault, f"{{{env}}}Reason")
        text = etree.SubElement(reason, f"{{{env}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = message
    return root


class EchoApp:
    """WSGI echo service for the test WSDLs in ``tests/data/zeep``.

    Args:
        reply: ``"mtom"`` (binary values at or over ``reply_threshold``
            become parts), ``"plain"`` (inline base64) or ``"fault"``
            (a SOAP Fault, packaged as MTOM).
        reply_threshold: size from which reply values become parts.
        keep: bodies and values up to this size are kept for assertions.
        reply_parts: extra parts appended to every MTOM reply (unreferenced).
        echo: answer with the binary values received (else only the other fields).
        sign: ``(keyfile, certfile)`` to sign replies with WS-Security (the
            infoset, base64 inline, is signed; then values become parts).
    """

    def __init__(self, reply: str = "mtom", reply_threshold: int = 0, keep: int = 1 << 20,
                 reply_parts: Iterable[mtom.OutgoingPart] = (), echo: bool = True,
                 sign: tuple[str, str] | None = None):
        self.reply = reply
        self.echo = echo
        self.sign = sign
        self.reply_threshold = reply_threshold
        self.keep = keep
        self.reply_parts = list(reply_parts)
        self.received: list[Received] = []

    @property
    def last(self) -> Received:
        return self.received[-1]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = _headers(environ)
        ct = mtom.parse_content_type(headers.get("content-type", ""))
        if ct.is_multipart:
            reader = mtom.PackageReader(ct)
            size = 0
            kept: list[bytes] = []
            for chunk in _body_chunks(environ):
                size += len(chunk)
                if size <= self.keep:
                    kept.append(chunk)
                reader.feed(chunk)
            package = reader.close()
            root = package.root_element()
            xop = mtom.reconstitute(root, package)
            got = Received(headers, b"".join(kept) if size <= self.keep else None, size, True,
                           package=package)
        else:
            body = b"".join(_body_chunks(environ))
            package, xop = None, None
            root = mtom.parse_xml(body, huge_tree=True)
            got = Received(headers, body if len(body) <= self.keep else None, len(body), False)
        got.envelope = etree.tostring(root)
        self.received.append(got)
        version = mtom.SoapVersion.SOAP12 if etree.QName(root).namespace == mtom.SOAP12_ENV_NS \
            else mtom.SoapVersion.SOAP11
        request = root.find(f"{{{version.envelope_ns}}}Body")[0]  # type: ignore[index]
        values: dict[int, tuple[bytes | mtom.Attachment, str | None]] = {}
        for child in request:
            local = etree.QName(child).localname
            if local not in BINARY_FIELDS:
                continue
            att = xop.value_of(child) if xop is not None else None
            if att is not None:
                values[id(child)] = (att, att.content_type)
                got.values.append(Value(local, att.size, att.sha256(),
                                        att.read() if att.size <= self.keep else None,
                                        att.content_type, True))
            else:
                raw = base64.b64decode(child.text or "")
                values[id(child)] = (raw, None)
                got.values.append(Value(local, len(raw), hashlib.sha256(raw).hexdigest(),
                                        raw if len(raw) <= self.keep else None, None, False))
        if self.reply == "fault":
            return self._send(start_response, fault_envelope(version, "echo refused"), [],
                              version, "500 Internal Server Error", xop=True)
        env = version.envelope_ns
        out = etree.Element(f"{{{env}}}Envelope", nsmap={"env": env, "e": NS})
        body = etree.SubElement(out, f"{{{env}}}Body")
        response = etree.SubElement(body, f"{{{NS}}}EchoResponse")
        parts: list[mtom.OutgoingPart] = []
        for child in request:
            if id(child) in values and not self.echo:
                continue
            copy = etree.SubElement(response, child.tag, dict(child.attrib))
            if id(child) not in values:
                copy.text = child.text
                continue
            value, part_type = values[id(child)]
            size = value.size if isinstance(value, mtom.Attachment) else len(value)
            if self.reply == "mtom" and size >= self.reply_threshold and not self.sign:
                part = mtom.OutgoingPart(value, content_type=mtom.content_type_hint(child)
                                         or part_type or "application/octet-stream")
                mtom.include(copy, part)
                parts.append(part)
            else:
                raw = value.read() if isinstance(value, mtom.Attachment) else value
                copy.text = base64.b64encode(raw).decode("ascii")
        if self.sign:
            from zeep.wsse.signature import sign_envelope

            sign_envelope(out, *self.sign)
            if self.reply == "mtom":
                parts = mtom.optimize(out, threshold=self.reply_threshold, select=lambda el: (
                    etree.QName(el).localname in BINARY_FIELDS
                    and etree.QName(el).namespace == NS))
        return self._send(start_response, out, parts + self.reply_parts, version, "200 OK",
                          xop=self.reply == "mtom")

    def _send(self, start_response: StartResponse, root: etree._Element,
              parts: list[mtom.OutgoingPart], version: mtom.SoapVersion, status: str, *,
              xop: bool) -> Iterable[bytes]:
        envelope = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        if not xop:
            start_response(status, [("Content-Type", f"{version.media_type}; charset=utf-8"),
                                    ("Content-Length", str(len(envelope)))])
            return [envelope]
        package = mtom.OutgoingPackage(envelope, parts, soap_version=version)
        start_response(status, list(package.headers.items()))
        return package.iter_bytes()


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that start and end with CR/LF and contain MIME-looking lines."""
    if size < 4:
        return b"\r\n\r\n"[:size]
    tricky = (b"\r\n--MIMEBoundary_0123\r\nContent-ID: <x>\r\n\r\n--uuid:abc--\r\n\n\r"
              b"\x00\xff--")
    body = bytearray()
    counter = seed
    while len(body) < size - 4:
        body += tricky if counter % 7 == 0 else zlib.crc32(
            counter.to_bytes(8, "big")).to_bytes(4, "big") * 8
        counter += 1
    return b"\r\n" + bytes(body[: size - 4]) + b"\r\n"


# -- checks of the test service itself (plain requests, no Zeep) ---------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST and close the connection before returning (an open keep-alive connection
    would hold the test server's shutdown until its join timeout)."""
    with requests.Session() as session:
        resp = session.post(url, data=body, headers=headers, timeout=30)
        out = resp.status_code, dict(resp.headers), resp.content
        resp.close()
    return out


def _request_envelope(version: mtom.SoapVersion, payload: bytes, *, include: bool
                      ) -> tuple[bytes, list[mtom.OutgoingPart]]:
    env = version.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"env": env, "e": NS})
    echo = etree.SubElement(etree.SubElement(root, f"{{{env}}}Body"), f"{{{NS}}}Echo")
    data = etree.SubElement(echo, f"{{{NS}}}data")
    parts: list[mtom.OutgoingPart] = []
    if include:
        part = mtom.OutgoingPart(payload)
        mtom.include(data, part)
        parts.append(part)
    else:
        data.text = base64.b64encode(payload).decode("ascii")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8"), parts


@pytest.mark.parametrize("reply", ["mtom", "plain"])
def test_echo_app_answers_mtom_request(wsgi_server: Any, reply: str) -> None:
    payload = pattern(5000)
    app = EchoApp(reply=reply)
    envelope, parts = _request_envelope(mtom.SoapVersion.SOAP11, payload, include=True)
    package = mtom.OutgoingPackage(envelope, parts)
    with wsgi_server(app) as url:
        status, headers, content = post(url, package.to_bytes(), package.headers)
    assert status == 200
    assert app.last.values[0].data == payload and app.last.values[0].via_include
    if reply == "mtom":
        got = mtom.read_package(content, headers["Content-Type"])
        assert got.attachments[0].read() == payload
    else:
        assert headers["Content-Type"].startswith("text/xml")
        assert base64.b64encode(payload) in content


def test_echo_app_answers_plain_soap12(wsgi_server: Any) -> None:
    payload = pattern(100)
    app = EchoApp(reply="plain")
    envelope, _ = _request_envelope(mtom.SoapVersion.SOAP12, payload, include=False)
    with wsgi_server(app) as url:
        _, headers, _ = post(url, envelope, {"Content-Type": "application/soap+xml; charset=utf-8"})
    assert headers["Content-Type"].startswith("application/soap+xml")
    assert app.last.values[0].data == payload and not app.last.values[0].via_include


def test_pattern_has_crlf_edges_and_boundary_text() -> None:
    p = pattern(4096)
    assert len(p) == 4096 and p[:2] == b"\r\n" and p[-2:] == b"\r\n"
    assert b"\r\n--MIMEBoundary_" in p and b"--uuid:abc--" in p
    assert pattern(4096, seed=1) != p


# -- helpers for the Zeep test modules ----------------------------------------------------


class SharedServer:
    """One waitress server for a whole test module; each test plugs its own app in.

    ``server(app)`` is a context manager yielding the URL, like the
    ``wsgi_server`` fixture, without a server start and stop per test.
    """

    def __init__(self, url: str):
        self.url = url
        self.app: Callable[..., Any] | None = None

    def dispatch(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        assert self.app is not None, "no app plugged into the shared test server"
        return self.app(environ, start_response)

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[SharedServer]:
        holder: list[SharedServer] = []
        with serve_wsgi(lambda e, s: holder[0].dispatch(e, s)) as url:
            holder.append(cls(url))
            yield holder[0]

    @contextlib.contextmanager
    def __call__(self, app: Callable[..., Any]) -> Iterator[str]:
        self.app = app
        try:
            yield self.url
        finally:
            self.app = None


@contextlib.contextmanager
def echo_service(serve: Callable[..., Any], app: EchoApp, *, binding: str = ECHO11,
                 wsdl: str = "echo.wsdl", plugins: Iterable[Any] = (), wsse: Any = None,
                 settings: Any = None, **options: Any) -> Iterator[tuple[Any, Any]]:
    """``with echo_service(wsgi_server, app, mtom=True) as (service, transport)``.

    Serves ``app`` on 127.0.0.1, loads ``tests/data/zeep/<wsdl>`` with a
    :class:`zeep_mtom.MtomTransport` built from ``options`` and yields a
    service proxy bound to ``binding`` at the server's URL. The transport's
    connections are closed before the server stops.
    """
    import zeep

    from zeep_mtom import MtomTransport

    with serve(app) as url:
        transport = MtomTransport(**options)
        client = zeep.Client(str(DATA / wsdl), transport=transport, plugins=list(plugins),
                             wsse=wsse, settings=settings)
        try:
            yield client.create_service(binding, url), transport
        finally:
            transport.session.close()
