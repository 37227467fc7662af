"""Every SOAP request of ``../shared/corpus`` replayed against a Spyne MTOM service.

Where the message matches an operation of the corpus services below (same
element names, SOAP version), the service reports the sha256 of every binary
value it received and the number of parts in the package; that must equal
what the core finds in the same message. Every other message (no matching
operation, not SOAP, malformed — the ``negative/`` ones included) must get
either a proper answer or a proper SOAP Fault: never ``text/plain``, never a
server error page, with the SOAP binding's HTTP status.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from _support import ENV_NS, VERSIONS, fault_of, post_raw, serve_wsgi
from lxml import etree
from spyne import (
    Application,
    ByteArray,
    ComplexModel,
    File,
    ServiceBase,
    Unicode,
    XmlAttribute,
    XmlData,
    rpc,
)

import mtom
from interop.corpus import CorpusMessage, load_messages
from spyne_mtom import Soap11Mtom, Soap12Mtom, request_package, wsgi_application

Digests = str  # space-separated "size:sha256" of each binary value, then "pkg:<n>"


def _digest_of(value: Any) -> str | None:
    if value is None:
        return None
    h = hashlib.sha256()
    size = 0
    if isinstance(value, File.Value):
        if value.handle is not None:
            while chunk := value.handle.read(1 << 16):
                h.update(chunk)
                size += len(chunk)
            return f"{size}:{h.hexdigest()}"
        value = value.data
    for chunk in value:
        h.update(chunk)
        size += len(chunk)
    return f"{size}:{h.hexdigest()}"


def summary(ctx: Any, *values: Any) -> Digests:
    digests = sorted(d for d in map(_digest_of, values) if d is not None)
    pkg = request_package(ctx)
    return " ".join([*digests, f"pkg:{'-' if pkg is None else len(pkg.attachments)}"])


OUT = Unicode


# Each operation lives in an application whose target namespace is the one of
# its request element (Spyne qualifies operations with the application's tns).
# (version, namespace) -> {operation name: rpc function}
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {}


def operation(version: str, namespace: str, name: str) -> Any:
    def register(fn: Any) -> Any:
        OPERATIONS.setdefault((version, namespace), {})[name] = fn
        return fn
    return register


@operation("1.1", "http://www.example.org/stuff", "data")
@rpc(ByteArray, _body_style="bare", _returns=OUT, _in_message_name="data")
def stuff_data(ctx: Any, data: Any) -> Digests:
    return summary(ctx, data)


@operation("1.1", "http://example.org/mtom/data", "data")
@rpc(ByteArray, _body_style="bare", _returns=OUT, _in_message_name="data")
def mtom_data(ctx: Any, data: Any) -> Digests:
    return summary(ctx, data)


@operation("1.1", "http://apache.org/camel/cxf/mtom_feature/types", "Detail")
@rpc(ByteArray, ByteArray, _returns=OUT)
def Detail(ctx: Any, photo: Any, image: Any) -> Digests:
    return summary(ctx, photo, image)


@operation("1.1", "http://testOwsm", "fooOwsmMsgProtection")
@rpc(Unicode, ByteArray, _returns=OUT)
def fooOwsmMsgProtection(ctx: Any, arg0: str, Picture: Any) -> Digests:
    assert arg0 == "string"
    return summary(ctx, Picture)


@operation("1.1", "http://springframework.org/spring-ws/mtom", "image")
@rpc(ByteArray, _body_style="bare", _returns=OUT, _in_message_name="image")
def spring_image(ctx: Any, image: Any) -> Digests:
    return summary(ctx, image)


@operation("1.1", "ns-uri", "Body1")
@rpc(Unicode, Unicode, _returns=OUT)
def Body1(ctx: Any, Child1: str, Child2: str) -> Digests:
    assert (Child1, Child2) == ("This is Child1", "This is Child2")
    return summary(ctx)


@operation("1.1", "http://ip6.sgpf.PruebaOracleSR", "ecoXML")
@rpc(File, _returns=OUT)
def ecoXML(ctx: Any, XMLEntrada: Any) -> Digests:
    return summary(ctx, XMLEntrada)


@operation("1.1", "urn:Echo", "echo")
@rpc(Unicode, _returns=OUT)
def echo(ctx: Any, in0: str) -> Digests:
    assert in0 == "Yo Yo"
    return summary(ctx)


@operation("1.1", "http://wombat.ztrade.com", "GetLastTradePrice")
@rpc(Unicode, _returns=OUT)
def GetLastTradePrice(ctx: Any, symbol: str) -> Digests:
    assert symbol == "SUNW"
    return summary(ctx)


@operation("1.1", "http://myservice/schema/", "doc")
@rpc(File, _body_style="bare", _returns=OUT, _in_message_name="doc")
def swa_href_doc(ctx: Any, doc: Any) -> Digests:
    return summary(ctx, doc)


@operation("1.1", "http://cxf.apache.org/hello_world_soap_http/types", "greetMeOneWay")
@rpc(Unicode, _returns=OUT)
def greetMeOneWay(ctx: Any, requestType: str) -> Digests:
    assert requestType == "Chris"
    return summary(ctx)


@operation("1.1", "http://cosumer.ee.xroad.net", "test")
@rpc(_returns=OUT)
def test(ctx: Any) -> Digests:
    return summary(ctx)


test.__test__ = False  # type: ignore[attr-defined]


class HashEntry(ComplexModel):  # type: ignore[misc]
    """CXF's ``<entry key="n">xop:Include</entry>``: a value with an attribute."""

    __namespace__ = "http://jaxb.systest.cxf.apache.org/"
    _type_info = [("value", XmlData(ByteArray)), ("key", XmlAttribute(Unicode))]


