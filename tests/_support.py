"""Helpers shared by the test modules, and only here (pytest puts ``tests/`` on ``sys.path``).

* feeding: :func:`split_feeds` (every way to cut a body into chunks);
* servers: :func:`serve_wsgi` (waitress on 127.0.0.1, from :mod:`interop.servers`);
* file descriptors: :func:`fds_under`;
* work and memory, measured without timings: :func:`run_counting_calls`,
  :func:`calls_during`, :func:`peak_traced_bytes`; hand-framed bodies:
  :func:`multipart_body`; a non-seekable stream: :class:`Pipe`; server processes:
  :func:`free_port`, :func:`server_process`;
* the Spyne adapter tests: a test service, request builders (requests built with
  :class:`mtom.OutgoingPackage`, sent with ``requests`` or ``http.client``),
  response checks (decoded with :func:`mtom.read_package`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import spyne_mtom.compat  # noqa: F401  before spyne: lets Spyne 2.14 import on 3.12+

# isort: split

import requests
from lxml import etree
from spyne import (
    Application,
    Boolean,
    ByteArray,
    ComplexModel,
    File,
    Integer,
    Long,
    ServiceBase,
    Unicode,
    rpc,
)
from spyne.model.fault import Fault

import mtom
from interop.servers import serve_wsgi as serve_wsgi  # re-exported for the tests
from spyne_mtom import Soap11Mtom, Soap12Mtom, request_package, request_references
from spyne_mtom import wsgi_application as _wsgi_application

T = TypeVar("T")


def split_feeds(body: bytes) -> Iterator[list[bytes]]:
    """Every way to feed ``body``: whole, every two-way split, and byte by byte."""
    yield [body]
    for i in range(1, len(body)):
        yield [body[:i], body[i:]]
    yield [body[i:i + 1] for i in range(len(body))]


def fds_under(directory: Path) -> list[str]:
    """Open file descriptors of this process whose target lies in ``directory``.

    A spooled attachment is an unlinked temporary file: it has no directory
    entry, but its descriptor's link still names the spool directory, so this
    is how a test sees that nothing is left open.
    """
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            out.append(target)
    return out


def run_counting_calls(fn: Callable[[], T]) -> tuple[T, int]:
    """Run ``fn()``; return its result and how many Python and C function calls it made.

    A deterministic measure of work for tests and the fuzz harness (never a
    timing): a loop that re-walks earlier input, or a lookup that scans a list,
    shows up as calls growing faster than the input.
    """
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, count


def calls_during(fn: Callable[[], object]) -> int:
    """How many function calls running ``fn()`` makes (see :func:`run_counting_calls`)."""
    return run_counting_calls(fn)[1]


def peak_traced_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by Python while ``fn()`` runs (tracemalloc), above the start."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def multipart_body(parts: Sequence[tuple[str, bytes]], boundary: str = "b",
                   root: bytes | None = None) -> bytes:
    """A CRLF-framed multipart body: an optional XML root part, then ``(headers, data)``."""
    out = []
    if root is not None:
        out.append(f"--{boundary}\r\nContent-Type: application/xop+xml; type=\"text/xml\"\r\n"
                   "Content-ID: <root>\r\n\r\n".encode() + root + b"\r\n")
    for headers, data in parts:
        out.append(f"--{boundary}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a server started in another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(cmd: list[str], port: int, *, env: dict[str, str] | None = None,
                   cwd: Path | None = None, start_timeout: float = 60) -> Iterator[str]:
    """Run ``cmd`` (a server listening on 127.0.0.1:``port``); yield its URL, stop it after.

    Fails with the server's stderr if it exits before it accepts connections.
    """
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"{cmd} exited with {proc.returncode}: {err}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, f"{cmd} did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


TNS = "urn:spyne-mtom:test"
XMIME = "http://www.w3.org/2005/05/xmlmime"
VERSIONS = ("1.1", "1.2")
PROTOCOLS = {"1.1": Soap11Mtom, "1.2": Soap12Mtom}
ENV_NS = {"1.1": mtom.SOAP11_ENV_NS, "1.2": mtom.SOAP12_ENV_NS}
PLAIN_CT = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
#: Sent with every request: ``serve_wsgi`` waits (up to 5 s) for open
#: keep-alive connections when it stops the server.
CLOSE = {"Connection": "close"}


# -- data --------------------------------------------------------------------------


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that start and end with CR/LF and hold delimiter look-alikes."""
    if size < 4:
        return b"\r\n\r\n"[:size]
    head = b"\r\n--MIMEBoundary_0123\r\nContent-ID: <x>\r\n\n--uuid:abc--\r\n\x00\xff"
    block = hashlib.sha256(str(seed).encode()).digest() * 64 + b"\r\n--" + head
    body = (head + block * (size // len(block) + 2))[:size]
    if size >= 2:
        body = body[:-2] + b"\r\n"
    return body


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Pipe(io.RawIOBase):
    """A readable stream that cannot seek and has no size (like a pipe): a value sent from it
    goes chunked, with its total unknown."""

    def __init__(self, data: bytes = b"") -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


# -- the service -----------------------------------------------------------------------


class BlobInfo(ComplexModel):  # type: ignore[misc]
    __namespace__ = TNS
    _type_info = [
        ("size", Long),
        ("sha256", Unicode),
        ("content_type", Unicode),
        ("name", Unicode),
        ("has_path", Boolean),
        ("spooled", Boolean),
    ]


def _file_info(f: Any) -> BlobInfo:
    h = hashlib.sha256()
    size = 0
    if f.handle is not None:
        while chunk := f.handle.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    else:
        for chunk in f.data:
            h.update(chunk)
            size += len(chunk)
    att = getattr(f, "attachment", None)
    return BlobInfo(size=size, sha256=h.hexdigest(), content_type=f.type, name=f.name,
                    has_path=f.path is not None,
                    spooled=None if att is None else not att.in_memory)


class TestService(ServiceBase):  # type: ignore[misc]
    __test__ = False  # not a pytest class

    @rpc(ByteArray, _returns=ByteArray)
    def echo(ctx: Any, data: Any) -> Any:
        return data

    @rpc(ByteArray(max_occurs="unbounded"), _returns=ByteArray(max_occurs="unbounded"))
    def echo_many(ctx: Any, item: Any) -> Any:
        return item

    @rpc(ByteArray, _returns=BlobInfo)
    def digest(ctx: Any, data: Any) -> BlobInfo:
        raw = b"".join(data or ())
        return BlobInfo(size=len(raw), sha256=sha(raw))

    @rpc(ByteArray(max_occurs="unbounded"), _returns=Unicode(max_occurs="unbounded"))
    def digest_many(ctx: Any, item: Any) -> list[str]:
        return [f"{len(b''.join(i))}:{sha(b''.join(i))}" for i in item or ()]

    @rpc(File, _returns=BlobInfo)
    def upload(ctx: Any, f: Any) -> BlobInfo | None:
        return None if f is None else _file_info(f)

    @rpc(File, _returns=File)
    def echo_file(ctx: Any, f: Any) -> Any:
        return f

    @rpc(Long, Integer, Unicode, _returns=File)
    def download(ctx: Any, size: int, seed: int, content_type: str | None) -> Any:
        path = os.path.join(STORE, f"{size}-{seed}.bin")
        if not os.path.exists(path):
            with open(path, "wb") as out:
                out.write(pattern(size, seed))
        return File.Value(path=path, type=content_type or "application/octet-stream")

    @rpc(Long, Integer, _returns=File)
    def download_handle(ctx: Any, size: int, seed: int) -> Any:
        f = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the response
        f.write(pattern(size, seed))
        return File.Value(handle=f, type="application/x-handle")

    @rpc(Long, Integer, _returns=ByteArray)
    def make_bytes(ctx: Any, size: int, seed: int) -> bytes:
        return pattern(size, seed)

    @rpc(Unicode, _returns=Unicode)
    def text(ctx: Any, s: str) -> str:
        return s

    @rpc(ByteArray(expected_content_types="image/png"),
         _returns=ByteArray(expected_content_types="image/png"))
    def png(ctx: Any, img: Any) -> Any:
        return img

    @rpc(ByteArray, _returns=Unicode(max_occurs="unbounded"))
    def references(ctx: Any, data: Any) -> list[str]:
        pkg = request_package(ctx)
        out = [f"package:{'none' if pkg is None else len(pkg.attachments)}"]
        for ref in request_references(ctx):
            out.append(f"{ref.kind}:{etree.QName(ref.element).localname}:"
                       f"{ref.content_type}:{ref.attachment.size}")
        return out

    @rpc(Long, _returns=ByteArray)
    def fail(ctx: Any, size: int) -> Any:
        raise Fault("Client.Rejected", "rejected on purpose",
                    detail={"blob": pattern(size, 7), "reason": "test"})


STORE = tempfile.mkdtemp(prefix="spyne-mtom-tests-")


def make_application(version: str = "1.1", *, validator: str | None = "lxml",
                     in_options: dict[str, Any] | None = None,
                     out_options: dict[str, Any] | None = None,
                     services: Sequence[type] = (TestService,),
                     in_protocol: Any = None, out_protocol: Any = None) -> Application:
    proto = PROTOCOLS[version]
    return Application(
        list(services), TNS,
        in_protocol=in_protocol or proto(validator=validator, **(in_options or {})),
        # A W3C-style MTOM endpoint: replies MTOM to plain requests too (the default,
        # "auto", answers a plain request plainly; tests of that pass out_options).
        out_protocol=out_protocol or proto(**{"mtom_reply": "always", **(out_options or {})}))


def make_wsgi(version: str = "1.1", **kwargs: Any) -> Any:
    """The test service behind Spyne's WsgiApplication (cap raised for MTOM)."""
    max_len = kwargs.pop("max_content_length", 2 * 1024**3)
    return _wsgi_application(make_application(version, **kwargs), max_content_length=max_len)


# -- requests ---------------------------------------------------------------------------


def envelope(version: str, body: str, header: str = "", declaration: bool = True,
             encoding: str = "utf-8") -> bytes:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if declaration else ""
    head = f"<e:Header>{header}</e:Header>" if header else ""
    text = (f'{decl}<e:Envelope xmlns:e="{ENV_NS[version]}" xmlns:t="{TNS}" '
            f'xmlns:xop="{mtom.XOP_NS}" xmlns:xmime="{XMIME}">{head}<e:Body>{body}'
            "</e:Body></e:Envelope>")
    return text.encode(encoding)


def xop(part: mtom.OutgoingPart | str) -> str:
    cid = part if isinstance(part, str) else part.content_id
    return f'<xop:Include href="{mtom.cid_href(cid)}"/>'


def post_mtom(url: str, version: str, root: bytes, parts: Sequence[mtom.OutgoingPart],
              *, xop_package: bool = True, **kwargs: Any) -> requests.Response:
    pkg = mtom.OutgoingPackage(root, parts, soap_version=version, xop=xop_package)
    return requests.post(url, data=pkg.to_bytes(), headers={**pkg.headers, **CLOSE}, timeout=60,
                         **kwargs)


def post_plain(url: str, version: str, root: bytes, **kwargs: Any) -> requests.Response:
    return requests.post(url, data=root, headers={"Content-Type": PLAIN_CT[version], **CLOSE},
                         timeout=60, **kwargs)


def post_raw(url: str, body: bytes, content_type: str, **kwargs: Any) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": content_type, **CLOSE},
                         timeout=60, **kwargs)


def stream_post(url: str, chunks: Iterable[bytes], content_type: str, length: int,
                timeout: float = 300) -> tuple[int, dict[str, str], bytes]:
    """POST an iterable body with a Content-Length (no chunked encoding), via http.client."""
    import http.client

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("POST", u.path or "/", body=iter(chunks),
                     headers={"Content-Type": content_type, "Content-Length": str(length),
                              **CLOSE},
                     encode_chunked=False)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- responses --------------------------------------------------------------------------


@dataclass
class Reply:
    """A decoded response: the envelope, attachments by element, the package (or None)."""

    status: int
    content_type: str
    root: etree._Element
    values: dict[etree._Element, mtom.Attachment]
    package: mtom.Package | None

    def body_child(self) -> etree._Element:
        body = self.root.find(f"{{{etree.QName(self.root).namespace}}}Body")
        assert body is not None
        return body[0]

    def find_all(self, local: str) -> list[etree._Element]:
        return [el for el in self.root.iter() if isinstance(el.tag, str)
                and etree.QName(el).localname == local]

    def text(self, local: str) -> str | None:
        found = self.find_all(local)
        return found[0].text if found else None

    def binary(self, el: etree._Element) -> bytes:
        """The value of a base64Binary element, optimised or inline."""
        if el in self.values:
            return self.values[el].read()
        import base64

        return base64.b64decode(el.text or "")


def decode(resp: requests.Response) -> Reply:
    ct = resp.headers.get("Content-Type", "")
    parsed = mtom.parse_content_type(ct)
    if parsed.is_multipart:
        pkg = mtom.read_package(resp.content, ct)
        root = pkg.root_element()
        res = mtom.reconstitute(root, pkg)
        values = {r.element: r.attachment for r in res.references}
        return Reply(resp.status_code, ct, root, values, pkg)
    root = etree.fromstring(resp.content)
    return Reply(resp.status_code, ct, root, {}, None)


@dataclass
class FaultInfo:
    status: int
    code: str  # local name: Client/Server or Sender/Receiver
    subcode: str | None
    string: str


def fault_of(resp: requests.Response, version: str) -> FaultInfo:
    """The SOAP Fault in ``resp``; asserts it is a well-formed SOAP fault response."""
    ct = resp.headers.get("Content-Type", "")
    assert not ct.startswith("text/plain"), resp.text[:500]
    reply = decode(resp)
    ns = ENV_NS[version]
    assert reply.root.tag == f"{{{ns}}}Envelope", resp.text[:500]
    fault = reply.root.find(f"{{{ns}}}Body/{{{ns}}}Fault")
    assert fault is not None, resp.text[:500]
    if version == "1.1":
        raw = fault.findtext("faultcode") or ""
        local = raw.split(":", 1)[-1]
        code, _, sub = local.partition(".")
        return FaultInfo(resp.status_code, code, sub or None, fault.findtext("faultstring") or "")
    value = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
    sub_elt = fault.find(f"{{{ns}}}Code/{{{ns}}}Subcode/{{{ns}}}Value")
    sub = None
    if sub_elt is not None:  # a QName (SOAP 1.2 §5.4.6): its prefix must be declared
        prefix, _, sub = (sub_elt.text or "").rpartition(":")
        assert prefix and sub_elt.nsmap.get(prefix), f"unqualified Subcode {sub_elt.text!r}"
    reason = fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
    return FaultInfo(resp.status_code, value.split(":", 1)[-1], sub, reason)


def assert_client_fault(resp: requests.Response, version: str,
                        subcode: str | None = None) -> FaultInfo:
    """A Sender fault with the SOAP binding's status (1.1: 500, 1.2: 400)."""
    info = fault_of(resp, version)
    assert info.code == ("Client" if version == "1.1" else "Sender"), info
    assert info.status == (500 if version == "1.1" else 400), info
    if subcode is not None:
        assert info.subcode == subcode, info
    assert "Traceback" not in info.string
    return info


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


# -- the Zeep adapter tests: the echo service (built only on the mtom core) ---------------
#
# ``EchoApp`` reads MTOM, SwA or plain SOAP requests with ``mtom.PackageReader`` (as a
# stream from ``wsgi.input``), records what arrived on the wire, and answers ``Echo``
# with an ``EchoResponse`` holding the same values: MTOM parts, inline base64, or
# whatever the test asks for.

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




def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST and close the connection before returning (an open keep-alive connection
    would hold the test server's shutdown until its join timeout)."""
    with requests.Session() as session:
        resp = session.post(url, data=body, headers=headers, timeout=30)
        out = resp.status_code, dict(resp.headers), resp.content
        resp.close()
    return out


def request_envelope(version: mtom.SoapVersion, payload: bytes, *, include: bool
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


class CannedApp:
    """WSGI app answering every POST with canned replies, in order (the last one repeats).

    Each reply is ``(status line, headers, body)``; every request is read whole and kept
    in :attr:`received` (headers, body), so a test can see what a client sent each time.
    """

    def __init__(self, *replies: tuple[str, list[tuple[str, str]], bytes]):
        assert replies, "at least one reply"
        self.replies = list(replies)
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.received.append((_headers(environ), b"".join(_body_chunks(environ))))
        status, headers, body = self.replies[min(len(self.received), len(self.replies)) - 1]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    @classmethod
    def from_capture(cls, raw: bytes) -> CannedApp:
        """Answer with the saved HTTP reply ``raw`` (``interop/captures/*.http``)."""
        from mtom.capture import read_saved_message

        saved = read_saved_message(raw)
        status = raw.split(b"\r\n", 1)[0].split(b" ", 1)[1].decode("ascii")
        return cls((status, [("Content-Type", " ".join((saved.content_type or "").split()))],
                    saved.body))


INTEROP = Path(__file__).resolve().parent.parent / "interop"


def gsoap_echo_client(tmp_path: Path, base_url: str, transport: Any) -> Any:
    """A zeep.Client for the interop echo WSDL (``interop/peers/gsoap/echo.wsdl``) whose
    services are at ``base_url`` (``/echo11``, ``/echo12``)."""
    import zeep

    wsdl = tmp_path / "echo.wsdl"
    wsdl.write_text((INTEROP / "peers" / "gsoap" / "echo.wsdl").read_text(encoding="utf-8")
                    .replace("@BASE_URL@", base_url), encoding="utf-8")
    return zeep.Client(str(wsdl), transport=transport)


# -- faults in the other SOAP version (VersionMismatch), as JAX-WS RI and Spyne answer -------

#: A SOAP 1.2 VersionMismatch fault with an Upgrade header (JAX-WS RI to a SOAP 1.1 request).
VERSION_MISMATCH_12 = (
    b'<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
    b'<env:Header><env:Upgrade><env:SupportedEnvelope qname="ns1:Envelope" '
    b'xmlns:ns1="http://www.w3.org/2003/05/soap-envelope"/></env:Upgrade></env:Header>'
    b"<env:Body><env:Fault><env:Code><env:Value>env:VersionMismatch</env:Value></env:Code>"
    b'<env:Reason><env:Text xml:lang="en">Couldn\'t create SOAP message. Expecting Envelope '
    b"in namespace http://www.w3.org/2003/05/soap-envelope, but got "
    b"http://schemas.xmlsoap.org/soap/envelope/</env:Text></env:Reason></env:Fault>"
    b"</env:Body></env:Envelope>")
#: A SOAP 1.1 VersionMismatch fault (to a SOAP 1.2 request).
VERSION_MISMATCH_11 = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<s:Body><s:Fault><faultcode>s:VersionMismatch</faultcode><faultstring>Wrong SOAP "
    b"version: expected http://schemas.xmlsoap.org/soap/envelope/</faultstring>"
    b"</s:Fault></s:Body></s:Envelope>")