class KeyData(ComplexModel):  # type: ignore[misc]
    __namespace__ = "http://jaxb.systest.cxf.apache.org/"
    _type_info = [("entry", HashEntry.customize(max_occurs="unbounded"))]


class HashReturn(ComplexModel):  # type: ignore[misc]
    __namespace__ = "http://jaxb.systest.cxf.apache.org/"
    _type_info = [("keyData", KeyData)]


@operation("1.1", "http://jaxb.systest.cxf.apache.org/", "getHashMapDataResponse")
@rpc(HashReturn, _in_arg_names={"ret": "return"}, _returns=OUT)
def getHashMapDataResponse(ctx: Any, ret: Any) -> Digests:
    entries = ret.keyData.entry
    keys = [e.key for e in entries]
    assert len(set(keys)) == len(keys) == 49 and keys[0] == "1"
    return summary(ctx, *[e.value for e in entries])


class GeverResult(ComplexModel):  # type: ignore[misc]
    __namespace__ = "http://www.admin.ch/Gever/client/webservices/GeverService/1.0"
    _type_info = [("Content", ByteArray), ("Extension", Unicode), ("MimeType", Unicode),
                  ("Name", Unicode)]


class StuffData(ComplexModel):  # type: ignore[misc]
    __namespace__ = "http://www.example.org/stuff"
    _type_info = [("name", ByteArray)]


@operation("1.2", "http://www.example.org/stuff", "data")
@rpc(StuffData, _body_style="bare", _returns=OUT, _in_message_name="data")
def stuff_data12(ctx: Any, data: Any) -> Digests:
    return summary(ctx, data.name)


@operation("1.2", "urn://fakenamespace", "mtomSample")
@rpc(ByteArray, ByteArray, Unicode, Unicode, _returns=OUT)
def mtomSample(ctx: Any, image1: Any, image2: Any, file1Name: str,
               file2Name: str) -> Digests:
    assert file1Name.endswith(".jpg") and file2Name.endswith(".jpg")
    return summary(ctx, image1, image2)


@operation("1.2", "urn://fakenamespace", "swaSample")
@rpc(_returns=OUT)
def swaSample(ctx: Any) -> Digests:
    return summary(ctx)


@operation("1.2", "http://xmlsoap.org/Ping", "EchoBinaryAsString")
@rpc(ByteArray, _returns=OUT)
def EchoBinaryAsString(ctx: Any, array: Any) -> Digests:
    return summary(ctx, array)


@operation("1.2", "http://www.admin.ch/Gever/client/webservices/GeverService/1.0",
           "GetContentResponse")
@rpc(GeverResult, _returns=OUT)
def GetContentResponse(ctx: Any, GetContentResult: Any) -> Digests:
    assert GetContentResult.MimeType == "application/pdf"
    return summary(ctx, GetContentResult.Content)


@operation("1.2", "http://example.org/mtom/data", "EchoTest")
@rpc(ByteArray(max_occurs="unbounded"), _returns=OUT)
def EchoTest(ctx: Any, Data: Any) -> Digests:
    return summary(ctx, *(Data or []))


class Router:
    """WSGI: ``/<index>`` goes to the application of ``ROUTES[index]``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], int] = {}
        self.apps: list[Any] = []
        for i, ((version, ns), ops) in enumerate(sorted(OPERATIONS.items())):
            protocol = Soap11Mtom if version == "1.1" else Soap12Mtom
            service = type(f"CorpusService{i}", (ServiceBase,), dict(ops))
            app = Application([service], ns, name=f"Corpus{i}", in_protocol=protocol(),
                              out_protocol=protocol())
            self.routes[(version, ns)] = i
            self.apps.append(wsgi_application(app))
        for version in VERSIONS:  # nothing matches: any app of that version
            self.routes[(version, "")] = next(
                i for (v, _), i in self.routes.items() if v == version)

    def path(self, version: str, ns: str | None) -> str:
        return f"/{self.routes.get((version, ns or ''), self.routes[(version, '')])}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        index = int(environ.get("PATH_INFO", "/0").strip("/") or 0)
        return self.apps[index](environ, start_response)


#: Messages the services above understand.
MATCHED = {
    "1.1": {"axiom_axis2-early-mtom-soap11-image", "metro_jaxws-test-mtom-soap11-urlencoded-cid-"
            "indigo", "cxf_cxf-mtom-soap11-request", "metro_soapui-owsm-mtom-soap11-LF",
            "springws_axis2-mtom-soap11-png", "axis2_axis2-mtom-soap11-with-headers",
            "cxf_cxf-mtom-soap11-49-attachments-LF",
            "mimepull_soapui-swa-soap11-quoted-printable-LF", "cxf_xfire-mtom-soap11-base64-jpeg",
            "saaj_saaj-swa-soap11-unbracketed-cid", "mimepull_parts-without-headers-LF",
            "besimple_amazon-swa-soap11-binary-part", "cxf_cxf-swa-soap11-wsrm-persisted-LF",
            "xroad_swa-nested-multipart-attachment-bom-LF",
            "negative/cxf_xfire-mtom-soap11-part-after-close-delimiter-LF"},
    "1.2": {"axiom_axis2-early-mtom-soap12-unbracketed-cid",
            "axiom_axis2-mtom-soap12-jpeg-folded-hdr", "axiom_axis2-swa-soap12-jpeg",
            "besimple_wcf2005-mtom-soap12-request", "gever_wcf-mtom-soap12-wsa10-pdf-response"},
}


def _messages() -> list[CorpusMessage]:
    return load_messages() + load_messages(negative=True)


MESSAGES = {m.path_hint: m for m in _messages()}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Router]]:
    router = Router()
    with serve_wsgi(router) as url:
        yield url, router


def _core_view(msg: CorpusMessage) -> tuple[str | None, str | None, list[str] | None]:
    """(SOAP version, namespace of the request element, expected summary) per the core."""
    try:
        pkg = mtom.read_package(msg.body, msg.content_type)
        root = pkg.root_element()
    except mtom.MtomError:
        return None, None, None
    ns = etree.QName(root).namespace
    version = {mtom.SOAP11_ENV_NS: "1.1", mtom.SOAP12_ENV_NS: "1.2"}.get(ns or "")
    body = root.find(f"{{{ns}}}Body")
    first = next(body.iterchildren(tag=etree.Element), None) if body is not None else None
    op_ns = etree.QName(first).namespace if first is not None else None
    try:
        res = mtom.reconstitute(root, pkg)
    except mtom.MtomError:
        return version, op_ns, None
    digests = sorted(
        f"{r.attachment.size}:{r.attachment.sha256()}" for r in res.references + res.swa
        if first is not None and (r.element is first or first in r.element.iterancestors()))
    return version, op_ns, [*digests, f"pkg:{len(pkg.attachments)}"]


def _assert_proper(resp: Any, version: str) -> None:
    ct = resp.headers.get("Content-Type", "")
    assert not ct.startswith("text/plain"), (resp.status_code, resp.text[:300])
    if resp.status_code == 200:
        assert mtom.parse_content_type(ct).media_type in (
            "text/xml", "application/soap+xml", "multipart/related"), ct
        return
    info = fault_of(resp, version)
    sender = "Client" if version == "1.1" else "Sender"
    if info.code == sender:
        assert info.status == (500 if version == "1.1" else 400), info
    else:
        assert info.code in ("Server", "Receiver") and info.status == 500, info


def test_corpus_is_present() -> None:
    if not MESSAGES:
        pytest.skip("corpus not found")
    matched = MATCHED["1.1"] | MATCHED["1.2"]
    assert matched <= set(MESSAGES), matched - set(MESSAGES)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_replay(server: tuple[str, Router], name: str) -> None:
    url, router = server
    msg = MESSAGES[name]
    version, op_ns, expected = _core_view(msg)
    targets = [version] if version else list(VERSIONS)
    for target in targets:
        resp = post_raw(url + router.path(target, op_ns), msg.body, msg.content_type)
        if name in MATCHED.get(target, ()):
            assert resp.status_code == 200, resp.text[:600]
            body = etree.fromstring(resp.content).find(f"{{{ENV_NS[target]}}}Body")
            assert body is not None
            answer = body[0] if len(body[0]) == 0 else body[0][0]  # bare or wrapped
            assert (answer.text or "").split() == expected, name
        else:
            _assert_proper(resp, target)


def test_negative_messages_are_faults(server: tuple[str, Router]) -> None:
    """The malformed ``negative/`` messages the README marks as errors are Sender faults."""
    errors = ["negative/axis2_axis2-mtom-soap12-dangling-xop-href-LF",
              "negative/cxf_systest-no-close-delimiter", "negative/mimepull_websphere51-no-"
              "close-delimiter", "negative/xroad_root-part-is-multipart",
              "negative/zeep_xop-urlencoded-cid-no-first-delimiter",
              "negative/cxf_content-disposition-path-traversal"]
    present = [n for n in errors if n in MESSAGES]
    if not present:
        pytest.skip("corpus not found")
    for name in present:
        msg = MESSAGES[name]
        version = "1.2" if "soap12" in name else "1.1"
        _, op_ns, _ = _core_view(msg)
        resp = post_raw(server[0] + server[1].path(version, op_ns), msg.body, msg.content_type)
        info = fault_of(resp, version)
        assert info.code == ("Client" if version == "1.1" else "Sender"), (name, info)
        assert info.status == (500 if version == "1.1" else 400), (name, info)


def test_env_namespaces() -> None:
    assert set(ENV_NS) == set(VERSIONS)
